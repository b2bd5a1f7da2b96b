package bench

import (
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/softdb/softdb/attention"
	"github.com/softdb/softdb/internal/hugepage"
)

// The read-bandwidth reference of the SQL benchmarks: attention.Max over
// an array as large as the vectors a statement reads, one contiguous part
// per core as the executor splits a scan (attention's BenchmarkMemRead
// alone). It runs between the statements of a benchmark's loop so that
// both see the same host: the memory bandwidth of a shared host moves by
// a third from one minute to the next (PERF.md).

// readRef is a buffer of a statement's size and the reference's timings.
type readRef struct {
	buf     []float32
	threads int
	times   []time.Duration // one per read
}

// newReadRef maps a buffer of the given size on huge pages, as the
// storage's vector columns are, and faults it in.
func newReadRef(bytes int64) *readRef {
	f := hugepage.Floats(int(bytes / 4))
	for i := range f {
		f[i] = float32(i & 1023)
	}
	return &readRef{buf: f, threads: runtime.GOMAXPROCS(0)}
}

// read takes the maximum of the buffer once and records the time.
func (r *readRef) read() {
	start := time.Now()
	var wg sync.WaitGroup
	n := len(r.buf)
	for t := range r.threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if attention.Max(r.buf[n*t/r.threads:n*(t+1)/r.threads]) != 1023 {
				panic("readRef: wrong maximum")
			}
		}()
	}
	wg.Wait()
	r.times = append(r.times, time.Since(start))
}

// pairedLoop runs op b.N times, each followed (outside the timer) by a
// read of ref, and reports the reference's median bandwidth (read-GB/s)
// and the median over iterations of op's bandwidth, opBytes per op, as a
// percentage of the read right after it (%read).
func pairedLoop(b *testing.B, ref *readRef, opBytes float64, op func()) {
	ref.times = ref.times[:0]
	ops := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		op()
		ops = append(ops, time.Since(start))
		b.StopTimer()
		ref.read()
		b.StartTimer()
	}
	b.StopTimer()
	refBytes := float64(len(ref.buf) * 4)
	gbs := make([]float64, len(ops))
	pct := make([]float64, len(ops))
	for i := range ops {
		gbs[i] = refBytes / ref.times[i].Seconds() / 1e9
		pct[i] = 100 * opBytes / ops[i].Seconds() / 1e9 / gbs[i]
	}
	b.ReportMetric(median(gbs), "read-GB/s")
	b.ReportMetric(median(pct), "%read")
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
