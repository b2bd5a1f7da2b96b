package storage

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/softdb/softdb/types"
)

var crashSchema = Schema{Name: "t", Columns: []Column{{Name: "n", Type: intT, PrimaryKey: true}, {Name: "k", Type: vecT(4)}}}

// crashCreate creates the crash tests' table and a vector index on it, so
// that every crash also checks that the index's stored lists stay those
// of the rows (Open checks that each row has its entry; committedCount
// that each entry has the row's list).
func crashCreate(tx *Tx) error {
	if err := tx.CreateTable(crashSchema); err != nil {
		return err
	}
	return tx.CreateIndex(Index{Name: "tk", Table: "t", Column: "k", Method: "ivf", Codes: "float32", Lists: 2, Dim: 4,
		Centroids: []float32{0, 1, 2, 3, 20, 1, 2, 3}})
}

// crashTx is transaction n (1-based) of the crash tests: it inserts row
// n and, every third time, deletes row n-2, so the state after k
// transactions is known.
func crashTx(tx *Tx, n int64) error {
	if _, err := tx.Insert("t", [][]types.Value{row(iv(n), vv(float32(n), 1, 2, 3))}); err != nil {
		return err
	}
	if n%3 == 0 {
		return tx.Delete("t", []int64{n - 2})
	}
	return nil
}

// crashState returns the dump expected after k crash transactions.
func crashState(k int64) map[string]tableDump {
	d := tableDump{Schema: fmtSchema(mustValidate(crashSchema)), NextRowID: k + 1, Rows: map[int64]string{}}
	for n := int64(1); n <= k; n++ {
		d.Rows[n] = fmtRow(row(iv(n), vv(float32(n), 1, 2, 3)))
		if n%3 == 0 {
			delete(d.Rows, n-2)
		}
	}
	return map[string]tableDump{"t": d}
}

func mustValidate(s Schema) *Schema {
	v, err := s.validate()
	if err != nil {
		panic(err)
	}
	return v
}

// committedCount finds k such that the database equals crashState(k).
func committedCount(t *testing.T, db *DB) int64 {
	t.Helper()
	tb := db.Snapshot().Table("t")
	if tb == nil {
		t.Fatal("table lost")
	}
	k := tb.NextRowID() - 1
	if d := equalDumps(crashState(k), dump(t, db.Snapshot())); d != "" {
		t.Fatalf("state after crash is not that of %d transactions: %s", k, d)
	}
	for _, ix := range tb.Indexes() {
		checkStoredLists(t, db, ix.Name)
	}
	return k
}

// TestCrashBetweenCommits: at any point between commits a crash keeps
// exactly the committed transactions, for any amount of unsynced data
// that happens to reach the disk.
func TestCrashBetweenCommits(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	mem := vfs.NewCrashableMem()
	opts := Options{FS: mem, Dir: "db", SegmentRows: 4}
	db := mustOpen(t, opts)
	run(t, db, func(tx *Tx) error { return crashCreate(tx) })
	for n := int64(1); n <= 30; n++ {
		run(t, db, func(tx *Tx) error { return crashTx(tx, n) })
		// An open, uncommitted transaction with writes.
		tx := mustBegin(t, db)
		if err := crashTx(tx, n+1); err != nil {
			t.Fatal(err)
		}
		crashed := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rng})
		tx.Rollback()
		db2 := mustOpen(t, Options{FS: crashed, Dir: "db", SegmentRows: 4})
		if k := committedCount(t, db2); k != n {
			t.Fatalf("after crash: %d transactions, want %d", k, n)
		}
		// The recovered database takes writes and survives a reopen.
		run(t, db2, func(tx *Tx) error { return crashTx(tx, n+1) })
		db2.Close()
		db2 = mustOpen(t, Options{FS: crashed, Dir: "db", SegmentRows: 4})
		if k := committedCount(t, db2); k != n+1 {
			t.Fatalf("after crash and one more commit: %d transactions", k)
		}
		db2.Close()
	}
	db.Close()
}

