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
// view with n/1,000 lists and the codes given, its blocks built.
func benchTable(b *testing.B, n int, codes Codes) ([]float32, *View, *memSource) {
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
	v := build(keys, n, d, nc, codes, 1)
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
		keys, v, src := benchTable(b, n, Int8)
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

// BenchmarkSearchCodes compares the codes on one table (benchTable,
// 100,000 rows): HARD (L2, k = 10) and SOFT (L2, T = 1, τ = 0.01) for a
// query near a key. It reports
// the bytes a search reads (keys scored and codes bounded) over the
// scan's, the rows bounded by codes and scored, and the codes' size over
// the column's.
//
//	go test -c -o /tmp/ivf.test ./ivf
//	for i in 1 2 3 4 5 6; do /tmp/ivf.test -test.run=NONE -test.bench=SearchCodes; done
//
// (each run goes through every kind once, so they alternate).
func BenchmarkSearchCodes(b *testing.B) {
	n := 100_000
	type tbl struct {
		keys []float32
		v    *View
		src  *memSource
	}
	tabs := map[Codes]tbl{}
	for _, c := range []Codes{Float32, Int8, BFloat16} {
		keys, v, src := benchTable(b, n, c)
		tabs[c] = tbl{keys, v, src}
	}
	for _, kind := range []string{"hard", "soft"} {
		for _, c := range []Codes{Float32, Int8, BFloat16} {
			t := tabs[c]
			d := t.v.Q.D
			q := append([]float32(nil), t.keys[7*d:8*d]...)
			for j := range q { // a query near a key, not on it
				q[j] += float32(0.1 * math.Sin(float64(j)))
			}
			Q := prepare(attention.L2, q)
			scan := float64(n * d * 4)
			b.Run(kind+"/"+c.String(), func(b *testing.B) {
				var st Stats
				for i := 0; i < b.N; i++ {
					st = Stats{}
					var err error
					if kind == "hard" {
						_, err = t.v.SearchHard(Q, t.v.Bounds(Q), 10, t.src, &st)
					} else {
						_, err = t.v.SearchSoft(Q, t.v.Bounds(Q), 1, 0.01, t.src, &st)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(st.Bytes)/scan, "bytes/scan")
				b.ReportMetric(float64(st.Coded), "coded")
				b.ReportMetric(float64(st.Scored), "scored")
				b.ReportMetric(float64(t.v.CodeBytes())/scan, "codes/column")
			})
		}
	}
}
