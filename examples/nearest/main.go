// Command nearest names colours: it stores a palette in softdb and, for a
// few query colours, finds the nearest named colour (HARD SELECT), the
// three nearest, a soft vote over colour families (SOFT SELECT with GROUP
// BY) and an attention blend of the palette.
//
//	go run ./examples/nearest          # in memory
//	go run ./examples/nearest DIR      # kept in DIR; run it twice
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/softdb/softdb"
)

var palette = []struct {
	name, family string
	rgb          [3]float32
}{
	{"red", "warm", [3]float32{1, 0, 0}},
	{"orange", "warm", [3]float32{1, 0.5, 0}},
	{"yellow", "warm", [3]float32{1, 1, 0}},
	{"brown", "warm", [3]float32{0.6, 0.3, 0.1}},
	{"green", "cool", [3]float32{0, 0.8, 0}},
	{"teal", "cool", [3]float32{0, 0.5, 0.5}},
	{"blue", "cool", [3]float32{0, 0, 1}},
	{"purple", "cool", [3]float32{0.5, 0, 0.5}},
	{"white", "neutral", [3]float32{1, 1, 1}},
	{"grey", "neutral", [3]float32{0.5, 0.5, 0.5}},
	{"black", "neutral", [3]float32{0, 0, 0}},
}

func main() {
	path := softdb.Memory
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	if err := run(context.Background(), path); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, path string) error {
	db, err := softdb.Open(path, nil)
	if errors.Is(err, softdb.ErrLocked) {
		return fmt.Errorf("%w (is another program using %s?)", err, path)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	if err := load(ctx, db); err != nil {
		return err
	}

	// Statements that run once per query are prepared once.
	nearest, err := db.Prepare(ctx, "HARD SELECT name, score FROM colour MATCH ? USING L2 LIMIT 3")
	if err != nil {
		return err
	}
	defer nearest.Close()
	vote, err := db.Prepare(ctx, `SOFT SELECT family, SUM(weight) AS p FROM colour
		MATCH ? USING L2 TEMPERATURE 0.05 GROUP BY family ORDER BY p DESC LIMIT 1`)
	if err != nil {
		return err
	}
	defer vote.Close()
	blend, err := db.Prepare(ctx, "SOFT SELECT key FROM colour MATCH ? USING L2 TEMPERATURE 0.05")
	if err != nil {
		return err
	}
	defer blend.Close()

	for _, q := range [][]float32{{0.9, 0.1, 0.1}, {0.2, 0.6, 0.6}, {0.55, 0.45, 0.5}, {0.95, 0.75, 0.2}} {
		fmt.Printf("query %v\n", q)
		rows, err := nearest.Query(ctx, q)
		if err != nil {
			return err
		}
		for rows.Next() {
			var name string
			var score float64
			if err := rows.Scan(&name, &score); err != nil {
				return err
			}
			fmt.Printf("  %-7s squared distance %.3f\n", name, -score)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		var family string
		var p float64
		if err := vote.QueryRow(ctx, q).Scan(&family, &p); err != nil {
			return err
		}
		fmt.Printf("  family  %s (p = %.2f)\n", family, p)
		var mix []float32
		if err := blend.QueryRow(ctx, q).Scan(&mix); err != nil {
			return err
		}
		fmt.Printf("  blend   [%.2f %.2f %.2f]\n", mix[0], mix[1], mix[2])
	}
	return nil
}

// load creates and fills the palette in one transaction, unless a previous
// run has already done so.
func load(ctx context.Context, db *softdb.DB) error {
	return db.Update(ctx, func(tx *softdb.Tx) error {
		if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS colour (name TEXT PRIMARY KEY, family TEXT, key VECTOR(3))"); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM colour").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			fmt.Printf("%d colours already in %s\n", n, db.Path())
			return nil
		}
		for _, c := range palette {
			if _, err := tx.Exec(ctx, "INSERT INTO colour VALUES (?, ?, ?)", c.name, c.family, c.rgb[:]); err != nil {
				return err
			}
		}
		fmt.Printf("loaded %d colours\n", len(palette))
		return nil
	})
}
