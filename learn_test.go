package softdb_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeNPY writes a little-endian npy file with the given dtype and shape
// and raw data bytes.
func writeRawNPY(t testing.TB, path, descr string, shape string, data []byte) {
	t.Helper()
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
	b = append(b, h...)
	b = append(b, data...)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func float32Bytes(v []float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// TestProjectionDurable: projections and generated columns survive a
// reopen, a rolled-back change leaves nothing, COPY fills the generated
// column, and a parameter goes through project() in MATCH.
func TestProjectionDurable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w := []float32{1, 2, 3, 4, 5, 6} // 3 -> 2
	npy := filepath.Join(dir, "w.npy")
	writeRawNPY(t, npy, "<f4", "(3, 2)", float32Bytes(w))
	csv := filepath.Join(dir, "x.csv")
	if err := os.WriteFile(csv, []byte("id,x\n1,\"[1,0,0]\"\n2,\"[0,1,0]\"\n3,\"[0,0,1]\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "db")
	db := mustOpen(t, path)
	mustExec(t, db, fmt.Sprintf("CREATE PROJECTION w (3 -> 2) FROM '%s'", npy))
	mustExec(t, db, "CREATE TABLE t (id INT, x VECTOR(3), k VECTOR(2) GENERATED ALWAYS AS (project(x, w)) STORED)")
	mustExec(t, db, fmt.Sprintf("COPY t FROM '%s' WITH (HEADER true)", csv))
	if _, err := db.Exec(ctx, fmt.Sprintf("COPY t (id, x, k) FROM '%s'", csv)); err == nil || !strings.Contains(err.Error(), "t.k is generated") {
		t.Fatalf("COPY naming the generated column: %v", err)
	}
	tx, err := db.Begin(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "CREATE PROJECTION gone (2 -> 2) INIT IDENTITY"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = mustOpen(t, path)
	rows, err := db.Query(ctx, "SELECT id, k FROM t ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var id int
		var k []float32
		if err := rows.Scan(&id, &k); err != nil {
			t.Fatal(err)
		}
		if want := w[2*(id-1) : 2*id]; len(k) != 2 || k[0] != want[0] || k[1] != want[1] {
			t.Errorf("row %d: k = %v, want %v (row %d of W)", id, k, want, id)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("%d rows after reopen, want 3", n)
	}
	if _, err := db.Exec(ctx, "SELECT project([1, 1], gone)"); err == nil {
		t.Error("a rolled-back projection exists after reopen")
	}
	var id int
	// x·W for x = [0, 0, 1] is W's last row [5, 6]: the best DOT match is k = [5, 6].
	if err := db.QueryRow(ctx, "HARD SELECT id FROM t MATCH project(?, w) ON k", []float32{0, 0, 1}).Scan(&id); err != nil || id != 3 {
		t.Errorf("MATCH project(?, w): id %d, %v; want 3", id, err)
	}
	out := filepath.Join(dir, "out.npy")
	mustExec(t, db, fmt.Sprintf("COPY PROJECTION w TO '%s'", out))
	mustExec(t, db, fmt.Sprintf("CREATE PROJECTION w2 (3 -> 2) FROM '%s'", out))
	var a, b []float32
	if err := db.QueryRow(ctx, "SELECT project([0.5, -2, 7], w), project([0.5, -2, 7], w2)").Scan(&a, &b); err != nil || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("COPY PROJECTION round trip: %v vs %v (%v)", a, b, err)
	}
}

// TestProjectionBadFiles: a file of the wrong shape or dtype is refused
// with its name, and nothing is created.
func TestProjectionBadFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTemp(t)
	cases := []struct {
		descr, shape string
		bytes        int
		want         string
	}{
		{"<f4", "(2, 2)", 16, "has 2 rows, but a projection 3 -> 2 needs shape (3, 2)"},
		{"<f4", "(3, 3)", 36, "needs shape (3, 2)"},
		{"<c8", "(3, 2)", 48, "c8"},
	}
	for i, c := range cases {
		p := filepath.Join(dir, fmt.Sprintf("bad%d.npy", i))
		writeRawNPY(t, p, c.descr, c.shape, make([]byte, c.bytes))
		_, err := db.Exec(ctx, fmt.Sprintf("CREATE PROJECTION w (3 -> 2) FROM '%s'", p))
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: error %v, want one naming %s and saying %q", c.descr, c.shape, err, p, c.want)
		}
	}
	rows, err := db.Query(ctx, "SHOW PROJECTIONS")
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("a refused CREATE PROJECTION left a projection")
	}
}

// TestGeneratedOverflow: a generated column whose value leaves float32's
// range fails the write with an error naming the column and the row (the
// VALUES row, the rowid, the file and line), and writes nothing.
func TestGeneratedOverflow(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTemp(t)
	w := filepath.Join(dir, "w.npy")
	writeRawNPY(t, w, "<f4", "(3, 2)", float32Bytes([]float32{10, 10, 10, 10, 10, 10}))
	csv := filepath.Join(dir, "x.csv")
	if err := os.WriteFile(csv, []byte("x\n\"[1,1,1]\"\n\"[3e38,3e38,3e38]\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		fmt.Sprintf("CREATE PROJECTION w (3 -> 2) FROM '%s'", w),
		"CREATE TABLE g (x VECTOR(3), k VECTOR(2) GENERATED ALWAYS AS (project(x, w)) STORED)",
		"INSERT INTO g (x) VALUES ([1, 2, 3])",
	} {
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ q, want string }{
		{"INSERT INTO g (x) VALUES ([1, 1, 1]), ([3e38, 3e38, 3e38])", "generated column g.k, row 2: vector arithmetic overflowed float32"},
		{"UPDATE g SET x = [3e38, 3e38, 3e38]", "generated column g.k, rowid 1: vector arithmetic overflowed float32"},
		{fmt.Sprintf("COPY g (x) FROM '%s' WITH (header true)", csv), "generated column g.k, " + csv + ":3: vector arithmetic overflowed float32"},
	} {
		_, err := db.Exec(ctx, c.q)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.q, err, c.want)
		}
	}
	var n int
	var k string
	if err := db.QueryRow(ctx, "SELECT count(*) FROM g").Scan(&n); err != nil || n != 1 {
		t.Errorf("%d rows (%v) after the refused writes, want 1", n, err)
	}
	if err := db.QueryRow(ctx, "SELECT k FROM g").Scan(&k); err != nil || k != "[60, 60]" {
		t.Errorf("k = %s (%v), want [60, 60]", k, err)
	}
}

