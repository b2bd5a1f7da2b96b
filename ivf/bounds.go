package ivf

import (
	"math"
	"sync"

	"github.com/softdb/softdb/attention"
)

// Slack returns γ, the relative rounding error allowed for a float32
// score of dimension d: the attention kernels sum d products in float32
// (in any order, with or without FMA), so a dot product errs by at most
// γ_d·Σ|qᵢkᵢ| ≤ γ_d·‖q‖‖k‖ with γ_d = d·u/(1−d·u), u = 2⁻²⁴ (Higham,
// Accuracy and Stability of Numerical Algorithms, 2nd ed., §3.1); L2
// adds one rounding per difference, COSINE the norms' and a division. γ
// here is twice γ_{d+8}, which covers all three with room to spare.
func Slack(d int) float64 {
	u := math.Ldexp(1, -24)
	n := float64(d + 8)
	return 2 * n * u / (1 - n*u)
}

// Query is a query prepared for the bounds: as the kernels score it
// (for COSINE, scaled by ScaleQuery as the scan does) and in float64.
type Query struct {
	M     attention.Metric
	V     []float32 // as handed to the kernels
	Norm  float32   // ‖V‖ as handed to the kernels (COSINE)
	v     []float64
	norm  float64
	unit  []float64 // v/‖v‖ (COSINE)
	gamma float64
	// code32: int8 code bounds sum q·code in float32 on the AVX2 kernel;
	// set when it can run and no partial sum can overflow (Σ|qⱼ|·127 ≤
	// √d·‖q‖·127 far below float32's range) nor Σcode² leave int32.
	code32 bool
}

// NewQuery prepares q (already scaled for COSINE) with its norm qnorm.
func NewQuery(m attention.Metric, q []float32, qnorm float32) *Query {
	Q := &Query{M: m, V: q, Norm: qnorm, v: make([]float64, len(q)), gamma: Slack(len(q))}
	var s float64
	for i, x := range q {
		Q.v[i] = float64(x)
		s += Q.v[i] * Q.v[i]
	}
	Q.norm = math.Sqrt(s)
	Q.code32 = haveCodeDot && len(q) < 100_000 && Q.norm*127*math.Sqrt(float64(len(q))) < 1e30
	if m == attention.Cosine && Q.norm > 0 {
		Q.unit = make([]float64, len(q))
		for i, x := range Q.v {
			Q.unit[i] = x / Q.norm
		}
	}
	return Q
}

// Bounds are, for one query, a lower and an upper bound on the float32
// score of every member of each list, and the non-empty lists in
// decreasing order of upper bound (ties: lower list first).
type Bounds struct {
	Lo, Hi []float64
	Order  []int
	fast   []float32
}

// boundsPool keeps Bounds' arrays between queries (Release): 1,000 lists
// are 28 KB of fresh memory a query otherwise.
var boundsPool = sync.Pool{New: func() any { return new(Bounds) }}

// Release hands b's arrays back for a later query's Bounds; b must not be
// used after it. Not calling it is correct, only slower.
func (b *Bounds) Release() {
	if b != nil {
		boundsPool.Put(b)
	}
}

// Bounds computes the per-list bounds of q over v (docs/indexes.md, §1):
//
//	DOT:    q·k = q·c + q·(k−c) ∈ q·c ± ‖q‖·r                 (Cauchy–Schwarz)
//	L2:     ‖q−k‖ ∈ [‖q−c‖ − r, ‖q−c‖ + r]                    (triangle inequality)
//	COSINE: q̂·k̂ ∈ q̂·ĉ ± r̂, r̂ ≥ ‖k̂ − ĉ‖; a zero key scores 0
//
// each widened by the kernels' rounding (Slack) and by 1e-9 relative for
// the float64 arithmetic here.
func (v *View) Bounds(Q *Query) *Bounds {
	q := v.Q
	d := q.D
	b := boundsPool.Get().(*Bounds)
	b.Lo, b.Hi = growTo(b.Lo, q.L), growTo(b.Hi, q.L)
	clear(b.Lo)
	clear(b.Hi)
	b.Order = b.Order[:0]
	// q·c (DOT), ‖q−c‖² (L2) or q·ĉ (COSINE) for every list at once with
	// the float32 kernels; each errs by at most γ·(its magnitude) (§0),
	// which widens the bounds below. A centre beyond float32's range falls
	// back to float64.
	b.fast = growTo(b.fast, q.L)
	fast := b.fast
	var err error
	switch Q.M {
	case attention.Dot:
		err = attention.ScoreRows(fast, attention.Dot, Q.V, q.Cent, d)
	case attention.L2:
		err = attention.ScoreRows(fast, attention.L2, Q.V, q.Cent, d)
	case attention.Cosine:
		if Q.unit != nil {
			err = attention.ScoreRows(fast, attention.Dot, Q.V, q.unit32, d)
		}
	}
	exact := err != nil
	for l, n := range v.size {
		if n == 0 {
			continue
		}
		b.Order = append(b.Order, l)
		B := &v.balls[l]
		b.Lo[l], b.Hi[l] = Q.ball(fast[l], exact, q.cent[l*d:(l+1)*d], q.unit[l*d:(l+1)*d], q.cnorm[l], B.radius, B.uradius, B.maxNorm, B.hasZero)
	}
	// Decreasing upper bound, ties to the lower list (b.Order is built in
	// list order and the sort is stable).
	s := sortPool.Get().(*sortScratch)
	s.keys, s.tmp = sortByHiDesc(b.Order, b.Hi, s.keys, s.tmp)
	sortPool.Put(s)
	return b
}

