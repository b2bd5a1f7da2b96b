package formats

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/softdb/softdb/types"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the fuzz seed corpora under testdata/fuzz")

// drain reads at most 10000 rows and checks what every reader promises:
// values of the column's kind, vectors of the right dimension and finite,
// errors of type *Error.
func drain(t *testing.T, r Reader, cols []Column) {
	defer r.Close()
	row := make([]types.Value, len(cols))
	for n := 0; n < 10000; n++ {
		err := r.Next(row)
		if err == io.EOF {
			return
		}
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is %T, not *Error", err, err)
			}
			return
		}
		for i, v := range row {
			if v.IsNull() {
				continue
			}
			if v.K != cols[i].Type.Kind {
				t.Fatalf("column %s: got a %s value", cols[i].Name, v.K)
			}
			if v.K == types.Vector {
				if len(v.V) != cols[i].Type.Dim || firstNonFinite(v.V) >= 0 {
					t.Fatalf("column %s: bad vector %v", cols[i].Name, v.V)
				}
			}
			if v.K == types.Float && (math.IsNaN(v.F) || math.IsInf(v.F, 0)) {
				t.Fatalf("column %s: %v", cols[i].Name, v.F)
			}
		}
	}
}

var (
	fuzzCols     = []Column{col("key", vec(3)), col("label", tInt), col("w", tFloat), col("name", tText)}
	fuzzWideCols = []Column{col("key", vec(2)), col("label", tInt)}
)

func nopCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

func csvSeeds() [][]byte {
	return [][]byte{
		[]byte("key,label,w,name\n\"[1, 2, 3]\",1,1.5,a\n,,,\n\"[1e-45,-0,3]\",2,-0,\"x\ny\"\"\"\n"),
		[]byte("label,p0,p1\n1,2,3\n4,5,6\n"),
		[]byte("key,label,w,name\n[1, 2, 3],1,1,a\n"),
		[]byte("\xef\xbb\xbfKEY,Label,W,Name\r\n\"[1,2,3]\",9223372036854775807,1e308,\"\"\r\n"),
		[]byte("key,label,w,name\n\"[1,2,3]\",1,1,\"unterminated\n"),
		[]byte("\"[1, 2]\",7\n3,4,5\n"),
	}
}

func FuzzCSV(f *testing.F) {
	for _, s := range csvSeeds() {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, header bool) {
		for _, cols := range [][]Column{fuzzCols, fuzzWideCols} {
			r, err := newCSVReader(nopCloser(data), int64(len(data)), "f.csv", cols, Options{Header: &header})
			if err != nil {
				continue
			}
			drain(t, r, cols)
		}
	})
}

func jsonlSeeds() [][]byte {
	return [][]byte{
		[]byte(`{"key":[1,2,3],"label":1,"w":1.5,"name":"a\"\u00e9\ud83d\ude00"}` + "\n\n" + `{"key":null,"label":null,"w":null,"name":null}`),
		[]byte(`{"key":"[1, 2, 3]","label":1e3,"w":-0,"name":""}`),
		[]byte(`{"key":[1,NaN,3],"label":1,"w":1,"name":"a"}`),
		[]byte(`{"key":[1,2,3],"label":1,"w":1,"name":"a"} trailing`),
		[]byte(`{"key":[1,2],"label":1}`),
	}
}

func FuzzJSONL(f *testing.F) {
	for _, s := range jsonlSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, cols := range [][]Column{fuzzCols, fuzzWideCols} {
			r, _ := newJSONLReader(nopCloser(data), int64(len(data)), "f.jsonl", cols)
			drain(t, r, cols)
		}
	})
}

func npySeeds() [][]byte {
	return [][]byte{
		makeNPY(1, "<f4", false, "(2, 3)", encode("<f4", []float64{1, 2, 3, 4, 5, 6})),
		makeNPY(2, ">f8", false, "(2, 3)", encode(">f8", []float64{1, 2, 3, 4, 5, 6})),
		makeNPY(3, "<i2", false, "(6,)", encode("<i2", []float64{1, 2, 3, 4, 5, 6})),
		makeNPY(1, "<f2", false, "(2, 3)", encode("<f2", []float64{1, 2, 3, 4, 5, 6})),
		makeNPY(1, "|u1", true, "(3, 2)", []byte{1, 2, 3, 4, 5, 6}),
		makeNPY(1, "<f4", false, "(9, 3)", encode("<f4", []float64{1, 2, 3})),
	}
}

