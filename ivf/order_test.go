package ivf

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/softdb/softdb/attention"
)

// TestSortByHiDesc checks the radix sort against a stable comparison
// sort with cmp.Compare (the order Bounds promises: decreasing upper
// bound, ties to the lower list) on bounds built to tie, with ±0, ±Inf,
// NaN, subnormals and values of every sign and magnitude.
func TestSortByHiDesc(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	special := []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), 5e-324, -5e-324,
		math.MaxFloat64, -math.MaxFloat64, 1, -1, 1 + 1e-16, math.Nextafter(1, 2), math.Nextafter(-1, -2)}
	var keys []uint64
	var tmp []int
	for it := 0; it < 2000; it++ {
		n := rng.IntN(300)
		hi := make([]float64, n+rng.IntN(5))
		for i := range hi {
			switch rng.IntN(4) {
			case 0:
				hi[i] = special[rng.IntN(len(special))]
			case 1:
				hi[i] = float64(rng.IntN(5) - 2) // many ties
			case 2:
				hi[i] = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20))
			default:
				hi[i] = -rng.ExpFloat64() * 100
			}
		}
		// ids: an ascending subset, as Bounds builds b.Order.
		var ids []int
		for i := range hi {
			if rng.IntN(5) > 0 {
				ids = append(ids, i)
			}
		}
		want := slices.Clone(ids)
		slices.SortStableFunc(want, func(x, y int) int { return cmp.Compare(hi[y], hi[x]) })
		got := slices.Clone(ids)
		keys, tmp = sortByHiDesc(got, hi, keys, tmp)
		if !slices.Equal(got, want) {
			t.Fatalf("case %d: got %v, want %v (hi %v)", it, got, want, hi)
		}
	}
}

// TestL2CodeBoundTighter: for L2, the code bound in metric form
// (docs/indexes.md §2b: ‖q − k‖ within e of ‖q − k̂‖) is intersected with
// the dot form's (2‖q‖e either side); for a query among clustered keys,
// far from the origin, the rows near it get intervals well under half as
// wide. Both must still hold every float32 score (TestBoundsHold checks
// the intersection on adversarial data; this checks the metric form
// alone too).
func TestL2CodeBoundTighter(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n, d := 4000, 64
	keys := make([]float32, n*d)
	cents := make([]float32, 8*d)
	for i := range cents {
		cents[i] = float32(rng.NormFloat64())
	}
	for i := 0; i < n; i++ {
		c := rng.IntN(8)
		for j := 0; j < d; j++ {
			keys[i*d+j] = cents[c*d+j] + float32(rng.NormFloat64()*0.3)
		}
	}
	for _, codes := range codedKinds {
		v := build(keys, n, d, 8, codes, 1)
		q := append([]float32(nil), keys[:d]...)
		for j := range q {
			q[j] += float32(rng.NormFloat64() * 0.05)
		}
		Q := prepare(attention.L2, q)
		scores := make([]float32, n)
		_ = attention.ScoreRows(scores, attention.L2, Q.V, keys, d)
		var ratios []float64
		for l := range v.Lists {
			L := &v.Lists[l]
			for j, id := range L.IDs {
				dh, kh2, derr := Q.codeDot(L, j, d)
				lo, hi := Q.rowBound(dh, kh2, derr, L.Norm[j], L.Err[j])
				mlo, mhi := Q.l2Metric(dh, kh2, derr, L.Norm[j], L.Err[j])
				norm := L.Norm[j]
				sq := (Q.norm + norm) * (Q.norm + norm)
				slack := Q.gamma*sq + 1e-9*sq
				s := float64(scores[id])
				if s < lo || s > hi || s < mlo-slack || s > mhi+slack {
					t.Fatalf("%s row %d: score %v outside [%v, %v] or the metric form [%v, %v]", codes, id, s, lo, hi, mlo-slack, mhi+slack)
				}
				dotWidth := 4 * (Q.norm*L.Err[j] + 1e-9*Q.norm*(norm+L.Err[j]))
				if s > -4*float64(d)*0.3*0.3 { // the query's own cluster
					ratios = append(ratios, (hi-lo-2*slack)/dotWidth)
				}
			}
		}
		slices.Sort(ratios)
		if len(ratios) < 100 {
			t.Fatalf("%s: only %d rows near the query", codes, len(ratios))
		}
		med := ratios[len(ratios)/2]
		t.Logf("%s: %d rows of the query's cluster, median code-bound width %.2f× the dot form's", codes, len(ratios), med)
		if med > 0.6 {
			t.Errorf("%s: median width %.2f× the dot form's, want ≤ 0.6×", codes, med)
		}
	}
}

// TestCodeDot32 checks the float32 code kernel against an exact float64
// reference: Σ code² exactly, and q·code within Higham's γ_d·Σ|qⱼcⱼ|
// plus d·2⁻¹⁴⁹ for underflow (the error codeDot charges it), for every
// length (tails of 1 to 15), codes of every value including −128, and
// queries from subnormal to 10⁴.
func TestCodeDot32(t *testing.T) {
	if !haveCodeDot {
		t.Skip("no AVX2+FMA: the float64 sums are used")
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for it := 0; it < 20000; it++ {
		d := 1 + rng.IntN(300)
		q := make([]float32, d)
		code := make([]int8, d)
		scale := math.Pow(10, float64(rng.IntN(12)-8))
		if rng.IntN(20) == 0 {
			scale = 1e-42 // subnormal queries
		}
		for j := range q {
			q[j] = float32(rng.NormFloat64() * scale)
			code[j] = int8(rng.IntN(256) - 128)
		}
		var exact, abs float64
		var sq int64
		for j := range q {
			p := float64(q[j]) * float64(code[j])
			exact += p
			abs += math.Abs(p)
			sq += int64(code[j]) * int64(code[j])
		}
		dot, s2 := codeDot32(q, code)
		if int64(s2) != sq {
			t.Fatalf("d=%d: Σcode² = %d, want %d", d, s2, sq)
		}
		u := math.Ldexp(1, -24)
		gamma := float64(d) * u / (1 - float64(d)*u)
		if err := math.Abs(float64(dot) - exact); err > gamma*abs+float64(d)*0x1p-149 {
			t.Fatalf("d=%d: q·code = %v, exact %v: error %g beyond γ_d·Σ|qc| = %g", d, dot, exact, err, gamma*abs)
		}
	}
}

// TestKthLargest checks the selection against a sort, ties and NaN (as
// −Inf) included, for k on both sides of its insertion limit.
func TestKthLargest(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var buf []float64
	for it := 0; it < 5000; it++ {
		n := 1 + rng.IntN(300)
		xs := make([]float64, n)
		for i := range xs {
			switch rng.IntN(6) {
			case 0:
				xs[i] = math.NaN()
			case 1:
				xs[i] = float64(rng.IntN(3))
			default:
				xs[i] = rng.NormFloat64()
			}
		}
		k := 1 + rng.IntN(min(n, 100))
		ref := make([]float64, n)
		for i, x := range xs {
			if x != x {
				x = math.Inf(-1)
			}
			ref[i] = x
		}
		slices.Sort(ref)
		var got float64
		buf, got = kthLargest(buf, xs, k)
		if got != ref[n-k] {
			t.Fatalf("n=%d k=%d: got %v, want %v", n, k, got, ref[n-k])
		}
	}
}
