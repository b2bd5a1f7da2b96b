package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
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

// errWriteOn returns an errorfs injector failing writes and creations of
// files with suffix with errno while on is set.
func errWriteOn(on *atomic.Bool, suffix string, errno syscall.Errno) errorfs.Injector {
	return errorfs.InjectorFunc(func(o errorfs.Op) error {
		if on.Load() && strings.HasSuffix(o.Path, suffix) &&
			(o.Kind == errorfs.OpFileWrite || o.Kind == errorfs.OpCreate || o.Kind == errorfs.OpFileWriteAt) {
			return &os.PathError{Op: "write", Path: o.Path, Err: errno}
		}
		return nil
	})
}

// TestFlushNoSpace: flushes and compactions fail with ENOSPC while the
// log still takes writes. Every commit must return within its deadline
// — acknowledged, refused with ENOSPC, or in doubt — acknowledged rows
// survive, and writes succeed again, without a reopen, once the disk
// takes writes again. With EIO instead, nothing refuses the commits up
// front: they stall in pebble until their deadline.
func TestFlushNoSpace(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EIO} {
		t.Run(errno.Error(), func(t *testing.T) { testFlushFailure(t, errno) })
	}
}

func testFlushFailure(t *testing.T, errno syscall.Errno) {
	mem := vfs.NewMem()
	var on atomic.Bool
	fs := errorfs.Wrap(mem, errWriteOn(&on, ".sst", errno))
	log.SetOutput(io.Discard)
	defer log.SetOutput(os.Stderr)
	db := mustOpen(t, Options{FS: fs, Dir: "db", memTableSize: 256 << 10})
	run(t, db, func(tx *Tx) error { return tx.CreateTable(faultSchema) })
	next := int64(1)
	acked := map[int64]bool{}
	insert := func() (error, time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		tx, err := db.Begin(ctx)
		if err != nil {
			return err, time.Since(start)
		}
		batch := make([][]types.Value, 500)
		first := next
		for i := range batch {
			batch[i] = row(iv(next), vv(float32(next), -1))
			next++
		}
		if _, err := tx.Insert("t", batch); err != nil {
			tx.Rollback()
			return err, time.Since(start)
		}
		err = tx.CommitContext(ctx)
		if err == nil {
			for n := first; n < next; n++ {
				acked[n] = true
			}
		} else {
			next = first // the rowids are not used up by a failed insert
			var doubt *InDoubtError
			if errors.As(err, &doubt) {
				next = first + int64(len(batch)) // may still be applied
			}
		}
		return err, time.Since(start)
	}
	for range 10 {
		if err, _ := insert(); err != nil {
			t.Fatal(err)
		}
	}
	on.Store(true)
	failures := 0
	for i := range 8 {
		err, d := insert()
		if d > 3*time.Second {
			t.Fatalf("insert %d took %v with a 500 ms deadline: %v", i, d, err)
		}
		if err != nil {
			var doubt *InDoubtError
			if !errors.Is(err, errno) && !errors.As(err, &doubt) && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("insert %d while flushes fail: %v, want %v, a deadline or an InDoubtError", i, err, errno)
			}
			if failures == 0 {
				t.Logf("first failure after %d acknowledged rows: %v", len(acked), err)
			}
			failures++
		}
	}
	if failures == 0 {
		t.Fatal("no write failed while flushes could not write")
	}
	on.Store(false)
	deadline := time.Now().Add(15 * time.Second)
	for {
		err, _ := insert()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes still fail 15 s after the disk recovered: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d failed inserts; writes succeed again; %d rows acknowledged", failures, len(acked))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, Options{FS: mem, Dir: "db"})
	defer db.Close()
	tb := db.Snapshot().Table("t")
	for n := range acked {
		if _, _, ok := tb.locate(n); !ok {
			t.Fatalf("acknowledged row %d lost", n)
		}
	}
}

// TestLogNoSpace: a write to the log failing with ENOSPC is fatal to
// pebble's commit pipeline. The commit fails at once with an error
// matching ErrFailed and ENOSPC (the store must be reopened), and every
// acknowledged row is there after the reopen. (On a real disk the space
// check refuses commits before the log can run out: TestFullDisk.)
func TestLogNoSpace(t *testing.T) {
	mem := vfs.NewMem()
	var on atomic.Bool
	fs := errorfs.Wrap(mem, errWriteOn(&on, ".log", syscall.ENOSPC))
	log.SetOutput(io.Discard)
	defer log.SetOutput(os.Stderr)
	db := mustOpen(t, Options{FS: fs, Dir: "db"})
	run(t, db, func(tx *Tx) error { return tx.CreateTable(faultSchema) })
	run(t, db, func(tx *Tx) error { _, err := tx.Insert("t", [][]types.Value{row(iv(1), vv(1, -1))}); return err })
	on.Store(true)
	tx := mustBegin(t, db)
	if _, err := tx.Insert("t", [][]types.Value{row(iv(2), vv(2, -1))}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := tx.CommitContext(ctx)
	if !errors.Is(err, syscall.ENOSPC) || !errors.Is(err, ErrNoSpace) {
		t.Fatalf("commit with the log out of space: %v, want ENOSPC", err)
	}
	if _, err := db.Begin(ctx); !errors.Is(err, ErrFailed) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Begin after the failed log write: %v, want ErrFailed and ENOSPC", err)
	}
	on.Store(false)
	t.Logf("Close: %v", db.Close())
	db = mustOpen(t, Options{FS: mem, Dir: "db"})
	defer db.Close()
	if tb := db.Snapshot().Table("t"); tb == nil || tb.LiveRows() < 1 {
		t.Fatal("the acknowledged row is lost")
	}
}

