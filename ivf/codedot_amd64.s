//go:build amd64 && !purego

#include "textflag.h"

// func codeDot8(q *float32, code *int8, n int) (dot float32, sq int32)
//
// dot = Σ_j q[j]·code[j] in float32 (products exact, sums rounded: one
// FMA a component into 8-lane accumulators, then a horizontal sum), sq =
// Σ_j code[j]² in int32 (exact: n·127² < 2³¹ for n < 133,000), for n a
// multiple of 8, n ≥ 8.
TEXT ·codeDot8(SB), NOSPLIT, $0-32
	MOVQ   q+0(FP), SI
	MOVQ   code+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VPXOR  Y2, Y2, Y2
	VPXOR  Y3, Y3, Y3

loop16:
	CMPQ        CX, $16
	JLT         tail8
	VPMOVSXBD   (DI), Y4
	VPMOVSXBD   8(DI), Y5
	VCVTDQ2PS   Y4, Y6
	VCVTDQ2PS   Y5, Y7
	VFMADD231PS (SI), Y6, Y0
	VFMADD231PS 32(SI), Y7, Y1
	VPMULLD     Y4, Y4, Y4
	VPMULLD     Y5, Y5, Y5
	VPADDD      Y4, Y2, Y2
	VPADDD      Y5, Y3, Y3
	ADDQ        $16, DI
	ADDQ        $64, SI
	SUBQ        $16, CX
	JMP         loop16

tail8:
	CMPQ        CX, $8
	JLT         done
	VPMOVSXBD   (DI), Y4
	VCVTDQ2PS   Y4, Y6
	VFMADD231PS (SI), Y6, Y0
	VPMULLD     Y4, Y4, Y4
	VPADDD      Y4, Y2, Y2

done:
	VADDPS       Y1, Y0, Y0
	VPADDD       Y3, Y2, Y2
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VMOVSS       X0, dot+24(FP)
	VEXTRACTI128 $1, Y2, X3
	VPADDD       X3, X2, X2
	VPHADDD      X2, X2, X2
	VPHADDD      X2, X2, X2
	VMOVD        X2, AX
	MOVL         AX, sq+28(FP)
	VZEROUPPER
	RET
