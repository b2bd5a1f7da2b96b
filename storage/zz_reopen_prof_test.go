package storage

import (
	"os"
	"syscall"
	"testing"
	"time"
)

func cpuNow() time.Duration {
	var r syscall.Rusage
	syscall.Getrusage(0, &r)
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

func TestReopenProf(t *testing.T) {
	dir := os.Getenv("REOPEN_DIR")
	if dir == "" {
		t.Skip()
	}
	os.RemoveAll(dir)
	db := mustOpen(t, Options{Dir: dir})
	w0, c0 := time.Now(), cpuNow()
	fillDB(t, db, 1_000_000, 128, 100_000)
	t.Logf("fill: wall %v cpu %v", time.Since(w0), cpuNow()-c0)
	w0, c0 = time.Now(), cpuNow()
	db.Close()
	t.Logf("close: wall %v cpu %v", time.Since(w0), cpuNow()-c0)
	for i := 0; i < 3; i++ {
		w0, c0 = time.Now(), cpuNow()
		db := mustOpen(t, Options{Dir: dir})
		t.Logf("open: wall %v cpu %v", time.Since(w0), cpuNow()-c0)
		db.Close()
	}
	files, _ := os.ReadDir(dir)
	t.Logf("%d files", len(files))
}
