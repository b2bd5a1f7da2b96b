package softdb_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/softdb/softdb"
)

// mountTmpfs mounts a tmpfs of size bytes at a new directory, unmounted
// at the end of the test; it skips the test when that is not possible.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs (a real full disk)")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// ballast fills the file system of dir but for free bytes; removing the
// file gives the space back.
func ballast(t *testing.T, dir string, free int64) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	avail := int64(st.Bavail) * st.Bsize
	path := filepath.Join(dir, "ballast")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for left := avail - free; left > 0; left -= int64(len(buf)) {
		if _, err := f.Write(buf[:min(int64(len(buf)), left)]); err != nil {
			break
		}
	}
	f.Close()
	return path
}

// TestFullDisk fills a real (tmpfs) disk with INSERTs: every write must
// fail within its deadline with an error matching ErrNoSpace and
// syscall.ENOSPC, no acknowledged row may be lost, and writes must
// succeed again, without reopening, once space is freed.
func TestFullDisk(t *testing.T) {
	mnt := mountTmpfs(t, 32<<20)
	dir := filepath.Join(mnt, "db")
	db := mustOpen(t, dir)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, v VECTOR(64))")
	ball := ballast(t, mnt, 14<<20)
	vec := "[" + strings.Repeat("0.5,", 63) + "1]"
	acked := 0
	insert := func() error {
		var b strings.Builder
		b.WriteString("INSERT INTO t VALUES ")
		for i := range 200 {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "(%d, %s)", acked+i+1, vec)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		_, err := db.Exec(ctx, b.String())
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("INSERT took %v with a 2 s deadline (err %v)", d, err)
		}
		if err == nil {
			acked += 200
		}
		return err
	}
	var err error
	for range 1000 {
		if err = insert(); err != nil {
			break
		}
	}
	t.Logf("after %d rows: %v", acked, err)
	if !errors.Is(err, softdb.ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("INSERT on a full disk: %v, want ErrNoSpace and ENOSPC", err)
	}
	for range 3 {
		if err := insert(); err == nil {
			t.Logf("an INSERT succeeded on the full disk")
		} else {
			t.Logf("again: %v", err)
		}
	}
	os.Remove(ball)
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			var st syscall.Stat_t
			syscall.Stat(filepath.Join(dir, e.Name()), &st)
			t.Logf("%s: %d bytes, %d allocated", e.Name(), st.Size, st.Blocks*512)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err = insert(); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes still fail 20 s after space was freed: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("writes succeed again: %d rows acknowledged", acked)
	if err := db.Close(); err != nil {
		t.Logf("Close: %v", err)
	}
	db = mustOpen(t, dir)
	defer db.Close()
	var n int
	if err := db.QueryRow(context.Background(), "SELECT count(*) FROM t").Scan(&n); err != nil || n < acked {
		t.Fatalf("after reopening: %d rows, %v; %d were acknowledged", n, err, acked)
	}
}
