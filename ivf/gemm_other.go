//go:build !amd64 || purego

package ivf

const haveGEMM = false

func tile6x16(out []float32, ldo int, x []float32, ldx int, cp, negh []float32, d int) {
	panic("ivf: no GEMM tile on this platform")
}
