package storage

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/softdb/softdb/types"
)

var bulkSchema = Schema{Name: "B", Columns: []Column{
	{Name: "id", Type: intT, PrimaryKey: true},
	{Name: "k", Type: vecT(3)},
	{Name: "note", Type: txtT},
	{Name: "x", Type: fltT, NotNull: true},
}}

// bulkRow is row i of the bulk tests (id = i).
func bulkRow(i int64) []types.Value {
	note := tv(fmt.Sprint("n", i))
	if i%7 == 0 {
		note = types.Value{}
	}
	return row(iv(i), vv(float32(i), -1, 0.5), note, fv(float64(i)/4))
}

// rowsFrom returns a next function producing rows ids lo..hi-1; bad, if
// set, replaces the row with that id.
func rowsFrom(lo, hi int64, bad map[int64][]types.Value) func([]types.Value) error {
	i := lo
	return func(dst []types.Value) error {
		if i >= hi {
			return io.EOF
		}
		r := bulkRow(i)
		if b, ok := bad[i]; ok {
			r = b
		}
		copy(dst, r)
		i++
		return nil
	}
}

// bulkState is the dump of table B holding the rows of ids (rowids in
// order from 1), with nextRowID.
func bulkState(next int64, ids ...[2]int64) map[string]tableDump {
	d := tableDump{Schema: fmtSchema(mustValidate(bulkSchema)), NextRowID: next, Rows: map[int64]string{}}
	rowid := int64(1)
	for _, r := range ids {
		for i := r[0]; i < r[1]; i++ {
			d.Rows[rowid] = fmtRow(bulkRow(i))
			rowid++
		}
	}
	return map[string]tableDump{"b": d}
}

func bulkFilesLeft(t *testing.T, fs vfs.FS, dir string) []string {
	t.Helper()
	names, err := fs.List(fs.PathJoin(dir, bulkDir))
	if err != nil {
		return nil // no directory: nothing left
	}
	return names
}

func pkSize(db *DB, table string) int {
	idx := db.pk[db.Snapshot().Table(table).id]
	return len(idx.ints) + len(idx.texts)
}

