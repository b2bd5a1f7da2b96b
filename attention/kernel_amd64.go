//go:build amd64 && !purego

package attention

import (
	"math"
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:generate go run ./internal/asmgen -out kernel_amd64.s -out512 kernel_avx512_amd64.s

func archKernels() []*kernelSet {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		return []*kernelSet{&genericKernels}
	}
	// The AVX-512 kernels use F (zmm FMA, shuffles) and DQ
	// (VBROADCASTF32X8, VINSERTF32X8); cpu checks that the OS saves the
	// zmm state.
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ {
		return []*kernelSet{&avx512Kernels, &avx2Kernels, &genericKernels}
	}
	return []*kernelSet{&avx2Kernels, &genericKernels}
}

var (
	avx2Kernels   = kernelSet{name: "avx2", id: idAVX2}
	avx512Kernels = kernelSet{name: "avx512", id: idAVX512}
)

// Tile kernels (kernel_amd64.s, generated): see internal/asmgen for the
// contract. ldd, ldq and kstride are in bytes.

//go:noescape
func dotT2x4(dst *float32, ldd int, qs *float32, ldq int, keys *float32, groups int, kstride int, d8 int, mask *int32)

//go:noescape
func dotT3x4(dst *float32, ldd int, qs *float32, ldq int, keys *float32, groups int, kstride int, d8 int, mask *int32)

//go:noescape
func dotT1x1(dst *float32, ldd int, qs *float32, ldq int, keys *float32, groups int, kstride int, d8 int, mask *int32)

//go:noescape
func dotT2x1(dst *float32, ldd int, qs *float32, ldq int, keys *float32, groups int, kstride int, d8 int, mask *int32)

//go:noescape
func dotT3x1(dst *float32, ldd int, qs *float32, ldq int, keys *float32, groups int, kstride int, d8 int, mask *int32)

//go:noescape
func l2T2x4(dst *float32, ldd int, qs *float32, ldq int, keys *float32, groups int, kstride int, d8 int, mask *int32)

//go:noescape
func l2T3x3(dst *float32, ldd int, qs *float32, ldq int, keys *float32, groups int, kstride int, d8 int, mask *int32)

//go:noescape
func l2T1x1(dst *float32, ldd int, qs *float32, ldq int, keys *float32, groups int, kstride int, d8 int, mask *int32)

//go:noescape
func l2T2x1(dst *float32, ldd int, qs *float32, ldq int, keys *float32, groups int, kstride int, d8 int, mask *int32)

//go:noescape
func l2T3x1(dst *float32, ldd int, qs *float32, ldq int, keys *float32, groups int, kstride int, d8 int, mask *int32)

//go:noescape
func dotS1x4(dst *float32, ldd int, qs *float32, ldq int, keys *float32, groups int, kstride int, d8 int, mask *int32)

//go:noescape
func l2S1x4(dst *float32, ldd int, qs *float32, ldq int, keys *float32, groups int, kstride int, d8 int, mask *int32)

//go:noescape
func dotnormS1x4(dst *float32, kk *float32, qs *float32, ldq int, keys *float32, groups int, kstride int, d8 int, mask *int32)

//go:noescape
func dotnormT1x1(dst *float32, kk *float32, qs *float32, ldq int, keys *float32, groups int, kstride int, d8 int, mask *int32)

//go:noescape
func expShiftAVX2(p *float32, n8 int, ref float32, invT float32) float32

//go:noescape
func maxAVX2(p *float32, n8 int) float32

//go:noescape
func nonFiniteAVX2(p *float32, n8 int) int32

//go:noescape
func foldAVX2(acc *float64, buf *float32, n4 int, a float64, b float64)

//go:noescape
func pv3AVX2(acc *float32, lda int, p *float32, ldp int, values *float32, n int, dvb int, dv8 int, mask *int32)

//go:noescape
func prefetchAVX2(p *byte, lines int)

//go:noescape
func foldFloatsAVX2(p *float32, v *float64, nchunks int, ref0 float32, invT float32, refs *float32, sums *float32, accs *float64)

