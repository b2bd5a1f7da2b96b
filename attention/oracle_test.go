package attention

import (
	"math"
	"math/rand/v2"
	"testing"
)

const u32 = 1.0 / (1 << 24) // float32 unit roundoff

// scoreErrBound bounds |float32 score − float64 score| over the rows: the
// classical dot-product bound γ_n·Σ|qⱼkⱼ| with γ_n ≈ n·u (Higham, Accuracy
// and Stability of Numerical Algorithms, 2nd ed., §3.1), plus the rounding
// of the norms for Cosine.
func scoreErrBound(m Metric, q, keys []float32, d int) float64 {
	g := float64(d+4) * u32
	var worst float64
	n := len(keys) / d
	qq := 0.0
	for _, x := range q {
		qq += float64(x) * float64(x)
	}
	for i := 0; i < n; i++ {
		k := keys[i*d : (i+1)*d]
		var s, kk float64
		for j := range q {
			switch m {
			case L2:
				x := float64(q[j]) - float64(k[j])
				s += x * x
			default:
				s += math.Abs(float64(q[j]) * float64(k[j]))
				kk += float64(k[j]) * float64(k[j])
			}
		}
		if m == Cosine {
			if kk == 0 || qq == 0 {
				continue
			}
			s = s/math.Sqrt(qq*kk) + float64(d/2+5)
		}
		worst = max(worst, s)
	}
	return g * worst
}

// blendTol is the SPEC §4 tolerance 1e-5·max|v| widened by what float32
// scores can do at temperature T: an error δ in every score moves each
// weight by a factor within e^(±2δ/T). With exact scores (δ = 0) it is the
// SPEC figure itself.
func blendTol(delta, T, maxV float64) float64 {
	return maxV * (1e-5 + math.Expm1(2*delta/T))
}

type oracleCase struct {
	m      Metric
	n, d   int
	dv     int
	T      float64
	exact  bool // integer inputs: float32 scores are exact
	masked bool
}

func genCase(r *rand.Rand, maxN int) (oracleCase, []float32, []float32, []float32, []byte) {
	c := oracleCase{
		m:     Metric(r.IntN(3)),
		n:     int(logUniform(r, 1, float64(maxN))),
		d:     []int{1, 2, 3, 7, 8, 15, 16, 17, 31, 64, 100, 128, 200}[r.IntN(13)],
		dv:    []int{0, 1, 2, 3, 8, 10, 17, 64}[r.IntN(8)],
		T:     logUniform(r, 1e-3, 1e6),
		exact: r.IntN(2) == 0,
	}
	var q, keys []float32
	if c.exact {
		lim := 1 + r.IntN(4)
		q, keys = randInts(r, c.d, lim), randInts(r, c.n*c.d, lim)
	} else {
		sq, sk := logUniform(r, 1e-2, 1e2), logUniform(r, 1e-2, 1e2)
		q, keys = randVec(r, c.d, sq), randVec(r, c.n*c.d, sk)
		if r.IntN(4) == 0 { // duplicate rows make exact ties
			for i := 1; i < c.n; i += 3 {
				copy(keys[i*c.d:(i+1)*c.d], keys[(i-1)*c.d:i*c.d])
			}
		}
	}
	values := randVec(r, c.n*c.dv, logUniform(r, 1e-3, 1e3))
	mask := randMask(r, c.n)
	c.masked = mask != nil
	return c, q, keys, values, mask
}

// TestOracle compares Accumulate, AccumulateScores, AccumulateBatch and
// merged partial states with the float64 reference on random cases.
func TestOracle(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		r := newRand(t)
		cases, maxN := 400, 100000
		if testing.Short() {
			cases, maxN = 150, 5000
		}
		for ci := 0; ci < cases; ci++ {
			c, q, keys, values, mask := genCase(r, maxN)
			want, _, ok := refSoft(c.m, q, keys, c.d, values, c.dv, mask, c.T)
			delta := 0.0
			if !c.exact || c.m == Cosine {
				delta = scoreErrBound(c.m, q, keys, c.d)
			}
			tol := blendTol(delta, c.T, maxAbs32(values))
			check := func(how string, got []float32, gotOK bool) {
				t.Helper()
				if gotOK != ok {
					t.Fatalf("case %d %+v %s: ok=%v want %v", ci, c, how, gotOK, ok)
				}
				for j := range got {
					if e := math.Abs(float64(got[j]) - want[j]); !(e <= tol) {
						t.Fatalf("case %d %+v %s: component %d = %g, want %g (err %.3g > tol %.3g)", ci, c, how, j, got[j], want[j], e, tol)
					}
				}
			}
			got, gotOK := softOne(c.m, q, keys, c.d, values, c.dv, mask, c.T)
			check("Accumulate", got, gotOK)

			// Precomputed scores.
			sc := make([]float32, c.n)
			ScoreRows(sc, c.m, q, keys, c.d)
			s := NewState(c.dv)
			s.AccumulateScores(sc, values, c.dv, mask, 1/c.T)
			got = make([]float32, c.dv)
			check("AccumulateScores", got, s.Result(got))

			// Random split into blocks, merged in random order.
			parts := splitState(r, c.m, q, keys, c.d, values, c.dv, mask, c.T)
			r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
			s = NewState(c.dv)
			for _, p := range parts {
				s.Merge(p)
			}
			got = make([]float32, c.dv)
			check("merged", got, s.Result(got))

			// Batch: the same query three times among random others.
			if c.n*c.d <= 2e6 {
				nq := 1 + r.IntN(7)
				qs := randVec(r, nq*c.d, 1)
				at := r.IntN(nq)
				copy(qs[at*c.d:], q)
				states := make([]*State, nq)
				norms := make([]float32, nq)
				for a := range states {
					states[a] = NewState(c.dv)
					norms[a] = Norm(qs[a*c.d : (a+1)*c.d])
				}
				AccumulateBatch(states, c.m, qs, norms, keys, c.d, values, c.dv, mask, 1/c.T)
				got = make([]float32, c.dv)
				check("batch", got, states[at].Result(got))
			}
		}
	})
}

