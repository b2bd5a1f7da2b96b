package formats

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/softdb/softdb/types"
)

var nastyTexts = []string{"", " ", "plain", "a,b", `say "hi"`, "two\nlines", "cr\r\nlf", "  leading", "trailing  ",
	"[1, 2, 3]", "NULL", "null", "\\N", `"`, `""`, "tab\there", "ünïcødé 😀", "\u2028", "{\"json\": 1}", "\x01ctl"}

func randRows(rng *rand.Rand, n, d int) [][]types.Value {
	rows := make([][]types.Value, n)
	for i := range rows {
		v := make([]float32, d)
		for k := range v {
			v[k] = nastyFloat(rng)
		}
		ints := []int64{0, -1, 1, math.MaxInt64, math.MinInt64, rng.Int64(), -rng.Int64()}
		floats := []float64{0, math.Copysign(0, -1), math.MaxFloat64, -math.SmallestNonzeroFloat64, 0.1, 1e21, 1e-7, rng.NormFloat64(), math.Float64frombits(rng.Uint64() &^ (0x7ff << 52))}
		row := []types.Value{types.VectorValue(v), types.IntValue(ints[rng.IntN(len(ints))]),
			types.FloatValue(floats[rng.IntN(len(floats))]), types.TextValue(nastyTexts[rng.IntN(len(nastyTexts))])}
		for j := range row {
			if rng.IntN(8) == 0 {
				row[j] = types.Value{}
			}
		}
		rows[i] = row
	}
	return rows
}

// Every format writes and reads back the same values, float32 bits
// included (subnormals, -0, extremes).
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	cols := []Column{col("key", vec(7)), col("n", tInt), col("x", tFloat), col("s", tText)}
	rows := randRows(rng, 3000, 7)
	no := false
	for _, c := range []struct {
		name string
		o    Options
	}{
		{"t.csv", Options{}},
		{"t.jsonl", Options{}},
		{"t.parquet", Options{}},
		{"headerless.csv", Options{Header: &no}},
		{"semicolon.txt", Options{Format: CSV, Delimiter: ';'}},
		{"tab.tsv", Options{Format: CSV, Delimiter: '\t'}},
	} {
		p := filepath.Join(dir, c.name)
		writeAll(t, p, cols, c.o, rows)
		compareRows(t, c.name, mustReadAll(t, p, cols, c.o), rows)
	}
	// Matrix formats: one column, no NULLs.
	m := randMatrix(rng, 3000, 33)
	var mrows [][]types.Value
	for _, v := range m {
		mrows = append(mrows, []types.Value{types.VectorValue(v)})
	}
	for _, name := range []string{"m.npy", "m.fvecs", "m.csv", "m.jsonl", "m.parquet"} {
		p := filepath.Join(dir, name)
		writeAll(t, p, []Column{col("key", vec(33))}, Options{}, mrows)
		compareRows(t, name, mustReadAll(t, p, []Column{col("key", vec(33))}, Options{}), mrows)
	}
	// npy scalars.
	for _, c := range []Column{col("n", tInt), col("x", tFloat)} {
		var srows [][]types.Value
		for _, r := range rows {
			if v := r[map[string]int{"n": 1, "x": 2}[c.Name]]; !v.IsNull() {
				srows = append(srows, []types.Value{v})
			}
		}
		p := filepath.Join(dir, c.Name+".npy")
		writeAll(t, p, []Column{c}, Options{}, srows)
		compareRows(t, p, mustReadAll(t, p, []Column{c}, Options{}), srows)
	}
}

// GloVe (5000×100) converted to every format and back is the same matrix.
func TestGloVeEveryFormat(t *testing.T) {
	if _, err := os.Stat(gloveFvecs); err != nil {
		t.Skipf("shared data missing: %v", err)
	}
	cols := []Column{col("key", vec(100))}
	orig := mustReadAll(t, gloveFvecs, cols, Options{})
	dir := t.TempDir()
	for _, f := range []string{"csv", "jsonl", "npy", "parquet", "fvecs"} {
		p := filepath.Join(dir, "glove."+f)
		writeAll(t, p, cols, Options{}, orig)
		back := mustReadAll(t, p, cols, Options{})
		compareRows(t, f, back, orig)
		// And from there to fvecs again, byte for byte.
		q := filepath.Join(dir, "again-"+f+".fvecs")
		writeAll(t, q, cols, Options{}, back)
		a, b := readFileBytes(t, q), readFileBytes(t, gloveFvecs)
		if string(a) != string(b) {
			t.Errorf("%s → fvecs differs from the original file", f)
		}
	}
}

// A failed or aborted write leaves no file and keeps an existing one.
func TestWriterAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.csv")
	os.WriteFile(p, []byte("old"), 0o644)
	cols := []Column{col("n", tInt)}
	w, err := CreateWriter(p, cols, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]types.Value{types.IntValue(1)})
	if b := readFileBytes(t, p); string(b) != "old" {
		t.Errorf("file changed before Close: %q", b)
	}
	wantErr(t, w.Write([]types.Value{types.TextValue("x")}), "out.csv:3: ", `column "n": cannot write a TEXT value to a INT column`)
	wantErr(t, w.Write([]types.Value{types.FloatValue(1.5)}), "out.csv:4: ", `column "n": 1.5 is not an integer`)
	w.Abort()
	if b := readFileBytes(t, p); string(b) != "old" {
		t.Errorf("Abort changed the file: %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
	writeAll(t, p, cols, Options{}, [][]types.Value{{types.IntValue(1)}, {types.FloatValue(2)}, {{}}})
	if b := readFileBytes(t, p); string(b) != "n\n1\n2\n\n" {
		t.Errorf("file = %q", b)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode())
	}
	// The one-column file reads back with its NULL.
	got := mustReadAll(t, p, cols, Options{})
	compareRows(t, "one column", got, [][]types.Value{{types.IntValue(1)}, {types.IntValue(2)}, {{}}})

	_, err = CreateWriter(filepath.Join(dir, "no/such/dir/x.csv"), cols, Options{})
	wantErr(t, err, "x.csv: cannot create: ", "no such file or directory")
	_, err = CreateWriter(dir, cols, Options{Format: CSV})
	wantErr(t, err, "cannot create: is a directory")
}