//go:noescape
func axpyAVX2(acc *float32, p *float32, values *float32, n int, dvb int, dv8 int, mask *int32)

// tailMasks[8-r:16-r] has r lanes of −1 then zeros: the mask for the last
// r = d mod 8 components.
var tailMasks = [16]int32{-1, -1, -1, -1, -1, -1, -1, -1}

func tailMask(d int) *int32 {
	r := d & 7
	if r == 0 {
		return nil
	}
	return &tailMasks[8-r]
}

// maxTileQ is the largest nq of an AVX2 tile kernel.
const maxTileQ = 3

// padQueries returns the nq queries of qs (stride d) with stride ldq =
// d rounded up to 8, zero-padded, when d is not a multiple of 8 (the tile
// kernels then read whole vectors of each query); otherwise qs itself.
func padQueries(buf *[maxTileQ * 256]float32, qs []float32, nq, d int) ([]float32, int) {
	if d&7 == 0 {
		return qs, d
	}
	ld := (d + 7) &^ 7
	var out []float32
	if nq*ld <= len(buf) {
		out = buf[:nq*ld]
		clear(out)
	} else {
		out = make([]float32, nq*ld)
	}
	for a := 0; a < nq; a++ {
		copy(out[a*ld:a*ld+d], qs[a*d:(a+1)*d])
	}
	return out, ld
}

// Tile kernel shapes: the main kernel takes keys in groups of step, the
// rest kernel one at a time.
const (
	shapeDot1 = iota
	shapeDot2
	shapeDot3
	shapeL21
	shapeL22
	shapeL23
)

// runTile computes an nq×nk tile (nq ≤ maxTileQ) with the kernels of shape.
// The asm functions are called directly, not through func values, so that
// escape analysis keeps every buffer on the stack.
func runTile(shape int, dst []float32, ldd int, qs []float32, ldq int, keys []float32, nk, d int) {
	step := 4
	if shape == shapeL23 {
		step = 3
	}
	g := nk / step
	mask := tailMask(d)
	ldd, ldq, ks, d8 := ldd*4, ldq*4, d*4, d/8
	if g > 0 {
		o, q, k := &dst[0], &qs[0], &keys[0]
		switch shape {
		case shapeDot1:
			dotS1x4(o, ldd, q, ldq, k, g, ks, d8, mask) // one query: keys in memory order
		case shapeDot2:
			dotT2x4(o, ldd, q, ldq, k, g, ks, d8, mask)
		case shapeDot3:
			dotT3x4(o, ldd, q, ldq, k, g, ks, d8, mask)
		case shapeL21:
			l2S1x4(o, ldd, q, ldq, k, g, ks, d8, mask)
		case shapeL22:
			l2T2x4(o, ldd, q, ldq, k, g, ks, d8, mask)
		case shapeL23:
			l2T3x3(o, ldd, q, ldq, k, g, ks, d8, mask)
		}
	}
	if r := nk - g*step; r > 0 {
		o, q, k := &dst[g*step], &qs[0], &keys[g*step*d]
		switch shape {
		case shapeDot1:
			dotT1x1(o, ldd, q, ldq, k, r, ks, d8, mask)
		case shapeDot2:
			dotT2x1(o, ldd, q, ldq, k, r, ks, d8, mask)
		case shapeDot3:
			dotT3x1(o, ldd, q, ldq, k, r, ks, d8, mask)
		case shapeL21:
			l2T1x1(o, ldd, q, ldq, k, r, ks, d8, mask)
		case shapeL22:
			l2T2x1(o, ldd, q, ldq, k, r, ks, d8, mask)
		case shapeL23:
			l2T3x1(o, ldd, q, ldq, k, r, ks, d8, mask)
		}
	}
}

