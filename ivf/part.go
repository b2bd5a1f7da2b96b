package ivf

import (
	"fmt"
	"math"
	"strings"
)

// Codes is how an index holds the vectors of its lists besides the
// column itself.
type Codes uint8

const (
	Float32  Codes = iota // no codes: rows are scored from the column
	Int8                  // one byte a component, a float32 scale a row
	BFloat16              // two bytes a component: the float32 rounded to bfloat16
)

func (c Codes) String() string {
	switch c {
	case Float32:
		return "float32"
	case Int8:
		return "int8"
	case BFloat16:
		return "bfloat16"
	}
	return fmt.Sprintf("Codes(%d)", uint8(c))
}

// ParseCodes reads a codes name (case-insensitive).
func ParseCodes(s string) (Codes, error) {
	switch strings.ToLower(s) {
	case "float32":
		return Float32, nil
	case "int8":
		return Int8, nil
	case "bfloat16":
		return BFloat16, nil
	}
	return 0, fmt.Errorf("unknown codes %q (expected float32, int8 or bfloat16)", s)
}

// Quantizer assigns vectors to lists: the trained centroids.
type Quantizer struct {
	D, L   int
	Cent   []float32 // L×D
	Codes  Codes
	cent   []float64 // the centroids in float64
	unit   []float64 // c/‖c‖ (zero for a zero centroid), for COSINE
	unit32 []float32 // unit rounded to float32 (Bounds' fast path)
	cnorm  []float64
}

// NewQuantizer wraps trained centroids (L×d, L ≥ 1).
func NewQuantizer(cent []float32, d int, codes Codes) *Quantizer {
	L := len(cent) / d
	q := &Quantizer{D: d, L: L, Cent: cent, Codes: codes,
		cent: make([]float64, L*d), unit: make([]float64, L*d), cnorm: make([]float64, L)}
	for c := 0; c < L; c++ {
		var s float64
		for j := 0; j < d; j++ {
			x := float64(cent[c*d+j])
			q.cent[c*d+j] = x
			s += x * x
		}
		n := math.Sqrt(s)
		q.cnorm[c] = n
		if n > 0 {
			for j := 0; j < d; j++ {
				q.unit[c*d+j] = q.cent[c*d+j] / n
			}
		}
	}
	q.unit32 = make([]float32, L*d)
	for i, x := range q.unit {
		q.unit32[i] = float32(x)
	}
	return q
}

// Part is the per-row data of a run of rows (one storage segment): for
// row i, its list (−1 when it has no key), and exact-or-larger distances
// and norms from which the lists' bounds are built.
type Part struct {
	N      int
	Assign []int32
	Dist   []float64 // ≥ ‖k − c‖, c the row's centroid
	UDist  []float64 // ≥ ‖k/‖k‖ − ĉ‖ (0 for a zero key)
	Norm   []float64 // ‖k‖ to within float64 rounding (see normSlack)
	Code   []int8    // Int8: N×D codes
	Scale  []float32 // Int8: k ≈ Scale·Code
	Half   []uint16  // BFloat16: N×D codes, k ≈ the float32 of each
	Err    []float64 // Int8: ≥ ‖k − Scale·Code‖; BFloat16: ≥ ‖k − k̂‖
}

// up widens a non-negative float64 computed from float32 data in a few
// float64 operations per component so that it bounds the exact real value:
// the relative rounding error of such sums is below d·2⁻⁵³ (Higham, §3.1),
// far below 1e-9 for d ≤ 65536.
func up(x float64) float64 { return x*(1+1e-9) + 1e-300 }

// Grow makes p hold n rows, keeping rows already filled.
func (p *Part) Grow(n int, q *Quantizer) {
	if n <= p.N {
		p.N = n
		return
	}
	p.Assign = growTo(p.Assign, n)
	p.Dist = growTo(p.Dist, n)
	p.UDist = growTo(p.UDist, n)
	p.Norm = growTo(p.Norm, n)
	if q.Codes == Int8 {
		p.Code = growTo(p.Code, n*q.D)
		p.Scale = growTo(p.Scale, n)
		p.Err = growTo(p.Err, n)
	}
	if q.Codes == BFloat16 {
		p.Half = growTo(p.Half, n*q.D)
		p.Err = growTo(p.Err, n)
	}
	p.N = n
}

func growTo[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	t := make([]T, n, max(n, 2*cap(s)))
	copy(t, s)
	return t
}

// Fill computes rows lo ≤ i < hi of p from keys (row i at keys[i*D:]) and
// nulls (nil, or 1 for a row without a key).
func (q *Quantizer) Fill(p *Part, keys []float32, nulls []byte, lo, hi int) {
	d := q.D
	var rows []int
	for i := lo; i < hi; i++ {
		if nulls != nil && nulls[i] != 0 {
			p.Assign[i] = -1
			p.Dist[i], p.UDist[i], p.Norm[i] = 0, 0, 0
			continue
		}
		rows = append(rows, i)
	}
	if len(rows) == 0 {
		return
	}
	// Gather the rows with keys and assign them in blocks.
	buf := make([]float32, len(rows)*d)
	for j, i := range rows {
		copy(buf[j*d:(j+1)*d], keys[i*d:])
	}
	as := make([]int32, len(rows))
	Assign(as, buf, d, q.Cent)
	for j, i := range rows {
		q.fillRow(p, i, buf[j*d:(j+1)*d], as[j])
	}
}

