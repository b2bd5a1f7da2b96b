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
