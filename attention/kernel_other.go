//go:build !amd64 || purego

package attention

func archKernels() []*kernelSet { return []*kernelSet{&genericKernels} }

// The AVX2 and AVX-512 entry points are never selected here.

func dotRowsAVX2(dst, q, keys []float32, d int)             { panic("attention: no avx2 kernels") }
func dotNormRowsAVX2(dst, kk, q, keys []float32, d int)     { panic("attention: no avx2 kernels") }
func l2RowsAVX2(dst, q, keys []float32, d int)              { panic("attention: no avx2 kernels") }
func expShiftAVX2Go(p []float32, ref, invT float32) float32 { panic("attention: no avx2 kernels") }
func axpyRowsAVX2(acc, p, values []float32, dv int)         { panic("attention: no avx2 kernels") }
func tileAVX2(l2 bool, dst []float32, ldd int, qs []float32, nq int, keys []float32, nk, d int) {
	panic("attention: no avx2 kernels")
}
func maxAVX2Go(p []float32) float32                           { panic("attention: no avx2 kernels") }
func allFiniteAVX2(p []float32) bool                          { panic("attention: no avx2 kernels") }
func scaleAddAVX2(acc []float64, buf []float32, a, b float64) { panic("attention: no avx2 kernels") }
func tileAVX512(dst []float32, ldd int, qs []float32, nq int, keys []float32, nk, d int) {
	panic("attention: no avx512 kernels")
}
func pvAVX512(acc []float32, lda int, p []float32, ldp int, nq int, values []float32, n, dv int) {
	panic("attention: no avx512 kernels")
}
func prefetchFloats(v []float32) { panic("attention: no avx2 kernels") }
func foldFloatsGo(p []float32, v []float64, ref0, invT float32, refs, sums []float32, accs []float64) {
	panic("attention: no avx2 kernels")
}
func pvAVX2(acc []float32, lda int, p []float32, ldp int, nq int, values []float32, n, dv int) {
	panic("attention: no avx2 kernels")
}
