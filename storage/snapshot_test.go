package storage

import (
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/softdb/softdb/types"
)

func TestSnapshotIsolation(t *testing.T) {
	db := mustOpen(t, Options{Dir: t.TempDir(), SegmentRows: 4})
	defer db.Close()
	run(t, db, func(tx *Tx) error { return tx.CreateTable(itemsSchema) })
	run(t, db, func(tx *Tx) error {
		var rows [][]types.Value
		for i := int64(1); i <= 6; i++ {
			rows = append(rows, item(i, "n", float64(i), float32(i), 0))
		}
		_, err := tx.Insert("items", rows)
		return err
	})
	s0 := db.Snapshot()
	d0 := dump(t, s0)

	tx := mustBegin(t, db)
	if err := tx.Update("items", []int64{2}, [][]types.Value{row(iv(2), tv("upd"), types.Value{}, vv(-2, -2))}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Delete("items", []int64{5}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Insert("items", [][]types.Value{item(7, "new", 7, 7, 7)}); err != nil {
		t.Fatal(err)
	}
	// The tx sees its own writes; the DB does not yet.
	ts := tx.Snapshot()
	dt := dump(t, ts)
	if dt["items"].Rows[2] != "INT:2|TEXT:upd|NULL|VECTOR:[-2, -2]" || dt["items"].Rows[5] != "" || dt["items"].Rows[7] == "" {
		t.Fatalf("tx view: %v", dt["items"].Rows)
	}
	if d := equalDumps(d0, dump(t, db.Snapshot())); d != "" {
		t.Fatalf("uncommitted writes visible: %s", d)
	}
	// Further writes in the tx do not change the view it handed out.
	if err := tx.Update("items", []int64{2, 7}, [][]types.Value{item(2, "again", 0, 1, 1), item(7, "again", 0, 1, 1)}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Delete("items", []int64{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Insert("items", [][]types.Value{item(8, "x", 8, 8, 8), item(9, "x", 9, 9, 9)}); err != nil {
		t.Fatal(err)
	}
	if d := equalDumps(dt, dump(t, ts)); d != "" {
		t.Fatalf("tx view changed by later writes: %s", d)
	}
	final := dump(t, tx.Snapshot())
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if d := equalDumps(final, dump(t, db.Snapshot())); d != "" {
		t.Fatalf("committed state: %s", d)
	}
	if d := equalDumps(d0, dump(t, s0)); d != "" {
		t.Fatalf("old snapshot changed: %s", d)
	}

	// Rollback discards, and the slots it wrote are reused cleanly.
	s1 := db.Snapshot()
	d1 := dump(t, s1)
	tx = mustBegin(t, db)
	if _, err := tx.Insert("items", [][]types.Value{item(100, "gone", 1, 1, 1), row(iv(101), tv("gone"), types.Value{}, types.Value{})}); err != nil {
		t.Fatal(err)
	}
	if err := tx.DropTable("items"); err != nil {
		t.Fatal(err)
	}
	tx.Rollback()
	if d := equalDumps(d1, dump(t, db.Snapshot())); d != "" {
		t.Fatalf("after rollback: %s", d)
	}
	run(t, db, func(tx *Tx) error {
		id, err := tx.Insert("items", [][]types.Value{item(100, "kept", 5, 5, 5), item(101, "kept", 6, 6, 6)})
		if id != 10 {
			t.Errorf("rowid %d after rollback, want 10", id)
		}
		return err
	})
	got := dump(t, db.Snapshot())["items"].Rows
	if got[10] != "INT:100|TEXT:kept|FLOAT:5|VECTOR:[5, 5]" || got[11] != "INT:101|TEXT:kept|FLOAT:6|VECTOR:[6, 6]" {
		t.Fatalf("rows after rollback+insert: %v", got)
	}
	if d := equalDumps(d1, dump(t, s1)); d != "" {
		t.Fatalf("old snapshot changed: %s", d)
	}
}

// TestConcurrentReaders runs readers that check an invariant on every
// snapshot while one writer keeps changing the table: x sums to zero
// and every row's vector is [x, -x]. Run it with -race. With 1024-row
// segments, updates go to patches (128 slots a column) that readers merge
// while the writer goes on; with 8-row segments they mostly copy.
func TestConcurrentReaders(t *testing.T) {
	for _, segRows := range []int{8, 1024} {
		t.Run(fmt.Sprintf("segrows=%d", segRows), func(t *testing.T) { concurrentReaders(t, segRows) })
	}
}

func concurrentReaders(t *testing.T, segRows int) {
	db := mustOpen(t, Options{Dir: t.TempDir(), SegmentRows: segRows})
	defer db.Close()
	run(t, db, func(tx *Tx) error {
		return tx.CreateTable(Schema{Name: "t", Columns: []Column{{Name: "x", Type: intT}, {Name: "v", Type: vecT2}, {Name: "s", Type: txtT}}})
	})
	var stop atomic.Bool
	var wg sync.WaitGroup
	var scans atomic.Int64
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				tb := db.Snapshot().Table("t")
				var sum int64
				var sumv float32
				var live int64
				for _, g := range tb.Segments() {
					xs, vs, lv, ss := g.Ints(0), g.Vectors(1), g.Live(), g.Texts(2)
					for i := range lv {
						if lv[i] == 0 {
							continue
						}
						live++
						sum += xs[i]
						sumv += vs[2*i] + vs[2*i+1]
						if vs[2*i] != float32(xs[i]) || len(ss[i]) > 3 {
							t.Errorf("row %d torn", g.Base()+int64(i))
							return
						}
					}
				}
				if sum != 0 || sumv != 0 || live != tb.LiveRows() {
					t.Errorf("invariant broken: sum %d, sumv %v, live %d/%d", sum, sumv, live, tb.LiveRows())
					return
				}
				scans.Add(1)
			}
		}()
	}
	rng := rand.New(rand.NewSource(1))
	var pairs [][2]int64 // rowids of live pairs
	pair := func(a int64) [][]types.Value {
		return [][]types.Value{row(iv(a), vv(float32(a), -float32(a)), tv("p")), row(iv(-a), vv(-float32(a), float32(a)), tv("q"))}
	}
	for i := 0; i < 300; i++ {
		tx := mustBegin(t, db)
		switch op := rng.Intn(4); {
		case op <= 1 || len(pairs) == 0:
			n := rng.Intn(5) + 1
			var rows [][]types.Value
			for j := 0; j < n; j++ {
				rows = append(rows, pair(int64(rng.Intn(100)))...)
			}
			first, err := tx.Insert("t", rows)
			if err != nil {
				t.Fatal(err)
			}
			for j := 0; j < n; j++ {
				pairs = append(pairs, [2]int64{first + int64(2*j), first + int64(2*j+1)})
			}
		case op == 2:
			p := pairs[rng.Intn(len(pairs))]
			if err := tx.Update("t", p[:], pair(int64(rng.Intn(100)))); err != nil {
				t.Fatal(err)
			}
		default:
			k := rng.Intn(len(pairs))
			if err := tx.Delete("t", pairs[k][:]); err != nil {
				t.Fatal(err)
			}
			pairs = append(pairs[:k], pairs[k+1:]...)
		}
		if rng.Intn(5) == 0 {
			tx.Rollback()
			// Forget what the rolled-back tx did to our bookkeeping.
			pairs = livePairs(db)
			continue
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d scans", scans.Load())
}

func livePairs(db *DB) [][2]int64 {
	var out [][2]int64
	for _, g := range db.Snapshot().Table("t").Segments() {
		for i, l := range g.Live() {
			id := g.Base() + int64(i)
			if l != 0 && id%2 == 1 {
				out = append(out, [2]int64{id, id + 1})
			}
		}
	}
	return out
}

// TestRolledBackViewStaysValid: a view from a Tx that was rolled back
// keeps showing its rows even when the next Tx appends into the same
// segment.
func TestRolledBackViewStaysValid(t *testing.T) {
	db := mustOpen(t, Options{SegmentRows: 64})
	defer db.Close()
	run(t, db, func(tx *Tx) error {
		if err := tx.CreateTable(Schema{Name: "t", Columns: []Column{{Name: "x", Type: intT}, {Name: "v", Type: vecT2}}}); err != nil {
			return err
		}
		_, err := tx.Insert("t", [][]types.Value{{iv(1), vv(1, 1)}})
		return err
	})
	tx := mustBegin(t, db)
	if _, err := tx.Insert("t", [][]types.Value{{iv(2), vv(2, 2)}, {iv(3), types.Value{}}}); err != nil {
		t.Fatal(err)
	}
	view := tx.Snapshot()
	want := dump(t, view)
	tx.Rollback()
	for i := 0; i < 3; i++ {
		run(t, db, func(tx *Tx) error {
			_, err := tx.Insert("t", [][]types.Value{{iv(9), vv(9, 9)}, {types.Value{}, vv(8, 8)}})
			return err
		})
	}
	if d := equalDumps(want, dump(t, view)); d != "" {
		t.Fatalf("rolled-back view changed: %s", d)
	}
	if got := dump(t, db.Snapshot())["t"].Rows; len(got) != 7 || got[2] != "INT:9|VECTOR:[9, 9]" {
		t.Fatalf("%v", got)
	}
}
