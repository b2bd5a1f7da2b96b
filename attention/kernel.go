package attention

import (
	"os"
	"strings"
)

// kernelSet is one implementation of the inner loops. Every set computes the
// same functions; they differ only in rounding (summation order, FMA).
type kernelSet struct {
	name string

	// dotRows: dst[i] = q·k_i for i < len(dst), k_i = keys[i*d:(i+1)*d].
	dotRows func(dst, q, keys []float32, d int)
	// dotNormRows: dst[i] = q·k_i and kk[i] = ‖k_i‖².
	dotNormRows func(dst, kk, q, keys []float32, d int)
	// l2Rows: dst[i] = ‖q−k_i‖² (not negated).
	l2Rows func(dst, q, keys []float32, d int)
	// expShift: p[i] = e^((p[i]−ref)·invT) in place, returns Σ p[i] (float32
	// lanes, at most a chunk of values). Entries of −Inf give 0.
	expShift func(p []float32, ref, invT float32) float32
	// axpyRows: acc[j] += Σ_i p[i]·values[i*dv+j], rows with p[i] == 0 skipped,
	// value rows visited in memory order.
	axpyRows func(acc, p, values []float32, dv int)
	// dotTile: dst[a*ldd+b] = q_a·k_b for a < nq, b < nk (queries row-major in
	// qs with stride d, keys row-major with stride d).
	dotTile func(dst []float32, ldd int, qs []float32, nq int, keys []float32, nk int, d int)
	// l2Tile: as dotTile with ‖q_a−k_b‖².
	l2Tile func(dst []float32, ldd int, qs []float32, nq int, keys []float32, nk int, d int)
}

// kern is the active set. Tests switch it with useKernel; nothing else
// writes it after init, so it is read without synchronisation.
var kern = &genericKernels

// kernelSets lists the sets this CPU can run, best first (archKernels is
// defined per architecture and ends with the generic set).
var kernelSets = archKernels()

// KernelEnv names the environment variable that forces a kernel set:
// SOFTDB_KERNEL=generic|avx2. An unknown or unsupported name keeps the
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
