package attention

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/softdb/softdb/internal/hugepage"
)

// Benchmarks run on the kernel set in use (SOFTDB_KERNEL selects it) with
// fixed seeds; bench/attention_peer.py measures numpy and FAISS on the same
// shapes. bytes/s is the key+value bytes read; GFLOP/s counts 2 per
// multiply-add of QKᵀ and PV.

type benchData struct {
	keys, values, qs []float32
}

var benchCache sync.Map

func benchBlock(n, d, dv, m int) *benchData {
	key := fmt.Sprint(n, d, dv, m)
	if v, ok := benchCache.Load(key); ok {
		return v.(*benchData)
	}
	r := rand.New(rand.NewPCG(1, uint64(n*7+d)))
	bd := &benchData{
		keys:   fillVec(r, hugepage.Floats(n*d), 0.1),
		values: fillVec(r, hugepage.Floats(n*dv), 1),
		qs:     randVec(r, m*d, 1),
	}
	benchCache.Store(key, bd)
	return bd
}

// clock starts a measurement: report adds GFLOP/s from wall time and the
// process CPU time per op (cpu-ns/op; close to ns/op unless the host's
// other load preempted the benchmark).
type clock struct {
	wall time.Time
	cpu  float64
}

func startClock(b *testing.B) clock {
	b.ResetTimer()
	return clock{time.Now(), cpuSeconds()}
}

func fillVec(r *rand.Rand, v []float32, scale float64) []float32 {
	for i := range v {
		v[i] = float32((2*r.Float64() - 1) * scale)
	}
	return v
}

