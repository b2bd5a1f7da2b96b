package attention

import (
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

var seedFlag = flag.Uint64("seed", 0, "seed for the randomized tests (0: fixed default)")

// newRand returns the test's generator and logs its seed so that a failure
// can be replayed with -seed.
func newRand(t testing.TB) *rand.Rand {
	seed := *seedFlag
	if seed == 0 {
		seed = 20240601
	}
	t.Logf("seed %d (replay with -seed=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, 0x5eed))
}

// forEachKernel runs f once per kernel set this CPU supports, or only for
// the set forced with SOFTDB_KERNEL.
func forEachKernel(t *testing.T, f func(t *testing.T)) {
	sets := kernelSets
	if os.Getenv(KernelEnv) != "" {
		sets = []*kernelSet{kern}
	}
	for _, k := range sets {
		t.Run(k.name, func(t *testing.T) {
			defer useKernel(useKernel(k))
			f(t)
		})
	}
}

// useKernel makes k active and returns the previous set.
func useKernel(k *kernelSet) *kernelSet {
	old := kern
	kern = k
	return old
}

// refScore is the float64 score of float32 inputs.
func refScore(m Metric, q, k []float32) float64 {
	switch m {
	case Dot:
		var s float64
		for j := range q {
			s += float64(q[j]) * float64(k[j])
		}
		return s
	case Cosine:
		var s, qq, kk float64
		for j := range q {
			s += float64(q[j]) * float64(k[j])
			qq += float64(q[j]) * float64(q[j])
			kk += float64(k[j]) * float64(k[j])
		}
		if qq == 0 || kk == 0 {
			return 0
		}
		return s / math.Sqrt(qq*kk)
	default:
		var s float64
		for j := range q {
			x := float64(q[j]) - float64(k[j])
			s += x * x
		}
		return -s
	}
}

// refSoft is the float64 reference: scores, max-subtracted softmax over the
// unmasked rows, blend. ok is false when no row is unmasked.
func refSoft(m Metric, q, keys []float32, d int, values []float32, dv int, mask []byte, T float64) (blend, w []float64, ok bool) {
	n := len(keys) / d
	sc := make([]float64, n)
	mx := math.Inf(-1)
	for i := 0; i < n; i++ {
		sc[i] = refScore(m, q, keys[i*d:(i+1)*d])
		if mask == nil || mask[i] != 0 {
			mx = max(mx, sc[i])
		}
	}
	w = make([]float64, n)
	blend = make([]float64, dv)
	if math.IsInf(mx, -1) {
		return blend, w, false
	}
	var sum float64
	for i := range w {
		if mask != nil && mask[i] == 0 {
			continue
		}
		if sc[i] == mx {
			w[i] = 1
		} else {
			w[i] = math.Exp((sc[i] - mx) / T)
		}
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum
		for j := 0; j < dv; j++ {
			blend[j] += w[i] * float64(values[i*dv+j])
		}
	}
	return blend, w, true
}

func maxAbs32(v []float32) float64 {
	var m float64
	for _, x := range v {
		m = max(m, math.Abs(float64(x)))
	}
	return m
}

func randVec(r *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32((2*r.Float64() - 1) * scale)
	}
	return v
}

// randInts fills n floats with integers in [−lim, lim]: products and sums of
// these stay exact in float32, so scores carry no rounding at all.
func randInts(r *rand.Rand, n, lim int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.IntN(2*lim+1) - lim)
	}
	return v
}

func randMask(r *rand.Rand, n int) []byte {
	switch r.IntN(4) {
	case 0:
		mk := make([]byte, n)
		for i := range mk {
			if r.IntN(2) == 0 {
				mk[i] = 1
			}
		}
		return mk
	case 1:
		mk := make([]byte, n)
		for i := range mk {
			if r.IntN(20) == 0 {
				mk[i] = 1
			}
		}
		return mk
	}
	return nil
}

// logUniform draws from [lo, hi] uniformly in log scale.
func logUniform(r *rand.Rand, lo, hi float64) float64 {
	return math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo)))
}

func softOne(m Metric, q, keys []float32, d int, values []float32, dv int, mask []byte, T float64) ([]float32, bool) {
	s := NewState(dv)
	s.Accumulate(m, q, Norm(q), keys, d, values, dv, mask, 1/T)
	out := make([]float32, dv)
	return out, s.Result(out)
}
