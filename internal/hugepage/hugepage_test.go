package hugepage

import (
	"runtime"
	"testing"
	"unsafe"
)

// TestMake: large arrays start on a 2 MiB boundary (on Linux, unless the
// advice is off), every array has exactly the length and capacity asked
// for and is zeroed, and small ones are plain allocations.
func TestMake(t *testing.T) {
	for _, n := range []int{0, 1, 1000, minBytes/4 - 1, minBytes / 4, minBytes/4 + 3, 3 << 20} {
		v := Make(n)
		if len(v) != n || cap(v) != n {
			t.Fatalf("Make(%d): len %d cap %d", n, len(v), cap(v))
		}
		for i, x := range v {
			if x != 0 {
				t.Fatalf("Make(%d)[%d] = %v", n, i, x)
			}
		}
		if n*4 >= minBytes && runtime.GOOS == "linux" && !off {
			if start := uintptr(unsafe.Pointer(&v[0])); start%(2<<20) != 0 {
				t.Fatalf("Make(%d) starts at %#x, not on a 2 MiB boundary", n, start)
			}
		}
	}
}

// TestAdvise: advising buffers of any size and alignment (a write batch's
// is neither) leaves them usable and their contents intact.
func TestAdvise(t *testing.T) {
	for _, n := range []int{0, 1, 4 << 20, 4<<20 + 12345, 9 << 20} {
		for _, off := range []int{0, 1, 4096} {
			raw := make([]byte, n+off)
			b := raw[off:]
			for i := range b {
				b[i] = byte(i)
			}
			Advise(b)
			for i := range b {
				if b[i] != byte(i) {
					t.Fatalf("n=%d off=%d: byte %d changed", n, off, i)
				}
				b[i] = ^byte(i)
			}
		}
	}
}
