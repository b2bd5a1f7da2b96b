//go:build amd64 && !purego

package ivf

import "golang.org/x/sys/cpu"

//go:noescape
func gemm6x16(out *float32, ldo int, x *float32, ldx int, cp *float32, negh *float32, d int)

// haveGEMM: the AVX2+FMA tile of gemm_amd64.s can run.
var haveGEMM = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// tile6x16 runs gemm6x16 on slices (out 6 rows of stride ldo floats, x 6
// rows of stride ldx floats, cp d×16, negh 16).
func tile6x16(out []float32, ldo int, x []float32, ldx int, cp, negh []float32, d int) {
	_ = out[5*ldo+15]
	_ = x[5*ldx+d-1]
	_ = cp[d*16-1]
	_ = negh[15]
	gemm6x16(&out[0], ldo*4, &x[0], ldx*4, &cp[0], &negh[0], d)
}
