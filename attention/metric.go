package attention

import (
	"errors"
	"fmt"
	"math"
)

// Metric selects the score function. Higher scores are better for every
// metric, so L2 is negated.
type Metric uint8

const (
	Dot    Metric = iota // q·k
	Cosine               // q·k / (‖q‖‖k‖); 0 when either norm is 0
	L2                   // −‖q−k‖²
)

func (m Metric) String() string {
	switch m {
	case Dot:
		return "DOT"
	case Cosine:
		return "COSINE"
	case L2:
		return "L2"
	}
	return fmt.Sprintf("Metric(%d)", uint8(m))
}

func (m Metric) check() {
	if m > L2 {
		panic("attention: unknown metric " + m.String())
	}
}

// Norm returns the Euclidean norm ‖v‖, accumulated in float64 so that the
// value handed to the Cosine kernels is as exact as float32 allows.
func Norm(v []float32) float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return float32(math.Sqrt(s))
}

// ErrScoreRange reports a score whose exact value lies beyond float32's
// range (|score| > 3.4028235e38): a DOT or L2 of vectors with components
// near 1e19 and beyond. Such a row cannot be weighted or ranked in
// float32; softdb fails the statement rather than return NULL or NaN.
// Cosine never overflows.
var ErrScoreRange = errors.New("attention: a score exceeds float32's range")

// ScaleQuery sets dst to q scaled by a power of two, so that ‖dst‖ lies in
// [2⁻⁴⁰, 2⁴⁰], and returns ‖dst‖; len(dst) == len(q). Cosine is
// scale-invariant and, with the query's norm in that range, its float32
// kernels serve every key whose norm lies within [2⁻⁵⁰, 2⁵⁰] (the others
// are scored in float64). Scaling by a power of two changes no digit of a
// normal float32; components that fall below 2⁻¹²⁶ lose bits worth less
// than 2⁻⁸⁶ of the norm. A zero q is copied as is.
func ScaleQuery(dst, q []float32) float32 {
	dst = dst[:len(q)]
	var s float64
	for _, x := range q {
		s += float64(x) * float64(x)
	}
	norm := math.Sqrt(s)
	if norm == 0 || norm >= 0x1p-40 && norm <= 0x1p40 {
		copy(dst, q)
		return float32(norm)
	}
	_, e := math.Frexp(norm) // norm = f·2^e, f ∈ [0.5, 1)
	for j, x := range q {
		dst[j] = float32(math.Ldexp(float64(x), -e))
	}
	return Norm(dst)
}