// TestGeneratedCopyRoundTrip: COPY … TO a file without a column list
// leaves the generated columns out (as in PostgreSQL), so that COPY …
// FROM the same file loads it back, csv and jsonl, computing them again;
// a column list may export a generated column.
func TestGeneratedCopyRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTemp(t)
	for _, q := range []string{
		"CREATE PROJECTION p (3 -> 2) INIT IDENTITY",
		"CREATE TABLE g (x VECTOR(3), label INT, k VECTOR(2) GENERATED ALWAYS AS (project(x, p)) STORED)",
		"INSERT INTO g (x, label) VALUES ([1, 2, 3], 1), ([4, 5, 6], 2)",
	} {
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"g.csv", "g.jsonl"} {
		p := filepath.Join(dir, f)
		if _, err := db.Exec(ctx, fmt.Sprintf("COPY g TO '%s'", p)); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(p); strings.Contains(string(b), "k") {
			t.Errorf("%s holds the generated column:\n%s", f, b)
		}
		opt := ""
		if strings.HasSuffix(f, ".csv") {
			opt = " WITH (header true)"
		}
		if _, err := db.Exec(ctx, fmt.Sprintf("COPY g FROM '%s'%s", p, opt)); err != nil {
			t.Errorf("COPY g FROM its own %s: %v", f, err)
		}
	}
	var n int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM g WHERE k = project(x, p)").Scan(&n); err != nil || n != 8 {
		t.Errorf("%d rows with k = project(x, p) (%v), want 8 (2, 2 more from csv, 4 more from jsonl)", n, err)
	}
	p := filepath.Join(dir, "k.csv")
	if _, err := db.Exec(ctx, fmt.Sprintf("COPY g (label, k) TO '%s'", p)); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); !strings.HasPrefix(string(b), "label,k\n1,\"[1, 2]\"\n") {
		t.Errorf("COPY g (label, k) wrote:\n%s", b)
	}
}
