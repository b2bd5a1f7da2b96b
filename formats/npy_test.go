package formats

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/softdb/softdb/types"
)

// makeNPY builds an .npy file the way numpy.lib.format writes one.
func makeNPY(major byte, descr string, fortran bool, shape string, data []byte) []byte {
	f := "False"
	if fortran {
		f = "True"
	}
	return makeNPYRaw(major, fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, f, shape), data)
}

// makeNPYRaw builds an .npy file around any header text.
func makeNPYRaw(major byte, h string, data []byte) []byte {
	pre := 10
	if major > 1 {
		pre = 12
	}
	total := (pre + len(h) + 1 + 63) / 64 * 64
	h += strings.Repeat(" ", total-pre-len(h)-1) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY")
	b.WriteByte(major)
	b.WriteByte(0)
	if major == 1 {
		binary.Write(&b, binary.LittleEndian, uint16(len(h)))
	} else {
		binary.Write(&b, binary.LittleEndian, uint32(len(h)))
	}
	b.WriteString(h)
	b.Write(data)
	return b.Bytes()
}

// encode writes xs with the given dtype.
func encode(descr string, xs []float64) []byte {
	t, err := parseDescr(descr)
	if err != nil {
		panic(err)
	}
	var bo interface {
		binary.ByteOrder
		binary.AppendByteOrder
	} = binary.LittleEndian
	if t.big {
		bo = binary.BigEndian
	}
	var b []byte
	for _, x := range xs {
		switch {
		case t.kind == 'f' && t.size == 2:
			b = bo.AppendUint16(b, f32ToHalf(float32(x)))
		case t.kind == 'f' && t.size == 4:
			b = bo.AppendUint32(b, math.Float32bits(float32(x)))
		case t.kind == 'f':
			b = bo.AppendUint64(b, math.Float64bits(x))
		case t.size == 1:
			b = append(b, byte(int64(x)))
		case t.size == 2:
			b = bo.AppendUint16(b, uint16(int64(x)))
		case t.size == 4:
			b = bo.AppendUint32(b, uint32(int64(x)))
		default:
			b = bo.AppendUint64(b, uint64(int64(x)))
		}
	}
	return b
}

// f32ToHalf handles the exactly representable values the tests use.
func f32ToHalf(f float32) uint16 {
	if f == 0 {
		return 0
	}
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int(bits>>23&0xff) - 127 + 15
	return sign | uint16(exp)<<10 | uint16(bits>>13&0x3ff)
}

func TestNPYDtypes(t *testing.T) {
	xs := []float64{0, 1, 2, 3, 100, 7, 8, 9, 10, 11, 12, 13}
	neg := []float64{0, -1, 2, -3, 100, -7, 8, 9, -10, 11, 12, -13}
	for _, c := range []struct {
		descr string
		xs    []float64
	}{
		{"<f4", neg}, {">f4", neg}, {"<f8", neg}, {">f8", neg}, {"<f2", neg}, {">f2", neg},
		{"|i1", neg}, {"<i2", neg}, {">i2", neg}, {"<i4", neg}, {">i4", neg}, {"<i8", neg}, {">i8", neg},
		{"|u1", xs}, {"<u1", xs}, {"<u2", xs}, {">u2", xs}, {"<u4", xs}, {"<u8", xs}, {">u8", xs},
	} {
		for _, major := range []byte{1, 2, 3} {
			p := writeFile(t, "m.npy", makeNPY(major, c.descr, false, "(4, 3)", encode(c.descr, c.xs)))
			rows, err := readAll(p, []Column{col("key", vec(3))}, Options{})
			if err != nil {
				t.Fatalf("%s v%d: %v", c.descr, major, err)
			}
			if len(rows) != 4 {
				t.Fatalf("%s: %d rows", c.descr, len(rows))
			}
			for i, row := range rows {
				for k, x := range row[0].V {
					if x != float32(c.xs[3*i+k]) {
						t.Fatalf("%s v%d: row %d = %v, want %v", c.descr, major, i, row[0].V, c.xs[3*i:3*i+3])
					}
				}
			}
			// The same data as a 1-D array fills INT and FLOAT columns.
			p = writeFile(t, "s.npy", makeNPY(major, c.descr, false, "(12,)", encode(c.descr, c.xs)))
			ints := mustReadAll(t, p, []Column{col("n", tInt)}, Options{})
			floats := mustReadAll(t, p, []Column{col("x", tFloat)}, Options{})
			for i := range c.xs {
				if ints[i][0].I != int64(c.xs[i]) || floats[i][0].F != c.xs[i] {
					t.Fatalf("%s: 1-D element %d = %v, %v", c.descr, i, ints[i][0], floats[i][0])
				}
			}
		}
	}
}

