package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/softdb/softdb"
)

// writeDim is the vector width of the write benchmarks.
const writeDim = 128

// BenchmarkInsertPrepared: one-row INSERTs through a prepared statement
// inside one transaction (the commit is timed too, once per b.N rows), on
// disk.
//
//	go test -run=NONE -bench='InsertPrepared|UpdatePrepared|Autocommit' -count=5 ./bench
func BenchmarkInsertPrepared(b *testing.B) {
	ctx := context.Background()
	db := openDB(b)
	if _, err := db.Exec(ctx, fmt.Sprintf("CREATE TABLE t (id INT, key VECTOR(%d))", writeDim)); err != nil {
		b.Fatal(err)
	}
	st := prepare(b, db, "INSERT INTO t VALUES (?, ?)")
	v := randVec(rand.New(rand.NewPCG(1, 2)), writeDim)
	b.SetBytes(writeDim * 4)
	b.ReportAllocs()
	b.ResetTimer()
	tx, err := db.Begin(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	ts := tx.Stmt(st)
	for i := 0; i < b.N; i++ {
		v[0] = float32(i)
		if _, err := ts.Exec(ctx, i, v); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// updateRuns counts the runs of BenchmarkUpdatePrepared.
var updateRuns int

// BenchmarkUpdatePrepared: one-row UPDATEs of the vector column by rowid
// through a prepared statement inside one transaction, over a table of
// 65,536 rows (one full segment) of VECTOR(dim), rows drawn at random;
// dim=512 is the shape where one UPDATE used to copy its whole segment
// column (128 MiB). The autocommit variant commits (syncs) each UPDATE.
func BenchmarkUpdatePrepared(b *testing.B) {
	const n = 65536
	for _, d := range []int{writeDim, 512} {
		for _, auto := range []bool{false, true} {
			name := fmt.Sprintf("d=%d", d)
			if auto {
				name += "/autocommit"
			}
			b.Run(name, func(b *testing.B) {
				ctx := context.Background()
				db := once(b, fmt.Sprintf("update t/%d/%d", n, d), func(dir string) *softdb.DB {
					db, err := softdb.Open(dir, nil)
					if err != nil {
						b.Fatal(err)
					}
					table(b, db, "t", n, d, 1, 1)
					return db
				})
				st := prepare(b, db, "UPDATE t SET key = ? WHERE rowid = ?")
				// Each run draws other vectors: the table is shared
				// between runs, and a run repeating the last one's
				// values would find every row unchanged.
				updateRuns++
				rng := rand.New(rand.NewPCG(5, uint64(6+updateRuns)))
				v := randVec(rng, d)
				b.SetBytes(int64(d) * 4)
				b.ReportAllocs()
				b.ResetTimer()
				var tx *softdb.Tx
				if !auto {
					var err error
					if tx, err = db.Begin(ctx, nil); err != nil {
						b.Fatal(err)
					}
					st = tx.Stmt(st)
				}
				for i := 0; i < b.N; i++ {
					v[0] = float32(i)
					res, err := st.Exec(ctx, v, 1+rng.IntN(n))
					if err != nil {
						b.Fatal(err)
					}
					if k := res.RowsAffected; k != 1 {
						b.Fatalf("%d rows updated", k)
					}
				}
				if tx != nil {
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

// BenchmarkAutocommitInsert: one-row INSERTs, each its own synced
// transaction, from one goroutine (serial) and from 8 at once
// (concurrent), whose commits can share a write-ahead-log sync. The
// fsync sub-benchmark is the disk's limit in the same run: appending
// 600 bytes to a file and fsyncing it.
func BenchmarkAutocommitInsert(b *testing.B) {
	for _, writers := range []int{1, 8} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			ctx := context.Background()
			db := openDB(b)
			if _, err := db.Exec(ctx, fmt.Sprintf("CREATE TABLE t (id INT, key VECTOR(%d))", writeDim)); err != nil {
				b.Fatal(err)
			}
			st := prepare(b, db, "INSERT INTO t VALUES (?, ?)")
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			var next sync.Mutex
			left := b.N
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					v := randVec(rand.New(rand.NewPCG(uint64(w), 2)), writeDim)
					for {
						next.Lock()
						i := left
						left--
						next.Unlock()
						if i <= 0 {
							return
						}
						if _, err := st.Exec(ctx, i, v); err != nil {
							b.Error(err)
							return
						}
					}
				}(w)
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
	b.Run("fsync", func(b *testing.B) {
		f, err := os.CreateTemp(b.TempDir(), "fsync")
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		buf := make([]byte, 600)
		for i := 0; i < b.N; i++ {
			if _, err := f.Write(buf); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "syncs/s")
	})
}