func tileAVX2(l2 bool, dst []float32, ldd int, qs []float32, nq int, keys []float32, nk, d int) {
	if nq == 0 || nk == 0 {
		return
	}
	// Bounds: the kernels read and write exactly these ranges.
	_ = dst[(nq-1)*ldd+nk-1]
	_ = qs[nq*d-1]
	_ = keys[nk*d-1]
	base := shapeDot1
	if l2 {
		base = shapeL21
	}
	for a := 0; a < nq; a += maxTileQ {
		na := min(maxTileQ, nq-a)
		q := qs[a*d : (a+na)*d]
		if d&7 != 0 {
			tilePadded(base+na-1, dst[a*ldd:], ldd, q, na, keys, nk, d)
			continue
		}
		runTile(base+na-1, dst[a*ldd:], ldd, q, d, keys, nk, d)
	}
}

// tilePadded runs a tile whose queries need zero padding (d mod 8 ≠ 0).
func tilePadded(shape int, dst []float32, ldd int, qs []float32, nq int, keys []float32, nk, d int) {
	var buf [maxTileQ * 256]float32
	qp, ldq := padQueries(&buf, qs, nq, d)
	runTile(shape, dst, ldd, qp, ldq, keys, nk, d)
}

func dotRowsAVX2(dst, q, keys []float32, d int) {
	tileAVX2(false, dst, 0, q, 1, keys, len(dst), d)
}

func l2RowsAVX2(dst, q, keys []float32, d int) {
	tileAVX2(true, dst, 0, q, 1, keys, len(dst), d)
}

func dotNormRowsAVX2(dst, kk, q, keys []float32, d int) {
	nk := len(dst)
	if nk == 0 {
		return
	}
	_ = kk[nk-1]
	_ = keys[nk*d-1]
	qp := q[:d]
	var buf [256]float32
	if d&7 != 0 {
		if ld := (d + 7) &^ 7; ld <= len(buf) {
			qp = buf[:ld]
		} else {
			qp = make([]float32, ld)
		}
		copy(qp, q)
	}
	mask := tailMask(d)
	g := nk / 4
	if g > 0 {
		dotnormS1x4(&dst[0], &kk[0], &qp[0], 0, &keys[0], g, d*4, d/8, mask)
	}
	if r := nk - 4*g; r > 0 {
		dotnormT1x1(&dst[4*g], &kk[4*g], &qp[0], 0, &keys[4*g*d], r, d*4, d/8, mask)
	}
}

// expShiftAVX2Go runs the vector exp over whole vectors: the lanes past
// len(p), up to the next multiple of 8 within cap(p), are set to −Inf first
// so they add 0 to the sum.
func expShiftAVX2Go(p []float32, ref, invT float32) float32 {
	if len(p) == 0 {
		return 0
	}
	full, n8, ok := padNegInf(p)
	if !ok {
		return expShiftGeneric(p, ref, invT)
	}
	return expShiftAVX2(&full[0], n8, ref, invT)
}

func axpyRowsAVX2(acc, p, values []float32, dv int) {
	n := len(p)
	if n == 0 || dv == 0 {
		return
	}
	_ = values[n*dv-1]
	if dv&7 != 0 && cap(acc) < (dv+7)&^7 {
		axpyRowsGeneric(acc, p, values, dv)
		return
	}
	_ = acc[:(dv+7)&^7]
	axpyAVX2(&acc[0], &p[0], &values[0], n, dv*4, dv/8, tailMask(dv))
}

// padNegInf extends p to whole vectors of 8 within its capacity, filling
// the new lanes with −Inf; ok is false when the capacity is too small.
func padNegInf(p []float32) (full []float32, n8 int, ok bool) {
	n8 = (len(p) + 7) / 8
	if n8*8 > cap(p) {
		return nil, 0, false
	}
	full = p[:n8*8]
	ninf := float32(math.Inf(-1))
	for i := len(p); i < len(full); i++ {
		full[i] = ninf
	}
	return full, n8, true
}

func maxAVX2Go(p []float32) float32 {
	if len(p) == 0 {
		return float32(math.Inf(-1))
	}
	full, n8, ok := padNegInf(p)
	if !ok {
		return maxGeneric(p)
	}
	return maxAVX2(&full[0], n8)
}

