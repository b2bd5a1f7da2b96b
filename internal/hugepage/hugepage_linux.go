//go:build linux

package hugepage

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Make returns n zeroed floats from the Go heap. An array of minBytes or
// more starts on a 2 MiB boundary (it is cut from an allocation 2 MiB
// larger, whose unused head is never written) and asks the kernel for
// transparent huge pages. Debian's default THP mode is "madvise", so
// without the hint a scan walks 4 KiB pages and the hardware prefetcher
// stops at every page boundary; with it, a one-query scan measured ~20%
// faster (BenchmarkSoftSelect against SOFTDB_NO_HUGEPAGES=1). MADV_HUGEPAGE
// only shapes pages faulted in later, and memory the Go heap used before
// is already faulted in with small pages, so MADV_COLLAPSE (Linux ≥ 6.1)
// then rebuilds the range as huge pages at once. The advice covers the
// array's whole 2 MiB pages and is only a hint: errors (older kernels, THP
// off, no free huge pages) are ignored.
func Make(n int) []float32 { return alloc(n, true) }

// MakeLazy is Make without MADV_COLLAPSE, for an array that is allocated
// in the middle of a write statement (a copy-on-write copy of a column):
// collapsing makes the kernel find, compact and fill every huge page of
// the range at once, which measured ~450 ms for a 128 MiB column against
// ~50 ms for the allocation and copy without it. The range is still
// advised, so pages faulted in later are huge and khugepaged collapses
// the rest in the background.
func MakeLazy(n int) []float32 { return alloc(n, false) }

func alloc(n int, collapse bool) []float32 {
	if n*4 < minBytes || off {
		return make([]float32, n)
	}
	const huge = 2 << 20
	raw := make([]float32, n+huge/4)
	start := uintptr(unsafe.Pointer(&raw[0]))
	skip := int(((start+huge-1)&^(huge-1) - start) / 4)
	v := raw[skip : skip+n : skip+n]
	whole := unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), (n*4)&^(huge-1))
	if unix.Madvise(whole, unix.MADV_HUGEPAGE) == nil && collapse {
		_ = unix.Madvise(whole, unix.MADV_COLLAPSE)
	}
	return v
}

// Advise asks for transparent huge pages under the whole 2 MiB pages
// inside b, a buffer that will be filled from its start (a growing write
// batch): pages not yet touched then fault in 2 MiB at a time, which on
// these virtual machines costs less than half as much per byte as 4 KiB
// faults (64 MiB written into fresh memory: 91 ms advised, 177 ms not).
// Pages already touched keep their size. Errors are ignored, as for Make.
func Advise(b []byte) {
	const huge = 2 << 20
	if len(b) < 2*huge || off {
		return
	}
	start := uintptr(unsafe.Pointer(&b[0]))
	skip := int((start+huge-1)&^(huge-1) - start)
	n := (len(b) - skip) &^ (huge - 1)
	if n > 0 {
		_ = unix.Madvise(b[skip:skip+n], unix.MADV_HUGEPAGE)
	}
}

// Floats returns n zeroed floats on memory mapped for them alone, with
// huge pages advised, for the read-bandwidth references of the benchmarks
// (the Go heap would hand out reused, small-page memory).
func Floats(n int) []float32 {
	size := (n*4 + 2<<20 - 1) &^ (2<<20 - 1)
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return make([]float32, n)
	}
	if !off {
		_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)[:n:n]
}

// off turns the advice off (SOFTDB_NO_HUGEPAGES=1), to measure it.
var off = os.Getenv("SOFTDB_NO_HUGEPAGES") != ""
