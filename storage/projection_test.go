package storage

import (
	"context"
	"errors"
	"testing"
)

// TestProjectionEncoding: the example of docs/storage-format.md, a round
// trip, and every damaged value refused as corruption.
func TestProjectionEncoding(t *testing.T) {
	p := &Projection{Name: "W", In: 2, Out: 1, W: []float32{1, 0}}
	got := encodeProjection(p)
	want := []byte{0x01, 0x01, 'W', 0x02, 0x01, 0, 0, 0x80, 0x3f, 0, 0, 0, 0}
	if string(got) != string(want) {
		t.Fatalf("encoding % x, want % x", got, want)
	}
	key := projectionKey("W")
	back, err := decodeProjection(key, got)
	if err != nil || back.Name != "W" || back.In != 2 || back.Out != 1 || back.W[0] != 1 || back.W[1] != 0 {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	bad := [][]byte{
		nil,
		{0x02},
		got[:len(got)-1],
		append(append([]byte(nil), got...), 0),
		{0x01, 0x05, 'W'},
		{0x01, 0x01, 'W', 0x00, 0x01},
		{0x01, 0x01, 'W', 0x01, 0x01, 0, 0, 0xc0, 0x7f}, // NaN
	}
	for _, v := range bad {
		if _, err := decodeProjection(key, v); !errors.Is(err, ErrCorrupt) {
			t.Errorf("% x: error %v, want corruption", v, err)
		}
	}
	if _, err := decodeProjection(projectionKey("other"), got); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a value under another name's key: %v", err)
	}
}

// TestProjectionTx: CREATE, SET and DROP are transactional and durable.
func TestProjectionTx(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tx, _ := db.Begin(context.Background())
	if err := tx.CreateProjection(Projection{Name: "a", In: 1, Out: 2, W: []float32{3, 4}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.CreateProjection(Projection{Name: "A", In: 1, Out: 1, W: []float32{3}}); !errors.Is(err, ErrProjectionExists) {
		t.Fatalf("second a: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	tx, _ = db.Begin(context.Background())
	if err := tx.SetProjection("a", []float32{5, 6}); err != nil {
		t.Fatal(err)
	}
	if db.Snapshot().Projection("a").W[0] != 3 {
		t.Fatal("an uncommitted SetProjection is visible")
	}
	tx.Rollback()
	tx, _ = db.Begin(context.Background())
	if err := tx.SetProjection("a", []float32{7, 8}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if p := db.Snapshot().Projection("A"); p == nil || p.W[0] != 7 || p.W[1] != 8 {
		t.Fatalf("after reopen: %+v", p)
	}
	tx, _ = db.Begin(context.Background())
	if err := tx.DropProjection("a"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if db.Snapshot().Projection("a") != nil || len(db.Snapshot().Projections()) != 0 {
		t.Fatal("dropped projection still there")
	}
}