func allFiniteAVX2(p []float32) bool {
	n8 := len(p) / 8
	if n8 > 0 && nonFiniteAVX2(&p[0], n8) != 0 {
		return false
	}
	return allFiniteGeneric(p[8*n8:])
}

func scaleAddAVX2(acc []float64, buf []float32, a, b float64) {
	n := len(acc)
	buf = buf[:n]
	n4 := n / 4
	if n4 > 0 {
		foldAVX2(&acc[0], &buf[0], n4, a, b)
	}
	scaleAddGeneric(acc[4*n4:], buf[4*n4:], a, b)
}

func pvAVX2(acc []float32, lda int, p []float32, ldp int, nq int, values []float32, n, dv int) {
	if nq == 0 || n == 0 || dv == 0 {
		for a := 0; a < nq; a++ {
			clear(acc[a*lda : a*lda+dv])
		}
		return
	}
	dvp := (dv + 7) &^ 7
	_ = acc[(nq-1)*lda+dvp-1]
	_ = p[(nq-1)*ldp+n-1]
	_ = values[n*dv-1]
	a := 0
	for ; a+3 <= nq; a += 3 {
		pv3AVX2(&acc[a*lda], lda*4, &p[a*ldp], ldp*4, &values[0], n, dv*4, dv/8, tailMask(dv))
	}
	for ; a < nq; a++ {
		row := acc[a*lda : a*lda+dvp]
		clear(row)
		axpyRowsAVX2(row[:dv], p[a*ldp:a*ldp+n], values, dv)
	}
}

// AVX-512 batch kernels (kernel_avx512_amd64.s, generated): see
// internal/asmgen/avx512.go for the contracts.

//go:noescape
func dotZ2x8(dst *float32, ldd int, qs *float32, ldq int, keys *float32, groups int, kstride int, d8 int)

//go:noescape
func dotZ3x8(dst *float32, ldd int, qs *float32, ldq int, keys *float32, groups int, kstride int, d8 int)

//go:noescape
func dotZ4x8(dst *float32, ldd int, qs *float32, ldq int, keys *float32, groups int, kstride int, d8 int)

//go:noescape
func dotZ5x8(dst *float32, ldd int, qs *float32, ldq int, keys *float32, groups int, kstride int, d8 int)

//go:noescape
func dotZ6x8(dst *float32, ldd int, qs *float32, ldq int, keys *float32, groups int, kstride int, d8 int)

//go:noescape
func foldFloatsZ(p *float32, v *float64, nchunks int, ref0 float32, invT float32, refs *float32, sums *float32, accs *float64)

//go:noescape
func pvZ1(acc *float32, lda int, p *float32, ldp int, values *float32, n int, dvb int, dv16 int)

//go:noescape
func pvZ2(acc *float32, lda int, p *float32, ldp int, values *float32, n int, dvb int, dv16 int)

//go:noescape
func pvZ3(acc *float32, lda int, p *float32, ldp int, values *float32, n int, dvb int, dv16 int)

//go:noescape
func pvZ4(acc *float32, lda int, p *float32, ldp int, values *float32, n int, dvb int, dv16 int)

//go:noescape
func pvZ5(acc *float32, lda int, p *float32, ldp int, values *float32, n int, dvb int, dv16 int)

//go:noescape
func pvZ6(acc *float32, lda int, p *float32, ldp int, values *float32, n int, dvb int, dv16 int)

// zmmTileQ is the most queries of an AVX-512 tile kernel.
const zmmTileQ = 6

