package attention

import (
	"math"
	"testing"
)

// score64f is the score of float64 vectors (the finite-difference oracle
// perturbs the query and keys in float64, below float32's resolution).
func score64f(m Metric, q, k []float64) float64 {
	var s, qq, kk float64
	for j := range q {
		switch m {
		case L2:
			x := q[j] - k[j]
			s -= x * x
		default:
			s += q[j] * k[j]
			qq += q[j] * q[j]
			kk += k[j] * k[j]
		}
	}
	if m == Cosine {
		if qq == 0 || kk == 0 {
			return 0
		}
		return s / math.Sqrt(qq*kk)
	}
	return s
}

// loss64 is L = ⟨g, Σ softmax(s/T)ᵢ vᵢ⟩ over the unmasked rows, in
// float64, max-subtracted.
func loss64(m Metric, q []float64, keys [][]float64, values [][]float64, mask []byte, g []float64, T float64) float64 {
	sc := make([]float64, len(keys))
	mx := math.Inf(-1)
	for i := range keys {
		sc[i] = score64f(m, q, keys[i]) / T
		if (mask == nil || mask[i] != 0) && sc[i] > mx {
			mx = sc[i]
		}
	}
	var sum, l float64
	for i := range keys {
		if mask != nil && mask[i] == 0 {
			continue
		}
		w := math.Exp(sc[i] - mx)
		sum += w
		for j, x := range values[i] {
			l += w * x * g[j]
		}
	}
	return l / sum
}

func widen(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func rowsOf(m []float32, d int) [][]float64 {
	out := make([][]float64, len(m)/d)
	for i := range out {
		out[i] = widen(m[i*d : (i+1)*d])
	}
	return out
}

// centralDiff is (f(x+h) − f(x−h))/2h with h = 1e-6·max(1, |x|): the
// truncation error is O(h²·f”') ≈ 1e-12 and the rounding error
// ε·|f|/h ≈ 1e-10 for the float64 losses here (|f| ≲ 10).
func centralDiff(x *float64, f func() float64) float64 {
	h := 1e-6 * max(1, math.Abs(*x))
	x0 := *x
	*x = x0 + h
	fp := f()
	*x = x0 - h
	fm := f()
	*x = x0
	return (fp - fm) / (2 * h)
}

// TestBackwardFiniteDifferences checks ∂L/∂q and ∂L/∂T of State.Backward,
// and ∂L/∂kᵢ, ∂L/∂vᵢ from ScoreGrad and the weights, against central
// finite differences of a float64 evaluation of L, for every metric and
// kernel set, over two blocks merged (and a mask).
//
// Tolerance: 2e-5 × the magnitude of the summed terms (Σ|cᵢ|·max|∂sᵢ/∂q|
// for ∂L/∂q, Σ|cᵢsᵢ|/T for ∂L/∂T): the scores are float32 (error ≈
// d·2⁻²⁴·Σ|qⱼkⱼ|, which 1/T = 1 turns into a relative weight error of the
// same size) and the chunk sums float32 (≤ 64·2⁻²⁴), well below it; the
// finite differences themselves are good to ~1e-10.
func TestBackwardFiniteDifferences(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		r := newRand(t)
		for _, m := range []Metric{Dot, Cosine, L2} {
			for _, T := range []float64{1, 3} {
				const n, d, dv = 150, 8, 5
				q := randVec(r, d, 0.5)
				keys := randVec(r, n*d, 0.5)
				values := randVec(r, n*dv, 1)
				copy(keys[7*d:8*d], make([]float32, d)) // a zero key
				mask := make([]byte, n)
				for i := range mask {
					if r.IntN(5) != 0 {
						mask[i] = 1
					}
				}
				g := randVec(r, dv, 1)
				checkBackward(t, m, T, q, keys, d, values, dv, mask, g)
			}
		}
	})
}