// TestCrashDuringCommits crashes while a writer commits: the clone holds
// every transaction acknowledged before the crash, and each transaction
// entirely or not at all.
func TestCrashDuringCommits(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	mem := vfs.NewCrashableMem()
	db := mustOpen(t, Options{FS: mem, Dir: "db", SegmentRows: 4})
	defer db.Close()
	run(t, db, func(tx *Tx) error { return crashCreate(tx) })
	var acked atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := int64(1); !stop.Load(); n++ {
			tx, err := db.Begin(context.Background())
			if err == nil {
				err = crashTx(tx, n)
			}
			if err == nil {
				err = tx.Commit()
			}
			if err != nil {
				t.Error(err)
				return
			}
			acked.Store(n)
		}
	}()
	for i := 0; i < 20; i++ {
		lo := acked.Load()
		crashed := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rng})
		hi := acked.Load() + 1 // a commit may be synced but not yet acknowledged
		db2 := mustOpen(t, Options{FS: crashed, Dir: "db", SegmentRows: 4})
		if k := committedCount(t, db2); k < lo || k > hi {
			t.Fatalf("crash %d: %d transactions survived, want %d..%d", i, k, lo, hi)
		}
		db2.Close()
	}
	stop.Store(true)
	wg.Wait()
}

// TestWriteErrorDoesNotPublish injects a write error into the WAL: Commit
// returns an error, the mirror keeps the last committed state, the DB
// refuses further writes instead of panicking, and a reopen recovers the
// committed state.
func TestWriteErrorDoesNotPublish(t *testing.T) {
	syncs := []errorfs.OpKind{errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo}
	for name, ops := range map[string][]errorfs.OpKind{"write": {errorfs.OpFileWrite}, "sync": syncs} {
		t.Run(name, func(t *testing.T) {
			mem := vfs.NewMem()
			var on atomic.Bool
			inj := errorfs.InjectorFunc(func(o errorfs.Op) error {
				if on.Load() && slices.Contains(ops, o.Kind) && strings.HasSuffix(o.Path, ".log") {
					return errorfs.ErrInjected
				}
				return nil
			})
			fs := errorfs.Wrap(mem, inj)
			db := mustOpen(t, Options{FS: fs, Dir: "db"})
			run(t, db, func(tx *Tx) error { return crashCreate(tx) })
			run(t, db, func(tx *Tx) error { return crashTx(tx, 1) })
			before := dump(t, db.Snapshot())

			on.Store(true)
			tx := mustBegin(t, db)
			if err := crashTx(tx, 2); err != nil {
				t.Fatal(err)
			}
			err := tx.Commit()
			if err == nil {
				t.Fatal("Commit succeeded despite the write error")
			}
			t.Logf("Commit: %v", err)
			if d := equalDumps(before, dump(t, db.Snapshot())); d != "" {
				t.Fatalf("failed commit published: %s", d)
			}
			// The writer's PK index was rolled back with it.
			if _, err := db.Begin(context.Background()); !errors.Is(err, ErrFailed) {
				t.Fatalf("Begin after failed commit: %v", err)
			}
			on.Store(false)
			t.Logf("Close: %v", db.Close())

			db = mustOpen(t, Options{FS: mem, Dir: "db"})
			defer db.Close()
			if k := committedCount(t, db); k != 1 && k != 2 {
				t.Fatalf("after reopen: %d transactions", k)
			}
		})
	}
}

// TestPKIndexAfterFailedCommit: a failed commit leaves the writer's PK
// index as before the transaction.
func TestPKIndexAfterFailedCommit(t *testing.T) {
	db := mustOpen(t, Options{})
	defer db.Close()
	run(t, db, func(tx *Tx) error { return crashCreate(tx) })
	run(t, db, func(tx *Tx) error { return crashTx(tx, 1) })
	tx := mustBegin(t, db)
	if err := crashTx(tx, 2); err != nil {
		t.Fatal(err)
	}
	if err := tx.DropTable("t"); err != nil {
		t.Fatal(err)
	}
	tx.revert()
	if idx := db.pk[db.Snapshot().Table("t").id]; idx == nil || len(idx.ints) != 1 {
		t.Fatalf("PK index after revert: %+v", idx)
	}
	tx.end()
}
