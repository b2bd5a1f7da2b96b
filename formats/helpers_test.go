package formats

import (
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/softdb/softdb/types"
)

func vec(d int) types.Type { return types.Type{Kind: types.Vector, Dim: d} }

var (
	tInt   = types.Type{Kind: types.Int}
	tFloat = types.Type{Kind: types.Float}
	tText  = types.Type{Kind: types.Text}
)

func col(name string, t types.Type) Column { return Column{Name: name, Type: t} }

// writeFile writes content to name in a fresh temporary directory.
func writeFile(t testing.TB, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readAll opens path and reads every row; it stops at the first error.
func readAll(path string, cols []Column, o Options) ([][]types.Value, error) {
	r, err := OpenReader(path, cols, o)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var rows [][]types.Value
	for {
		row := make([]types.Value, len(cols))
		err := r.Next(row)
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
}

func mustReadAll(t testing.TB, path string, cols []Column, o Options) [][]types.Value {
	t.Helper()
	rows, err := readAll(path, cols, o)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return rows
}

// wantErr checks that err is an *Error whose text contains every part.
func wantErr(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one containing %q", parts)
	}
	var fe *Error
	if !errors.As(err, &fe) {
		t.Errorf("error %v (%T) is not a *formats.Error", err, err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

// writeAll writes rows to path with a Writer.
func writeAll(t testing.TB, path string, cols []Column, o Options, rows [][]types.Value) {
	t.Helper()
	w, err := CreateWriter(path, cols, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			w.Abort()
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// nastyFloat returns finite float32s that stress text round trips:
// subnormals, ±0, extremes, values near powers of ten, random bits.
func nastyFloat(rng *rand.Rand) float32 {
	switch rng.IntN(10) {
	case 0:
		return math.Float32frombits(rng.Uint32() & 0x007fffff) // subnormal or +0
	case 1:
		return math.Float32frombits(0x80000000 | rng.Uint32()&0x007fffff) // negative subnormal or -0
	case 2:
		return []float32{0, float32(math.Copysign(0, -1)), math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 1, -1, 0.1, 1e-38, 16777217}[rng.IntN(10)]
	case 3:
		return float32(rng.NormFloat64())
	}
	for {
		x := math.Float32frombits(rng.Uint32())
		if finite32(x) {
			return x
		}
	}
}

func randMatrix(rng *rand.Rand, n, d int) [][]float32 {
	m := make([][]float32, n)
	for i := range m {
		m[i] = make([]float32, d)
		for k := range m[i] {
			m[i][k] = nastyFloat(rng)
		}
	}
	return m
}

// sameBits compares two values exactly (vectors bit for bit).
func sameBits(a, b types.Value) bool {
	if a.K != b.K {
		return false
	}
	switch a.K {
	case types.Vector:
		if len(a.V) != len(b.V) {
			return false
		}
		for i := range a.V {
			if math.Float32bits(a.V[i]) != math.Float32bits(b.V[i]) {
				return false
			}
		}
		return true
	case types.Float:
		return math.Float64bits(a.F) == math.Float64bits(b.F)
	}
	return a.I == b.I && a.S == b.S
}

func compareRows(t testing.TB, what string, got, want [][]types.Value) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for i := range want {
		for j := range want[i] {
			if !sameBits(got[i][j], want[i][j]) {
				t.Fatalf("%s: row %d column %d: got %v, want %v", what, i+1, j, got[i][j], want[i][j])
			}
		}
	}
}

func readFileBytes(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
