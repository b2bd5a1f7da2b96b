package storage

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/softdb/softdb/types"
)

var faultSchema = Schema{Name: "t", Columns: []Column{{Name: "n", Type: intT, PrimaryKey: true}, {Name: "v", Type: vecT(2)}}}

// fillFaultDB creates a database in dir with txs transactions of rows
// rows each (row n holds n), closes it and returns the rows committed.
func fillFaultDB(t testing.TB, dir string, txs, rows int, opts Options) int64 {
	t.Helper()
	opts.Dir = dir
	db := mustOpen(t, opts)
	run(t, db, func(tx *Tx) error { return tx.CreateTable(faultSchema) })
	n := int64(0)
	for range txs {
		batch := make([][]types.Value, rows)
		for i := range batch {
			n++
			batch[i] = row(iv(n), vv(float32(n), -1))
		}
		run(t, db, func(tx *Tx) error { _, err := tx.Insert("t", batch); return err })
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkAllRows fails t unless db holds rows 1…n exactly.
func checkAllRows(t testing.TB, db *DB, n int64) {
	t.Helper()
	tb := db.Snapshot().Table("t")
	if tb == nil {
		t.Fatalf("table t lost")
	}
	if got := tb.LiveRows(); got != n {
		t.Fatalf("%d rows after reopening, want %d: acknowledged rows lost", got, n)
	}
}

// filesOf lists dir's files whose names end with suffix or start with
// prefix, sorted.
func filesOf(t testing.TB, dir, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func flipBit(t testing.TB, path string, off int64, bit uint) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 1 << bit
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDamagedNewestWAL: a bit flipped a third of the way into the newest
// write-ahead log, with valid records after it, is damage and not a torn
// write: Open refuses, naming the file; Recover opens with what precedes
// the damage.
func TestDamagedNewestWAL(t *testing.T) {
	dir := t.TempDir()
	n := fillFaultDB(t, dir, 40, 1000, Options{})
	logs := filesOf(t, dir, "*.log")
	if len(logs) == 0 {
		t.Fatal("no write-ahead log")
	}
	wal := logs[len(logs)-1]
	st, _ := os.Stat(wal)
	flipBit(t, wal, st.Size()/3, 3)
	_, err := Open(Options{Dir: dir})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), filepath.Base(wal)) {
		t.Fatalf("Open of a database with a damaged log: %v; want ErrCorrupt naming %s", err, filepath.Base(wal))
	}
	t.Log(err)
	db := mustOpen(t, Options{Dir: dir, Recover: true})
	defer db.Close()
	if got := db.Snapshot().Table("t").LiveRows(); got >= n || got == 0 {
		t.Fatalf("Recover kept %d of %d rows, want a prefix", got, n)
	}
}
