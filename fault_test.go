package softdb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/softdb/softdb"
	"github.com/softdb/softdb/internal/childtest"
)

// corruptSSTDB writes a database whose rows sit in an sstable (a COPY
// ingests them as one), then flips bits all over that sstable.
func corruptSSTDB(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	csv := filepath.Join(t.TempDir(), "rows.csv")
	var b bytes.Buffer
	b.WriteString("id,v\n")
	for i := 1; i <= 2000; i++ {
		fmt.Fprintf(&b, "%d,\"[%d,1]\"\n", i, i)
	}
	if err := os.WriteFile(csv, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	db := mustOpen(t, dir)
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, v VECTOR(2))")
	db.Close()
	// Reopened, the catalog entry is flushed: the COPY's sstable overlaps
	// no memtable and is linked into the tree, where only the loader of
	// the next Open reads it.
	db = mustOpen(t, dir)
	mustExec(t, db, fmt.Sprintf("COPY t FROM '%s'", csv))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ssts, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	if len(ssts) == 0 {
		t.Fatal("COPY left no sstable")
	}
	for _, f := range ssts {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i := 100; i < len(data)-100; i += 997 {
			data[i] ^= 0x10
		}
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestCorruptDatabaseHostSurvives opens a database with a damaged
// sstable in a child process, which must get ErrCorrupt from Open, stay
// alive while pebble's goroutines run into the damage, and exit cleanly:
// a library never takes its host down.
func TestCorruptDatabaseHostSurvives(t *testing.T) {
	dir := corruptSSTDB(t)
	child := childtest.Start(t, "TestHelperOpenCorrupt", "SOFTDB_TEST_CORRUPT_DIR="+dir, "survived")
	child.Release(t)
	// And in this process, for the message.
	_, err := softdb.Open(dir, nil)
	if !errors.Is(err, softdb.ErrCorrupt) {
		t.Fatalf("Open of a damaged database: %v, want ErrCorrupt", err)
	}
	if !strings.Contains(err.Error(), ".sst") {
		t.Errorf("the error does not name the file: %v", err)
	}
	t.Logf("as expected: %v", err)
}

// TestHelperOpenCorrupt is the child of TestCorruptDatabaseHostSurvives.
func TestHelperOpenCorrupt(t *testing.T) {
	dir := os.Getenv("SOFTDB_TEST_CORRUPT_DIR")
	if dir == "" {
		t.Skip("helper process for TestCorruptDatabaseHostSurvives")
	}
	for range 3 {
		db, err := softdb.Open(dir, nil)
		if err == nil {
			db.Close()
			childtest.Fail(errors.New("opened a database with a damaged sstable"))
		}
		if !errors.Is(err, softdb.ErrCorrupt) {
			childtest.Fail(fmt.Errorf("Open: %v, want ErrCorrupt", err))
		}
		// Recover cannot mend an sstable, but must not crash either.
		if db, err := softdb.Open(dir, &softdb.Options{Recover: true}); err == nil {
			db.Close()
		}
	}
	time.Sleep(500 * time.Millisecond) // give background goroutines their chance to fail
	childtest.Hold("survived", func() error { return nil })
}

// TestReadOnlyDirectory opens, as a user without write permission, a
// database directory: without ReadOnly Open fails at once with
// ErrReadOnly; with it the rows are there and writes fail with
// ErrReadOnly. It needs root to run the child as nobody.
func TestReadOnlyDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run a child process as user nobody (uid 65534)")
	}
	base, err := os.MkdirTemp("", "softdb-ro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	dir := filepath.Join(base, "db")
	db := mustOpen(t, dir)
	mustExec(t, db, "CREATE TABLE t (x INT)")
	mustExec(t, db, "INSERT INTO t VALUES (1), (2), (3)")
	db.Close()
	// The test binary, where nobody may run it.
	bin := filepath.Join(base, "test.bin")
	copyFile(t, os.Args[0], bin)
	for _, p := range []string{base, bin} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "-test.run=^TestHelperReadOnly$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SOFTDB_TEST_RO_DIR="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "read-only ok") {
		t.Fatalf("child as nobody:\n%s", out)
	}
	t.Logf("child as nobody, %v:\n%s", time.Since(start).Round(time.Millisecond), out)
}

