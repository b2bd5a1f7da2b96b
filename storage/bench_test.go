package storage

import (
	"fmt"
	"math/rand"
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

// BenchmarkReopen measures Open of a database of n vectors: WAL replay,
// catalog, and decoding every row into the mirror.
func BenchmarkReopen(b *testing.B) {
	n := 1_000_000
	if testing.Short() {
		n = 200_000
	}
	const d = 128
	b.Run(fmt.Sprintf("n=%.0e/d=%d", float64(n), d), func(b *testing.B) {
		dir := b.TempDir()
		db := mustOpen(b, Options{Dir: dir})
		start := time.Now()
		fillDB(b, db, n, d, 100_000)
		b.Logf("filled %d rows in %v", n, time.Since(start))
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
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
