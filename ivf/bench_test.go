package ivf

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/softdb/softdb/attention"
)

// benchTable makes n clustered keys of d = 128 (1,000-row clusters around
// N(0, 1) centres, σ = 0.3, as bench/index_test.go's "clustered") and a
// view with n/1,000 lists and int8 codes, its blocks built.
func benchTable(b *testing.B, n int) ([]float32, *View, *memSource) {
	d := 128
	rng := rand.New(rand.NewPCG(11, 11))
	nc := max(1, n/1000)
	cents := make([]float32, nc*d)
	for i := range cents {
		cents[i] = float32(rng.NormFloat64())
	}
	keys := make([]float32, n*d)
	for i := 0; i < n; i++ {
		c := rng.IntN(nc)
		for j := 0; j < d; j++ {
			keys[i*d+j] = cents[c*d+j] + float32(rng.NormFloat64()*0.3)
		}
	}
	v := build(keys, n, d, nc, Int8, 1)
	src := &memSource{keys: keys, d: d}
	v.Warm(src, func() bool { return false })
	return keys, v, src
}

// BenchmarkDecide measures what deciding between the index and the scan
// costs beside the scan itself, in the same run: the bounds of every list,
// the estimates (SOFT's O(lists) check, then HARD's with a probe), and
// scoring every row (the least a scan does).
//
//	go test -run=NONE -bench=Decide -count=5 ./ivf
func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{20_000, 100_000} {
		keys, v, src := benchTable(b, n)
		d := v.Q.D
		q := append([]float32(nil), keys[7*d:8*d]...)
		Q := prepare(attention.L2, q)
		b.Run(fmt.Sprintf("n=%d/soft-diffuse", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				bd := v.Bounds(Q)
				u := v.ListUnits(bd)
				if 1e-7*math.Exp((u.Top()-u.Floor())*1e-4) < 0.5 {
					continue
				}
				b.Fatal("diffuse T not decided in O(lists)")
			}
		})
		b.Run(fmt.Sprintf("n=%d/hard-probe", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				bd := v.Bounds(Q)
				u := v.ListUnits(bd)
				kth, _, _ := v.Probe(Q, bd, 10, src)
				_ = u.EstimateHard(10, kth)
			}
		})
		b.Run(fmt.Sprintf("n=%d/scan-scores", n), func(b *testing.B) {
			scores := make([]float32, n)
			for i := 0; i < b.N; i++ {
				_ = attention.ScoreRows(scores, attention.L2, Q.V, keys, d)
			}
		})
	}
}
