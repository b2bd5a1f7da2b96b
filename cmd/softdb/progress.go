package main

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progressDelay is how long a COPY runs before its progress bar appears:
// quick loads stay silent.
const progressDelay = time.Second

// copyProgress draws a progress bar (rows, rows/s, ETA) for a running COPY
// on a terminal. It is driven by the connection's progress callback and
// reset after every statement.
type copyProgress struct {
	w     io.Writer
	start time.Time
	bar   *progressbar.ProgressBar
}

// update is the callback of softdb.Conn.SetProgress.
func (p *copyProgress) update(done, total int64) {
	if !p.due() {
		return
	}
	if p.bar == nil {
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription("COPY"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(total > 0),
			progressbar.OptionFullWidth(),
		)
	}
	_ = p.bar.Set64(done)
}

// due reports whether the statement has run long enough for a bar.
func (p *copyProgress) due() bool {
	now := time.Now()
	if p.start.IsZero() {
		p.start = now
	}
	return p.bar != nil || now.Sub(p.start) >= progressDelay
}

// finish ends the bar of the statement that just ran, if one was shown.
func (p *copyProgress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
	p.bar, p.start = nil, time.Time{}
}
