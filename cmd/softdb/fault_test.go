package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadOnlyAndRecoverFlags: --readonly reads and refuses writes;
// --recover opens a database whose newest log is damaged, which a plain
// open refuses with a message pointing at --recover.
func TestReadOnlyAndRecoverFlags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	if _, errs, code := runCLI(t, "", dir, "CREATE TABLE t (x INT); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)"); code != 0 {
		t.Fatalf("setup: %s", errs)
	}
	out, errs, code := runCLI(t, "", "--readonly", "--format=csv", dir, "SELECT count(*) FROM t")
	if code != 0 || !strings.Contains(out, "2") {
		t.Fatalf("--readonly SELECT: %q %q %d", out, errs, code)
	}
	_, errs, code = runCLI(t, "", "--readonly", dir, "INSERT INTO t VALUES (3)")
	if code == 0 || !strings.Contains(errs, "read-only") {
		t.Fatalf("--readonly INSERT: %q %d", errs, code)
	}
	// Damage the first record of the newest log, with valid ones after it.
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(logs) == 0 {
		t.Fatal("no log")
	}
	wal := logs[len(logs)-1]
	b, err := os.ReadFile(wal)
	if err != nil || len(b) < 20 {
		t.Fatalf("%s: %d bytes, %v", wal, len(b), err)
	}
	b[12] ^= 0x40
	if err := os.WriteFile(wal, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, errs, code = runCLI(t, "", dir, "SELECT count(*) FROM t")
	if code == 0 || !strings.Contains(errs, filepath.Base(wal)) || !strings.Contains(errs, "--recover") {
		t.Fatalf("open of a damaged log: %q %d", errs, code)
	}
	// The damage hit the first transaction (CREATE TABLE): what Recover
	// keeps is an empty database.
	_, errs, code = runCLI(t, "", "--recover", dir, "SHOW TABLES")
	if code != 0 {
		t.Fatalf("--recover: %q %d", errs, code)
	}
}
