package storage

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/softdb/softdb/types"
)

// listsSchema: a key column with NULLs and a column updates change alone.
var listsSchema = Schema{Name: "t", Columns: []Column{{Name: "k", Type: vecT(2)}, {Name: "s", Type: types.Type{Kind: types.Text}}}}

// listsIndex has two lists: keys with k[0] < 5 are nearer the first.
func listsIndex(name string, cent ...float32) Index {
	if cent == nil {
		cent = []float32{0, 0, 10, 0}
	}
	return Index{Name: name, Table: "t", Column: "k", Method: "ivf", Codes: "float32", Lists: len(cent) / 2, Dim: 2, Centroids: cent}
}

// checkStoredLists checks that the lists ix holds (read at Open) give
// every live row with a key its nearest centroid, and no list to the
// other slots.
func checkStoredLists(t *testing.T, db *DB, name string) {
	t.Helper()
	tbl, ix := db.Snapshot().Index(name)
	if ix == nil {
		t.Fatalf("index %s lost", name)
	}
	sls := ix.TakeStoredLists()
	if len(sls) != len(tbl.Segments()) {
		t.Fatalf("index %s: stored lists of %d segments, the table has %d", name, len(sls), len(tbl.Segments()))
	}
	col := tbl.Schema().ColumnIndex(ix.Column)
	indexed := 0
	for k, g := range tbl.Segments() {
		sl := sls[k]
		if sl.Seg.Base() != g.Base() || len(sl.Lists) != g.Len() {
			t.Fatalf("segment %d: stored lists for base %d, %d slots; table has base %d, %d slots", k, sl.Seg.Base(), len(sl.Lists), g.Base(), g.Len())
		}
		for i := 0; i < g.Len(); i++ {
			v := g.Value(col, i)
			want := int32(-1)
			if g.Live()[i] != 0 && v.K != types.Null {
				dst := []int32{0}
				nearestList(ix, dst, v.V)
				want = dst[0]
				indexed++
			}
			if sl.Lists[i] != want {
				t.Fatalf("index %s, rowid %d (%v): stored list %d, want %d", name, g.Base()+int64(i), v, sl.Lists[i], want)
			}
		}
	}
	if ix.TakeStoredLists() != nil {
		t.Fatal("TakeStoredLists gave the lists twice")
	}
	t.Logf("index %s: %d rows with their lists", name, indexed)
}

