package attention

// ExpShift sets p[i] = e^((p[i]−ref)·invT) for every i < len(p), with the
// vector exp of the softmax kernels, and returns Σ p[i]: summed in float32
// over runs of 64 entries, as the kernels do, and in float64 across runs.
// −Inf and NaN entries give 0, as do results below 2⁻¹²⁶. The entries of
// p[len(p):cap(p)] up to the next multiple of 8 are used as scratch (when
// the capacity falls short, a slower path is taken).
func ExpShift(p []float32, ref, invT float32) float64 {
	var sum float64
	for len(p) > 0 {
		c := min(len(p), chunk)
		sum += float64(kern.expShift(p[:c], ref, invT))
		p = p[c:]
	}
	return sum
}
