package storage

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/softdb/softdb/types"
)

// benchRows returns n rows of (id INT, key VECTOR(d)) with a fixed seed.
func benchRows(rng *rand.Rand, first, n, d int) [][]types.Value {
	rows := make([][]types.Value, n)
	flat := make([]float32, n*d)
	for i := range flat {
		flat[i] = float32(rng.NormFloat64())
	}
	for i := range rows {
		rows[i] = row(iv(int64(first+i)), types.VectorValue(flat[i*d:(i+1)*d:(i+1)*d]))
	}
	return rows
}

func benchSchema(d int) Schema {
	return Schema{Name: "t", Columns: []Column{{Name: "id", Type: intT}, {Name: "key", Type: vecT(d)}}}
}

// fillDB writes n rows in transactions of chunk rows.
func fillDB(b testing.TB, db *DB, n, d, chunk int) {
	rng := rand.New(rand.NewSource(1))
	run(b, db, func(tx *Tx) error { return tx.CreateTable(benchSchema(d)) })
	for done := 0; done < n; done += chunk {
		rows := benchRows(rng, done, min(chunk, n-done), d)
		run(b, db, func(tx *Tx) error { _, err := tx.Insert("t", rows); return err })
	}
}

// sci formats 1000000 as "1e6" for sub-benchmark names.
func sci(n int) string {
	e := 0
	for n >= 10 && n%10 == 0 {
		n /= 10
		e++
	}
	return fmt.Sprintf("%de%d", n, e)
}

// BenchmarkReopen measures Open of a database of n vectors: catalog, then
// decoding every row into the mirror. The floor sub-benchmark does the
// least any Open must do, in the same run: read the directory's files and
// fill freshly allocated arrays of the mirror's size.
func BenchmarkReopen(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 200_000
	}
	const d = 128
	dir := b.TempDir()
	filled := false
	fill := func(b *testing.B) {
		if filled {
			return
		}
		db := mustOpen(b, Options{Dir: dir})
		start := time.Now()
		fillDB(b, db, n, d, 100_000)
		b.Logf("filled %d rows in %v", n, time.Since(start))
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		filled = true
	}
	name := fmt.Sprintf("n=%s/d=%d", sci(n), d)
	b.Run(name, func(b *testing.B) {
		fill(b)
		b.SetBytes(int64(n) * d * 4)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			db := mustOpen(b, Options{Dir: dir})
			b.StopTimer()
			if got := db.Snapshot().Table("t").LiveRows(); got != int64(n) {
				b.Fatalf("%d rows", got)
			}
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapAlloc)/float64(n*d*4), "heap/raw")
			db.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run(name+"/floor", func(b *testing.B) {
		fill(b)
		b.SetBytes(int64(n) * d * 4)
		buf := make([]byte, 1<<20)
		for i := 0; i < b.N; i++ {
			arrays := make([][]float32, 0, n/DefaultSegmentRows+1)
			cur := []byte(nil)
			files, err := os.ReadDir(dir)
			if err != nil {
				b.Fatal(err)
			}
			for _, e := range files {
				f, err := os.Open(filepath.Join(dir, e.Name()))
				if err != nil {
					b.Fatal(err)
				}
				for {
					m, err := f.Read(buf)
					for m > 0 {
						if len(cur) == 0 {
							a := make([]float32, DefaultSegmentRows*d)
							arrays = append(arrays, a)
							cur = f32bytes(a)
						}
						k := copy(cur, buf[:m])
						cur, m = cur[k:], m-k
					}
					if err != nil {
						break
					}
				}
				f.Close()
			}
			runtime.KeepAlive(arrays)
		}
	})
}

// BenchmarkInsert measures committed inserts of VECTOR(128) rows, one
// synced transaction per batch of rows.
func BenchmarkInsert(b *testing.B) {
	const d = 128
	for _, batch := range []int{1, 1000, 100_000} {
		b.Run(fmt.Sprintf("batch=%d/d=%d", batch, d), func(b *testing.B) {
			db := mustOpen(b, Options{Dir: b.TempDir()})
			defer db.Close()
			run(b, db, func(tx *Tx) error { return tx.CreateTable(benchSchema(d)) })
			rng := rand.New(rand.NewSource(1))
			rows := benchRows(rng, 0, batch, d)
			b.SetBytes(int64(batch) * d * 4)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				run(b, db, func(tx *Tx) error { _, err := tx.Insert("t", rows); return err })
			}
			b.ReportMetric(float64(batch)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkInsertTables measures a one-row INSERT (its own committed
// transaction) into one table of a database holding n tables: a commit
// should cost the same whatever the number of tables. In memory, so that
// the commit's CPU time is not hidden behind an fsync.
func BenchmarkInsertTables(b *testing.B) {
	for _, n := range []int{1, 10_000, 100_000} {
		b.Run("tables="+sci(n), func(b *testing.B) {
			db := mustOpen(b, Options{})
			defer db.Close()
			run(b, db, func(tx *Tx) error {
				for i := 0; i < n; i++ {
					s := benchSchema(8)
					s.Name = fmt.Sprintf("t%07d", i)
					if err := tx.CreateTable(s); err != nil {
						return err
					}
				}
				return nil
			})
			rows := benchRows(rand.New(rand.NewSource(1)), 0, 1, 8)
			name := fmt.Sprintf("t%07d", n/2)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				run(b, db, func(tx *Tx) error { _, err := tx.Insert(name, rows); return err })
			}
		})
	}
}