// TestIndexEntriesFollowWrites: every kind of write keeps the stored
// lists equal to the rows' nearest centroids across a reopen: INSERT
// (NULL keys included), UPDATE of the key (to NULL, from NULL, to
// another list) and of another column, DELETE, a bulk load through
// sstables and one through the batch, CREATE INDEX over existing rows,
// DROP INDEX, and REINDEX (drop and create under the same name).
func TestIndexEntriesFollowWrites(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentRows: 4}
	db := mustOpen(t, opts)
	run(t, db, func(tx *Tx) error {
		if err := tx.CreateTable(listsSchema); err != nil {
			return err
		}
		_, err := tx.Insert("t", [][]types.Value{row(vv(1, 1), tv("a")), row(types.Value{}, tv("b")), row(vv(9, 0), tv("c"))})
		return err
	})
	run(t, db, func(tx *Tx) error { return tx.CreateIndex(listsIndex("ti")) })
	run(t, db, func(tx *Tx) error {
		if _, err := tx.Insert("t", [][]types.Value{row(vv(2, 2), tv("d")), row(types.Value{}, tv("e")), row(vv(8, 8), tv("f"))}); err != nil {
			return err
		}
		// rowid 1 moves to the other list, 2 gets a key, 3 loses it, 4
		// changes its text only.
		return tx.Update("t", []int64{1, 2, 3, 4}, [][]types.Value{
			row(vv(11, 0), tv("a")), row(vv(0, 1), tv("b")), row(types.Value{}, tv("c")), row(vv(2, 2), tv("D"))})
	})
	run(t, db, func(tx *Tx) error { return tx.Delete("t", []int64{6, 5}) })
	bulk := func(batch bool, rows ...[]types.Value) func(tx *Tx) error {
		return func(tx *Tx) error {
			i := 0
			_, err := tx.InsertBulk("t", BulkOptions{Batch: batch}, func(r []types.Value) error {
				if i == len(rows) {
					return io.EOF
				}
				copy(r, rows[i])
				i++
				return nil
			})
			return err
		}
	}
	run(t, db, bulk(false, row(vv(3, 0), tv("g")), row(types.Value{}, tv("h")), row(vv(7, 1), tv("i")), row(vv(6, 6), tv("j")), row(vv(1, 0), tv("k"))))
	run(t, db, bulk(true, row(vv(12, 0), tv("l")), row(vv(-1, 0), tv("m"))))
	run(t, db, func(tx *Tx) error { return tx.CreateIndex(listsIndex("tj", 0, 0, 0, 1, 5, 5)) })
	db.Close()

	db = mustOpen(t, opts)
	checkStoredLists(t, db, "ti")
	checkStoredLists(t, db, "tj")
	// REINDEX: drop and create under the same name, with other centroids;
	// DROP INDEX tj leaves no entry behind (Open would refuse it).
	run(t, db, func(tx *Tx) error {
		if err := tx.DropIndex("ti"); err != nil {
			return err
		}
		if err := tx.CreateIndex(listsIndex("TI", 12, 0, 0, 0, 1, 1)); err != nil {
			return err
		}
		return tx.DropIndex("tj")
	})
	db.Close()
	db = mustOpen(t, opts)
	checkStoredLists(t, db, "ti")
	if _, ix := db.Snapshot().Index("tj"); ix != nil {
		t.Fatal("dropped index came back")
	}
	// DROP TABLE takes the entries with it.
	run(t, db, func(tx *Tx) error { return tx.DropTable("t") })
	it, err := db.pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixEntry}, UpperBound: []byte{prefixEntry + 1}})
	if err != nil {
		t.Fatal(err)
	}
	if it.First() {
		t.Fatalf("entry %q left after DROP TABLE", it.Key())
	}
	_ = it.Close()
	db.Close()
}

// TestIndexEntriesDamaged: a lost, extra or malformed entry, or entries
// of no index, make Open fail with a corruption error naming the key;
// Recover opens, leaving the index without stored lists (its lists are
// then derived from the rows).
func TestIndexEntriesDamaged(t *testing.T) {
	ixPrefix := entryPrefix("ti")
	cases := []struct {
		name string
		harm func(b *pebble.Batch)
		want string
	}{
		{"lost", func(b *pebble.Batch) { _ = b.Delete(entryKey(ixPrefix, 2), nil) }, "entries were lost"},
		{"extra for a deleted row", func(b *pebble.Batch) { _ = b.Set(entryKey(ixPrefix, 3), appendEntry(nil, 0), nil) }, "not a row"},
		{"extra for a NULL key", func(b *pebble.Batch) { _ = b.Set(entryKey(ixPrefix, 4), appendEntry(nil, 0), nil) }, "is NULL"},
		{"extra past the rows", func(b *pebble.Batch) { _ = b.Set(entryKey(ixPrefix, 99), appendEntry(nil, 0), nil) }, "not a row"},
		{"list out of range", func(b *pebble.Batch) { _ = b.Set(entryKey(ixPrefix, 1), appendEntry(nil, 2), nil) }, "list 2 of an index of 2 lists"},
		{"unknown version", func(b *pebble.Batch) { _ = b.Set(entryKey(ixPrefix, 1), []byte{9, 0}, nil) }, "unknown version"},
		{"short key", func(b *pebble.Batch) { _ = b.Set(entryKey(ixPrefix, 1)[:len(ixPrefix)+7], appendEntry(nil, 0), nil) }, "bad index entry key"},
		{"no such index", func(b *pebble.Batch) { _ = b.Set(entryKey(entryPrefix("gone"), 1), appendEntry(nil, 0), nil) }, `index "gone", which no index definition names`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			db := mustOpen(t, Options{Dir: dir})
			run(t, db, func(tx *Tx) error {
				if err := tx.CreateTable(listsSchema); err != nil {
					return err
				}
				if _, err := tx.Insert("t", [][]types.Value{row(vv(1, 1), tv("a")), row(vv(9, 1), tv("b")), row(vv(2, 1), tv("c")), row(types.Value{}, tv("d"))}); err != nil {
					return err
				}
				return tx.CreateIndex(listsIndex("ti"))
			})
			run(t, db, func(tx *Tx) error { return tx.Delete("t", []int64{3}) })
			b := db.pdb.NewBatch()
			c.harm(b)
			if err := b.Commit(pebble.Sync); err != nil {
				t.Fatal(err)
			}
			db.Close()
			_, err := Open(Options{Dir: dir})
			var ce *CorruptionError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open: %v, want a corruption error saying %q", err, c.want)
			}
			if !bytes.HasPrefix(ce.Key, []byte{prefixEntry}) {
				t.Fatalf("corruption at key %q, not an entry key", ce.Key)
			}
			db, err = Open(Options{Dir: dir, Recover: true})
			if err != nil {
				t.Fatalf("Recover: %v", err)
			}
			if _, ix := db.Snapshot().Index("ti"); ix == nil {
				t.Fatal("Recover lost the index")
			} else if c.name != "no such index" && ix.TakeStoredLists() != nil {
				t.Fatal("Recover kept lists that do not check out")
			}
			db.Close()
		})
	}
}

