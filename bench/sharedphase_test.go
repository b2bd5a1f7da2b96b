package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/softdb/softdb"
	"github.com/softdb/softdb/formats"
	"github.com/softdb/softdb/types"
)

// floatTable is bench/server.sh's table in the shared db: f (key
// VECTOR(d), w FLOAT), n rows, standard normal keys and weights.
func floatTable(b *testing.B, n, d int) *softdb.DB {
	db := softTable(b, n, d)
	once(b, fmt.Sprintf("table %p/f%d/%d", db, n, d), func(string) bool {
		dir := b.TempDir()
		rng := rand.New(rand.NewPCG(7, 7))
		write := func(file string, t types.Type, val func() types.Value) string {
			path := filepath.Join(dir, file)
			w, err := formats.CreateWriter(path, []formats.Column{{Name: "v", Type: t}}, formats.Options{})
			if err != nil {
				b.Fatal(err)
			}
			row := []types.Value{{}}
			for i := 0; i < n; i++ {
				row[0] = val()
				if err := w.Write(row); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			return path
		}
		k := write("k.npy", types.Type{Kind: types.Vector, Dim: d}, func() types.Value { return types.VectorValue(randVec(rng, d)) })
		w := write("w.npy", types.Type{Kind: types.Float}, func() types.Value { return types.FloatValue(rng.NormFloat64()) })
		sql := fmt.Sprintf("CREATE TABLE f (key VECTOR(%d), w FLOAT); COPY f (key, w) FROM '%s', '%s'", d, k, w)
		if _, err := db.Exec(context.Background(), sql); err != nil {
			b.Fatal(err)
		}
		return true
	})
	return db
}

// BenchmarkSharedScanPhase: the phases of BenchmarkSharedScan one at a
// time (64 statements from g goroutines per iteration, shared scans on),
// for profiling a phase: soft blends a VECTOR column (the fused blend,
// attention.AccumulateBatch), float a FLOAT column as bench/server.sh
// does (ScoreBatch, then AccumulateFloats).
//
//	go test -run=NONE -bench=SharedScanPhase -benchtime=20x -cpuprofile cpu.prof ./bench
func BenchmarkSharedScanPhase(b *testing.B) {
	const n, d, perRound = 200_000, 128, 64
	for _, c := range []struct{ name, sql string }{
		{"soft", sharedSQL},
		{"float", "SOFT SELECT w FROM f MATCH ? TEMPERATURE √d"},
	} {
		for _, g := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/g=%d", c.name, g), func(b *testing.B) {
				db := floatTable(b, n, d)
				st := prepare(b, db, c.sql)
				rng := rand.New(rand.NewPCG(4, 4))
				qs := make([][]float32, perRound)
				for i := range qs {
					qs[i] = randVec(rng, d)
				}
				var vec []float32
				var w float64
				scan := func(r *softdb.Row) error { return r.Scan(&vec) }
				if c.name == "float" {
					scan = func(r *softdb.Row) error { return r.Scan(&w) }
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					concurrentRun(b, st, qs, g, perRound, scan)
				}
				b.ReportMetric(float64(b.N*perRound)/b.Elapsed().Seconds(), "stmt/s")
			})
		}
	}
}