func TestNPYShapes(t *testing.T) {
	data := encode("<f4", []float64{1, 2, 3, 4})
	// (n, 1) fills a scalar column; (n,) fills VECTOR(1); fortran order is
	// harmless for one row or one column.
	for _, c := range []struct {
		shape   string
		fortran bool
		col     Column
		want    string
	}{
		{"(4, 1)", false, col("x", tFloat), "1 2 3 4"},
		{"(4,)", false, col("v", vec(1)), "[1] [2] [3] [4]"},
		{"(4, 1)", true, col("v", vec(1)), "[1] [2] [3] [4]"},
		{"(1, 4)", true, col("v", vec(4)), "[1, 2, 3, 4]"},
		{"(4L, 1L)", false, col("n", tInt), "1 2 3 4"},
	} {
		rows := mustReadAll(t, writeFile(t, "s.npy", makeNPY(1, "<f4", c.fortran, c.shape, data)), []Column{c.col}, Options{})
		var got []string
		for _, r := range rows {
			got = append(got, r[0].String())
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("shape %s: %v", c.shape, got)
		}
	}
	// An empty matrix has no rows.
	rows := mustReadAll(t, writeFile(t, "e.npy", makeNPY(1, "<f4", false, "(0, 3)", nil)), []Column{col("k", vec(3))}, Options{})
	if len(rows) != 0 {
		t.Errorf("(0, 3): %d rows", len(rows))
	}
}