// sortScratch is the radix sort's buffers, kept between queries.
type sortScratch struct {
	keys []uint64
	tmp  []int
	ids  []int
}

var sortPool = sync.Pool{New: func() any { return new(sortScratch) }}

// ball returns bounds on the float32 score of every key k of a ball:
// ‖k − c‖ ≤ r and ‖k‖ ≤ maxNorm, and for COSINE ‖k/‖k‖ − u‖ ≤ ur for
// non-zero k (u = c/‖c‖, or any unit or zero vector it was measured
// against) or k = 0 when hasZero (docs/indexes.md, §1). fast is the
// float32 kernel's q·c (DOT), −‖q−c‖² (L2) or q·u (COSINE); when exact
// is set it is ignored and the float64 centre is used instead. cn = ‖c‖.
func (Q *Query) ball(fast float32, exact bool, c, unit []float64, cn, r, ur, maxNorm float64, hasZero bool) (lo, hi float64) {
	switch Q.M {
	case attention.Dot:
		var dot float64
		if exact {
			for j, x := range Q.v {
				dot += x * c[j]
			}
		} else {
			dot = float64(fast)
		}
		w := Q.norm*r + (1e-9+Q.gamma)*Q.norm*(cn+r) + Q.gamma*Q.norm*maxNorm
		return dot - w, dot + w
	case attention.L2:
		var dqc, dlo float64
		if exact {
			var s float64
			for j, x := range Q.v {
				e := x - c[j]
				s += e * e
			}
			dqc = math.Sqrt(s)
			dlo = dqc * (1 - 1e-9)
		} else {
			s := -float64(fast)
			e := (Q.gamma + 1e-9) * (Q.norm + cn) * (Q.norm + cn)
			dqc = math.Sqrt(s + e)
			dlo = math.Sqrt(max(0, s-e))
		}
		near := max(0, dlo-r)
		far := up(dqc) + r
		w := Q.gamma * (far * far)
		return -(far * far) - w, -(near * near) + w
	default: // COSINE
		if Q.unit == nil { // a zero query scores 0 against every key
			return 0, 0
		}
		var dot float64
		if exact {
			for j, x := range Q.unit {
				dot += x * unit[j]
			}
		} else {
			// q·û in float32 over ‖q‖; û is u rounded (‖û − u‖ ≤ 1e-7·√d·…,
			// covered by 1e-6), and the kernel errs by γ‖q‖‖û‖.
			dot = float64(fast) / Q.norm
		}
		w := ur + 1e-6 + 2*Q.gamma
		lo, hi = max(-1, dot-w)-Q.gamma, min(1, dot+w)+Q.gamma
		if hasZero {
			lo, hi = min(lo, 0), max(hi, 0)
		}
		return lo, hi
	}
}

// rowBound returns bounds on the float32 score of a list member from its
// code (docs/indexes.md, §2): with k̂ = s·code (int8) or the bfloat16
// code's float32, and e ≥ ‖k − k̂‖,
// |q·k − q·k̂| ≤ ‖q‖·e; q·k̂ is computed in float64 from exact inputs.
// For L2 the bound is also taken in metric form (§2b), from kh2 = ‖k̂‖²,
// and the two are intersected.
// derr bounds the error of dotHat beyond float64 rounding (the float32
// code kernel's, §2c; 0 for the float64 sums).
func (Q *Query) rowBound(dotHat, kh2, derr, norm, e float64) (lo, hi float64) {
	switch Q.M {
	case attention.Dot:
		w := Q.norm*e + Q.gamma*Q.norm*(norm+e) + 1e-9*Q.norm*(norm+e) + derr
		return dotHat - w, dotHat + w
	case attention.L2:
		// −‖q−k‖² = 2q·k − ‖q‖² − ‖k‖².
		w := 2 * (Q.norm*e + 1e-9*Q.norm*(norm+e) + derr)
		base := -Q.norm*Q.norm - norm*norm
		sq := (Q.norm + norm) * (Q.norm + norm)
		slack := Q.gamma*sq + 1e-9*sq
		lo, hi = base+2*dotHat-w-slack, base+2*dotHat+w+slack
		mlo, mhi := Q.l2Metric(dotHat, kh2, derr, norm, e)
		return max(lo, mlo-slack), min(hi, mhi+slack)
	default: // COSINE
		if norm == 0 || Q.norm == 0 {
			return 0, 0
		}
		c := dotHat / (Q.norm * norm)
		w := e/norm + 1e-9 + 2*Q.gamma + derr/(Q.norm*norm)*(1+1e-9)
		return c - w, c + w
	}
}

