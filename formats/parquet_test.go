package formats

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/softdb/softdb/types"
)

// testdata/duckdb_*.parquet were written by DuckDB (see testdata/README.md).
func TestParquetFromDuckDB(t *testing.T) {
	cols := []Column{col("id", tInt), col("name", tText), col("v", vec(3)), col("a", vec(3)), col("d", vec(3)), col("x", tFloat)}
	r, err := OpenReader("testdata/duckdb_vectors.parquet", cols, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Rows() != 4 {
		t.Errorf("Rows = %d", r.Rows())
	}
	r.Close()
	rows := mustReadAll(t, "testdata/duckdb_vectors.parquet", cols, Options{})
	V := func(x ...float32) types.Value { return types.VectorValue(x) }
	want := [][]types.Value{
		{types.IntValue(1), types.TextValue("one"), V(0.5, -1.25, 3), V(1, 2, 3), V(0.1, 0.2, 0.3), types.FloatValue(1.5)},
		{types.IntValue(2), {}, V(1e-45, 0, math.MaxFloat32), V(4, 5, 6), V(0, -2.5, 1e30), {}},
		{types.IntValue(3), types.TextValue("three"), {}, {}, {}, types.FloatValue(-2)},
		{{}, types.TextValue(`späť "q"`), V(7, 8, 9), V(7, 8, 9), V(7, 8, 9), types.FloatValue(0)},
	}
	compareRows(t, "duckdb_vectors", rows, want)

	// The wide rule applies to parquet too: p0..p63 + label.
	dc := []Column{col("key", vec(64)), col("label", tInt)}
	got := mustReadAll(t, "testdata/duckdb_digits20.parquet", dc, Options{})
	if _, err := os.Stat("/work/shared/data/digits.csv"); err == nil {
		ref := mustReadAll(t, "/work/shared/data/digits.csv", dc, Options{})
		compareRows(t, "digits20", got, ref[:20])
	}
}

func TestParquetSchemaErrors(t *testing.T) {
	const p = "testdata/duckdb_vectors.parquet"
	all := func(c Column) []Column {
		cols := []Column{col("id", tInt), col("name", tText), col("v", vec(3)), col("a", vec(3)), col("d", vec(3)), col("x", tFloat)}
		for i := range cols {
			if cols[i].Name == c.Name {
				cols[i] = c
			}
		}
		return cols
	}
	for _, c := range []struct {
		cols []Column
		want []string
	}{
		{all(col("name", vec(3))), []string{"duckdb_vectors.parquet: ", `column "name": is a single value per row; a VECTOR(3) column needs a list of numbers`}},
		{all(col("v", tInt)), []string{`column "v": is a list or a group; a INT column needs a single value per row`}},
		{all(col("name", tInt)), []string{`column "name": cannot fill INT: its type`, "is not a number"}},
		{all(col("x", tText)), []string{`column "x": cannot fill TEXT: its type DOUBLE is not a string`}},
		{append(all(col("x", tFloat)), col("extra", tInt)), []string{`column "extra": file has no column "extra"`}},
		{all(col("x", tFloat))[:5], []string{`column "x": unknown file column: the columns being loaded are id, name, v, a, d`}},
	} {
		_, err := readAll(p, c.cols, Options{})
		wantErr(t, err, c.want...)
	}
	_, err := readAll(p, all(col("v", vec(4))), Options{})
	wantErr(t, err, "duckdb_vectors.parquet: record 1: ", `column "v": vector has 3 dimensions, expected 4`)
	_, err = readAll(writeFile(t, "bad.parquet", []byte("PAR1 this is not parquet PAR1")), all(col("x", tFloat)), Options{})
	wantErr(t, err, "bad.parquet: damaged parquet file: its footer claims 544499061 bytes, the file has 29")
	_, err = readAll(writeFile(t, "bad.parquet", []byte("PAR1 this is not parquet \x04\x00\x00\x00PAR1")), all(col("x", tFloat)), Options{})
	wantErr(t, err, "bad.parquet: damaged parquet file: malformed footer")
	_, err = readAll(writeFile(t, "bad.parquet", []byte("a CSV file,really\n")), all(col("x", tFloat)), Options{})
	wantErr(t, err, "bad.parquet: not a parquet file: it ends in \"lly\\n\"")
}

// writeRawParquet writes rows of one optional list<optional float> column
// "v" with parquet-go itself, to make values our writer never produces.
func writeRawParquet(t *testing.T, rows [][]*float32, nullRow int) string {
	schema := parquet.NewSchema("t", parquet.Group{"v": parquet.Optional(parquet.List(parquet.Optional(parquet.Leaf(parquet.FloatType))))})
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, schema)
	for i, r := range rows {
		var row parquet.Row
		switch {
		case i == nullRow:
			row = append(row, parquet.NullValue().Level(0, 0, 0))
		case len(r) == 0:
			row = append(row, parquet.NullValue().Level(0, 1, 0))
		}
		for k, x := range r {
			rep := min(k, 1)
			if x == nil {
				row = append(row, parquet.NullValue().Level(rep, 2, 0))
			} else {
				row = append(row, parquet.FloatValue(*x).Level(rep, 3, 0))
			}
		}
		if _, err := w.WriteRows([]parquet.Row{row}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "raw.parquet", buf.Bytes())
}

func TestParquetValueErrors(t *testing.T) {
	f := func(x float32) *float32 { return &x }
	nan := float32(math.NaN())
	ok := []*float32{f(1), f(2)}
	cols := []Column{col("v", vec(2))}
	// NULL list, then a good row: fine.
	rows := mustReadAll(t, writeRawParquet(t, [][]*float32{nil, ok}, 0), cols, Options{})
	if len(rows) != 2 || !rows[0][0].IsNull() || rows[1][0].String() != "[1, 2]" {
		t.Errorf("rows = %v", rows)
	}
	for _, c := range []struct {
		rows [][]*float32
		want string
	}{
		{[][]*float32{ok, {f(1), nil}}, `raw.parquet: record 2: column "v": element 2 is null`},
		{[][]*float32{ok, ok, {f(1), f(nan)}}, `raw.parquet: record 3: column "v": element 2: NaN is not allowed in a vector`},
		{[][]*float32{{f(float32(math.Inf(-1))), f(1)}}, `raw.parquet: record 1: column "v": element 1: infinite value is not allowed in a vector`},
		{[][]*float32{ok, {}}, `raw.parquet: record 2: column "v": vector must have at least 1 dimension (the list is empty)`},
		{[][]*float32{{f(1), f(2), f(3)}}, `raw.parquet: record 1: column "v": vector has 3 dimensions, expected 2`},
	} {
		_, err := readAll(writeRawParquet(t, c.rows, -1), cols, Options{})
		wantErr(t, err, c.want)
	}
}

func TestParquetRowGroups(t *testing.T) {
	cols := []Column{col("k", vec(5)), col("n", tInt)}
	p := t.TempDir() + "/g.parquet"
	w, err := CreateWriter(p, cols, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.(*parquetWriter).perGroup = 100
	var want [][]types.Value
	for i := 0; i < 1050; i++ {
		row := []types.Value{types.VectorValue([]float32{float32(i), 1, 2, 3, float32(-i)}), types.IntValue(int64(i))}
		if i%7 == 0 {
			row[0] = types.Value{}
		}
		want = append(want, row)
		if err := w.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(p)
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if len(pf.RowGroups()) != 11 {
		t.Errorf("%d row groups", len(pf.RowGroups()))
	}
	f.Close()
	compareRows(t, "row groups", mustReadAll(t, p, cols, Options{}), want)
}

// DuckDB files in every codec DuckDB writes, with data page v2.
func TestParquetCodecs(t *testing.T) {
	cols := []Column{col("id", tInt), col("v", vec(3)), col("s", tText)}
	for _, codec := range []string{"uncompressed", "gzip", "zstd", "lz4_raw", "brotli"} {
		rows := mustReadAll(t, "testdata/duckdb_"+codec+"_v2.parquet", cols, Options{})
		if len(rows) != 300 {
			t.Fatalf("%s: %d rows", codec, len(rows))
		}
		for i, r := range rows {
			want := []types.Value{types.IntValue(int64(i)), types.VectorValue([]float32{float32(i) * 0.5, float32(-i), float32(float64(i) / 3)}),
				types.TextValue("row " + strconv.Itoa(i))}
			for j := range want {
				if !sameBits(r[j], want[j]) {
					t.Fatalf("%s: row %d = %v, want %v", codec, i, r, want)
				}
			}
		}
	}
}

// Doubles that do not fit float32, unsigned and wide columns.
func TestParquetConversions(t *testing.T) {
	schema := parquet.NewSchema("t", parquet.Group{
		"d":  parquet.List(parquet.Leaf(parquet.DoubleType)),
		"u":  parquet.Optional(parquet.Uint(64)),
		"e0": parquet.Optional(parquet.Leaf(parquet.DoubleType)),
		"e1": parquet.Optional(parquet.Leaf(parquet.Int32Type)),
	})
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, schema)
	// Leaf order is by name: d, e0, e1, u.
	rows := []parquet.Row{
		{parquet.DoubleValue(1).Level(0, 1, 0), parquet.DoubleValue(0.1).Level(1, 1, 0),
			parquet.DoubleValue(2.5).Level(0, 1, 1), parquet.Int32Value(-3).Level(0, 1, 2), parquet.Int64Value(-1).Level(0, 1, 3)},
		{parquet.DoubleValue(1).Level(0, 1, 0), parquet.DoubleValue(1e300).Level(1, 1, 0),
			parquet.NullValue().Level(0, 0, 1), parquet.Int32Value(1).Level(0, 1, 2), parquet.NullValue().Level(0, 0, 3)},
	}
	if _, err := w.WriteRows(rows); err != nil {
		t.Fatal(err)
	}
	w.Close()
	p := writeFile(t, "c.parquet", buf.Bytes())
	cols := []Column{col("d", vec(2)), col("e", vec(2)), col("u", tFloat)}
	got, err := readAll(p, cols, Options{})
	wantErr(t, err, "c.parquet: record 2: ", `column "d": element 2: 1e+300 is out of range for float32`)
	if len(got) != 1 || got[0][0].String() != "[1, 0.1]" || got[0][1].String() != "[2.5, -3]" || got[0][2].F != 18446744073709551615 {
		t.Errorf("row 1 = %v", got)
	}
	_, err = readAll(p, []Column{col("d", vec(2)), col("e", vec(2)), col("u", tInt)}, Options{})
	wantErr(t, err, "c.parquet: record 1: ", `column "u": 18446744073709551615 is out of range for INT`)
	_, err = readAll(p, []Column{col("e", vec(2)), col("d", vec(2)), col("u", tFloat)}, Options{})
	wantErr(t, err, "c.parquet: record 2: ", `column "e0": null element of "e" (a vector is NULL only when all its columns are)`)
}

// Dictionary-encoded lists (pyarrow's default) read through the indexes.
func TestParquetDictionary(t *testing.T) {
	for _, leaf := range []parquet.Node{parquet.Leaf(parquet.FloatType), parquet.Leaf(parquet.DoubleType), parquet.Leaf(parquet.Int32Type)} {
		schema := parquet.NewSchema("t", parquet.Group{"v": parquet.List(parquet.Encoded(leaf, &parquet.RLEDictionary))})
		var buf bytes.Buffer
		w := parquet.NewWriter(&buf, schema)
		var want [][]types.Value
		for i := 0; i < 2000; i++ {
			a, b := float32(i%5), float32(-(i % 3))
			var row parquet.Row
			switch leaf.Type().Kind() {
			case parquet.Float:
				row = parquet.Row{parquet.FloatValue(a).Level(0, 1, 0), parquet.FloatValue(b).Level(1, 1, 0)}
			case parquet.Double:
				row = parquet.Row{parquet.DoubleValue(float64(a)).Level(0, 1, 0), parquet.DoubleValue(float64(b)).Level(1, 1, 0)}
			default:
				row = parquet.Row{parquet.Int32Value(int32(a)).Level(0, 1, 0), parquet.Int32Value(int32(b)).Level(1, 1, 0)}
			}
			if _, err := w.WriteRows([]parquet.Row{row}); err != nil {
				t.Fatal(err)
			}
			want = append(want, []types.Value{types.VectorValue([]float32{a, b})})
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		p := writeFile(t, "dict.parquet", buf.Bytes())
		f, _ := os.Open(p)
		st, _ := f.Stat()
		pf, _ := parquet.OpenFile(f, st.Size())
		if enc := pf.Metadata().RowGroups[0].Columns[0].MetaData.Encoding; !bytes.Contains([]byte(fmt.Sprint(enc)), []byte("DICTIONARY")) {
			t.Errorf("%v: encodings %v, want a dictionary", leaf.Type(), enc)
		}
		f.Close()
		compareRows(t, "dictionary "+leaf.Type().String(), mustReadAll(t, p, []Column{col("v", vec(2))}, Options{}), want)
	}
}
