package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/softdb/softdb"
)

// BenchmarkUpdateByPK: one-row UPDATEs by PRIMARY KEY (WHERE id = ?)
// through a prepared statement inside one transaction (the commit is
// timed too, once per b.N statements), on disk, over tables of 10^4 and
// 10^5 rows with an INT or a TEXT key, keys drawn at random (seed 1).
// A lookup costs the same at both sizes; a scan costs 10× more at 10^5.
//
//	go test -run=NONE -bench=UpdateByPK -count=5 ./bench
func BenchmarkUpdateByPK(b *testing.B) {
	for _, kind := range []string{"INT", "TEXT"} {
		for _, n := range []int{1e4, 1e5} {
			b.Run(fmt.Sprintf("key=%s/rows=1e%d", strings.ToLower(kind), len(fmt.Sprint(n))-1), func(b *testing.B) {
				ctx := context.Background()
				db := once(b, fmt.Sprintf("updatebypk/%s/%d", kind, n), func(dir string) *softdb.DB {
					db, err := softdb.Open(dir, nil)
					if err != nil {
						b.Fatal(err)
					}
					keyTable(b, db, kind, n)
					return db
				})
				st := prepare(b, db, "UPDATE k SET v = v + 1 WHERE id = ?")
				rng := rand.New(rand.NewPCG(1, 2))
				keys := make([]any, 4096)
				for i := range keys {
					keys[i] = benchKey(kind, rng.IntN(n))
				}
				b.ReportAllocs()
				b.ResetTimer()
				tx, err := db.Begin(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				ts := tx.Stmt(st)
				for i := 0; i < b.N; i++ {
					res, err := ts.Exec(ctx, keys[i%len(keys)])
					if err != nil {
						b.Fatal(err)
					}
					if got := res.RowsAffected; got != 1 {
						b.Fatalf("UPDATE affected %d rows, want 1", got)
					}
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "stmts/s")
			})
		}
	}
}

func benchKey(kind string, i int) any {
	if kind == "INT" {
		return int64(i)
	}
	return fmt.Sprintf("key-%08d", i)
}

// keyTable creates k (id kind PRIMARY KEY, v INT, note TEXT) with n rows,
// ids 0..n-1 (as benchKey renders them), in one transaction.
func keyTable(b testing.TB, db *softdb.DB, kind string, n int) {
	b.Helper()
	ctx := context.Background()
	if _, err := db.Exec(ctx, "CREATE TABLE k (id "+kind+" PRIMARY KEY, v INT, note TEXT)"); err != nil {
		b.Fatal(err)
	}
	err := db.Update(ctx, func(tx *softdb.Tx) error {
		var sb strings.Builder
		for lo := 0; lo < n; lo += 1000 {
			sb.Reset()
			sb.WriteString("INSERT INTO k VALUES ")
			for i := lo; i < min(n, lo+1000); i++ {
				if i > lo {
					sb.WriteString(", ")
				}
				if kind == "INT" {
					fmt.Fprintf(&sb, "(%d, 0, 'some text')", i)
				} else {
					fmt.Fprintf(&sb, "('%s', 0, 'some text')", benchKey(kind, i))
				}
			}
			if _, err := tx.Exec(ctx, sb.String()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