// TestBulkLoad loads through sstables on disk and in memory, with and
// without a row count, after rows that leave a segment half full: the
// mirror and a reopened database hold the same rows, and later writes go
// on from the right rowid.
func TestBulkLoad(t *testing.T) {
	for _, onDisk := range []bool{false, true} {
		for _, hint := range []int64{0, 3000} {
			t.Run(fmt.Sprintf("disk=%v/hint=%d", onDisk, hint), func(t *testing.T) {
				defer func(v uint64) { bulkFileBytes = v }(bulkFileBytes)
				bulkFileBytes = 20 << 10 // several files per load
				var fs vfs.FS = vfs.NewMem()
				opts := Options{FS: fs, Dir: "db", SegmentRows: 16}
				if onDisk {
					opts = Options{Dir: t.TempDir(), SegmentRows: 16}
					fs = vfs.Default
				}
				db := mustOpen(t, opts)
				run(t, db, func(tx *Tx) error { return tx.CreateTable(bulkSchema) })
				run(t, db, func(tx *Tx) error {
					_, err := tx.Insert("b", [][]types.Value{bulkRow(-3), bulkRow(-2), bulkRow(-1)})
					return err
				})
				tx := mustBegin(t, db)
				n, err := tx.InsertBulk("b", BulkOptions{Rows: hint}, rowsFrom(0, 3000, nil))
				if err != nil || n != 3000 {
					t.Fatalf("InsertBulk: %d, %v", n, err)
				}
				if tx.bulk == nil || len(tx.bulk.paths) < 3 {
					t.Fatalf("expected a load of several sstables, got %+v", tx.bulk)
				}
				if _, err := tx.Insert("b", [][]types.Value{bulkRow(5000)}); !errors.Is(err, ErrBulkOnly) {
					t.Fatalf("Insert after a bulk load: %v", err)
				}
				// The Tx's own view has the rows; the committed one not yet.
				want := bulkState(3004, [2]int64{-3, 3000})
				if d := equalDumps(want, dump(t, tx.Snapshot())); d != "" {
					t.Fatal(d)
				}
				if db.Snapshot().Table("b").LiveRows() != 3 {
					t.Fatal("uncommitted bulk rows visible")
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				if d := equalDumps(want, dump(t, db.Snapshot())); d != "" {
					t.Fatal(d)
				}
				if left := bulkFilesLeft(t, fs, opts.Dir); len(left) != 0 {
					t.Fatalf("files left in %s: %v", bulkDir, left)
				}
				run(t, db, func(tx *Tx) error {
					_, err := tx.Insert("b", [][]types.Value{bulkRow(3000)})
					return err
				})
				want = bulkState(3005, [2]int64{-3, 3001})
				if d := equalDumps(want, dump(t, db.Snapshot())); d != "" {
					t.Fatal(d)
				}
				db.Close()
				db = mustOpen(t, opts)
				defer db.Close()
				if d := equalDumps(want, dump(t, db.Snapshot())); d != "" {
					t.Fatalf("after reopen: %s", d)
				}
				if pkSize(db, "b") != 3004 {
					t.Fatalf("PK index has %d keys", pkSize(db, "b"))
				}
			})
		}
	}
}

// TestBulkRefusedRows: a bad row anywhere (a duplicate key in the load or
// in the table, a wrong dimension, a NaN, a NULL in a NOT NULL column, an
// error from next) fails the load with the row's ordinal and leaves the
// Tx as it was: its earlier writes stay, the PK index and the mirror are
// as before, the sstables are gone.
func TestBulkRefusedRows(t *testing.T) {
	errBoom := errors.New("boom")
	cases := []struct {
		name     string
		bad      map[int64][]types.Value
		row      int64 // ordinal in BulkError
		earlier  int64
		sentinel error
	}{
		{"dup-in-load", map[int64][]types.Value{2500: bulkRow(1200)}, 2500, 1200, nil},
		{"dup-in-table", map[int64][]types.Value{1800: bulkRow(-2)}, 1800, -1, nil},
		{"dup-in-tx", map[int64][]types.Value{10: bulkRow(-10)}, 10, -1, nil},
		{"dim", map[int64][]types.Value{2999: row(iv(2999), vv(1, 2), tv(""), fv(1))}, 2999, -1, nil},
		{"nan", map[int64][]types.Value{0: row(iv(0), vv(1, float32(math.NaN()), 2), tv(""), fv(1))}, 0, -1, nil},
		{"notnull", map[int64][]types.Value{1024: row(iv(1024), vv(1, 2, 3), tv(""), types.Value{})}, 1024, -1, nil},
		{"next", nil, -1, -1, errBoom},
	}
	for _, batch := range []bool{false, true} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/batch=%v", c.name, batch), func(t *testing.T) {
				if c.name == "dup-in-tx" && !batch {
					t.Skip("no earlier write in the Tx to collide with")
				}
				defer func(v uint64) { bulkFileBytes = v }(bulkFileBytes)
				bulkFileBytes = 20 << 10
				dir := t.TempDir()
				db := mustOpen(t, Options{Dir: dir, SegmentRows: 16})
				defer db.Close()
				run(t, db, func(tx *Tx) error { return tx.CreateTable(bulkSchema) })
				run(t, db, func(tx *Tx) error {
					_, err := tx.Insert("b", [][]types.Value{bulkRow(-3), bulkRow(-2)})
					return err
				})
				tx := mustBegin(t, db)
				defer tx.Rollback()
				if batch {
					// An earlier write in the Tx: the load goes through the batch.
					if _, err := tx.Insert("b", [][]types.Value{bulkRow(-10)}); err != nil {
						t.Fatal(err)
					}
				}
				before := dump(t, tx.Snapshot())
				next := rowsFrom(0, 3000, c.bad)
				if c.sentinel != nil {
					inner := next
					k := 0
					next = func(dst []types.Value) error {
						if k++; k == 2000 {
							return fmt.Errorf("reading: %w", c.sentinel)
						}
						return inner(dst)
					}
				}
				n, err := tx.InsertBulk("b", BulkOptions{}, next)
				if err == nil {
					t.Fatalf("InsertBulk loaded %d rows", n)
				}
				if c.sentinel != nil {
					if !errors.Is(err, c.sentinel) {
						t.Fatalf("error %v, want the one from next", err)
					}
				} else {
					var be *BulkError
					if !errors.As(err, &be) || be.Row != c.row || be.Earlier != c.earlier {
						t.Fatalf("error %#v (%v), want row %d earlier %d", be, err, c.row, c.earlier)
					}
				}
				t.Logf("%v", err)
				if d := equalDumps(before, dump(t, tx.Snapshot())); d != "" {
					t.Fatalf("failed load changed the Tx: %s", d)
				}
				wantKeys := 2
				if batch {
					wantKeys = 3
				}
				if pkSize(db, "b") != wantKeys {
					t.Fatalf("PK index has %d keys, want %d", pkSize(db, "b"), wantKeys)
				}
				if left := bulkFilesLeft(t, vfs.Default, dir); len(left) != 0 {
					t.Fatalf("files left: %v", left)
				}
				// The Tx goes on: a key of the failed load is free again.
				if _, err := tx.Insert("b", [][]types.Value{bulkRow(1200)}); err != nil {
					t.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				db.Close()
				db = mustOpen(t, Options{Dir: dir, SegmentRows: 16})
				var want map[string]tableDump
				if batch {
					want = bulkState(5, [2]int64{-3, -1}, [2]int64{-10, -9}, [2]int64{1200, 1201})
				} else {
					want = bulkState(4, [2]int64{-3, -1}, [2]int64{1200, 1201})
				}
				if d := equalDumps(want, dump(t, db.Snapshot())); d != "" {
					t.Fatalf("after reopen: %s", d)
				}
			})
		}
	}
}

