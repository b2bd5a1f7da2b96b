package storage

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/softdb/softdb/types"
)

// FuzzDecodeIndex: any bytes decode to an index or an error, never a
// panic; what decodes encodes back to the same bytes.
func FuzzDecodeIndex(f *testing.F) {
	ix := &Index{Name: "i", Table: "t", Column: "key", Method: "ivf", Codes: "int8", Lists: 2, Dim: 3, Seed: 7,
		Centroids: []float32{1, 2, 3, -1, -2, -3}}
	good := encodeIndex(ix) // version 1: no entries
	f.Add(good)
	f.Add(good[:len(good)-1])
	ix.stored = new(atomic.Pointer[[]SegmentLists])
	v2 := encodeIndex(ix) // version 2: rows have entries
	f.Add(v2)
	f.Add(v2[:len(v2)-3])
	f.Add([]byte{indexVersion})
	f.Add([]byte{indexVersionV1})
	f.Add([]byte{3, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ix, err := DecodeIndex(b)
		if err != nil {
			return
		}
		if (ix.stored != nil) != (b[0] == indexVersion) {
			t.Fatalf("version %d decoded with stored entries %v", b[0], ix.stored != nil)
		}
		if again := encodeIndex(ix); !bytes.Equal(again, b) {
			t.Fatalf("decode then encode changed the record:\n%x\n%x", b, again)
		}
	})
}

// TestIndexDurable: an index definition survives a reopen, goes with its
// table, and a rolled-back CREATE INDEX leaves nothing.
func TestIndexDurable(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tx, _ := db.Begin(ctx)
	if err := tx.CreateTable(Schema{Name: "t", Columns: []Column{{Name: "key", Type: types.Type{Kind: types.Vector, Dim: 2}}, {Name: "s", Type: types.Type{Kind: types.Text}}}}); err != nil {
		t.Fatal(err)
	}
	ix := Index{Name: "ti", Table: "t", Column: "key", Method: "ivf", Codes: "float32", Lists: 1, Dim: 2, Centroids: []float32{0.5, 0.25}}
	if err := tx.CreateIndex(ix); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	tx, _ = db.Begin(ctx)
	bad := ix
	bad.Name, bad.Column = "ts", "s"
	if err := tx.CreateIndex(bad); err == nil {
		t.Fatal("an index on a TEXT column was accepted")
	}
	other := ix
	other.Name = "tj"
	if err := tx.CreateIndex(other); err != nil {
		t.Fatal(err)
	}
	tx.Rollback()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tbl, got := db.Snapshot().Index("TI")
	if got == nil || tbl.Name() != "t" || got.Centroids[1] != 0.25 || got.Codes != "float32" {
		t.Fatalf("after reopen: %+v", got)
	}
	if _, j := db.Snapshot().Index("tj"); j != nil {
		t.Fatal("a rolled-back index came back")
	}
	tx, _ = db.Begin(ctx)
	if err := tx.DropTable("t"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	db, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, got := db.Snapshot().Index("ti"); got != nil {
		t.Fatal("the index outlived its table")
	}
}

// TestCrashIndex: a crash between commits keeps exactly the committed
// index definitions, each with its transaction's rows (crash-consistent
// with them: both go in one batch).
func TestCrashIndex(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	mem := vfs.NewCrashableMem()
	opts := Options{FS: mem, Dir: "db", SegmentRows: 4}
	db := mustOpen(t, opts)
	defer db.Close()
	run(t, db, func(tx *Tx) error { return tx.CreateTable(crashSchema) })
	step := func(tx *Tx, n int64) error {
		if err := crashTx(tx, n); err != nil {
			return err
		}
		ix := Index{Name: fmt.Sprintf("i%d", n), Table: "t", Column: "k", Method: "ivf", Codes: "int8", Lists: 1, Dim: 4, Centroids: []float32{float32(n), 0, 0, 0}}
		if err := tx.CreateIndex(ix); err != nil {
			return err
		}
		if n > 2 {
			return tx.DropIndex(fmt.Sprintf("i%d", n-2))
		}
		return nil
	}
	for n := int64(1); n <= 15; n++ {
		run(t, db, func(tx *Tx) error { return step(tx, n) })
		tx := mustBegin(t, db)
		if err := step(tx, n+1); err != nil {
			t.Fatal(err)
		}
		crashed := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rng})
		tx.Rollback()
		db2 := mustOpen(t, Options{FS: crashed, Dir: "db", SegmentRows: 4})
		if k := committedCount(t, db2); k != n {
			t.Fatalf("after crash: %d transactions, want %d", k, n)
		}
		var names []string
		for _, ix := range db2.Snapshot().Table("t").Indexes() {
			names = append(names, ix.Name)
			if want := fmt.Sprintf("i%v", ix.Centroids[0]); want != ix.Name {
				t.Fatalf("index %s has the centroid of %s", ix.Name, want)
			}
		}
		want := []string{fmt.Sprintf("i%d", n)}
		if n > 1 {
			want = []string{fmt.Sprintf("i%d", n-1), fmt.Sprintf("i%d", n)}
			slices.Sort(want)
		}
		if !slices.Equal(names, want) {
			t.Fatalf("after crash at %d: indexes %v, want %v", n, names, want)
		}
		db2.Close()
	}
}
