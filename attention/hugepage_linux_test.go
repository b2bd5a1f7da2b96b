//go:build linux

package attention

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugeFloats returns n float32s in anonymous memory advised to use
// transparent huge pages, as numpy does for large arrays: with 4 KiB pages
// the hardware prefetcher stops at every page boundary, which costs a
// streaming scan a large part of its bandwidth. Falls back to make.
func hugeFloats(n int) []float32 {
	size := (n*4 + 2<<20 - 1) &^ (2<<20 - 1)
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return make([]float32, n)
	}
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)[:n:n]
}
