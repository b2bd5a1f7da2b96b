//go:build amd64 && !purego

package ivf

//go:noescape
func codeDot8(q *float32, code *int8, n int) (dot float32, sq int32)

// haveCodeDot: the AVX2+FMA kernel of codedot_amd64.s can run.
var haveCodeDot = haveGEMM

// codeDot32 returns q·code in float32 (rounded as codeDot8 describes)
// and Σ code² exactly, for any len(code) = len(q) < 133,000.
func codeDot32(q []float32, code []int8) (float32, int32) {
	n := len(code) &^ 7
	var dot float32
	var sq int32
	if n > 0 {
		_ = q[n-1]
		dot, sq = codeDot8(&q[0], &code[0], n)
	}
	for j := n; j < len(code); j++ {
		c := int32(code[j])
		dot += q[j] * float32(c)
		sq += c * c
	}
	return dot, sq
}
