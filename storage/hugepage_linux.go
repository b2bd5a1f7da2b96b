//go:build linux

package storage

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePageMin is the array size from which vector columns ask for
// transparent huge pages.
const hugePageMin = 4 << 20

// adviseHuge asks the kernel to back a large vector array with transparent
// huge pages. Debian's default THP mode is "madvise", so without the hint a
// scan walks 4 KiB pages and the hardware prefetcher stops at every page
// boundary; with it, a one-query scan measured ~20% faster
// (attention/hugepage_linux_test.go). MADV_HUGEPAGE only shapes pages
// faulted in later, and an array on memory the Go heap used before is
// already faulted in with small pages, so MADV_COLLAPSE (Linux ≥ 6.1)
// then rebuilds the range as huge pages at once. The advice covers the
// 2 MiB-aligned interior of the array and is only a hint: errors (older
// kernels, THP off, no free huge pages) are ignored.
func adviseHuge(v []float32) {
	size := len(v) * 4
	if size < hugePageMin || noHugePages {
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

// noHugePages turns the advice off (SOFTDB_NO_HUGEPAGES=1), to measure it.
var noHugePages = os.Getenv("SOFTDB_NO_HUGEPAGES") != ""