// TestBulkRollback: rolling back a loaded Tx restores the PK index and
// deletes the sstables.
func TestBulkRollback(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, Options{Dir: dir, SegmentRows: 16})
	defer db.Close()
	run(t, db, func(tx *Tx) error { return tx.CreateTable(bulkSchema) })
	tx := mustBegin(t, db)
	if _, err := tx.InsertBulk("b", BulkOptions{}, rowsFrom(0, 500, nil)); err != nil {
		t.Fatal(err)
	}
	if len(bulkFilesLeft(t, vfs.Default, dir)) == 0 {
		t.Fatal("no sstable written")
	}
	tx.Rollback()
	if pkSize(db, "b") != 0 || db.Snapshot().Table("b").NextRowID() != 1 {
		t.Fatal("rollback left keys or rowids")
	}
	if left := bulkFilesLeft(t, vfs.Default, dir); len(left) != 0 {
		t.Fatalf("files left: %v", left)
	}
	run(t, db, func(tx *Tx) error {
		_, err := tx.InsertBulk("b", BulkOptions{}, rowsFrom(0, 500, nil))
		return err
	})
	if d := equalDumps(bulkState(501, [2]int64{0, 500}), dump(t, db.Snapshot())); d != "" {
		t.Fatal(d)
	}
}

