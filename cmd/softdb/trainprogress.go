package main

import (
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"
)

// train is the callback of softdb.Conn.SetTrainProgress: a bar of
// iterations described by the current loss, shown once TRAIN has run
// for progressDelay, and ended by finish like COPY's.
func (p *copyProgress) train(iter, total int, loss float64) {
	if !p.due() {
		return
	}
	if p.bar == nil {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("iterations"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionFullWidth(),
		)
	}
	p.bar.Describe(fmt.Sprintf("TRAIN loss %.6g", loss))
	_ = p.bar.Set(iter)
}
