package ivf

import (
	"os"
	"testing"
	"time"

	"github.com/softdb/softdb/attention"
)

// BenchmarkColdSearch times the parts of one SOFT search (τ = 5e-4,
// T = 1.13, L2, int8 codes) on TestIndexSpeed's clustered shape, 10⁶ rows
// and 1,000 lists: the lists' bounds, the planner's estimates and the
// search, warm and with the caches flushed (a 600 MB read) before each,
// as when queries alternate with scans:
//
//	SOFTDB_BENCH_COLD=1 go test -run=NONE -bench=ColdSearch -benchtime=300x ./ivf
func BenchmarkColdSearch(b *testing.B) {
	if os.Getenv("SOFTDB_BENCH_COLD") == "" {
		b.Skip("set SOFTDB_BENCH_COLD=1 to run (a 10⁶-row table and a 600 MB buffer)")
	}
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
