package storage

import (
	"testing"
	"unsafe"

	"github.com/softdb/softdb/types"
)

// TestAppendGrowth: one transaction of one-row inserts (VECTOR(128), 530
// bytes a row in the write batch) grows its batch and its segment arrays
// in few large steps, each step a copy into memory never touched before,
// and the rows read back intact after commit. Doubling moved the batch 5
// times past 1 MiB on the way to 21.6 MB, and reallocated the vector
// array 13 times on the way to 40,000 rows.
func TestAppendGrowth(t *testing.T) {
	const d, n = 128, 40000
	db := mustOpen(t, Options{Dir: t.TempDir()})
	defer db.Close()
	run(t, db, func(tx *Tx) error {
		return tx.CreateTable(Schema{Name: "t", Columns: []Column{{Name: "id", Type: intT}, {Name: "key", Type: vecT(d)}}})
	})
	tx := mustBegin(t, db)
	var batch uintptr
	batchLen, copied := 0, 0 // bytes in the batch; bytes copied by its growth
	moves := 0               // times it moved once past 1 MiB
	arrays := map[uintptr]bool{}
	vec := make([]float32, d)
	for i := 0; i < n; i++ {
		vec[0], vec[d-1] = float32(i), float32(-i)
		if _, err := tx.Insert("t", [][]types.Value{{iv(int64(i)), types.VectorValue(vec)}}); err != nil {
			t.Fatal(err)
		}
		if p := uintptr(unsafe.Pointer(unsafe.SliceData(tx.batch.Repr()))); p != batch {
			if batchLen >= 1<<20 {
				moves++
			}
			batch, copied = p, copied+batchLen
		}
		batchLen = tx.batch.Len()
		g := tx.View().Table("t").Segments()[0]
		arrays[uintptr(unsafe.Pointer(unsafe.SliceData(g.cols[1].vecs)))] = true
	}
	t.Logf("%d rows, %d bytes of batch, %d bytes copied growing it (%d moves past 1 MiB); %d vector arrays", n, batchLen, copied, moves, len(arrays))
	if moves > 2 {
		t.Errorf("the batch moved %d times past 1 MiB on its way to %d bytes, want ≤ 2", moves, batchLen)
	}
	if len(arrays) > 7 {
		t.Errorf("the segment's vector array was reallocated %d times, want ≤ 6", len(arrays)-1)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	g := db.Snapshot().Table("t").Segments()[0]
	for _, i := range []int{0, 1, 63, 64, 511, 4095, 4096, n - 1} {
		v := g.Value(1, i).V
		if g.Value(0, i).I != int64(i) || v[0] != float32(i) || v[d-1] != float32(-i) || v[1] != 0 {
			t.Fatalf("row %d reads back as %v, %v", i+1, g.Value(0, i), v[:2])
		}
	}
}

// TestUpdatePatch: a transaction of 3,000 one-row UPDATEs on a full
// 65,536-row segment records them in the column's patch without copying
// the column (it used to copy it once the patch held 256 slots), then one-row
// transactions make patches of their own that copy fewer than maxDelta
// slots each, and every row reads back as last written, from a snapshot
// and after reopening.
func TestUpdatePatch(t *testing.T) {
	const d, n = 16, 65536
	dir := t.TempDir()
	db := mustOpen(t, Options{Dir: dir})
	run(t, db, func(tx *Tx) error {
		if err := tx.CreateTable(Schema{Name: "t", Columns: []Column{{Name: "key", Type: vecT(d)}}}); err != nil {
			return err
		}
		rows := make([][]types.Value, n)
		for i := range rows {
			rows[i] = row(types.VectorValue(make([]float32, d)))
		}
		_, err := tx.Insert("t", rows)
		return err
	})
	want := map[int64]float32{}
	vec := func(x float32) []types.Value {
		v := make([]float32, d)
		v[0], v[d-1] = x, -x
		return row(types.VectorValue(v))
	}
	col := func() *colData { return &db.Snapshot().Table("t").Segments()[0].cols[0] }
	before := unsafe.SliceData(col().vecs)
	tx := mustBegin(t, db)
	for i := 0; i < 3000; i++ {
		id := int64(1 + (i*7919)%n)
		if err := tx.Update("t", []int64{id}, [][]types.Value{vec(float32(i + 1))}); err != nil {
			t.Fatal(err)
		}
		want[id] = float32(i + 1)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if c := col(); unsafe.SliceData(c.vecs) != before || c.patch == nil || c.patch.n != len(want) {
		t.Fatalf("3,000 updates in one transaction copied the column or lost slots (patch %+v)", c.patch)
	}
	for i := 0; i < 100; i++ {
		id := int64(1 + (i*104729)%n)
		run(t, db, func(tx *Tx) error { return tx.Update("t", []int64{id}, [][]types.Value{vec(float32(-i - 1))}) })
		want[id] = float32(-i - 1)
		if p := col().patch; p == nil || len(p.vals) > maxDelta {
			t.Fatalf("after %d one-row transactions the patch's own slots are %d, want ≤ %d", i+1, len(p.vals), maxDelta)
		}
	}
	check := func(s *Snapshot, when string) {
		t.Helper()
		g := s.Table("t").Segments()[0]
		vecs := g.Vectors(0)
		for id := int64(1); id <= n; id++ {
			x := want[id]
			v := g.Value(0, int(id-1)).V
			m := vecs[(id-1)*d : id*d]
			if v[0] != x || v[d-1] != -x || m[0] != x || m[d-1] != -x {
				t.Fatalf("%s: row %d holds %v / %v, want %v", when, id, v[0], m[0], x)
			}
		}
	}
	check(db.Snapshot(), "snapshot")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = mustOpen(t, Options{Dir: dir})
	defer db.Close()
	check(db.Snapshot(), "reopened")
}