// TestBulkBatchUndoOrder: in a Tx that goes on after a batch-mode load,
// deleting a loaded row and reusing its key, then rolling back, leaves
// the PK index exactly as before (the load's undo runs in order with the
// per-key log).
func TestBulkBatchUndoOrder(t *testing.T) {
	db := mustOpen(t, Options{SegmentRows: 16})
	defer db.Close()
	run(t, db, func(tx *Tx) error { return tx.CreateTable(bulkSchema) })
	run(t, db, func(tx *Tx) error {
		_, err := tx.Insert("b", [][]types.Value{bulkRow(-1)})
		return err
	})
	before := dump(t, db.Snapshot())
	for _, commit := range []bool{false, true} {
		tx := mustBegin(t, db)
		first := tx.Snapshot().Table("b").NextRowID()
		if _, err := tx.InsertBulk("b", BulkOptions{Batch: true}, rowsFrom(0, 100, nil)); err != nil {
			t.Fatal(err)
		}
		// Row with id 3, then rekey row id 4 to 1000.
		if err := tx.Delete("b", []int64{first + 3}); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Insert("b", [][]types.Value{bulkRow(3)}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Update("b", []int64{first + 4}, [][]types.Value{bulkRow(1000)}); err != nil {
			t.Fatal(err)
		}
		if !commit {
			tx.Rollback()
			if d := equalDumps(before, dump(t, db.Snapshot())); d != "" {
				t.Fatal(d)
			}
			if pkSize(db, "b") != 1 {
				t.Fatalf("PK index after rollback: %d keys", pkSize(db, "b"))
			}
			continue
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		// 1 + 100 - 1 + 1 keys, and the keys 4 and 1000 are where they should be.
		if pkSize(db, "b") != 101 {
			t.Fatalf("PK index after commit: %d keys", pkSize(db, "b"))
		}
		idx := db.pk[db.Snapshot().Table("b").id]
		if _, ok := idx.ints[4]; ok || idx.ints[1000] != first+4 || idx.ints[3] != first+100 {
			t.Fatalf("PK index: 4→%v 1000→%d 3→%d", idx.ints[4], idx.ints[1000], idx.ints[3])
		}
	}
}

// TestBulkOpenRemovesLeftovers: sstables of a load that never committed
// are removed at open and are not part of the database.
func TestBulkOpenRemovesLeftovers(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, Options{Dir: dir})
	run(t, db, func(tx *Tx) error { return tx.CreateTable(bulkSchema) })
	tx := mustBegin(t, db)
	if _, err := tx.InsertBulk("b", BulkOptions{}, rowsFrom(0, 100, nil)); err != nil {
		t.Fatal(err)
	}
	if err := tx.bulk.finish(); err != nil {
		t.Fatal(err)
	}
	// Keep the files as a crash would: forget them, then close.
	tx.bulk.paths = nil
	tx.Rollback()
	if len(bulkFilesLeft(t, vfs.Default, dir)) == 0 {
		t.Fatal("expected leftover files")
	}
	db.Close()
	db = mustOpen(t, Options{Dir: dir})
	defer db.Close()
	if left := bulkFilesLeft(t, vfs.Default, dir); len(left) != 0 {
		t.Fatalf("files left after open: %v", left)
	}
	if db.Snapshot().Table("b").LiveRows() != 0 {
		t.Fatal("uncommitted rows appeared")
	}
}

// TestBulkCrash crashes (clones a crashable file system) at random
// file-system operations during a bulk load and its commit, including
// pebble's ingestion: each clone opens with the table before the load or
// with all of it; a clone taken after Commit returned has all of it.
func TestBulkCrash(t *testing.T) {
	defer func(v uint64) { bulkFileBytes = v }(bulkFileBytes)
	bulkFileBytes = 16 << 10
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	mem := vfs.NewCrashableMem()
	var (
		mu     sync.Mutex
		odds   int // clone at one operation in odds; 0: none
		clones []*vfs.MemFS
	)
	inj := errorfs.InjectorFunc(func(op errorfs.Op) error {
		mu.Lock()
		defer mu.Unlock()
		if odds > 0 && rng.IntN(odds) == 0 {
			clones = append(clones, mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rand.New(rand.NewPCG(rng.Uint64(), 0))}))
		}
		return nil
	})
	opts := Options{FS: errorfs.Wrap(mem, inj), Dir: "db", SegmentRows: 64}
	db := mustOpen(t, opts)
	run(t, db, func(tx *Tx) error { return tx.CreateTable(bulkSchema) })
	run(t, db, func(tx *Tx) error {
		_, err := tx.Insert("b", [][]types.Value{bulkRow(-2), bulkRow(-1)})
		return err
	})
	// An index: its entries are ingested with the rows.
	run(t, db, func(tx *Tx) error {
		return tx.CreateIndex(Index{Name: "bk", Table: "b", Column: "k", Method: "ivf", Codes: "float32", Lists: 3, Dim: 3,
			Centroids: []float32{0, 0, 0, 100, 0, 0, 1000, 1, 1}})
	})
	setOdds := func(n int) {
		mu.Lock()
		odds = n
		mu.Unlock()
	}
	setOdds(8)
	tx := mustBegin(t, db)
	if _, err := tx.InsertBulk("b", BulkOptions{}, rowsFrom(0, 2000, nil)); err != nil {
		t.Fatal(err)
	}
	setOdds(1) // every operation of the commit: the ingestion is short
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	setOdds(0)
	mu.Lock()
	during := clones
	mu.Unlock()
	after := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
	db.Close()

	none := bulkState(3, [2]int64{-2, 0})
	all := bulkState(2003, [2]int64{-2, 2000})
	var sawNone, sawAll int
	for i, fs := range append(during, after) {
		db2 := mustOpen(t, Options{FS: fs, Dir: "db", SegmentRows: 64})
		got := dump(t, db2.Snapshot())
		checkStoredLists(t, db2, "bk")
		switch {
		case equalDumps(none, got) == "" && i < len(during):
			sawNone++
		case equalDumps(all, got) == "":
			sawAll++
		default:
			t.Fatalf("crash %d of %d: neither before nor after the load: %s / %s", i, len(during), equalDumps(none, got), equalDumps(all, got))
		}
		db2.Close()
	}
	t.Logf("%d crash points: %d before the load, %d with all of it", len(during)+1, sawNone, sawAll)
}