// TestIndexVersion1: an index definition of version 1 (written before
// rows had entries) opens without entries, writes add none, and its
// record is read back unchanged.
func TestIndexVersion1(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, Options{Dir: dir})
	run(t, db, func(tx *Tx) error {
		if err := tx.CreateTable(listsSchema); err != nil {
			return err
		}
		_, err := tx.Insert("t", [][]types.Value{row(vv(1, 1), tv("a"))})
		return err
	})
	ix := listsIndex("old")
	rec := encodeIndex(&ix) // no stored slot: version 1
	if rec[0] != 1 {
		t.Fatalf("version byte %d, want 1", rec[0])
	}
	if err := db.pdb.Set(indexKey("old"), rec, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = mustOpen(t, Options{Dir: dir})
	_, got := db.Snapshot().Index("old")
	if got == nil || got.TakeStoredLists() != nil || !bytes.Equal(encodeIndex(got), rec) {
		t.Fatalf("version 1 index after reopen: %+v", got)
	}
	run(t, db, func(tx *Tx) error {
		_, err := tx.Insert("t", [][]types.Value{row(vv(2, 1), tv("b"))})
		return err
	})
	db.Close()
	db = mustOpen(t, Options{Dir: dir})
	db.Close()
}

// FuzzDecodeIndexEntry: any bytes decode to a list in range or an error,
// never a panic; what decodes encodes back to the same bytes.
func FuzzDecodeIndexEntry(f *testing.F) {
	f.Add(appendEntry(nil, 0), 1)
	f.Add(appendEntry(nil, 300), 1000)
	f.Add([]byte{entryVersion, 0x80, 0x00}, 4)
	f.Add([]byte{2, 0}, 4)
	f.Fuzz(func(t *testing.T, b []byte, lists int) {
		l, err := DecodeIndexEntry(b, lists)
		if err != nil {
			return
		}
		if l < 0 || int(l) >= lists {
			t.Fatalf("list %d of %d", l, lists)
		}
		if again := appendEntry(nil, l); !bytes.Equal(again, b) {
			t.Fatalf("decode then encode changed the entry: %x → %x", b, again)
		}
	})
}

// TestIndexEntryExample checks the example of storage-format.md.
func TestIndexEntryExample(t *testing.T) {
	key := entryKey(entryPrefix("TI"), 5)
	if want := []byte{0x79, 0x02, 0x74, 0x69, 0, 0, 0, 0, 0, 0, 0, 0x05}; !bytes.Equal(key, want) {
		t.Fatalf("key % x, want % x", key, want)
	}
	val := appendEntry(nil, 300)
	if want := []byte{0x01, 0xac, 0x02}; !bytes.Equal(val, want) {
		t.Fatalf("value % x, want % x", val, want)
	}
	if l, err := DecodeIndexEntry(val, 301); err != nil || l != 300 {
		t.Fatalf("decoded %d, %v", l, err)
	}
}
