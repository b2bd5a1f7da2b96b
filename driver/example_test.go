package driver_test

import (
	"database/sql"
	"fmt"
	"log"

	"github.com/softdb/softdb/driver"
)

// softdb through database/sql: []float32 arguments, and VECTOR columns
// scanned into *[]float32 or *driver.Vector.
func Example() {
	db, err := sql.Open("softdb", ":memory:") // or a directory
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	if _, err := db.Exec("CREATE TABLE memory (key VECTOR(2), value VECTOR(2), label TEXT)"); err != nil {
		log.Fatal(err)
	}
	insert, err := db.Prepare("INSERT INTO memory VALUES (?, ?, ?)")
	if err != nil {
		log.Fatal(err)
	}
	defer insert.Close()
	for _, r := range []struct {
		key, value []float32
		label      string
	}{
		{[]float32{1, 0}, []float32{10, 0}, "east"},
		{[]float32{0, 1}, []float32{0, 10}, "north"},
	} {
		if _, err := insert.Exec(r.key, r.value, r.label); err != nil {
			log.Fatal(err)
		}
	}

	var blend []float32
	if err := db.QueryRow("SOFT SELECT value FROM memory MATCH $1 TEMPERATURE 1", []float32{1, 1}).Scan(&blend); err != nil {
		log.Fatal(err)
	}
	fmt.Println("blend:", blend)

	rows, err := db.Query("HARD SELECT label, key FROM memory MATCH ? LIMIT 2", []float32{0.2, 0.8})
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var label string
		var key driver.Vector // a NULL would scan as nil
		if err := rows.Scan(&label, &key); err != nil {
			log.Fatal(err)
		}
		fmt.Println(label, key)
	}
	if err := rows.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// blend: [5 5]
	// north [0, 1]
	// east [1, 0]
}
