package childtest

import (
	"os"
	"strconv"
	"strings"
)

// ProcStatus returns a memory figure of this process's /proc/self/status
// (VmRSS, VmHWM) in bytes, or -1 where there is none (not Linux, or no
// such field): the resident-set checks of the memory tests.
func ProcStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}
