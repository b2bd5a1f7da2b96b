package attention

import (
	"os"
	"strings"
)

// kernelSet is one implementation of the inner loops. Every set computes the
// same functions; they differ only in rounding (summation order, FMA). The
// methods dispatch with a switch rather than through func values so that
// the compiler can keep the callers' scratch buffers on the stack.
type kernelSet struct {
	name string
	id   kernelID
}

type kernelID uint8

const (
	idGeneric kernelID = iota
	idAVX2
	idAVX512 // AVX2 kernels, with AVX-512 ones for the batch tiles
)

var genericKernels = kernelSet{name: "generic", id: idGeneric}

// dotRows sets dst[i] = q·k_i for i < len(dst), k_i = keys[i*d:(i+1)*d].
func (k *kernelSet) dotRows(dst, q, keys []float32, d int) {
	if k.id >= idAVX2 {
		dotRowsAVX2(dst, q, keys, d)
		return
	}
	dotRowsGeneric(dst, q, keys, d)
}

// dotNormRows sets dst[i] = q·k_i and kk[i] = ‖k_i‖².
func (k *kernelSet) dotNormRows(dst, kk, q, keys []float32, d int) {
	if k.id >= idAVX2 {
		dotNormRowsAVX2(dst, kk, q, keys, d)
		return
	}
	dotNormRowsGeneric(dst, kk, q, keys, d)
}

// l2Rows sets dst[i] = ‖q−k_i‖² (not negated).
func (k *kernelSet) l2Rows(dst, q, keys []float32, d int) {
	if k.id >= idAVX2 {
		l2RowsAVX2(dst, q, keys, d)
		return
	}
	l2RowsGeneric(dst, q, keys, d)
}

// expShift sets p[i] = e^((p[i]−ref)·invT) in place and returns Σ p[i]
// (float32 lanes; p holds at most a chunk). −Inf and NaN entries give 0.
// Kernels may write scratch into p[len(p):cap(p)] up to a multiple of 8.
func (k *kernelSet) expShift(p []float32, ref, invT float32) float32 {
	if k.id >= idAVX2 {
		return expShiftAVX2Go(p, ref, invT)
	}
	return expShiftGeneric(p, ref, invT)
}

// axpyRows: acc[j] += Σ_i p[i]·values[i*dv+j], value rows in memory order;
// rows with p[i] == 0 may be skipped. acc should have capacity for dv
// rounded up to 8 (the padding stays zero).
func (k *kernelSet) axpyRows(acc, p, values []float32, dv int) {
	if k.id >= idAVX2 {
		axpyRowsAVX2(acc, p, values, dv)
		return
	}
	axpyRowsGeneric(acc, p, values, dv)
}

// Max returns the largest entry of p, ignoring NaN (−Inf if none), with
// the kernel set in use. Its vector loop keeps four loads in flight for
// one compare per 32 bytes, so over an array larger than the caches it
// runs at the memory's read bandwidth: the benchmarks' reference for the
// bytes/s of a scan.
func Max(p []float32) float32 {
	n8 := len(p) &^ 7
	m := kern.maxScore(p[:n8:n8]) // no room past n8: writes nothing
	for _, x := range p[n8:] {
		if x > m {
			m = x
		}
	}
	return m
}

// maxScore returns the largest entry of p, ignoring NaN (−Inf if none).
// Like expShift it may write −Inf into p[len(p):cap(p)] up to a multiple of 8.
func (k *kernelSet) maxScore(p []float32) float32 {
	if k.id >= idAVX2 {
		return maxAVX2Go(p)
	}
	return maxGeneric(p)
}

// allFinite reports whether no entry of p is NaN or ±Inf. Score blocks
// are checked with it after the key loops, which stay free of the test.
func (k *kernelSet) allFinite(p []float32) bool {
	if k.id >= idAVX2 {
		return allFiniteAVX2(p)
	}
	return allFiniteGeneric(p)
}

// scaleAdd sets acc[j] = acc[j]·a + float64(buf[j])·b for j < len(acc).
func (k *kernelSet) scaleAdd(acc []float64, buf []float32, a, b float64) {
	if k.id >= idAVX2 {
		scaleAddAVX2(acc, buf, a, b)
		return
	}
	scaleAddGeneric(acc, buf, a, b)
}

// pv sets acc[a*lda+j] = Σ_{i<n} p[a*ldp+i]·values[i*dv+j] for a < nq and
// j < dv, overwriting acc; lda ≥ dv rounded up to 8 (kernels may write the
// padding). The PV product of a batch tile.
func (k *kernelSet) pv(acc []float32, lda int, p []float32, ldp int, nq int, values []float32, n, dv int) {
	switch k.id {
	case idAVX512:
		pvAVX512(acc, lda, p, ldp, nq, values, n, dv)
		return
	case idAVX2:
		pvAVX2(acc, lda, p, ldp, nq, values, n, dv)
		return
	}
	for a := 0; a < nq; a++ {
		row := acc[a*lda : a*lda+dv]
		clear(row)
		axpyRowsGeneric(row, p[a*ldp:a*ldp+n], values, dv)
	}
}

// dotTile sets dst[a*ldd+b] = q_a·k_b for a < nq, b < nk (queries and keys
// row-major with stride d).
func (k *kernelSet) dotTile(dst []float32, ldd int, qs []float32, nq int, keys []float32, nk int, d int) {
	switch k.id {
	case idAVX512:
		tileAVX512(dst, ldd, qs, nq, keys, nk, d)
		return
	case idAVX2:
		tileAVX2(false, dst, ldd, qs, nq, keys, nk, d)
		return
	}
	dotTileGeneric(dst, ldd, qs, nq, keys, nk, d)
}

// l2Tile is dotTile with ‖q_a−k_b‖².
func (k *kernelSet) l2Tile(dst []float32, ldd int, qs []float32, nq int, keys []float32, nk int, d int) {
	if k.id >= idAVX2 {
		tileAVX2(true, dst, ldd, qs, nq, keys, nk, d)
		return
	}
	l2TileGeneric(dst, ldd, qs, nq, keys, nk, d)
}

// prefetch asks for v's cache lines ahead of their use (a hint: the
// generic set does nothing).
func (k *kernelSet) prefetch(v []float32) {
	if k.id >= idAVX2 && !noPrefetch {
		prefetchFloats(v)
	}
}

// noPrefetch turns prefetch off (benchmarks compare).
var noPrefetch bool

// kern is the active set. Tests switch it with useKernel; nothing else
// writes it after init, so it is read without synchronisation.
var kern = &genericKernels

// kernelSets lists the sets this CPU can run, best first (archKernels is
// defined per architecture and ends with the generic set).
var kernelSets = archKernels()

// KernelEnv names the environment variable that forces a kernel set:
// SOFTDB_KERNEL=generic|avx2|avx512. An unknown or unsupported name keeps the
// automatic choice. The build tag purego forces generic.
const KernelEnv = "SOFTDB_KERNEL"

func init() { kern = pickKernel(os.Getenv(KernelEnv)) }

// pickKernel returns the set named want, or the best one.
func pickKernel(want string) *kernelSet {
	want = strings.ToLower(strings.TrimSpace(want))
	for _, k := range kernelSets {
		if k.name == want {
			return k
		}
	}
	return kernelSets[0]
}

// Kernel reports the name of the kernel set in use: "generic", "avx2", ….
func Kernel() string { return kern.name }

// Kernels lists the kernel sets this CPU can run, best first.
func Kernels() []string {
	names := make([]string, len(kernelSets))
	for i, k := range kernelSets {
		names[i] = k.name
	}
	return names
}
