package exec

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

// TestParallel: every index runs exactly once (the caller is one of the
// workers), the first error stops the hand-out and is returned, and a
// cancelled context stops it too.
func TestParallel(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{0, 1, 2, 3, 100} {
		counts := make([]atomic.Int32, n)
		if err := parallel(ctx, n, func(i int) error { counts[i].Add(1); return nil }); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		for i := range counts {
			if c := counts[i].Load(); c != 1 {
				t.Fatalf("n=%d: index %d ran %d times", n, i, c)
			}
		}
	}

	boom := errors.New("boom")
	var ran atomic.Int32
	err := parallel(ctx, 10_000, func(i int) error {
		ran.Add(1)
		if i == 5 {
			return boom
		}
		return nil
	})
	if err != boom {
		t.Fatalf("error: got %v, want %v", err, boom)
	}
	if r := ran.Load(); r == 10_000 {
		t.Fatalf("all %d items ran after the error", r)
	}

	cctx, cancel := context.WithCancel(ctx)
	ran.Store(0)
	err = parallel(cctx, 10_000, func(i int) error {
		if ran.Add(1) == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: got %v", err)
	}
	if r := ran.Load(); r >= 10_000 {
		t.Fatalf("all %d items ran after the cancel", r)
	}
}
