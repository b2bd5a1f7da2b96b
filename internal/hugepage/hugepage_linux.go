//go:build linux

package hugepage

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Advise asks the kernel to back a large vector array with transparent
// huge pages. Debian's default THP mode is "madvise", so without the hint a
// scan walks 4 KiB pages and the hardware prefetcher stops at every page
// boundary; with it, a one-query scan measured ~20% faster
// (BenchmarkSoftSelect against SOFTDB_NO_HUGEPAGES=1). MADV_HUGEPAGE only shapes pages
// faulted in later, and an array on memory the Go heap used before is
// already faulted in with small pages, so MADV_COLLAPSE (Linux ≥ 6.1)
// then rebuilds the range as huge pages at once. The advice covers the
// 2 MiB-aligned interior of the array and is only a hint: errors (older
// kernels, THP off, no free huge pages) are ignored. Arrays under Min
// bytes are left alone.
func Advise(v []float32) {
	size := len(v) * 4
	if size < Min || off {
		return
	}
	start := uintptr(unsafe.Pointer(&v[0]))
	const huge = 2 << 20
	lo := (start + huge - 1) &^ (huge - 1)
	hi := (start + uintptr(size)) &^ (huge - 1)
	if hi <= lo {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), size)
	r := b[lo-start : hi-start]
	if unix.Madvise(r, unix.MADV_HUGEPAGE) == nil {
		_ = unix.Madvise(r, unix.MADV_COLLAPSE)
	}
}

// Make returns n zeroed floats from the Go heap, advised as Advise does.
// An array of Min bytes or more starts on a 2 MiB boundary (it is cut from
// an allocation 2 MiB larger), so that all of it, not only its aligned
// interior, can sit on huge pages; the unused head is never written.
func Make(n int) []float32 {
	if n*4 < Min || off {
		return make([]float32, n)
	}
	const huge = 2 << 20
	raw := make([]float32, n+huge/4)
	start := uintptr(unsafe.Pointer(&raw[0]))
	skip := int(((start+huge-1)&^(huge-1) - start) / 4)
	v := raw[skip : skip+n : skip+n]
	Advise(v)
	return v
}

// Floats returns n zeroed floats on memory of their own, mapped for them
// and advised as Advise does, for the read-bandwidth references of the
// benchmarks (the Go heap would hand out reused, small-page memory).
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