// tileAVX512 is dotTile with the AVX-512 kernels: tiles of up to 6
// queries × 8 keys, the keys left over (nk mod 8) and a lone query with
// the AVX2 kernels. Scores are bit-identical to the AVX2 ones. d not a
// multiple of 8 goes to the AVX2 kernels whole.
func tileAVX512(dst []float32, ldd int, qs []float32, nq int, keys []float32, nk, d int) {
	if d&7 != 0 || nk < 8 || nq < 2 {
		tileAVX2(false, dst, ldd, qs, nq, keys, nk, d)
		return
	}
	// Bounds: the kernels read and write exactly these ranges.
	_ = dst[(nq-1)*ldd+nk-1]
	_ = qs[nq*d-1]
	_ = keys[nk*d-1]
	g := nk / 8
	ldb, ks, d8 := ldd*4, d*4, d/8
	for a := 0; a < nq; a += zmmTileQ {
		na := min(zmmTileQ, nq-a)
		o, q, k := &dst[a*ldd], &qs[a*d], &keys[0]
		switch na {
		case 1:
			tileAVX2(false, dst[a*ldd:], ldd, qs[a*d:(a+1)*d], 1, keys, 8*g, d)
		case 2:
			dotZ2x8(o, ldb, q, ks, k, g, ks, d8)
		case 3:
			dotZ3x8(o, ldb, q, ks, k, g, ks, d8)
		case 4:
			dotZ4x8(o, ldb, q, ks, k, g, ks, d8)
		case 5:
			dotZ5x8(o, ldb, q, ks, k, g, ks, d8)
		case 6:
			dotZ6x8(o, ldb, q, ks, k, g, ks, d8)
		}
	}
	if r := nk - 8*g; r > 0 {
		tileAVX2(false, dst[8*g:], ldd, qs[:nq*d], nq, keys[8*g*d:], r, d)
	}
}

// pvAVX512 is pv with the AVX-512 kernels (up to 6 queries at a time),
// for dv a multiple of 16; other shapes go to pvAVX2. The sums are
// bit-identical to pvAVX2's.
func pvAVX512(acc []float32, lda int, p []float32, ldp int, nq int, values []float32, n, dv int) {
	if dv&15 != 0 || dv == 0 || n == 0 || nq == 0 {
		pvAVX2(acc, lda, p, ldp, nq, values, n, dv)
		return
	}
	_ = acc[(nq-1)*lda+dv-1]
	_ = p[(nq-1)*ldp+n-1]
	_ = values[n*dv-1]
	la, lp, vb, dv16 := lda*4, ldp*4, dv*4, dv/16
	for a := 0; a < nq; a += zmmTileQ {
		na := min(zmmTileQ, nq-a)
		o, w, v := &acc[a*lda], &p[a*ldp], &values[0]
		switch na {
		case 1:
			pvZ1(o, la, w, lp, v, n, vb, dv16)
		case 2:
			pvZ2(o, la, w, lp, v, n, vb, dv16)
		case 3:
			pvZ3(o, la, w, lp, v, n, vb, dv16)
		case 4:
			pvZ4(o, la, w, lp, v, n, vb, dv16)
		case 5:
			pvZ5(o, la, w, lp, v, n, vb, dv16)
		case 6:
			pvZ6(o, la, w, lp, v, n, vb, dv16)
		}
	}
}

func prefetchFloats(v []float32) {
	if len(v) > 0 {
		prefetchAVX2((*byte)(unsafe.Pointer(&v[0])), (len(v)*4+63)/64)
	}
}

// foldFloatsGo runs foldFloatsAVX2 (foldFloatsZ with the avx512 set, the
// same bits) over len(refs) whole chunks of p and v.
func foldFloatsGo(p []float32, v []float64, ref0, invT float32, refs, sums []float32, accs []float64) {
	nc := len(refs)
	if nc == 0 {
		return
	}
	_ = p[nc*chunk-1]
	_ = v[nc*chunk-1]
	_, _ = sums[nc-1], accs[nc-1]
	if kern.id == idAVX512 {
		foldFloatsZ(&p[0], &v[0], nc, ref0, invT, &refs[0], &sums[0], &accs[0])
		return
	}
	foldFloatsAVX2(&p[0], &v[0], nc, ref0, invT, &refs[0], &sums[0], &accs[0])
}
