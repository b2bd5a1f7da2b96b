package attention

import "math"

// Single-precision exp used by every kernel path, so that the generic and the
// SIMD paths agree to the last bit where they can.
//
// Algorithm: Cephes expf (S. L. Moshier, Cephes Math Library 2.2, expf.c):
// x = n·ln2 + r with n = round(x·log2e) and r reduced in two steps (Cody–Waite,
// ln2 = C1 + C2 with C1 exact in few bits), e^r ≈ 1 + r + r²·P(r) with the
// degree-5 minimax polynomial below (|r| ≤ ln2/2, relative error ≤ 2e-7 by
// Cephes' test), then the result is scaled by 2ⁿ by building the exponent bits.
// Inputs here are logits minus their maximum, so x ≤ 0; x below expMin gives 0
// (the true value is < 1.2e-38 relative to the largest weight, 1).
const (
	expLog2e = 1.44269504088896341 // log2(e)
	expC1    = 0.693359375         // ln2 high part, Cephes expf C1
	expC2    = -2.12194440e-4      // ln2 − C1, Cephes expf C2
	expP0    = 1.9875691500e-4     // Cephes expf polynomial, highest degree first
	expP1    = 1.3981999507e-3
	expP2    = 8.3334519073e-3
	expP3    = 4.1665795894e-2
	expP4    = 1.6666665459e-1
	expP5    = 5.0000001201e-1
	expMin   = -87.33654 // ln(2⁻¹²⁶): the smallest normal result
)

// expf returns e^x for x ≤ 0 in float32 (see above).
func expf(x float32) float32 {
	if !(x >= expMin) { // also catches NaN and −Inf
		return 0
	}
	// round(x·log2e) by adding ½ and truncating toward −∞; the SIMD code
	// uses round-to-nearest, identical except at exact halves.
	fx := float32(math.Floor(float64(x*expLog2e + 0.5)))
	r := x - fx*expC1
	r -= fx * expC2
	z := r * r
	p := float32(expP0)
	p = p*r + expP1
	p = p*r + expP2
	p = p*r + expP3
	p = p*r + expP4
	p = p*r + expP5
	y := p*z + r + 1
	n := int32(fx)
	return y * math.Float32frombits(uint32(n+127)<<23)
}
