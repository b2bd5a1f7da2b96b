package formats

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"os"
	"testing"

	"github.com/softdb/softdb/types"
)

const gloveFvecs = "/work/shared/data/top5000.fvecs"

// decodeFvecs is an independent reader of the TEXMEX layout.
func decodeFvecs(t testing.TB, b []byte) [][]float32 {
	t.Helper()
	var m [][]float32
	for len(b) > 0 {
		d := int(binary.LittleEndian.Uint32(b))
		v := make([]float32, d)
		for k := range v {
			v[k] = math.Float32frombits(binary.LittleEndian.Uint32(b[4+4*k:]))
		}
		m = append(m, v)
		b = b[4+4*d:]
	}
	return m
}

func makeFvecs(m [][]float32) []byte {
	var b []byte
	for _, v := range m {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	}
	return b
}

func TestFvecsGloVe(t *testing.T) {
	raw, err := os.ReadFile(gloveFvecs)
	if err != nil {
		t.Skipf("shared data missing: %v", err)
	}
	want := decodeFvecs(t, raw)
	r, err := OpenReader(gloveFvecs, []Column{col("key", vec(100))}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Rows() != 5000 {
		t.Errorf("Rows = %d", r.Rows())
	}
	row := make([]types.Value, 1)
	n := 0
	for ; ; n++ {
		err := r.Next(row)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !sameBits(row[0], types.VectorValue(want[n])) {
			t.Fatalf("record %d differs", n+1)
		}
		if r.Pos().Record != int64(n+1) {
			t.Fatalf("Pos = %v", r.Pos())
		}
	}
	if n != 5000 {
		t.Errorf("%d rows", n)
	}
	_, err = OpenReader(gloveFvecs, []Column{col("key", vec(128))}, Options{})
	wantErr(t, err, "top5000.fvecs: record 1: ", `column "key": vector has 100 dimensions, but the column is VECTOR(128)`)
}

func TestVecsErrors(t *testing.T) {
	good := makeFvecs([][]float32{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}})
	key := []Column{col("key", vec(3))}
	nan := makeFvecs([][]float32{{1, 2, 3}, {4, float32(math.NaN()), 6}})
	inf := makeFvecs([][]float32{{1, 2, 3}, {4, 5, 6}, {float32(math.Inf(1)), 8, 9}})
	dim := append(makeFvecs([][]float32{{1, 2, 3}}), makeFvecs([][]float32{{1, 2}})...)
	neg := binary.LittleEndian.AppendUint32(nil, uint32(0xffffffff))
	for _, c := range []struct {
		name string
		file []byte
		want []string
	}{
		{"truncated", good[:len(good)-5], []string{"e.fvecs: record 3: ", `column "key": truncated: the last record has 11 of its 16 bytes`}},
		{"truncated header", append(good, 3, 0), []string{"e.fvecs: record 4: ", "truncated: the last record has 2 of its 16 bytes"}},
		{"tiny", []byte{3, 0}, []string{"e.fvecs: record 1: ", "truncated: the file has only 2 bytes"}},
		{"nan", nan, []string{"e.fvecs: record 2: ", `column "key": element 2: NaN is not allowed in a vector`}},
		{"inf", inf, []string{"e.fvecs: record 3: ", `column "key": element 1: infinite value is not allowed in a vector`}},
		{"dim changes", dim, []string{"e.fvecs: record 2: ", `column "key": vector has 2 dimensions, expected 3`}},
		{"bad dim", append(neg, good...), []string{"e.fvecs: record 1: ", "bad dimension -1 in the record header"}},
		{"first dim", makeFvecs([][]float32{{1, 2}}), []string{"e.fvecs: record 1: ", `column "key": vector has 2 dimensions, but the column is VECTOR(3)`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := readAll(writeFile(t, "e.fvecs", c.file), key, Options{})
			wantErr(t, err, c.want...)
		})
	}
	// Rows before a bad record are returned first.
	rows, err := readAll(writeFile(t, "e.fvecs", inf), key, Options{})
	if len(rows) != 2 || err == nil {
		t.Errorf("%d rows, %v", len(rows), err)
	}
	// Empty file: no rows.
	rows = mustReadAll(t, writeFile(t, "e.fvecs", nil), key, Options{})
	if len(rows) != 0 {
		t.Errorf("%d rows from an empty file", len(rows))
	}
	// A stream (size unknown) finds the truncation at the end.
	r, err := newVecsReader(io.NopCloser(bytes.NewReader(good[:len(good)-1])), -1, "pipe.fvecs", Fvecs, key[0])
	if err != nil {
		t.Fatal(err)
	}
	row := make([]types.Value, 1)
	for err == nil {
		err = r.Next(row)
	}
	wantErr(t, err, "pipe.fvecs: record 3: ", "truncated")
}

func TestIvecsBvecs(t *testing.T) {
	dir := t.TempDir()
	m := [][]types.Value{{types.VectorValue([]float32{0, 255, 7})}, {types.VectorValue([]float32{1, 2, 3})}}
	for _, f := range []string{"ivecs", "bvecs"} {
		p := dir + "/x." + f
		writeAll(t, p, []Column{col("k", vec(3))}, Options{}, m)
		got := mustReadAll(t, p, []Column{col("k", vec(3))}, Options{})
		compareRows(t, f, got, m)
	}
	// ivecs: raw int32 with negatives.
	var b []byte
	for _, x := range []int32{3, -1, 1 << 30, 5} {
		b = binary.LittleEndian.AppendUint32(b, uint32(x))
	}
	got := mustReadAll(t, writeFile(t, "n.ivecs", b), []Column{col("k", vec(3))}, Options{})
	if got[0][0].String() != "[-1, 1.0737418e+09, 5]" {
		t.Errorf("ivecs = %v", got[0][0])
	}
	// Elements that do not fit are refused by the writers.
	for f, bad := range map[string]float32{"ivecs": 0.5, "bvecs": 256} {
		w, err := CreateWriter(dir+"/bad."+f, []Column{col("k", vec(1))}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, w.Write([]types.Value{types.VectorValue([]float32{bad})}), "bad."+f+": record 1: ", `column "k": element 1: `+f+" holds")
		w.Abort()
		if _, err := os.Stat(dir + "/bad." + f); !os.IsNotExist(err) {
			t.Errorf("Abort left %s behind", f)
		}
	}
}