// TestReadOnlyWritesNothing: a ReadOnly Open of a database with unflushed
// rows reads them all, refuses writes with ErrReadOnly, and leaves every
// file of the directory as it was (no flush, no new log, no OPTIONS). A
// read-write Open of the directory meanwhile in this process is refused.
func TestReadOnlyWritesNothing(t *testing.T) {
	dir := t.TempDir()
	n := fillFaultDB(t, dir, 5, 100, Options{})
	before := dirState(t, dir)
	db := mustOpen(t, Options{Dir: dir, ReadOnly: true})
	checkAllRows(t, db, n)
	if _, err := db.Begin(context.Background()); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Begin on a read-only DB: %v, want ErrReadOnly", err)
	}
	if _, err := Open(Options{Dir: dir}); !errors.Is(err, ErrLocked) {
		t.Fatalf("read-write Open while open read-only: %v, want ErrLocked", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if after := dirState(t, dir); after != before {
		t.Fatalf("a read-only open changed the directory:\nbefore %s\nafter  %s", before, after)
	}
	if _, err := Open(Options{Dir: filepath.Join(dir, "missing"), ReadOnly: true}); err == nil {
		t.Fatal("ReadOnly Open of a directory without a database succeeded")
	}
}

// dirState lists the files of dir with their sizes and modification times.
func dirState(t *testing.T, dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range ents {
		i, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:%d:%d ", e.Name(), i.Size(), i.ModTime().UnixNano())
	}
	return b.String()
}

// TestCommitInDoubt: a commit that pebble does not finish before the
// context's deadline returns an InDoubtError at the deadline; the next
// writer waits (here: until its own deadline), and the commit is
// published when pebble finishes it.
func TestCommitInDoubt(t *testing.T) {
	db := mustOpen(t, Options{})
	defer db.Close()
	run(t, db, func(tx *Tx) error { return tx.CreateTable(faultSchema) })
	release := make(chan struct{})
	stallCommit = func() { <-release }
	defer func() { stallCommit = nil }()
	tx := mustBegin(t, db)
	if _, err := tx.Insert("t", [][]types.Value{row(iv(1), vv(1, -1))}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := tx.CommitContext(ctx)
	var doubt *InDoubtError
	if !errors.As(err, &doubt) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stalled commit: %v, want an InDoubtError at the deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("stalled commit returned after %v with a 200 ms deadline", d)
	}
	tx.Rollback() // a no-op: the commit goes on
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, err := db.Begin(ctx2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Begin while a commit is in doubt: %v", err)
	}
	stallCommit = nil
	close(release)
	tx = mustBegin(t, db) // waits for the commit to end
	if tx.View().Table("t").LiveRows() != 1 {
		t.Fatal("the next writer does not see the in-doubt commit")
	}
	tx.Rollback()
	// Readers see it once its log sync is done (group commit: the next
	// writer may start before that).
	for deadline := time.Now().Add(5 * time.Second); db.Snapshot().Table("t").LiveRows() != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the in-doubt commit was not published when it finished")
		}
	}
}

// TestDamagedManifest: a bit flipped at byte 64 of the MANIFEST of a
// database with flushed sstables: pebble would stop reading it there and
// drop the sstables recorded after; Open refuses, or opens with every row.
func TestDamagedManifest(t *testing.T) {
	for _, at := range []int64{64, -1} {
		dir := t.TempDir()
		n := fillFaultDB(t, dir, 40, 1000, Options{memTableSize: 256 << 10})
		ms := filesOf(t, dir, "MANIFEST-*")
		if len(filesOf(t, dir, "*.sst")) == 0 || len(ms) == 0 {
			t.Fatal("no sstable or MANIFEST")
		}
		m := ms[len(ms)-1]
		st, _ := os.Stat(m)
		off := at
		if off < 0 || off >= st.Size() {
			off = st.Size() / 2
		}
		flipBit(t, m, off, 2)
		db, err := Open(Options{Dir: dir})
		if err == nil {
			checkAllRows(t, db, n)
			db.Close()
			t.Logf("bit flip at %d of %s (%d bytes): opened with all %d rows", off, filepath.Base(m), st.Size(), n)
			continue
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Open: %v, want ErrCorrupt", err)
		}
		t.Logf("bit flip at %d of %s (%d bytes): %v", off, filepath.Base(m), st.Size(), err)
	}
}

// TestCatalogCrossCheck: rows lost behind the catalog's back (a dropped
// sstable or log record), a row beyond the next rowid and rows of a
// table the catalog does not list are corruption at Open; Recover opens
// with the rows found.
func TestCatalogCrossCheck(t *testing.T) {
	for name, damage := range map[string]func(db *DB) error{
		"row lost": func(db *DB) error { return db.pdb.Delete(rowKey(1, 5), nil) },
		"row beyond": func(db *DB) error {
			return db.pdb.Set(rowKey(1, 1000), []byte{recordVersion, 1, 0xd0, 0x0f, 4, 2, 0, 0, 0, 0, 0, 0, 0, 0}, nil)
		},
		"table not listed": func(db *DB) error { return db.pdb.Set(rowKey(7, 1), []byte{recordVersion}, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			fillFaultDB(t, dir, 2, 10, Options{})
			db := mustOpen(t, Options{Dir: dir})
			if err := damage(db); err != nil {
				t.Fatal(err)
			}
			db.Close()
			_, err := Open(Options{Dir: dir})
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open: %v, want ErrCorrupt", err)
			}
			t.Log(err)
			db = mustOpen(t, Options{Dir: dir, Recover: true})
			db.Close()
		})
	}
}
