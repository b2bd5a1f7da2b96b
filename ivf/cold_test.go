package ivf

import (
	"testing"
	"time"

	"github.com/softdb/softdb/attention"
)

// BenchmarkColdSearch: one SOFT search (τ = 5e-4, T = 1.13) on 10⁶ rows
// with 1,000 lists, with the caches flushed (a 600 MB read) before each.
func BenchmarkColdSearch(b *testing.B) {
	keys, v, src := benchTable(b, 1_000_000, Int8)
	d := v.Q.D
	flush := make([]float32, 150<<20)
	var sink float32
	for _, cold := range []bool{false, true} {
		name := "warm"
		if cold {
			name = "cold"
		}
		b.Run(name, func(b *testing.B) {
			var tb, ts, tbb float64
			for i := 0; i < b.N; i++ {
				if cold {
					for j := 0; j < len(flush); j += 16 {
						sink += flush[j]
					}
				}
				q := append([]float32(nil), keys[(i*997%1000000)*d:(i*997%1000000+1)*d]...)
				for j := range q {
					q[j] += 0.03
				}
				Q := prepare(attention.L2, q)
				b.StartTimer()
				var st Stats
				t0 := nanotime()
				bd := v.Bounds(Q)
				tbb += float64(nanotime() - t0)
				u := v.ListUnits(bd)
				_ = u.EstimateSoft(1/1.13, 5e-4, u.Top())
				_ = u.EstimateSoft(1/1.13, 5e-4, -1e300)
				t1 := nanotime()
				_, err := v.SearchSoft(Q, bd, 1/1.13, 5e-4, src, &st)
				if err != nil {
					b.Fatal(err)
				}
				tb += float64(t1 - t0)
				ts += float64(nanotime() - t1)
			}
			b.ReportMetric(tb/float64(b.N)/1e3, "bounds-µs")
			b.ReportMetric(tbb/float64(b.N)/1e3, "lists-µs")
			b.ReportMetric(ts/float64(b.N)/1e3, "search-µs")
		})
	}
	_ = sink
}

func nanotime() int64 { return time.Now().UnixNano() }
