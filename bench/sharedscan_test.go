package bench

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/softdb/softdb"
)

// sharedSQL is the statement of the shared-scan benchmarks: one SOFT
// SELECT (the fused blend) over the 200,000 × 128 table.
const sharedSQL = "SOFT SELECT value FROM t MATCH ? TEMPERATURE √d"

// concurrentRun runs total statements of st from g goroutines (each with
// its own query vectors) and returns the wall time and every statement's
// latency. Every statement returns one row whose first item scan reads.
func concurrentRun(b *testing.B, st *softdb.Stmt, qs [][]float32, g, total int, scan func(*softdb.Row) error) (time.Duration, []time.Duration) {
	ctx := context.Background()
	var next atomic.Int64
	lat := make([]time.Duration, total)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < g; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= total {
					return
				}
				t0 := time.Now()
				if err := scan(st.QueryRow(ctx, qs[i%len(qs)])); err != nil {
					b.Error(err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	return time.Since(start), lat
}

// BenchmarkSharedScan: throughput of one SOFT SELECT over 200,000 × 128
// (soft), or one HARD SELECT … LIMIT 10 (hard), from 16 goroutines
// against 1 goroutine, through the Go API. Each
// iteration is one round of three phases on the same host minute: 64
// statements from 1 goroutine, 64 from 16 goroutines with shared scans,
// and 64 from 16 goroutines with shared scans off (each statement scans
// alone). Reported: the median over rounds of statements/s per phase, of
// the per-round ratios x16 (16 shared / 1) and x16-alone (16 unshared /
// 1), and the 16-goroutine shared phase's p50 and p99 latency.
//
//	go test -run=NONE -bench=SharedScan/ -benchtime=10x ./bench
func BenchmarkSharedScan(b *testing.B) {
	var vec []float32
	var id int64
	b.Run("soft", func(b *testing.B) {
		sharedScan(b, sharedSQL, func(r *softdb.Row) error { return r.Scan(&vec) })
	})
	b.Run("hard", func(b *testing.B) {
		sharedScan(b, "HARD SELECT rowid FROM t MATCH ? LIMIT 10", func(r *softdb.Row) error { return r.Scan(&id) })
	})
}

func sharedScan(b *testing.B, sql string, scan func(*softdb.Row) error) {
	const n, d, perRound, g = 200_000, 128, 64, 16
	db := softTable(b, n, d)
	st := prepare(b, db, sql)
	rng := rand.New(rand.NewPCG(4, 4))
	qs := make([][]float32, perRound)
	for i := range qs {
		qs[i] = randVec(rng, d)
	}
	defer db.SetSharedScans(true)
	var one, shared, alone, x16, x16alone []float64
	var lat []time.Duration
	before := db.ScanStats()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		db.SetSharedScans(true)
		t1, _ := concurrentRun(b, st, qs, 1, perRound, scan)
		ts, l := concurrentRun(b, st, qs, g, perRound, scan)
		db.SetSharedScans(false)
		ta, _ := concurrentRun(b, st, qs, g, perRound, scan)
		lat = append(lat, l...)
		one = append(one, perRound/t1.Seconds())
		shared = append(shared, perRound/ts.Seconds())
		alone = append(alone, perRound/ta.Seconds())
		x16 = append(x16, t1.Seconds()/ts.Seconds())
		x16alone = append(x16alone, t1.Seconds()/ta.Seconds())
	}
	b.StopTimer()
	after := db.ScanStats()
	slices.Sort(lat)
	b.ReportMetric(median(one), "stmt/s-g1")
	b.ReportMetric(median(shared), "stmt/s-g16")
	b.ReportMetric(median(alone), "stmt/s-g16-alone")
	b.ReportMetric(median(x16), "x16")
	b.ReportMetric(median(x16alone), "x16-alone")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms-g16")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms-g16")
	if p := after.Passes - before.Passes; p > 0 {
		b.ReportMetric(float64(after.Statements-before.Statements)/float64(p), "stmt/pass")
	}
}

// BenchmarkSharedScanLone: the latency of a lone SOFT SELECT over
// 200,000 × 128 with shared scans on and off. Sub-benchmarks alternate
// with -count, so compare them with benchstat:
//
//	go test -run=NONE -bench=SharedScanLone -count=10 ./bench > lone.txt
//	benchstat -col /shared lone.txt
func BenchmarkSharedScanLone(b *testing.B) {
	const n, d = 200_000, 128
	for _, on := range []bool{true, false} {
		name := "shared=on"
		if !on {
			name = "shared=off"
		}
		b.Run(name, func(b *testing.B) {
			db := softTable(b, n, d)
			db.SetSharedScans(on)
			defer db.SetSharedScans(true)
			st := prepare(b, db, sharedSQL)
			q := randVec(rand.New(rand.NewPCG(2, 2)), d)
			ctx := context.Background()
			var out []float32
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := st.QueryRow(ctx, q).Scan(&out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSharedScanLonePaired: the same comparison, paired: each
// iteration runs the lone SOFT SELECT once with shared scans on and once
// off (in alternating order), so both see the same moment of a noisy
// host. Reported: the median latency of each and the median of the
// per-pair ratios on/off (1 = no cost).
//
//	go test -run=NONE -bench=SharedScanLonePaired -benchtime=200x ./bench
func BenchmarkSharedScanLonePaired(b *testing.B) {
	const n, d = 200_000, 128
	db := softTable(b, n, d)
	defer db.SetSharedScans(true)
	st := prepare(b, db, sharedSQL)
	q := randVec(rand.New(rand.NewPCG(2, 2)), d)
	ctx := context.Background()
	var out []float32
	timed := func(on bool) float64 {
		db.SetSharedScans(on)
		t0 := time.Now()
		if err := st.QueryRow(ctx, q).Scan(&out); err != nil {
			b.Fatal(err)
		}
		return float64(time.Since(t0).Microseconds()) / 1000
	}
	var on, off, ratio []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var a, c float64
		if i%2 == 0 {
			a, c = timed(true), timed(false)
		} else {
			c, a = timed(false), timed(true)
		}
		on, off, ratio = append(on, a), append(off, c), append(ratio, a/c)
	}
	b.StopTimer()
	b.ReportMetric(median(on), "ms-on")
	b.ReportMetric(median(off), "ms-off")
	b.ReportMetric(median(ratio), "on/off")
}
