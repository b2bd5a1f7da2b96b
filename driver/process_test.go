package driver_test

import (
	"bufio"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/softdb/softdb"
)

// TestLockedByAnotherProcess: sql.Open of a directory that another process
// holds fails at once with an error matching softdb.ErrLocked, and works
// once that process has exited.
func TestLockedByAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldDirectory$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SOFTDB_DRIVER_HOLD_DIR="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	for lines.Scan() && lines.Text() != "holding" {
	}

	if _, err := sql.Open("softdb", dir); !errors.Is(err, softdb.ErrLocked) {
		t.Fatalf("sql.Open of a directory another process holds: %v, want ErrLocked", err)
	}
	stdin.Close()
	go func() {
		for lines.Scan() {
		}
	}()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	db := open(t, dir)
	if n := count(t, db, "t"); n != 1 {
		t.Errorf("after the child exited: %d rows", n)
	}
}

// TestHelperHoldDirectory is the child process of TestLockedByAnotherProcess.
func TestHelperHoldDirectory(t *testing.T) {
	dir := os.Getenv("SOFTDB_DRIVER_HOLD_DIR")
	if dir == "" {
		t.Skip("helper process for TestLockedByAnotherProcess")
	}
	db, err := sql.Open("softdb", dir)
	if err == nil {
		_, err = db.Exec("CREATE TABLE t (x INT); INSERT INTO t VALUES (1)")
	}
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("holding")
	bufio.NewReader(os.Stdin).ReadString('\n')
	if err := db.Close(); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
}
