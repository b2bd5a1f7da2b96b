package softdb_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/softdb/softdb"
)

// TestCopyRoundTripExtremes: extreme but finite FLOATs and vector elements
// survive COPY TO then COPY FROM in every format, bit for bit (-0.0
// included).
func TestCopyRoundTripExtremes(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	dir := t.TempDir()
	floats := []float64{math.MaxFloat64, -math.MaxFloat64, 5e-324, -5e-324, math.Copysign(0, -1), 0, 2.2250738585072014e-308, 1}
	vecs := [][]float32{
		{math.MaxFloat32, -math.MaxFloat32, 1e-45},
		{-1e-45, float32(math.Copysign(0, -1)), 1.17549435e-38},
		{1, 2, 3}, {0, 0, 0}, {3.4028235e38, 1e-45, -3.4028235e38},
		{1, 1, 1}, {2, 2, 2}, {-1, -1, -1},
	}
	if _, err := db.Exec(ctx, "CREATE TABLE src (x FLOAT, key VECTOR(3))"); err != nil {
		t.Fatal(err)
	}
	for i := range floats {
		if _, err := db.Exec(ctx, "INSERT INTO src VALUES (?, ?)", floats[i], vecs[i]); err != nil {
			t.Fatal(err)
		}
	}
	check := func(table string, wantX, wantV bool) {
		t.Helper()
		rows, err := db.Query(ctx, "SELECT x, key FROM "+table)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		i := 0
		for ; rows.Next(); i++ {
			var x *float64
			var vp *[]float32
			if err := rows.Scan(&x, &vp); err != nil {
				t.Fatal(err)
			}
			var v []float32
			if vp != nil {
				v = *vp
			}
			if wantV && len(v) != 3 {
				t.Errorf("%s row %d: key = %v, want %v", table, i+1, v, vecs[i])
				continue
			}
			if wantX && (x == nil || math.Float64bits(*x) != math.Float64bits(floats[i])) {
				t.Errorf("%s row %d: x = %v, want %v", table, i+1, x, floats[i])
			}
			if wantV {
				for j := range v {
					if math.Float32bits(v[j]) != math.Float32bits(vecs[i][j]) {
						t.Errorf("%s row %d: key = %v, want %v", table, i+1, v, vecs[i])
						break
					}
				}
			}
		}
		if i != len(floats) {
			t.Errorf("%s: %d rows, want %d", table, i, len(floats))
		}
	}
	check("src", true, true)
	for _, c := range []struct {
		ext, cols string
		x, v      bool
	}{
		{"csv", "(x, key)", true, true},
		{"jsonl", "(x, key)", true, true},
		{"parquet", "(x, key)", true, true},
		{"npy", "(x)", true, false},
		{"npy", "(key)", false, true},
		{"fvecs", "(key)", false, true},
	} {
		name := c.ext + strings.Trim(strings.ReplaceAll(c.cols, ", ", "_"), "()")
		path := filepath.Join(dir, name+"."+c.ext)
		if _, err := db.Exec(ctx, fmt.Sprintf("COPY src %s TO '%s'", c.cols, path)); err != nil {
			t.Errorf("COPY TO %s: %v", name, err)
			continue
		}
		if _, err := db.Exec(ctx, fmt.Sprintf("CREATE TABLE %s (x FLOAT, key VECTOR(3)); COPY %s %s FROM '%s'", name, name, c.cols, path)); err != nil {
			t.Errorf("COPY FROM %s: %v", name, err)
			continue
		}
		check(name, c.x, c.v)
	}
}

// TestNonFiniteRejected: NaN and ±Inf never reach a FLOAT column, whether
// from a Go parameter or a file, and a file's error names the file, the
// line and the column.
func TestNonFiniteRejected(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	dir := t.TempDir()
	if _, err := db.Exec(ctx, "CREATE TABLE t (id INT, x FLOAT)"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []float64{math.Inf(1), math.Inf(-1), math.NaN()} {
		if _, err := db.Exec(ctx, "INSERT INTO t VALUES (1, ?)", f); !errors.Is(err, softdb.ErrValue) || !strings.Contains(err.Error(), "infinite values are not allowed") {
			t.Errorf("INSERT %v: %v", f, err)
		}
	}
	if _, err := db.Exec(ctx, "INSERT INTO t VALUES (1, 1e308)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "UPDATE t SET x = x * 10"); err == nil || !strings.Contains(err.Error(), "value out of range: overflow") {
		t.Errorf("UPDATE overflow: %v", err)
	}
	if _, err := db.Exec(ctx, "UPDATE t SET x = ?", math.Inf(1)); err == nil || !strings.Contains(err.Error(), "infinite values are not allowed") {
		t.Errorf("UPDATE to Inf: %v", err)
	}
	cases := []struct{ name, content, err string }{
		{"inf.csv", "id,x\n1,2.5\n2,inf\n", `inf.csv:3: column "x"`},
		{"nan.csv", "id,x\n1,2.5\n2,1\n3,NaN\n", `nan.csv:4: column "x"`},
		{"neg.csv", "id,x\n1,-Infinity\n", `neg.csv:2: column "x"`},
		{"big.csv", "id,x\n1,1e309\n", `big.csv:2: column "x"`},
		{"inf.jsonl", `{"id": 1, "x": 1}` + "\n" + `{"id": 2, "x": "inf"}` + "\n", `inf.jsonl:2: column "x"`},
		{"nan.jsonl", `{"id": 1, "x": NaN}` + "\n", `nan.jsonl:1`},
		{"big.jsonl", `{"id": 1, "x": 2e308}` + "\n", `big.jsonl:1: column "x"`},
	}
	for _, c := range cases {
		path := filepath.Join(dir, c.name)
		if err := os.WriteFile(path, []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := db.Exec(ctx, fmt.Sprintf("COPY t FROM '%s'", path))
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.err)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}
	var n int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Errorf("after the failed writes: %d rows, %v", n, err)
	}
}
