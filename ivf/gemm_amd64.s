//go:build amd64 && !purego

#include "textflag.h"

// func gemm6x16(out *float32, ldo int, x *float32, ldx int, cp *float32, negh *float32, d int)
//
// out[r*ldo + c] = negh[c] + Σ_j x[r*ldx + j]·cp[j*16 + c] for r < 6,
// c < 16 (ldo, ldx in bytes; d ≥ 1): six rows against one packed block
// of 16 centroids, an outer-product register tile (12 accumulators; per
// component two loads, six broadcasts, twelve FMAs).
TEXT ·gemm6x16(SB), NOSPLIT, $0-56
	MOVQ out+0(FP), DI
	MOVQ ldo+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ ldx+24(FP), R8
	MOVQ cp+32(FP), BX
	MOVQ negh+40(FP), AX
	MOVQ d+48(FP), CX
	LEAQ (R8)(R8*2), R9  // 3·ldx
	LEAQ (R8)(R8*4), R10 // 5·ldx
	VMOVUPS (AX), Y12
	VMOVUPS 32(AX), Y13
	VMOVAPS Y12, Y0
	VMOVAPS Y13, Y1
	VMOVAPS Y12, Y2
	VMOVAPS Y13, Y3
	VMOVAPS Y12, Y4
	VMOVAPS Y13, Y5
	VMOVAPS Y12, Y6
	VMOVAPS Y13, Y7
	VMOVAPS Y12, Y8
	VMOVAPS Y13, Y9
	VMOVAPS Y12, Y10
	VMOVAPS Y13, Y11

loop:
	VMOVUPS (BX), Y12
	VMOVUPS 32(BX), Y13
	VBROADCASTSS (SI), Y14
	VFMADD231PS Y12, Y14, Y0
	VFMADD231PS Y13, Y14, Y1
	VBROADCASTSS (SI)(R8*1), Y15
	VFMADD231PS Y12, Y15, Y2
	VFMADD231PS Y13, Y15, Y3
	VBROADCASTSS (SI)(R8*2), Y14
	VFMADD231PS Y12, Y14, Y4
	VFMADD231PS Y13, Y14, Y5
	VBROADCASTSS (SI)(R9*1), Y15
	VFMADD231PS Y12, Y15, Y6
	VFMADD231PS Y13, Y15, Y7
	VBROADCASTSS (SI)(R8*4), Y14
	VFMADD231PS Y12, Y14, Y8
	VFMADD231PS Y13, Y14, Y9
	VBROADCASTSS (SI)(R10*1), Y15
	VFMADD231PS Y12, Y15, Y10
	VFMADD231PS Y13, Y15, Y11
	ADDQ $4, SI
	ADDQ $64, BX
	DECQ CX
	JNZ  loop

	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    DX, DI
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, 32(DI)
	ADDQ    DX, DI
	VMOVUPS Y4, (DI)
	VMOVUPS Y5, 32(DI)
	ADDQ    DX, DI
	VMOVUPS Y6, (DI)
	VMOVUPS Y7, 32(DI)
	ADDQ    DX, DI
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, 32(DI)
	ADDQ    DX, DI
	VMOVUPS Y10, (DI)
	VMOVUPS Y11, 32(DI)
	VZEROUPPER
	RET