func checkBackward(t *testing.T, m Metric, T float64, q, keys []float32, d int, values []float32, dv int, mask []byte, g []float32) {
	t.Helper()
	n := len(keys) / d
	invT := 1 / T
	half := n / 2
	// Forward over two blocks, merged.
	a, b := NewState(dv), NewState(dv)
	qn := Norm(q)
	a.Accumulate(m, q, qn, keys[:half*d], d, values[:half*dv], dv, mask[:half], invT)
	b.Accumulate(m, q, qn, keys[half*d:], d, values[half*dv:], dv, mask[half:], invT)
	a.Merge(b)
	blend := make([]float32, dv)
	if !a.Result(blend) {
		t.Fatal("empty forward")
	}
	var gb float64
	for j := range g {
		gb += float64(g[j]) * float64(blend[j])
	}
	g1, g2 := NewGrad(d), NewGrad(d)
	a.Backward(g1, m, q, qn, keys[:half*d], d, values[:half*dv], dv, mask[:half], g, gb, nil)
	a.Backward(g2, m, q, qn, keys[half*d:], d, values[half*dv:], dv, mask[half:], g, gb, nil)
	g1.Merge(g2)
	gq := make([]float64, d)
	g1.Query(gq, m, q)
	gT := g1.Temperature(invT)

	// The oracle.
	q64, K, V, G := widen(q), rowsOf(keys, d), rowsOf(values, dv), widen(g)
	L := func() float64 { return loss64(m, q64, K, V, mask, G, T) }
	// Reference weights and cᵢ for the scales and the row gradients.
	w := make([]float64, n)
	var sum, mx float64 = 0, math.Inf(-1)
	for i := range K {
		if mask[i] != 0 {
			mx = max(mx, score64f(m, q64, K[i])/T)
		}
	}
	for i := range K {
		if mask[i] != 0 {
			w[i] = math.Exp(score64f(m, q64, K[i])/T - mx)
			sum += w[i]
		}
	}
	var gbRef, scaleQ, scaleT float64
	bRef := make([]float64, dv)
	for i := range K {
		w[i] /= sum
		for j := range bRef {
			bRef[j] += w[i] * V[i][j]
		}
	}
	for j := range bRef {
		gbRef += G[j] * bRef[j]
	}
	c := make([]float64, n)
	for i := range K {
		var gv float64
		for j := range G {
			gv += G[j] * V[i][j]
		}
		c[i] = w[i] * (gv - gbRef) / T
		ds := make([]float64, d)
		ScoreGrad(ds, m, 1, q, keys[i*d:(i+1)*d])
		mds := 0.0
		for _, x := range ds {
			mds = max(mds, math.Abs(x))
		}
		scaleQ += math.Abs(c[i]) * mds
		scaleT += math.Abs(c[i]*score64f(m, q64, K[i])) / T
	}
	const rel = 2e-5
	for j := range q64 {
		fd := centralDiff(&q64[j], L)
		if math.Abs(gq[j]-fd) > rel*scaleQ+1e-9 {
			t.Errorf("%s T=%g: ∂L/∂q[%d] = %.9g, finite difference %.9g (tolerance %.3g)", m, T, j, gq[j], fd, rel*scaleQ)
		}
	}
	Tv := T
	fdT := centralDiff(&Tv, func() float64 { return loss64(m, q64, K, V, mask, G, Tv) })
	if math.Abs(gT-fdT) > rel*scaleT+1e-9 {
		t.Errorf("%s T=%g: ∂L/∂T = %.9g, finite difference %.9g", m, T, gT, fdT)
	}
	// Row gradients (the row form): ∂L/∂kᵢ = cᵢ·∂s/∂kᵢ and ∂L/∂vᵢ = wᵢg,
	// on a few rows, including the zero key (row 7).
	for _, i := range []int{0, 7, 8, n - 1} {
		gk := make([]float64, d)
		ScoreGrad(gk, m, c[i], keys[i*d:(i+1)*d], q)
		for j := range K[i] {
			fd := centralDiff(&K[i][j], L)
			if m == Cosine && i == 7 {
				// The zero key: COSINE is 0 there by definition and its
				// gradient is taken as 0 (not the limit, which has none).
				fd = 0
			}
			if math.Abs(gk[j]-fd) > 1e-6*math.Abs(fd)+1e-9 {
				t.Errorf("%s T=%g: ∂L/∂k[%d][%d] = %.9g, finite difference %.9g", m, T, i, j, gk[j], fd)
			}
		}
		for j := range V[i] {
			fd := centralDiff(&V[i][j], L)
			if got := w[i] * G[j]; math.Abs(got-fd) > 1e-6*math.Abs(fd)+1e-9 {
				t.Errorf("%s T=%g: ∂L/∂v[%d][%d] = %.9g, finite difference %.9g", m, T, i, j, got, fd)
			}
		}
	}
}

