package bench

import (
	"math/rand/v2"
	"testing"

	"github.com/softdb/softdb"
)

// BenchmarkSharedScanPhase: only the 16-goroutine shared phase of
// BenchmarkSharedScan/soft (64 statements per iteration), for profiling.
//
//	go test -run=NONE -bench=SharedScanPhase -benchtime=20x -cpuprofile cpu.prof ./bench
func BenchmarkSharedScanPhase(b *testing.B) {
	const n, d, perRound = 200_000, 128, 64
	for _, g := range []int{1, 16} {
		b.Run(map[int]string{1: "g=1", 16: "g=16"}[g], func(b *testing.B) {
			db := softTable(b, n, d)
			st := prepare(b, db, sharedSQL)
			rng := rand.New(rand.NewPCG(4, 4))
			qs := make([][]float32, perRound)
			for i := range qs {
				qs[i] = randVec(rng, d)
			}
			var vec []float32
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				concurrentRun(b, st, qs, g, perRound, func(r *softdb.Row) error { return r.Scan(&vec) })
			}
			b.ReportMetric(float64(b.N*perRound)/b.Elapsed().Seconds(), "stmt/s")
		})
	}
}
