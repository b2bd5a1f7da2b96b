package storage

import (
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

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

// The corruption trials damage one file of a small closed database —
// flip a bit, zero a 4 KiB page, truncate — and open it. The outcome must
// be every acknowledged row, or an error matching ErrCorrupt; never a
// panic, never rows silently missing. The one exception is the tail of
// the newest write-ahead log: damage there that no valid record follows
// is what a crash during a write leaves, and cannot be told from it, so
// a prefix of the transactions is accepted (as in SQLite's WAL and in
// pebble).

const (
	trialTxs  = 10  // inserting trialRows rows each, then one deleting 1…10
	trialRows = 100 // per insert transaction
)

// trialState is the content after the first k transactions of the
// trial database.
func trialState(k int) map[string]tableDump {
	d := tableDump{Schema: fmtSchema(mustValidate(faultSchema)), NextRowID: int64(min(k, trialTxs)*trialRows + 1), Rows: map[int64]string{}}
	for n := int64(1); n < d.NextRowID; n++ {
		if k > trialTxs && n <= 10 {
			continue
		}
		d.Rows[n] = fmtRow(row(iv(n), vv(float32(n), -1)))
	}
	return map[string]tableDump{"t": d}
}

// makeTrialDB writes the trial database to dir: half the inserts flushed
// to an sstable (its log kept by pebble for reuse), the rest and the
// delete in the newest log.
func makeTrialDB(t testing.TB, dir string) {
	db := mustOpen(t, Options{Dir: dir})
	run(t, db, func(tx *Tx) error { return tx.CreateTable(faultSchema) })
	n := int64(0)
	for i := range trialTxs {
		batch := make([][]types.Value, trialRows)
		for j := range batch {
			n++
			batch[j] = row(iv(n), vv(float32(n), -1))
		}
		run(t, db, func(tx *Tx) error { _, err := tx.Insert("t", batch); return err })
		if i == trialTxs/2-1 {
			if err := db.pdb.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	run(t, db, func(tx *Tx) error { return tx.Delete("t", []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) })
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// trialFiles sorts the files of the trial database by kind.
func trialFiles(t testing.TB, dir string) map[string][]string {
	kinds := map[string][]string{}
	logs := filesOf(t, dir, "*.log")
	if len(logs) < 2 {
		t.Fatalf("the trial database has logs %v, want a flushed one and the newest", logs)
	}
	kinds["wal-newest"] = logs[len(logs)-1:]
	kinds["wal-older"] = logs[:len(logs)-1]
	kinds["manifest"] = filesOf(t, dir, "MANIFEST-*")
	kinds["options"] = filesOf(t, dir, "OPTIONS-*")
	kinds["sstable"] = filesOf(t, dir, "*.sst")
	for _, k := range []string{"manifest", "options", "sstable"} {
		if len(kinds[k]) == 0 {
			t.Fatalf("the trial database has no %s", k)
		}
	}
	// The catalog entry of t: in the sstable and in the newest log.
	for _, f := range append(kinds["sstable"], kinds["wal-newest"]...) {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), `{"name":"t"`) {
			kinds["catalog"] = append(kinds["catalog"], f)
		}
	}
	return kinds
}

func copyDir(t testing.TB, src, dst string) {
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// damage applies one seeded fault to file and describes it.
func damage(t testing.TB, rng *rand.Rand, file, kind string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		return "empty file"
	}
	var what string
	switch op := rng.IntN(3); {
	case kind == "catalog":
		at := strings.Index(string(b), `{"name":"t"`) + rng.IntN(40)
		bit := rng.IntN(8)
		b[at] ^= 1 << bit
		what = fmt.Sprintf("flip bit %d of byte %d (catalog entry)", bit, at)
	case op == 0:
		at, bit := rng.IntN(len(b)), rng.IntN(8)
		b[at] ^= 1 << bit
		what = fmt.Sprintf("flip bit %d of byte %d", bit, at)
	case op == 1:
		page := rng.IntN((len(b) + 4095) / 4096)
		clear(b[page*4096 : min(len(b), page*4096+4096)])
		what = fmt.Sprintf("zero page %d", page)
	default:
		n := rng.IntN(len(b))
		b = b[:n]
		what = fmt.Sprintf("truncate to %d bytes", n)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return what
}

func TestCorruptionTrials(t *testing.T) {
	seed := testSeed(t)
	trials := 300
	if testing.Short() {
		trials = 100
	}
	tmpl := t.TempDir()
	makeTrialDB(t, tmpl)
	kinds := trialFiles(t, tmpl)
	names := []string{"wal-newest", "wal-older", "manifest", "options", "sstable", "catalog"}
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	full := trialState(trialTxs + 1)
	counts := map[string]map[string]int{}
	spent := map[string]time.Duration{}
	log.SetOutput(io.Discard) // pebble's complaints about the damage
	defer log.SetOutput(os.Stderr)
	for trial := range trials {
		start := time.Now()
		kind := names[trial%len(names)]
		if len(kinds[kind]) == 0 {
			continue
		}
		rel, _ := filepath.Rel(tmpl, kinds[kind][rng.IntN(len(kinds[kind]))])
		dir := filepath.Join(t.TempDir(), "db")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		copyDir(t, tmpl, dir)
		what := damage(t, rng, filepath.Join(dir, rel), kind)
		desc := fmt.Sprintf("trial %d: %s %s: %s", trial, kind, rel, what)
		if counts[kind] == nil {
			counts[kind] = map[string]int{}
		}
		func() {
			defer func() { spent[kind] += time.Since(start) }()
			db, err := Open(Options{Dir: dir})
			switch {
			case err != nil && !errors.Is(err, ErrCorrupt):
				t.Errorf("%s: Open: %v; want an error matching ErrCorrupt", desc, err)
				return
			case err != nil:
				counts[kind]["refused (ErrCorrupt)"]++
				if strings.Contains(err.Error(), filepath.Base(rel)) {
					counts[kind]["… naming the file"]++
				}
				// Recover must not panic either; whatever it opens is consistent.
				if db, err := Open(Options{Dir: dir, Recover: true}); err == nil {
					dump(t, db.Snapshot())
					db.Close()
					counts[kind]["… then opened by Recover"]++
				}
				return
			}
			got := dump(t, db.Snapshot())
			db.Close()
			if equalDumps(full, got) == "" {
				counts[kind]["every row"]++
				return
			}
			prefix := -1
			for k := 0; k <= trialTxs; k++ {
				if equalDumps(trialState(k), got) == "" || (k == 0 && len(got) == 0) {
					prefix = k
				}
			}
			if kind == "wal-newest" && prefix >= trialTxs/2 {
				counts[kind]["torn tail: a prefix"]++
				return
			}
			t.Errorf("%s: opened with acknowledged rows missing (prefix %d): %s", desc, prefix, equalDumps(full, got))
		}()
	}
	for _, k := range names {
		t.Logf("%-10s %v in %v", k, counts[k], spent[k].Round(time.Millisecond))
	}
}

// TestOpenThroughBindMount: the same directory reached through a bind
// mount is the same database; the second Open fails with ErrLocked
// (pebble's lock does not conflict within a process, and the paths
// differ). Needs root to mount.
func TestOpenThroughBindMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to bind-mount")
	}
	src, dst := t.TempDir(), t.TempDir()
	if err := syscall.Mount(src, dst, "", syscall.MS_BIND, ""); err != nil {
		t.Skipf("bind mount: %v", err)
	}
	defer syscall.Unmount(dst, syscall.MNT_DETACH)
	db := mustOpen(t, Options{Dir: src})
	defer db.Close()
	if db2, err := Open(Options{Dir: dst}); !errors.Is(err, ErrLocked) {
		if err == nil {
			db2.Close()
		}
		t.Fatalf("Open through a bind mount of an open directory: %v, want ErrLocked", err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(src, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Dir: link}); !errors.Is(err, ErrLocked) {
		t.Fatalf("Open through a symlink: %v, want ErrLocked", err)
	}
}
