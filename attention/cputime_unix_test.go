//go:build unix

package attention

import "syscall"

// cpuSeconds returns the process's user+system CPU time: on a shared host a
// benchmark's wall time includes time the scheduler gave to others.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