func FuzzNPY(f *testing.F) {
	for _, s := range npySeeds() {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, sized bool) {
		size := int64(len(data))
		if !sized {
			size = -1
		}
		for _, c := range []Column{col("key", vec(3)), col("key", vec(1)), col("n", tInt), col("x", tFloat)} {
			r, err := newNPYReader(nopCloser(data), size, "f.npy", c)
			if err != nil {
				continue
			}
			drain(t, r, []Column{c})
		}
	})
}

func fvecsSeeds() [][]byte {
	return [][]byte{
		makeFvecs([][]float32{{1, 2, 3}, {4, 5, 6}}),
		makeFvecs([][]float32{{1, 2, 3}, {4, 5}}),
		makeFvecs([][]float32{{1, 2, 3}, {4, 5, 6}})[:20],
		{3, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
	}
}

func FuzzFvecs(f *testing.F) {
	for _, s := range fvecsSeeds() {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, sized bool) {
		size := int64(len(data))
		if !sized {
			size = -1
		}
		for _, fm := range []Format{Fvecs, Ivecs, Bvecs} {
			c := col("key", vec(3))
			r, err := newVecsReader(nopCloser(data), size, "f."+string(fm), fm, c)
			if err != nil {
				continue
			}
			drain(t, r, []Column{c})
		}
	})
}

type bytesFile struct{ *bytes.Reader }

func (bytesFile) Close() error { return nil }

func parquetSeeds(t testing.TB) [][]byte {
	var out [][]byte
	for _, p := range []string{"testdata/duckdb_vectors.parquet", "testdata/duckdb_digits20.parquet", "testdata/duckdb_lz4_raw_v2.parquet", "testdata/duckdb_gzip_v2.parquet"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	p := filepath.Join(t.TempDir(), "s.parquet")
	w, err := CreateWriter(p, fuzzCols, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]types.Value{types.VectorValue([]float32{1, 2, 3}), types.IntValue(1), types.FloatValue(2), types.TextValue("x")})
	w.Write([]types.Value{{}, {}, {}, {}})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	return append(out, b)
}

func FuzzParquet(f *testing.F) {
	for _, s := range parquetSeeds(f) {
		f.Add(s)
	}
	duck := []Column{col("id", tInt), col("name", tText), col("v", vec(3)), col("a", vec(3)), col("d", vec(3)), col("x", tFloat)}
	digits := []Column{col("key", vec(64)), col("label", tInt)}
	codecs := []Column{col("id", tInt), col("v", vec(3)), col("s", tText)}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, cols := range [][]Column{duck, digits, fuzzCols, codecs} {
			r, err := newParquetReader(bytesFile{bytes.NewReader(data)}, int64(len(data)), "f.parquet", cols)
			if err != nil {
				var fe *Error
				if !errors.As(err, &fe) {
					t.Fatalf("error %v is %T, not *Error", err, err)
				}
				continue
			}
			drain(t, r, cols)
		}
	})
}

// TestWriteFuzzSeeds writes the seed corpora (go test -run
// TestWriteFuzzSeeds -rewrite); without -rewrite it checks they exist.
func TestWriteFuzzSeeds(t *testing.T) {
	type arg = any
	sets := map[string][][]arg{}
	for _, s := range csvSeeds() {
		sets["FuzzCSV"] = append(sets["FuzzCSV"], []arg{s, true}, []arg{s, false})
	}
	for _, s := range jsonlSeeds() {
		sets["FuzzJSONL"] = append(sets["FuzzJSONL"], []arg{s})
	}
	for _, s := range npySeeds() {
		sets["FuzzNPY"] = append(sets["FuzzNPY"], []arg{s, true}, []arg{s, false})
	}
	for _, s := range fvecsSeeds() {
		sets["FuzzFvecs"] = append(sets["FuzzFvecs"], []arg{s, true}, []arg{s, false})
	}
	for _, s := range parquetSeeds(t) {
		sets["FuzzParquet"] = append(sets["FuzzParquet"], []arg{s})
	}
	for name, seeds := range sets {
		dir := filepath.Join("testdata", "fuzz", name)
		if !*rewrite {
			if ents, err := os.ReadDir(dir); err != nil || len(ents) < len(seeds) {
				t.Errorf("%s: %d seed files, want %d (run with -rewrite)", dir, len(ents), len(seeds))
			}
			continue
		}
		// Inputs the fuzzer found (named by hash) stay as regressions.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, args := range seeds {
			var b bytes.Buffer
			b.WriteString("go test fuzz v1\n")
			for _, a := range args {
				switch v := a.(type) {
				case []byte:
					fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(v)))
				case bool:
					fmt.Fprintf(&b, "bool(%v)\n", v)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%02d", i)), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