// splitState accumulates random contiguous blocks into separate States.
func splitState(r *rand.Rand, m Metric, q, keys []float32, d int, values []float32, dv int, mask []byte, T float64) []*State {
	n := len(keys) / d
	var out []*State
	for lo := 0; lo < n; {
		hi := min(n, lo+1+r.IntN(1+n/3))
		s := NewState(dv)
		var mk []byte
		if mask != nil {
			mk = mask[lo:hi]
		}
		s.Accumulate(m, q, Norm(q), keys[lo*d:hi*d], d, values[lo*dv:hi*dv], dv, mk, 1/T)
		out = append(out, s)
		lo = hi
	}
	out = append(out, NewState(dv)) // an empty part merges as a no-op
	return out
}

// TestWeightsOracle reads the weights out of Accumulate by blending the
// identity matrix (row i's value is eᵢ), and checks them within 1e-6 of the
// float64 reference on inputs whose scores are exact.
func TestWeightsOracle(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		r := newRand(t)
		for ci := 0; ci < 200; ci++ {
			m := Metric(r.IntN(3))
			n := 1 + r.IntN(300)
			d := 1 + r.IntN(40)
			T := logUniform(r, 1e-3, 1e6)
			q, keys := randInts(r, d, 3), randInts(r, n*d, 3)
			eye := make([]float32, n*n)
			for i := 0; i < n; i++ {
				eye[i*n+i] = 1
			}
			mask := randMask(r, n)
			_, want, ok := refSoft(m, q, keys, d, eye, n, mask, T)
			got, gotOK := softOne(m, q, keys, d, eye, n, mask, T)
			if ok != gotOK {
				t.Fatalf("case %d: ok=%v want %v", ci, gotOK, ok)
			}
			tol := 1e-6
			if m == Cosine {
				tol += math.Expm1(2 * scoreErrBound(m, q, keys, d) / T)
			}
			var sum float64
			for i := range got {
				sum += float64(got[i])
				if e := math.Abs(float64(got[i]) - want[i]); e > tol {
					t.Fatalf("case %d (%v n=%d d=%d T=%g): weight %d = %g, want %g (err %.3g)", ci, m, n, d, T, i, got[i], want[i], e)
				}
			}
			if ok && math.Abs(sum-1) > 1e-5 {
				t.Fatalf("case %d: weights sum to %g", ci, sum)
			}
			// Softmax on the same (exact) scores.
			sc := make([]float32, n)
			ScoreRows(sc, m, q, keys, d)
			if mask == nil && m != Cosine {
				w := make([]float64, n)
				Softmax(w, sc, 1/T)
				for i := range w {
					if e := math.Abs(w[i] - want[i]); e > 1e-12 {
						t.Fatalf("case %d: Softmax weight %d = %g, want %g", ci, i, w[i], want[i])
					}
				}
			}
		}
	})
}

// TestLargeN checks the SPEC's 10⁶-row accuracy: float32 chunk sums are
// folded into float64 often enough that the error does not grow with n.
func TestLargeN(t *testing.T) {
	if testing.Short() {
		t.Skip("10⁶ rows: skipped in -short mode")
	}
	forEachKernel(t, func(t *testing.T) {
		r := newRand(t)
		const n, d, dv = 1000000, 8, 4
		q, keys := randInts(r, d, 2), randInts(r, n*d, 2)
		values := randVec(r, n*dv, 1)
		for i := 0; i < n*dv; i += dv {
			values[i] = 1 + values[i]*1e-3 // a large common mean: cancellation-free but rounding-prone
		}
		for _, T := range []float64{1e-3, 0.5, 3, 1e6} {
			want, _, _ := refSoft(Dot, q, keys, d, values, dv, nil, T)
			got, _ := softOne(Dot, q, keys, d, values, dv, nil, T)
			for j := range got {
				if e := math.Abs(float64(got[j]) - want[j]); e > 1e-5*maxAbs32(values) {
					t.Fatalf("T=%g component %d: %g want %g (err %.3g)", T, j, got[j], want[j], e)
				}
			}
		}
	})
}
