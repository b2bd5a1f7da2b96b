package ivf

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"
)

// nearest64 is the reference: the centroid nearest to k in float64, the
// lower index among equals.
func nearest64(k []float32, cent []float32, d int) int32 {
	best, bd := 0, math.Inf(1)
	for c := 0; c < len(cent)/d; c++ {
		var s float64
		for j, x := range cent[c*d : (c+1)*d] {
			e := float64(k[j]) - float64(x)
			s += e * e
		}
		if s < bd {
			best, bd = c, s
		}
	}
	return int32(best)
}

// TestAssignNearest: Assign gives every row the centroid nearest in
// float64, the lower index among equals, on data made to tie (duplicate
// centroids, rows equidistant from two, huge and zero norms).
func TestAssignNearest(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	for kind := 0; kind < 5; kind++ {
		for _, d := range []int{1, 3, 16, 130} {
			n, L := 700, 1+rng.IntN(40)
			keys := data(rng, kind, n, d)
			cent := make([]float32, L*d)
			for c := 0; c < L; c++ {
				copy(cent[c*d:(c+1)*d], keys[rng.IntN(n)*d:])
			}
			if L > 2 { // a duplicate centroid, and one midway between two rows
				copy(cent[(L-1)*d:], cent[:d])
				for j := 0; j < d; j++ {
					cent[(L-2)*d+j] = (keys[j] + keys[d+j]) / 2
				}
			}
			for _, f := range assigners() {
				got := make([]int32, n)
				f.fn(got, keys, d, cent)
				for i := 0; i < n; i++ {
					if want := nearest64(keys[i*d:(i+1)*d], cent, d); got[i] != want {
						t.Fatalf("%s: kind %d, d=%d, L=%d: row %d assigned to %d, nearest is %d", f.name, kind, d, L, i, got[i], want)
					}
				}
			}
		}
	}
}

// assigners are Assign's two paths, where this CPU runs both.
func assigners() []struct {
	name string
	fn   func([]int32, []float32, int, []float32)
} {
	out := []struct {
		name string
		fn   func([]int32, []float32, int, []float32)
	}{{"l2", assignL2}}
	if haveGEMM {
		out = append(out, struct {
			name string
			fn   func([]int32, []float32, int, []float32)
		}{"gemm", func(dst []int32, keys []float32, d int, cent []float32) {
			if assignGEMM(dst, keys, d, cent) {
				assignL2(dst, keys, d, cent)
			}
		}})
	}
	return out
}

// BenchmarkAssign: rows to the nearest of L centroids, clustered rows as
// in bench/index_test.go (1,000 centres, σ = 0.3).
func BenchmarkAssign(b *testing.B) {
	const n, d, L = 1 << 16, 128, 1000
	rng := rand.New(rand.NewPCG(11, 11))
	cs := make([]float32, 1000*d)
	for i := range cs {
		cs[i] = float32(rng.NormFloat64())
	}
	keys := make([]float32, n*d)
	for i := 0; i < n; i++ {
		c := rng.IntN(1000)
		for j := 0; j < d; j++ {
			keys[i*d+j] = cs[c*d+j] + float32(rng.NormFloat64()*0.3)
		}
	}
	cent := Train(keys, d, L, 1)
	dst := make([]int32, n)
	for _, f := range assigners() {
		b.Run(fmt.Sprintf("n=%d/d=%d/L=%d/%s", n, d, L, f.name), func(b *testing.B) {
			b.SetBytes(int64(n * d * 4))
			for i := 0; i < b.N; i++ {
				f.fn(dst, keys, d, cent)
			}
		})
	}
}

// BenchmarkAssignPaired alternates Assign and its L2-tile path (the
// former Assign) on the same rows, b.N pairs, and reports the medians of their
// wall and CPU times (the host is shared: CPU time excludes what the
// scheduler gave others) and the ratios:
//
//	go test -run=NONE -bench=AssignPaired -benchtime=10x ./ivf
func BenchmarkAssignPaired(b *testing.B) {
	const n, d, L = 1 << 16, 128, 1000
	rng := rand.New(rand.NewPCG(11, 11))
	cs := make([]float32, 1000*d)
	for i := range cs {
		cs[i] = float32(rng.NormFloat64())
	}
	keys := make([]float32, n*d)
	for i := 0; i < n; i++ {
		c := rng.IntN(1000)
		for j := 0; j < d; j++ {
			keys[i*d+j] = cs[c*d+j] + float32(rng.NormFloat64()*0.3)
		}
	}
	cent := Train(keys, d, L, 1)
	dst := make([]int32, n)
	var wall, cpu [2][]float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k, f := range []func([]int32, []float32, int, []float32){Assign, assignL2} {
			t0, c0 := time.Now(), cpuSeconds()
			f(dst, keys, d, cent)
			wall[k] = append(wall[k], time.Since(t0).Seconds())
			cpu[k] = append(cpu[k], cpuSeconds()-c0)
		}
	}
	med := func(x []float64) float64 { slices.Sort(x); return x[len(x)/2] }
	wg, wl, cg, cl := med(wall[0]), med(wall[1]), med(cpu[0]), med(cpu[1])
	b.ReportMetric(wg*1e3, "gemm-ms")
	b.ReportMetric(wl*1e3, "l2-ms")
	b.ReportMetric(wl/wg, "wall-speedup")
	b.ReportMetric(cg*1e3, "gemm-cpu-ms")
	b.ReportMetric(cl*1e3, "l2-cpu-ms")
	b.ReportMetric(cl/cg, "cpu-speedup")
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
