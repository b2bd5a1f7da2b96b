-- The library analogy of attention. Each book's key says what it is about,
-- on four topics: [science, history, food, poetry]. A query is what you are
-- looking for in the same terms. HARD SELECT hands you the one best book;
-- SOFT SELECT hands you a little of every book, in proportion to how well it
-- matches (the weights), and blends its values (year, pages).
CREATE TABLE library (title TEXT, author TEXT, year INT, pages INT, key VECTOR(4));
INSERT INTO library VALUES
  ('A Brief History of Time', 'Stephen Hawking', 1988, 212, [0.95, 0.3, 0, 0]),
  ('Cosmos', 'Carl Sagan', 1980, 365, [0.9, 0.3, 0, 0.3]),
  ('The Double Helix', 'James D. Watson', 1968, 226, [0.85, 0.5, 0, 0]),
  ('The Structure of Scientific Revolutions', 'Thomas S. Kuhn', 1962, 172, [0.75, 0.65, 0, 0]),
  ('On Food and Cooking', 'Harold McGee', 1984, 896, [0.6, 0.2, 0.8, 0]),
  ('Salt, Fat, Acid, Heat', 'Samin Nosrat', 2017, 480, [0.3, 0, 0.95, 0]),
  ('Mastering the Art of French Cooking', 'Julia Child', 1961, 684, [0, 0.2, 1, 0]),
  ('Kitchen Confidential', 'Anthony Bourdain', 2000, 312, [0, 0.3, 0.9, 0.1]),
  ('Cod', 'Mark Kurlansky', 1997, 294, [0.1, 0.75, 0.65, 0]),
  ('SPQR', 'Mary Beard', 2015, 608, [0, 1, 0, 0]),
  ('The Guns of August', 'Barbara Tuchman', 1962, 511, [0.05, 0.95, 0, 0.1]),
  ('The Odyssey', 'Homer', -700, 541, [0, 0.45, 0, 0.9]),
  ('Leaves of Grass', 'Walt Whitman', 1855, 95, [0, 0.1, 0, 1]),
  ('Odes to Common Things', 'Pablo Neruda', 1994, 155, [0, 0, 0.45, 0.9]);