// FillAssigned is Fill with the lists given, as stored: row i (lo ≤ i <
// hi) goes to list assign[i], or to none when assign[i] is −1. Any list
// in range keeps the bounds true (they are measured from the row's own
// centroid); the nearest keeps them tight. It costs O(d) a row.
func (q *Quantizer) FillAssigned(p *Part, keys []float32, assign []int32, lo, hi int) {
	d := q.D
	for i := lo; i < hi; i++ {
		if assign[i] < 0 {
			p.Assign[i] = -1
			p.Dist[i], p.UDist[i], p.Norm[i] = 0, 0, 0
			continue
		}
		q.fillRow(p, i, keys[i*d:(i+1)*d], assign[i])
	}
}

// fillRow sets row i of p for key k in list a.
func (q *Quantizer) fillRow(p *Part, i int, k []float32, a32 int32) {
	d := q.D
	a := int(a32)
	p.Assign[i] = a32
	c := q.cent[a*d : (a+1)*d]
	u := q.unit[a*d : (a+1)*d]
	var nn, dd float64
	for t, x := range k {
		y := float64(x)
		nn += y * y
		e := y - c[t]
		dd += e * e
	}
	norm := math.Sqrt(nn)
	p.Norm[i] = norm
	p.Dist[i] = up(math.Sqrt(dd))
	if norm > 0 {
		var ud float64
		for t, x := range k {
			e := float64(x)/norm - u[t]
			ud += e * e
		}
		p.UDist[i] = up(math.Sqrt(ud))
	} else {
		p.UDist[i] = 0
	}
	if q.Codes == Int8 {
		p.Scale[i], p.Err[i] = EncodeInt8(p.Code[i*d:(i+1)*d], k)
	}
	if q.Codes == BFloat16 {
		p.Err[i] = EncodeBFloat16(p.Half[i*d:(i+1)*d], k)
	}
}

// EncodeInt8 sets code to the int8 code of k (scale = max|k|/127, code =
// round(k/scale)) and returns the scale and a bound e ≥ ‖k − scale·code‖,
// computed in float64 from the exact float32 inputs and widened by up.
func EncodeInt8(code []int8, k []float32) (scale float32, e float64) {
	var m float32
	for _, x := range k {
		m = max(m, float32(math.Abs(float64(x))))
	}
	if m == 0 {
		clear(code)
		return 0, 0
	}
	scale = m / 127
	if scale == 0 { // m subnormal: the code cannot represent it; bound it all
		clear(code)
		var s float64
		for _, x := range k {
			s += float64(x) * float64(x)
		}
		return 0, up(math.Sqrt(s))
	}
	inv := 1 / float64(scale)
	var s float64
	for j, x := range k {
		c := math.Round(float64(x) * inv)
		c = max(-127, min(127, c))
		code[j] = int8(c)
		r := float64(x) - float64(scale)*c
		s += r * r
	}
	return scale, up(math.Sqrt(s))
}

// ToBFloat16 rounds x to bfloat16, the top 16 bits of a float32 (sign,
// 8-bit exponent, 7-bit fraction), to nearest with ties to even: add
// 0x7fff plus the lowest kept bit and truncate (the rounding of Google's
// bfloat16 definition, cloud.google.com/tpu/docs/bfloat16, and of Intel's
// "BFLOAT16 – Hardware Numerics Definition", 2018, §2). A finite x that
// would round up to ±Inf (|x| ≥ 0x7f7f8000, just below float32's max) is
// rounded toward zero instead, to ±0x7f7f, so the code stays finite and
// its error stays small. NaN and Inf do not occur in stored keys.
func ToBFloat16(x float32) uint16 {
	b := math.Float32bits(x)
	r := b + 0x7fff + (b>>16)&1
	if r&0x7f800000 == 0x7f800000 && b&0x7f800000 != 0x7f800000 {
		return uint16(b >> 16) // would overflow: truncate (toward zero)
	}
	return uint16(r >> 16)
}

// FromBFloat16 returns the float32 a bfloat16 stands for (exact).
func FromBFloat16(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// EncodeBFloat16 sets code to the bfloat16 code of k and returns a bound
// e ≥ ‖k − k̂‖, k̂ the decoded code: each k_j − k̂_j is a difference of
// two float32s, computed in float64 and summed in float64, then widened
// by up as EncodeInt8 does.
func EncodeBFloat16(code []uint16, k []float32) (e float64) {
	var s float64
	for j, x := range k {
		h := ToBFloat16(x)
		code[j] = h
		r := float64(x) - float64(FromBFloat16(h))
		s += r * r
	}
	return up(math.Sqrt(s))
}
