package exec

import (
	"slices"
	"testing"
)

// TestSparseRows: a chunk's candidates are listed, in order, exactly when
// they are fewer than a quarter of its rows; any nonzero byte is a
// candidate.
func TestSparseRows(t *testing.T) {
	for _, n := range []int{0, 1, 3, 4, 5, 100, 16384} {
		limit := (n + 3) / 4
		for _, k := range []int{0, 1, limit - 1, limit, limit + 1, n} {
			if k < 0 || k > n {
				continue
			}
			mask := make([]byte, n)
			var want []int64
			for j := 0; j < k; j++ {
				i := (j * 7919) % n // spread, distinct for n not a multiple of 7919
				for mask[i] != 0 {
					i = (i + 1) % n
				}
				mask[i] = byte(1 + j%3)
			}
			for i, b := range mask {
				if b != 0 {
					want = append(want, int64(i))
				}
			}
			got := sparseRows(mask)
			if k >= limit {
				if got != nil {
					t.Fatalf("n=%d, %d candidates (limit %d): got a list of %d, want nil (dense)", n, k, limit, len(got))
				}
				continue
			}
			if !slices.Equal(got, want) || got == nil {
				t.Fatalf("n=%d, %d candidates: got %v, want %v", n, k, got, want)
			}
		}
	}
}