// TestBackwardHugeScores: scores of 10⁴ and beyond (huge logits) give
// finite gradients, with the weights taken from the forward's maximum.
func TestBackwardHugeScores(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		r := newRand(t)
		const n, d, dv = 200, 4, 3
		q := randVec(r, d, 100)
		keys := randVec(r, n*d, 100)
		values := randVec(r, n*dv, 1)
		g := randVec(r, dv, 1)
		for _, m := range []Metric{Dot, L2} {
			s := NewState(dv)
			s.Accumulate(m, q, Norm(q), keys, d, values, dv, nil, 1)
			b := make([]float32, dv)
			s.Result(b)
			gr := NewGrad(d)
			s.Backward(gr, m, q, Norm(q), keys, d, values, dv, nil, g, 0, nil)
			out := make([]float64, d)
			gr.Query(out, m, q)
			for j, x := range out {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					t.Fatalf("%s: ∂L/∂q[%d] = %g", m, j, x)
				}
			}
			if x := gr.Temperature(1); math.IsNaN(x) || math.IsInf(x, 0) {
				t.Fatalf("%s: ∂L/∂T = %g", m, x)
			}
		}
	})
}

// TestBackwardKeptScores: the scores AccumulateKeep writes are the ones
// Backward computes, so Backward over them gives the same bits, and
// AccumulateKeep's forward state is Accumulate's.
func TestBackwardKeptScores(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		r := newRand(t)
		const n, d, dv = 1000, 16, 3
		q := randVec(r, d, 1)
		keys := randVec(r, n*d, 1)
		values := randVec(r, n*dv, 1)
		g := randVec(r, dv, 1)
		mask := make([]byte, n)
		for i := range mask {
			mask[i] = byte(r.IntN(4) % 3)
		}
		for _, m := range []Metric{Dot, Cosine, L2} {
			a, b := NewState(dv), NewState(dv)
			scores := make([]float32, n)
			a.Accumulate(m, q, Norm(q), keys, d, values, dv, mask, 0.5)
			b.AccumulateKeep(m, q, Norm(q), keys, d, values, dv, mask, 0.5, scores)
			if a.Max != b.Max || a.Sum != b.Sum || a.Acc[0] != b.Acc[0] {
				t.Fatalf("%s: AccumulateKeep's state differs from Accumulate's", m)
			}
			want := make([]float32, n)
			if err := ScoreRows(want, m, q, keys, d); err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if scores[i] != want[i] {
					t.Fatalf("%s: kept score %d = %g, ScoreRows %g", m, i, scores[i], want[i])
				}
			}
			g1, g2 := NewGrad(d), NewGrad(d)
			a.Backward(g1, m, q, Norm(q), keys, d, values, dv, mask, g, 0.3, nil)
			a.Backward(g2, m, q, Norm(q), keys, d, values, dv, mask, g, 0.3, scores)
			if g1.C != g2.C || g1.CS != g2.CS {
				t.Fatalf("%s: Backward over kept scores differs: %v %v, %v %v", m, g1.C, g1.CS, g2.C, g2.CS)
			}
			for j := range g1.Q {
				if g1.Q[j] != g2.Q[j] {
					t.Fatalf("%s: Q[%d] %v != %v", m, j, g1.Q[j], g2.Q[j])
				}
			}
		}
	})
}