func report(b *testing.B, c clock, flops float64) {
	sec := time.Since(c.wall).Seconds()
	if flops > 0 {
		b.ReportMetric(flops*float64(b.N)/sec/1e9, "GFLOP/s")
	}
	if cpu := cpuSeconds() - c.cpu; cpu > 0 {
		b.ReportMetric(cpu*1e9/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkAccumulate(b *testing.B) {
	for _, c := range []struct {
		name     string
		n, d, dv int
	}{
		{"n=1e5/d=128", 100000, 128, 128},
		{"n=1e6/d=128", 1000000, 128, 128},
		{"n=1e5/d=768", 100000, 768, 768},
	} {
		b.Run(c.name, func(b *testing.B) {
			bd := benchBlock(c.n, c.d, c.dv, 1)
			s := NewState(c.dv)
			q := bd.qs[:c.d]
			out := make([]float32, c.dv)
			b.SetBytes(int64(c.n * (c.d + c.dv) * 4))
			b.ReportAllocs()
			start := startClock(b)
			for i := 0; i < b.N; i++ {
				s.Reset()
				s.Accumulate(Dot, q, 0, bd.keys, c.d, bd.values, c.dv, nil, 1/11.3)
				s.Result(out)
			}
			report(b, start, 2*float64(c.n)*float64(c.d+c.dv))
		})
	}
}

func BenchmarkAccumulateBatch(b *testing.B) {
	for _, c := range []struct {
		name        string
		m, n, d, dv int
	}{
		{"m=512/n=1e5/d=128", 512, 100000, 128, 128},
	} {
		b.Run(c.name, func(b *testing.B) {
			bd := benchBlock(c.n, c.d, c.dv, c.m)
			states := make([]*State, c.m)
			for a := range states {
				states[a] = NewState(c.dv)
			}
			b.SetBytes(int64(c.n * (c.d + c.dv) * 4))
			b.ReportAllocs()
			start := startClock(b)
			for i := 0; i < b.N; i++ {
				for _, s := range states {
					s.Reset()
				}
				AccumulateBatch(states, Dot, bd.qs, nil, bd.keys, c.d, bd.values, c.dv, nil, 1/11.3)
			}
			report(b, start, 2*float64(c.m)*float64(c.n)*float64(c.d+c.dv))
		})
	}
}

func BenchmarkTopK(b *testing.B) {
	for _, c := range []struct {
		name string
		m    Metric
		k    int
		n, d int
	}{
		{"dot/k=10/n=1e5/d=128", Dot, 10, 100000, 128},
		{"l2/k=10/n=1e5/d=128", L2, 10, 100000, 128},
		{"cosine/k=10/n=1e5/d=128", Cosine, 10, 100000, 128},
	} {
		b.Run(c.name, func(b *testing.B) {
			bd := benchBlock(c.n, c.d, 0, 1)
			q := bd.qs[:c.d]
			t := NewTopK(c.k)
			b.SetBytes(int64(c.n * c.d * 4))
			b.ReportAllocs()
			start := startClock(b)
			for i := 0; i < b.N; i++ {
				t.Reset()
				t.PushBlock(c.m, q, Norm(q), bd.keys, c.d, nil, nil)
			}
			report(b, start, 2*float64(c.n)*float64(c.d))
		})
	}
}

// BenchmarkTopKBatch/l2/m=1000/n=6e4/d=784 is a tenth of the MNIST exact
// 1-NN workload (10,000 test × 60,000 train × 784).
func BenchmarkTopKBatch(b *testing.B) {
	for _, c := range []struct {
		name    string
		m       Metric
		k       int
		q, n, d int
	}{
		{"l2/k=1/m=1000/n=6e4/d=784", L2, 1, 1000, 60000, 784},
		{"dot/k=10/m=512/n=1e5/d=128", Dot, 10, 512, 100000, 128},
		{"l2/k=10/m=512/n=1e5/d=128", L2, 10, 512, 100000, 128},
	} {
		b.Run(c.name, func(b *testing.B) {
			bd := benchBlock(c.n, c.d, 0, c.q)
			tops := make([]*TopK, c.q)
			for a := range tops {
				tops[a] = NewTopK(c.k)
			}
			b.ReportAllocs()
			start := startClock(b)
			for i := 0; i < b.N; i++ {
				for _, t := range tops {
					t.Reset()
				}
				TopKBatch(tops, c.m, bd.qs, nil, bd.keys, c.d, nil, nil)
			}
			report(b, start, 2*float64(c.q)*float64(c.n)*float64(c.d))
		})
	}
}

func BenchmarkScoreRows(b *testing.B) {
	const n, d = 100000, 128
	bd := benchBlock(n, d, 0, 1)
	dst := make([]float32, n)
	b.SetBytes(n * d * 4)
	b.ReportAllocs()
	start := startClock(b)
	for i := 0; i < b.N; i++ {
		ScoreRows(dst, Dot, bd.qs[:d], bd.keys, d)
	}
	report(b, start, 2*n*d)
}

// BenchmarkMemRead is the read-bandwidth reference for the bytes/s figures
// above, measured in the same run: a vector maximum over 512 MiB with the
// kernel set in use (four loads in flight and one VMAXPS per 32 bytes on
// avx2, far below the core's limits, so memory is the bottleneck), from
// one goroutine and from one per core over halves of the array.
func BenchmarkMemRead(b *testing.B) {
	buf := hugepage.Floats(128 << 20)
	for i := range buf {
		buf[i] = float32(i & 1023)
	}
	for _, threads := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			b.SetBytes(int64(len(buf) * 4))
			b.ReportAllocs()
			start := startClock(b)
			for i := 0; i < b.N; i++ {
				splitRun(threads, len(buf), func(lo, hi int) {
					if kern.maxScore(buf[lo:hi]) != 1023 {
						panic("max")
					}
				})
			}
			report(b, start, 0)
		})
	}
}

