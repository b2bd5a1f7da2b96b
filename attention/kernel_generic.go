package attention

import (
	"math"
	"unsafe"
)

// The portable kernels: plain Go, four independent accumulators so the
// compiler can overlap the floating-point latency.

func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func l2(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		d0 := a[i] - b[i]
		d1 := a[i+1] - b[i+1]
		d2 := a[i+2] - b[i+2]
		d3 := a[i+3] - b[i+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(a); i++ {
		d0 := a[i] - b[i]
		s0 += d0 * d0
	}
	return (s0 + s1) + (s2 + s3)
}

func dotRowsGeneric(dst, q, keys []float32, d int) {
	for i := range dst {
		dst[i] = dot(q, keys[i*d:(i+1)*d])
	}
}

func dotNormRowsGeneric(dst, kk, q, keys []float32, d int) {
	kk = kk[:len(dst)]
	for i := range dst {
		k := keys[i*d : (i+1)*d]
		dst[i] = dot(q, k)
		kk[i] = dot(k, k)
	}
}

func l2RowsGeneric(dst, q, keys []float32, d int) {
	for i := range dst {
		dst[i] = l2(q, keys[i*d:(i+1)*d])
	}
}

func expShiftGeneric(p []float32, ref, invT float32) float32 {
	var sum float64
	for i, s := range p {
		e := expf((s - ref) * invT)
		p[i] = e
		sum += float64(e)
	}
	return float32(sum)
}

func axpyRowsGeneric(acc, p, values []float32, dv int) {
	acc = acc[:dv]
	for i, w := range p {
		if w == 0 {
			continue
		}
		v := values[i*dv : (i+1)*dv]
		for j := range acc {
			acc[j] += w * v[j]
		}
	}
}

func dotTileGeneric(dst []float32, ldd int, qs []float32, nq int, keys []float32, nk int, d int) {
	for a := 0; a < nq; a++ {
		dotRowsGeneric(dst[a*ldd:a*ldd+nk], qs[a*d:(a+1)*d], keys, d)
	}
}

func l2TileGeneric(dst []float32, ldd int, qs []float32, nq int, keys []float32, nk int, d int) {
	for a := 0; a < nq; a++ {
		l2RowsGeneric(dst[a*ldd:a*ldd+nk], qs[a*d:(a+1)*d], keys, d)
	}
}

func maxGeneric(p []float32) float32 {
	mx := float32(math.Inf(-1))
	for _, x := range p {
		if x > mx { // NaN is never greater
			mx = x
		}
	}
	return mx
}

func scaleAddGeneric(acc []float64, buf []float32, a, b float64) {
	buf = buf[:len(acc)]
	for j, x := range buf {
		acc[j] = acc[j]*a + float64(x)*b
	}
}

// allFiniteGeneric reports whether no entry of p is NaN or ±Inf, eight bytes at
// a time: masking each float's exponent field (0x7f800000 per half) and
// adding 0x00800000 per half carries into the half's sign bit exactly when
// the exponent is all ones, and never across halves. Four OR chains keep
// it at about a quarter of a cycle per score, a few percent of the
// cheapest score kernel reading the same rows from cache (the avx2 set
// does it 8 lanes at a time: nonFiniteAVX2).
func allFiniteGeneric(p []float32) bool {
	const exp, one = 0x7f8000007f800000, 0x0080000000800000
	n := len(p) &^ 7
	var o0, o1, o2, o3 uint64
	if n > 0 {
		w := unsafe.Slice((*uint64)(unsafe.Pointer(&p[0])), n/2)
		for i := 0; i+4 <= len(w); i += 4 {
			o0 |= w[i]&exp + one
			o1 |= w[i+1]&exp + one
			o2 |= w[i+2]&exp + one
			o3 |= w[i+3]&exp + one
		}
	}
	o := o0 | o1 | o2 | o3
	for _, x := range p[n:] {
		o |= uint64(math.Float32bits(x)&0x7f800000 + 0x00800000)
	}
	return o&0x8000000080000000 == 0
}