// TestHelperReadOnly is the child of TestReadOnlyDirectory.
func TestHelperReadOnly(t *testing.T) {
	dir := os.Getenv("SOFTDB_TEST_RO_DIR")
	if dir == "" {
		t.Skip("helper process for TestReadOnlyDirectory")
	}
	ctx := context.Background()
	start := time.Now()
	_, err := softdb.Open(dir, nil)
	if !errors.Is(err, softdb.ErrReadOnly) {
		childtest.Fail(fmt.Errorf("Open without write permission: %v, want ErrReadOnly", err))
	}
	if d := time.Since(start); d > 2*time.Second {
		childtest.Fail(fmt.Errorf("Open took %v to fail", d))
	}
	fmt.Println("without ReadOnly:", err)
	db, err := softdb.Open(dir, &softdb.Options{ReadOnly: true})
	if err != nil {
		childtest.Fail(fmt.Errorf("Open with ReadOnly: %v", err))
	}
	var n int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 3 {
		childtest.Fail(fmt.Errorf("count: %d, %v", n, err))
	}
	_, err = db.Exec(ctx, "INSERT INTO t VALUES (4)")
	if !errors.Is(err, softdb.ErrReadOnly) {
		childtest.Fail(fmt.Errorf("INSERT into a read-only database: %v, want ErrReadOnly", err))
	}
	fmt.Println("INSERT:", err)
	if err := db.Close(); err != nil {
		childtest.Fail(err)
	}
	fmt.Println("read-only ok")
}

func copyFile(t *testing.T, src, dst string) {
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCopyFromFIFO: COPY from a FIFO honours its context while no writer
// has opened it and while a writer sends nothing, and commits nothing;
// with a writer that sends rows it loads them.
func TestCopyFromFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "rows.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	db := mustOpen(t, softdb.Memory)
	defer db.Close()
	mustExec(t, db, "CREATE TABLE t (id INT, v VECTOR(2))")
	copyFIFO := func(timeout time.Duration) (time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		start := time.Now()
		_, err := db.Exec(ctx, fmt.Sprintf("COPY t FROM '%s' WITH (FORMAT csv)", fifo))
		return time.Since(start), err
	}
	// No writer at all.
	d, err := copyFIFO(200 * time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || d > 2*time.Second {
		t.Fatalf("COPY from a FIFO without a writer: %v after %v, want the deadline", err, d)
	}
	t.Logf("no writer: %v after %v", err, d.Round(time.Millisecond))
	// A writer that sends the header and then nothing.
	w := make(chan *os.File, 1)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
		}
		f.WriteString("id,v\n1,\"[1,2]\"\n")
		w <- f
	}()
	d, err = copyFIFO(300 * time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || d > 2*time.Second {
		t.Fatalf("COPY from a silent writer: %v after %v, want the deadline", err, d)
	}
	t.Logf("silent writer: %v after %v", err, d.Round(time.Millisecond))
	f := <-w
	f.WriteString("2,\"[3,4]\"\n")
	f.Close()
	var n int
	if err := db.QueryRow(context.Background(), "SELECT count(*) FROM t").Scan(&n); err != nil || n != 0 {
		t.Fatalf("after the cancelled COPYs: %d rows, %v; want 0", n, err)
	}
	// A writer that sends rows and closes.
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		f.WriteString("id,v\n1,\"[1,2]\"\n2,\"[3,4]\"\n")
		f.Close()
	}()
	if _, err := copyFIFO(10 * time.Second); err != nil {
		t.Fatalf("COPY from a writer: %v", err)
	}
	if err := db.QueryRow(context.Background(), "SELECT count(*) FROM t").Scan(&n); err != nil || n != 2 {
		t.Fatalf("after COPY: %d rows, %v; want 2", n, err)
	}
}