// BenchmarkAccumulateParallel is one query split over every core, partial
// states merged: what one SOFT SELECT does.
func BenchmarkAccumulateParallel(b *testing.B) {
	const n, d = 1000000, 128
	threads := runtime.GOMAXPROCS(0)
	b.Run(fmt.Sprintf("n=1e6/d=128/threads=%d", threads), func(b *testing.B) {
		bd := benchBlock(n, d, d, 1)
		states := make([]*State, threads)
		for t := range states {
			states[t] = NewState(d)
		}
		q := bd.qs[:d]
		b.SetBytes(int64(n * 2 * d * 4))
		b.ReportAllocs()
		start := startClock(b)
		for i := 0; i < b.N; i++ {
			var next atomic.Int32
			splitRun(threads, n, func(lo, hi int) {
				s := states[next.Add(1)-1]
				s.Reset()
				s.Accumulate(Dot, q, 0, bd.keys[lo*d:hi*d], d, bd.values[lo*d:hi*d], d, nil, 1/11.3)
			})
			for _, s := range states[1:] {
				states[0].Merge(s)
			}
		}
		report(b, start, 4*float64(n)*float64(d))
	})
}

// splitRun calls f on threads contiguous parts of [0, n) in parallel.
func splitRun(threads, n int, f func(lo, hi int)) {
	var wg sync.WaitGroup
	for t := 0; t < threads; t++ {
		lo, hi := n*t/threads, n*(t+1)/threads
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}

// BenchmarkBatchKernels: AccumulateBatch, ScoreBatch, and ScoreBatch then
// AccumulateFloats per query (floats: the fused blend of a FLOAT column;
// floats-chunked: without AccumulateFloats' one-call fold) at the shared
// scan's shape (16 queries over 200,000 rows of 128 + 128 floats, far
// more than the caches hold, single-threaded) with each kernel set this
// CPU runs, with and without the prefetch of the next key tile, in one
// process: with -count the variants alternate, so compare them with
// benchstat -col /kernel (or /prefetch). cpu-ns/op is the steadier figure
// on a loaded host.
//
//	go test -run=NONE -bench=BatchKernels -count=6 ./attention
func BenchmarkBatchKernels(b *testing.B) {
	const m, n, d, dv = 16, 200_000, 128, 128
	bd := benchBlock(n, d, dv, m)
	vals := make([]float64, n)
	mask := make([]byte, n)
	for i := range vals {
		vals[i], mask[i] = float64(bd.values[i]), 1
	}
	for _, op := range []string{"accumulate", "score", "floats", "floats-chunked"} {
		for _, k := range kernelSets {
			for _, pf := range []bool{true, false} {
				if k.id == idGeneric && !pf {
					continue // the generic set does not prefetch
				}
				b.Run(fmt.Sprintf("op=%s/m=%d/kernel=%s/prefetch=%v", op, m, k.name, pf), func(b *testing.B) {
					defer useKernel(useKernel(k))
					noPrefetch = !pf
					defer func() { noPrefetch = false }()
					states := make([]*State, m)
					for a := range states {
						states[a] = NewState(dv)
						if op != "accumulate" {
							states[a] = NewState(1)
						}
					}
					dst := make([]float32, m*n)
					flops := 2 * float64(m) * float64(n) * float64(d+dv)
					if op != "accumulate" {
						flops = 2 * float64(m) * float64(n) * float64(d)
					}
					b.ReportAllocs()
					start := startClock(b)
					for i := 0; i < b.N; i++ {
						if op != "accumulate" {
							ScoreBatch(dst, n, Dot, bd.qs, nil, bd.keys, d)
						}
						if op == "floats" || op == "floats-chunked" { // as exec's fused blend of a FLOAT column
							noFoldFloats = op == "floats-chunked"
							for a, s := range states {
								s.Reset()
								s.AccumulateFloats(dst[a*n:(a+1)*n], vals, mask, 1/11.3)
							}
							noFoldFloats = false
						}
						if op != "accumulate" {
							continue
						}
						for _, s := range states {
							s.Reset()
						}
						AccumulateBatch(states, Dot, bd.qs, nil, bd.keys, d, bd.values, dv, nil, 1/11.3)
					}
					report(b, start, flops)
				})
			}
		}
	}
}
