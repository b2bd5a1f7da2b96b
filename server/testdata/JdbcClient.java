// A JDBC client of softdb serve (PostgreSQL's JDBC driver, Debian's
// libpostgresql-jdbc-java), run by TestJDBC with the java launcher:
//   java -cp postgresql.jar JdbcClient.java jdbc:postgresql://127.0.0.1:PORT/softdb?user=tester
// It prints OK at the end; any failed check throws.
import java.sql.*;

public class JdbcClient {
    static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection(args[0])) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE docs (id INT PRIMARY KEY, key VECTOR(3), title TEXT, w FLOAT)");
            }
            // Batched inserts through a prepared statement, in one transaction.
            c.setAutoCommit(false);
            try (PreparedStatement ins = c.prepareStatement("INSERT INTO docs VALUES (?, ?, ?, ?)")) {
                for (int i = 0; i < 20; i++) {
                    ins.setInt(1, i);
                    ins.setString(2, "[" + (i % 4 == 0 ? 1 : 0) + "," + (i % 4 == 1 ? 1 : 0) + "," + (i % 4 >= 2 ? 1 : 0) + "]");
                    ins.setString(3, "doc " + i);
                    ins.setDouble(4, i / 4.0);
                    ins.addBatch();
                }
                int[] counts = ins.executeBatch();
                check(counts.length == 20, "executeBatch counts: " + counts.length);
            }
            c.commit();
            // A rolled-back transaction leaves nothing.
            try (Statement s = c.createStatement()) {
                s.executeUpdate("DELETE FROM docs WHERE id < 10");
            }
            c.rollback();
            c.setAutoCommit(true);
            // The same prepared query ten times: past the driver's
            // prepareThreshold (5) it switches to a named server-side
            // statement and binary results for int8 and float8.
            try (PreparedStatement q = c.prepareStatement(
                    "HARD SELECT id, title, w FROM docs MATCH ? LIMIT 3")) {
                for (int round = 0; round < 10; round++) {
                    q.setString(1, "[1,0,0]");
                    try (ResultSet rs = q.executeQuery()) {
                        int n = 0;
                        while (rs.next()) {
                            long id = rs.getLong(1);
                            check(id % 4 == 0, "round " + round + ": HARD SELECT returned id " + id);
                            check(rs.getString(2).equals("doc " + id), "title of " + id);
                            check(rs.getDouble(3) == id / 4.0, "score of " + id + ": " + rs.getDouble(3));
                            n++;
                        }
                        check(n == 3, "round " + round + ": " + n + " rows");
                    }
                }
            }
            // A SOFT SELECT blend, read as text.
            try (PreparedStatement q = c.prepareStatement("SOFT SELECT w FROM docs MATCH ? TEMPERATURE 0.01")) {
                q.setString(1, "[0,1,0]");
                try (ResultSet rs = q.executeQuery()) {
                    check(rs.next(), "SOFT SELECT row");
                    double blend = rs.getDouble(1);
                    // Rows 1, 5, 9, 13, 17 match equally: their mean score.
                    check(Math.abs(blend - 2.25) < 1e-9, "SOFT SELECT blend " + blend);
                }
            }
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM docs")) {
                check(rs.next() && rs.getLong(1) == 20, "rows after the rollback");
            }
            // Errors carry PostgreSQL's SQLSTATEs.
            String[][] bad = {
                {"SELEC 1", "42601"},
                {"SELECT * FROM nowhere", "42P01"},
                {"INSERT INTO docs VALUES (1, '[1,0,0]', 'dup', 0)", "23505"},
                {"INSERT INTO docs VALUES (99, '[1,0]', 'short', 0)", "22000"},
            };
            for (String[] b : bad) {
                try (Statement s = c.createStatement()) {
                    s.execute(b[0]);
                    throw new AssertionError("no error for " + b[0]);
                } catch (SQLException e) {
                    check(e.getSQLState() != null && e.getSQLState().startsWith(b[1].substring(0, b[1].equals("22000") ? 2 : 5)),
                          b[0] + ": SQLSTATE " + e.getSQLState() + " (" + e.getMessage() + "), want " + b[1]);
                }
            }
            DatabaseMetaData md = c.getMetaData();
            check(md.getDatabaseProductName().equals("PostgreSQL"), "product " + md.getDatabaseProductName());
        }
        System.out.println("OK");
    }
}