// l2Metric bounds −‖q−k‖² (in real arithmetic) by the triangle
// inequality around k̂ (docs/indexes.md, §2b): with D = ‖q − k̂‖,
// ‖q − k‖ ∈ [D − e, D + e]. D² = ‖q‖² − 2q·k̂ + ‖k̂‖² is computed in
// float64 from dotHat = q·k̂ and kh2 = ‖k̂‖², each within (d + 2)·2⁻⁵³
// relative of its magnitude (Higham §3.1), so within 1e-9·(‖q‖ + ‖k̂‖)² in
// all, with ‖k̂‖ ≤ norm + e, plus 2·derr; the squares and roots are
// rounded outward.
func (Q *Query) l2Metric(dotHat, kh2, derr, norm, e float64) (lo, hi float64) {
	r := Q.norm + norm + e
	delta := 1e-9*r*r + 2*derr*(1+1e-9)
	D2 := Q.norm*Q.norm - 2*dotHat + kh2
	far := up(math.Sqrt(max(0, D2+delta))) + e
	near := max(0, math.Sqrt(max(0, D2-delta))*(1-1e-9)-e)
	return -far * far * (1 + 1e-9), -near * near * (1 - 1e-9)
}

// codeDot returns q·k̂ and ‖k̂‖² for member p of L (an int8 or bfloat16
// list) and derr, a bound on dot's error beyond float64 rounding. With
// int8 codes and the AVX2 kernel (Q.code32) q·code is summed in float32
// (§2c): Higham's γ_d·Σ|qⱼcⱼ| ≤ γ_d·‖q‖‖code‖ bounds its rounding (any
// order, with or without FMA; Q.gamma ≥ γ_d), plus d·2⁻¹⁴⁹ per unit for
// underflow, both times the scale; Σcode² is exact in int32.
func (Q *Query) codeDot(L *List, p, d int) (dot, sq, derr float64) {
	if Q.code32 && L.Codes != nil {
		dot32, c2 := codeDot32(Q.V, L.Codes[p*d:(p+1)*d])
		sc := float64(L.Scale[p])
		sq = sc * sc * float64(c2)
		derr = Q.gamma*Q.norm*math.Sqrt(sq)*(1+1e-9) + sc*float64(d)*0x1p-140
		return float64(dot32) * sc, sq, derr
	}
	dot, sq = L.dot(Q.v, p, d)
	return dot, sq, 0
}

// codeDot returns q·(scale·code) in float64 (exact products of float32
// and small integers, summed in float64) and ‖scale·code‖² (the integer
// Σ code², exact, times scale², rounded once).
func codeDot(q []float64, code []int8, scale float32) (dot, sq float64) {
	var s0, s1, s2, s3 float64
	var c2 int64
	n := len(code) &^ 3
	for j := 0; j < n; j += 4 {
		c0, c1, cc2, c3 := int64(code[j]), int64(code[j+1]), int64(code[j+2]), int64(code[j+3])
		s0 += q[j] * float64(c0)
		s1 += q[j+1] * float64(c1)
		s2 += q[j+2] * float64(cc2)
		s3 += q[j+3] * float64(c3)
		c2 += c0*c0 + c1*c1 + cc2*cc2 + c3*c3
	}
	for j := n; j < len(code); j++ {
		c := int64(code[j])
		s0 += q[j] * float64(c)
		c2 += c * c
	}
	sc := float64(scale)
	return sc * (s0 + s1 + s2 + s3), sc * sc * float64(c2)
}

// halfDot returns q·k̂ and ‖k̂‖² in float64 for a bfloat16 code (each
// k̂_j is a float32, so as with codeDot the products are of float64s exact
// in float32 and the sums' rounding is what rowBound's slack covers).
func halfDot(q []float64, code []uint16) (dot, sq float64) {
	var s0, s1, s2, s3, t0, t1 float64
	n := len(code) &^ 3
	for j := 0; j < n; j += 4 {
		k0, k1 := float64(FromBFloat16(code[j])), float64(FromBFloat16(code[j+1]))
		k2, k3 := float64(FromBFloat16(code[j+2])), float64(FromBFloat16(code[j+3]))
		s0 += q[j] * k0
		s1 += q[j+1] * k1
		s2 += q[j+2] * k2
		s3 += q[j+3] * k3
		t0 += k0*k0 + k1*k1
		t1 += k2*k2 + k3*k3
	}
	for j := n; j < len(code); j++ {
		k := float64(FromBFloat16(code[j]))
		s0 += q[j] * k
		t0 += k * k
	}
	return s0 + s1 + s2 + s3, t0 + t1
}
