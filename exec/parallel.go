package exec

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// parallel runs f(0..n-1) on up to GOMAXPROCS goroutines. It stops handing
// out work at the first error or when ctx is cancelled, and returns that
// error. Callers store results by index, so the outcome does not depend on
// scheduling.
func parallel(ctx context.Context, n int, f func(i int) error) error {
	if n == 0 {
		return ctx.Err()
	}
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers == 1 {
		for i := 0; i < n; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := f(i); err != nil {
				return err
			}
		}
		return nil
	}
	var next atomic.Int64
	var once sync.Once
	var firstErr error
	var failed atomic.Bool
	work := func() {
		for !failed.Load() {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			err := ctx.Err()
			if err == nil {
				err = f(i)
			}
			if err != nil {
				once.Do(func() { firstErr = err })
				failed.Store(true)
				return
			}
		}
	}
	// The caller is one of the workers: it starts at once, while the
	// others wait for an idle core to wake up.
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
	return firstErr
}

// canceller checks a context every 64 calls of tick, so that a loop over
// rows stops promptly when the statement is cancelled, even when each row
// costs microseconds (a long LIKE, a function of a wide vector), while a
// cheap row pays for one counter increment. (ctx.Err is an atomic load.)
type canceller struct {
	ctx context.Context
	n   uint32
}

func newCanceller(ctx context.Context) canceller { return canceller{ctx: ctx} }

// tick returns the context's error once it is cancelled (checked on every
// 64th call).
func (c *canceller) tick() error {
	if c.n++; c.n&63 != 0 {
		return nil
	}
	return c.ctx.Err()
}