func TestNPYErrors(t *testing.T) {
	key := []Column{col("key", vec(3))}
	f4 := func(n int) []byte { return encode("<f4", make([]float64, n)) }
	withNaN := encode("<f4", []float64{1, 2, 3, 4, 5, math.NaN()})
	for _, c := range []struct {
		name string
		file []byte
		cols []Column
		want []string
	}{
		{"bad magic", []byte("PK\x03\x04 not numpy at all"), key, []string{"e.npy: ", `not an npy file: bad magic "PK\x03\x04 n"`}},
		{"empty", nil, key, []string{"e.npy: ", "empty file: not an npy file"}},
		{"short", []byte("\x93NUM"), key, []string{"e.npy: ", "not an npy file: too short"}},
		{"version", append([]byte("\x93NUMPY\x04\x00"), 0, 0), key, []string{"npy version 4.0 is not supported"}},
		{"header cut", makeNPY(1, "<f4", false, "(2, 3)", nil)[:40], key, []string{"truncated npy header"}},
		{"string dtype", makeNPY(1, "<U5", false, "(2,)", nil), []Column{col("x", tFloat)}, []string{`column "x": dtype "<U5" is not supported: use float32, float64, float16 or an integer type`}},
		{"bool dtype", makeNPY(1, "|b1", false, "(2,)", nil), []Column{col("x", tInt)}, []string{`dtype "|b1" is not supported`}},
		{"complex dtype", makeNPY(1, "<c8", false, "(2, 3)", nil), key, []string{`dtype "<c8" is not supported`}},
		{"object dtype", makeNPY(1, "|O", false, "(2, 3)", nil), key, []string{`dtype "|O" is not supported`}},
		{"structured", makeNPYRaw(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", nil), key, []string{"structured dtypes (records) are not supported"}},
		{"fortran", makeNPY(1, "<f4", true, "(2, 3)", f4(6)), key, []string{"e.npy: ", `column "key": Fortran-order (column-major) arrays are not supported`}},
		{"dim mismatch", makeNPY(1, "<f4", false, "(2, 4)", f4(8)), key, []string{"e.npy: ", `column "key": shape (2, 4) has 4 columns but the column is VECTOR(3)`}},
		{"1-D for vector", makeNPY(1, "<f4", false, "(6,)", f4(6)), key, []string{`shape (6,) is a 1-D array; a VECTOR(3) column needs shape (rows, 3)`}},
		{"matrix for int", makeNPY(1, "<i8", false, "(2, 3)", f4(12)), []Column{col("n", tInt)}, []string{`shape (2, 3) is a matrix; a INT column needs shape (rows,) or (rows, 1)`}},
		{"3-D", makeNPY(1, "<f4", false, "(2, 3, 1)", f4(6)), key, []string{`shape (2, 3, 1): expected (rows, dim)`}},
		{"scalar", makeNPY(1, "<f4", false, "()", f4(1)), key, []string{`shape (): expected (rows, dim)`}},
		{"truncated", makeNPY(1, "<f4", false, "(10, 3)", f4(22)), key, []string{"e.npy: record 8: ", `column "key": truncated: expected 10 rows (header says shape (10, 3)), file has 7`}},
		{"extra data", makeNPY(1, "<f4", false, "(2, 3)", f4(9)), key, []string{"e.npy: ", "the header says shape (2, 3) (24 bytes of data) but the file has 36 bytes after the header"}},
		{"nan", makeNPY(1, "<f4", false, "(2, 3)", withNaN), key, []string{"e.npy: record 2: ", `column "key": element 3: NaN is not allowed in a vector`}},
		{"inf big-endian", makeNPY(1, ">f4", false, "(2, 3)", encode(">f4", []float64{1, 2, 3, math.Inf(-1), 5, 6})), key, []string{"e.npy: record 2: ", `column "key": element 1: infinite value is not allowed in a vector`}},
		{"f8 overflow", makeNPY(1, "<f8", false, "(2, 3)", encode("<f8", []float64{1, 2, 3, 4, 1e300, 6})), key, []string{"e.npy: record 2: ", `column "key": element 2: 1e+300 is out of range for float32`}},
		{"f8 nan", makeNPY(1, "<f8", false, "(1, 3)", encode("<f8", []float64{math.NaN(), 2, 3})), key, []string{"e.npy: record 1: ", `column "key": element 1: NaN is not allowed in a vector`}},
		{"f2 inf", makeNPY(1, "<f2", false, "(1, 3)", []byte{0, 0, 0, 0x7c, 0, 0}), key, []string{"e.npy: record 1: ", `element 2: infinite value is not allowed in a vector`}},
		{"fraction into int", makeNPY(1, "<f8", false, "(2,)", encode("<f8", []float64{1, 2.5})), []Column{col("n", tInt)}, []string{"e.npy: record 2: ", `column "n": 2.5 is not an integer`}},
		{"u8 into int", makeNPY(1, "<u8", false, "(1,)", []byte{0, 0, 0, 0, 0, 0, 0, 0x80}), []Column{col("n", tInt)}, []string{"e.npy: record 1: ", `column "n": 9223372036854775808 is out of range for INT`}},
		{"nan into float", makeNPY(1, "<f8", false, "(1,)", encode("<f8", []float64{math.NaN()})), []Column{col("x", tFloat)}, []string{"e.npy: record 1: ", `column "x": NaN is not allowed`}},
		{"missing key", makeNPYRaw(1, "{'descr': '<f4', 'shape': (2, 3), }", nil), key, []string{`bad npy header: header lacks "fortran_order"`}},
		{"unknown key", makeNPYRaw(1, "{'descr': '<f4', 'fortran': False, 'shape': (2, 3), }", nil), key, []string{`bad npy header: header has unknown key "fortran"`}},
		{"bad shape", makeNPY(1, "<f4", false, "(2, x)", nil), key, []string{`bad npy header: header 'shape' is not a tuple of integers`}},
		{"huge shape", makeNPY(1, "<f4", false, "(9223372036854775807, 3)", nil), key, []string{`shape (9223372036854775807, 3) is too large`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := readAll(writeFile(t, "e.npy", c.file), c.cols, Options{})
			wantErr(t, err, c.want...)
		})
	}
}

// A stream whose size is not known finds a header lie at the end.
func TestNPYStreamTruncated(t *testing.T) {
	data := makeNPY(1, "<f4", false, "(5, 3)", encode("<f4", make([]float64, 10)))
	for _, fast := range []bool{true, false} {
		descr := "<f4"
		if !fast {
			descr = ">f4"
			data = makeNPY(1, descr, false, "(5, 3)", encode(descr, make([]float64, 10)))
		}
		r, err := newNPYReader(io.NopCloser(bytes.NewReader(data)), -1, "pipe.npy", col("key", vec(3)))
		if err != nil {
			t.Fatal(err)
		}
		row := make([]types.Value, 1)
		n := 0
		for err == nil {
			if err = r.Next(row); err == nil {
				n++
			}
		}
		if n != 3 {
			t.Errorf("%s: %d rows before the error", descr, n)
		}
		wantErr(t, err, "pipe.npy: record 4: ", `column "key": truncated: expected 5 rows, file has 3`)
	}
}

func TestNPYWriter(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		col  Column
		rows [][]types.Value
		want string
	}{
		{col("k", vec(2)), [][]types.Value{{types.VectorValue([]float32{1, 2})}, {types.VectorValue([]float32{3, 4})}}, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }"},
		{col("n", tInt), [][]types.Value{{types.IntValue(-5)}, {types.FloatValue(7)}}, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }"},
		{col("x", tFloat), [][]types.Value{{types.FloatValue(0.1)}}, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }"},
	}
	for _, c := range cases {
		p := dir + "/" + c.col.Name + ".npy"
		writeAll(t, p, []Column{c.col}, Options{}, c.rows)
		b := readFileBytes(t, p)
		hlen := int(binary.LittleEndian.Uint16(b[8:]))
		if (10+hlen)%64 != 0 || !strings.HasPrefix(string(b[10:]), c.want) || b[9+hlen] != '\n' {
			t.Errorf("header %q", b[:10+hlen])
		}
		got := mustReadAll(t, p, []Column{c.col}, Options{})
		if len(got) != len(c.rows) {
			t.Fatalf("%d rows", len(got))
		}
	}
	// NULL and TEXT cannot be written.
	w, err := CreateWriter(dir+"/null.npy", []Column{col("k", vec(2))}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, w.Write([]types.Value{{}}), "null.npy: record 1: ", `column "k": npy cannot hold NULL`)
	wantErr(t, w.Write([]types.Value{types.VectorValue([]float32{1})}), "null.npy: record 2: ", `column "k": vector has 1 dimensions, expected 2`)
	w.Abort()
	_, err = CreateWriter(dir+"/t.npy", []Column{col("s", tText)}, Options{})
	wantErr(t, err, "t.npy: ", `column "s": a npy file can only fill a VECTOR, INT or FLOAT column, not TEXT`)
}
