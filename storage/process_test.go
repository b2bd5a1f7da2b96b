package storage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/softdb/softdb/internal/childtest"
)

// helperEnv makes the test binary act as a second process (see
// TestHelperProcess).
const helperEnv = "SOFTDB_STORAGE_HELPER"

func helperCmd(t *testing.T, mode, dir string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "SOFTDB_STORAGE_DIR="+dir)
	cmd.Stderr = os.Stderr
	return cmd
}

// TestHelperProcess is not a test: it is the second process of
// TestLockOtherProcess and TestKill9.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process only")
	}
	dir := os.Getenv("SOFTDB_STORAGE_DIR")
	if mode == "rss" {
		before := childtest.ProcStatus("VmRSS")
		db, err := Open(Options{Dir: dir})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		runtime.GC()
		fmt.Println(before, childtest.ProcStatus("VmHWM"), childtest.ProcStatus("VmRSS"), db.Snapshot().Table("t").LiveRows())
		os.Exit(0)
	}
	db, err := Open(Options{Dir: dir, SegmentRows: 4})
	switch mode {
	case "open":
		if errors.Is(err, ErrLocked) {
			fmt.Println("locked:", err)
		} else {
			fmt.Println("opened:", err)
		}
		os.Exit(0)
	case "write":
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		if db.Snapshot().Table("t") == nil {
			run(t, db, func(tx *Tx) error { return crashCreate(tx) })
		}
		for n := db.Snapshot().Table("t").NextRowID(); ; n++ {
			tx, err := db.Begin(context.Background())
			if err == nil {
				err = crashTx(tx, n)
			}
			if err == nil {
				err = tx.Commit()
			}
			if err != nil {
				fmt.Println("error:", err)
				os.Exit(1)
			}
			fmt.Println(n) // acknowledged: must survive kill -9
		}
	}
	os.Exit(2)
}

// TestOpenMemory checks, in a fresh process, that Open's peak resident
// memory stays within 1.3× the raw vector bytes: the mirror is the only
// big copy.
func TestOpenMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 100 MB")
	}
	if childtest.ProcStatus("VmRSS") < 0 {
		t.Skip("no /proc/self/status")
	}
	if raceEnabled {
		t.Skip("the race detector inflates memory use")
	}
	const n, d = 200_000, 128
	dir := t.TempDir()
	db := mustOpen(t, Options{Dir: dir})
	fillDB(t, db, n, d, 50_000)
	db.Close()
	out, err := helperCmd(t, "rss", dir).Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var before, hwm, rss, rows int64
	if _, err := fmt.Sscan(string(out), &before, &hwm, &rss, &rows); err != nil || rows != n {
		t.Fatalf("helper: %q", out)
	}
	raw := float64(n * d * 4)
	t.Logf("raw vectors %.1f MB; resident before Open %.1f MB, peak %.1f MB, after %.1f MB: peak-before = %.2f× raw",
		raw/1e6, float64(before)/1e6, float64(hwm)/1e6, float64(rss)/1e6, float64(hwm-before)/raw)
	if float64(hwm-before) > 1.3*raw {
		t.Fatalf("Open's peak resident memory grew by %.2f× the raw vector bytes", float64(hwm-before)/raw)
	}
}

func TestLockOtherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	db := mustOpen(t, Options{Dir: dir})
	out, err := helperCmd(t, "open", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "locked: database is locked by another process") {
		t.Fatalf("second process: %s", out)
	}
	db.Close()
	out, err = helperCmd(t, "open", dir).Output()
	if err != nil || !strings.HasPrefix(string(out), "opened: <nil>") {
		t.Fatalf("after Close: %s %v", out, err)
	}
}

// TestKill9 kills a writing process with SIGKILL, several times over the
// same directory: every acknowledged commit survives.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	var acked int64
	for round := 0; round < 3; round++ {
		cmd := helperCmd(t, "write", dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Let the writer commit for a while once it has started, then kill.
		var deadline <-chan time.Time
		start := time.After(time.Minute)
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatal("writer exited early")
				}
				n, err := strconv.ParseInt(l, 10, 64)
				if err != nil {
					t.Fatalf("writer: %s", l)
				}
				acked = n
				if deadline == nil {
					deadline = time.After(time.Duration(200+100*round) * time.Millisecond)
				}
			case <-deadline:
				break read
			case <-start:
				t.Fatal("writer did not start")
			}
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		for l := range lines {
			if n, err := strconv.ParseInt(l, 10, 64); err == nil {
				acked = n
			}
		}
		_ = cmd.Wait()
		db := mustOpen(t, Options{Dir: dir, SegmentRows: 4})
		k := committedCount(t, db)
		db.Close()
		if k < acked {
			t.Fatalf("round %d: %d commits acknowledged, %d survived kill -9", round, acked, k)
		}
		t.Logf("round %d: %d acknowledged, %d on disk", round, acked, k)
	}
}