// TestBulkFailures: a write or sync error in a load's sstable fails
// InsertBulk, and a failed ingestion (a file gone) fails Commit; either
// way nothing is published, the PK index is as before, the files are
// gone, and the database goes on.
func TestBulkFailures(t *testing.T) {
	const gone = errorfs.OpKind(-1) // not an injection: remove a file before Commit
	for name, op := range map[string]errorfs.OpKind{"write": errorfs.OpFileWrite, "sync": errorfs.OpFileSyncData, "ingest": gone} {
		t.Run(name, func(t *testing.T) {
			mem := vfs.NewMem()
			var on atomic.Bool
			inj := errorfs.InjectorFunc(func(o errorfs.Op) error {
				if on.Load() && o.Kind == op && strings.Contains(o.Path, bulkDir) {
					return errorfs.ErrInjected
				}
				return nil
			})
			opts := Options{FS: errorfs.Wrap(mem, inj), Dir: "db", SegmentRows: 16}
			db := mustOpen(t, opts)
			defer db.Close()
			run(t, db, func(tx *Tx) error { return tx.CreateTable(bulkSchema) })
			run(t, db, func(tx *Tx) error {
				_, err := tx.Insert("b", [][]types.Value{bulkRow(-1)})
				return err
			})
			before := dump(t, db.Snapshot())
			on.Store(true)
			tx := mustBegin(t, db)
			_, err := tx.InsertBulk("b", BulkOptions{}, rowsFrom(0, 2000, nil))
			if op == gone {
				if err != nil {
					t.Fatal(err)
				}
				if err := mem.Remove(tx.bulk.paths[0]); err != nil {
					t.Fatal(err)
				}
				if err = tx.Commit(); err == nil {
					t.Fatal("Commit succeeded without its sstable")
				}
				t.Logf("Commit: %v", err)
			} else {
				if !errors.Is(err, errorfs.ErrInjected) {
					t.Fatalf("InsertBulk: %v, want the injected error", err)
				}
				tx.Rollback()
			}
			on.Store(false)
			if d := equalDumps(before, dump(t, db.Snapshot())); d != "" {
				t.Fatalf("failed load published: %s", d)
			}
			if pkSize(db, "b") != 1 {
				t.Fatalf("PK index has %d keys", pkSize(db, "b"))
			}
			if left := bulkFilesLeft(t, mem, "db"); len(left) != 0 {
				t.Fatalf("files left: %v", left)
			}
			run(t, db, func(tx *Tx) error {
				_, err := tx.InsertBulk("b", BulkOptions{}, rowsFrom(0, 2000, nil))
				return err
			})
			db.Close()
			db = mustOpen(t, Options{FS: mem, Dir: "db", SegmentRows: 16})
			if d := equalDumps(bulkState(2002, [2]int64{-1, 2000}), dump(t, db.Snapshot())); d != "" {
				t.Fatalf("after reopen: %s", d)
			}
		})
	}
}
