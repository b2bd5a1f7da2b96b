package softdb_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/softdb/softdb"
)

// A memory of three records: HARD SELECT looks up the best match, SOFT
// SELECT blends the values by their attention weights.
func Example() {
	ctx := context.Background()
	db, err := softdb.Open(softdb.Memory, nil) // or a directory, to keep the data
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	if _, err := db.Exec(ctx, "CREATE TABLE memory (key VECTOR(2), value VECTOR(2), label TEXT)"); err != nil {
		log.Fatal(err)
	}
	_, err = db.Exec(ctx, "INSERT INTO memory VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?)",
		[]float32{1, 0}, []float32{10, 0}, "east",
		[]float32{0, 1}, []float32{0, 10}, "north",
		[]float32{1, 1}, []float32{5, 5}, "north-east")
	if err != nil {
		log.Fatal(err)
	}

	q := []float32{0.9, 0.2}
	var label string
	var score float64
	if err := db.QueryRow(ctx, "HARD SELECT label, score FROM memory MATCH ?", q).Scan(&label, &score); err != nil {
		log.Fatal(err)
	}
	fmt.Println("best match:", label, score)

	var blend []float32
	if err := db.QueryRow(ctx, "SOFT SELECT value FROM memory MATCH ? TEMPERATURE 0.5", q).Scan(&blend); err != nil {
		log.Fatal(err)
	}
	fmt.Println("blend:", blend)

	rows, err := db.Query(ctx, "SOFT SELECT label, weight FROM memory MATCH ? TEMPERATURE 0.5", q)
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var w float64
		if err := rows.Scan(&label, &w); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-10s %.3f\n", label, w)
	}
	if err := rows.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// best match: north-east 1.1
	// blend: [6.375615 3.6243846]
	// north-east 0.545
	// east       0.365
	// north      0.090
}

// Update groups statements in one transaction: all of them become visible
// (and durable) at once, or, when the closure returns an error, none.
func ExampleDB_Update() {
	ctx := context.Background()
	db, err := softdb.Open(softdb.Memory, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.Exec(ctx, "CREATE TABLE account (name TEXT PRIMARY KEY, balance INT)")
	db.Exec(ctx, "INSERT INTO account VALUES ('alice', 100), ('bob', 0)")

	transfer := func(from, to string, amount int) error {
		return db.Update(ctx, func(tx *softdb.Tx) error {
			if _, err := tx.Exec(ctx, "UPDATE account SET balance = balance + ? WHERE name = ?", amount, to); err != nil {
				return err
			}
			var left int
			if err := tx.QueryRow(ctx, "SELECT balance - ? FROM account WHERE name = ?", amount, from).Scan(&left); err != nil {
				return err
			}
			if left < 0 {
				return fmt.Errorf("%s cannot pay %d", from, amount)
			}
			_, err := tx.Exec(ctx, "UPDATE account SET balance = ? WHERE name = ?", left, from)
			return err
		})
	}
	fmt.Println(transfer("alice", "bob", 30))
	fmt.Println(transfer("alice", "bob", 300))

	rows, _ := db.Query(ctx, "SELECT name, balance FROM account ORDER BY name")
	for rows.Next() {
		fmt.Println(rows.Values()...)
	}
	// Output:
	// <nil>
	// alice cannot pay 300
	// alice 70
	// bob 30
}

// A prepared statement is parsed once and is safe for concurrent use.
func ExampleDB_Prepare() {
	ctx := context.Background()
	db, err := softdb.Open(softdb.Memory, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.Exec(ctx, "CREATE TABLE doc (key VECTOR(3), title TEXT)")

	insert, err := db.Prepare(ctx, "INSERT INTO doc VALUES (?, ?)")
	if err != nil {
		log.Fatal(err)
	}
	defer insert.Close()
	for i, title := range []string{"cats", "dogs", "fish"} {
		key := make([]float32, 3)
		key[i] = 1
		if _, err := insert.Exec(ctx, key, title); err != nil {
			log.Fatal(err)
		}
	}

	nearest, err := db.Prepare(ctx, "HARD SELECT title FROM doc MATCH ? USING COSINE")
	if err != nil {
		log.Fatal(err)
	}
	defer nearest.Close()
	for _, q := range [][]float32{{0.1, 0.9, 0}, {0, 0.2, 0.7}} {
		var title string
		if err := nearest.QueryRow(ctx, q).Scan(&title); err != nil {
			log.Fatal(err)
		}
		fmt.Println(q, "→", title)
	}
	// Output:
	// [0.1 0.9 0] → dogs
	// [0 0.2 0.7] → fish
}

// View reads one snapshot across several queries, while writers go on.
func ExampleDB_View() {
	ctx := context.Background()
	db, err := softdb.Open(softdb.Memory, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.Exec(ctx, "CREATE TABLE t (x INT); INSERT INTO t VALUES (1), (2)")

	err = db.View(ctx, func(tx *softdb.Tx) error {
		var before, after int
		tx.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&before)
		db.Exec(ctx, "INSERT INTO t VALUES (3)") // committed, but not in this snapshot
		tx.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&after)
		fmt.Println("in the view:", before, after)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	var now int
	db.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&now)
	fmt.Println("after it:", now)
	// Output:
	// in the view: 2 2
	// after it: 3
}

// Errors can be told apart with errors.Is, and syntax errors give their
// position with errors.As.
func ExampleSyntaxError() {
	ctx := context.Background()
	db, err := softdb.Open(softdb.Memory, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.Exec(ctx, "CREATE TABLE t (key VECTOR(3))")

	_, err = db.Query(ctx, "SELECT * FROM nope")
	fmt.Println(errors.Is(err, softdb.ErrNotFound), err)

	_, err = db.Query(ctx, "HARD SELECT * FROM t MATCH ?", []float32{1, 2})
	fmt.Println(errors.Is(err, softdb.ErrDimension), err)

	_, err = db.Query(ctx, "SELECT * FROM t WHERE\nkey ==")
	var se *softdb.SyntaxError
	if errors.As(err, &se) {
		fmt.Printf("line %d, column %d: %s\n", se.Line, se.Col, se.Msg)
	}
	// Output:
	// true 1:15: table "nope" does not exist
	// true query vector has dimension 2, but t.key is VECTOR(3) (dimension 3)
	// line 2, column 6: unexpected "=", expected an expression
}
