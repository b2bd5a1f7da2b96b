package driver_test

import (
	"database/sql"
	"errors"
	"os"
	"testing"

	"github.com/softdb/softdb"
	"github.com/softdb/softdb/internal/childtest"
)

// TestLockedByAnotherProcess: sql.Open of a directory that another process
// holds fails at once with an error matching softdb.ErrLocked, and works
// once that process has exited.
func TestLockedByAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	child := childtest.Start(t, "TestHelperHoldDirectory", "SOFTDB_DRIVER_HOLD_DIR="+dir, "holding")

	if _, err := sql.Open("softdb", dir); !errors.Is(err, softdb.ErrLocked) {
		t.Fatalf("sql.Open of a directory another process holds: %v, want ErrLocked", err)
	}
	child.Release(t)
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
		childtest.Fail(err)
	}
	childtest.Hold("holding", db.Close)
}
