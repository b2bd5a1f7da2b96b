package formats

import (
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"testing"
)

var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// parseF32, and the JSON reader's own scanner on JSON numbers, must agree
// with strconv.ParseFloat(s, 32) bit for bit.
func checkParse(t *testing.T, s string) {
	t.Helper()
	checkParseWith(t, s, "parseF32", func(b []byte) (float32, error) { return parseF32(b) })
	r := &jsonlReader{b: []byte(s)}
	x, err := r.float32Elem("c")
	if jsonNumber.MatchString(s) {
		checkParseWith(t, s, "float32Elem", func([]byte) (float32, error) { return x, err })
		if r.i != len(s) {
			t.Fatalf("float32Elem(%q) stopped at %d", s, r.i)
		}
	} else if err == nil && r.i == len(s) {
		t.Fatalf("float32Elem(%q) accepted a number JSON does not allow", s)
	}
}

func checkParseWith(t *testing.T, s, name string, parse func([]byte) (float32, error)) {
	t.Helper()
	want, werr := strconv.ParseFloat(s, 32)
	got, err := parse([]byte(s))
	w32 := float32(want)
	switch {
	case werr != nil || !finite32(w32):
		if err == nil {
			t.Fatalf("%s(%q) = %v, want an error", name, s, got)
		}
	case err != nil:
		t.Fatalf("%s(%q): %v", name, s, err)
	case math.Float32bits(got) != math.Float32bits(w32):
		t.Fatalf("%s(%q) = %v (%#x), want %v (%#x)", name, s, got, math.Float32bits(got), w32, math.Float32bits(w32))
	}
}

func TestParseF32(t *testing.T) {
	for _, s := range []string{"0", "-0", "+0", "0.0", "-0.000", "1", "-1", "1.5", ".5", "5.", "-.5e1", "1e-45", "1.4e-45", "7e-46",
		"3.4028235e38", "3.4028236e38", "3.5e38", "1e39", "1.17549435e-38", "1.1754942e-38", "16777217", "16777216.5", "0.1",
		"1.00000005960464477550", "1.000000059604644775", "123456789012345678901234567890", "0.000000000000000000000000000001",
		"1e", "e5", ".", "-", "+", "", " 1", "1 ", "1e+", "0x1p-2", "inf", "NaN", "1_0", "1.5E+07", "9007199254740993",
		"4.4501477170144023e-308", "1e-7", "-0.0", "1E400", "-1e-400", "0.00000000000000000000000000000000000000000000000001e10", "12345678901234567890123e-5", "2.5e-8", "8.589973e9", "0.100000001490116119384765625"} {
		checkParse(t, s)
	}
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range n {
		x := nastyFloat(rng)
		for _, s := range []string{
			strconv.FormatFloat(float64(x), 'g', -1, 32),
			strconv.FormatFloat(float64(x), 'e', rng.IntN(12), 32),
			strconv.FormatFloat(float64(x), 'f', rng.IntN(12), 64),
			strconv.FormatFloat(float64(x)*(1+rng.NormFloat64()*1e-8), 'g', 9+rng.IntN(10), 64),
		} {
			checkParse(t, s)
		}
	}
	// Float32 midpoints written exactly, and just off them.
	for range n / 2 {
		b := rng.Uint32()&0x7f7fffff | 0x00800000
		lo := float64(math.Float32frombits(b))
		hi := float64(math.Float32frombits(b + 1))
		mid := lo + (hi-lo)/2
		for _, s := range []string{strconv.FormatFloat(mid, 'g', -1, 64), strconv.FormatFloat(mid, 'e', 16, 64), strconv.FormatFloat(mid, 'e', 8, 64)} {
			checkParse(t, s)
		}
	}
}

func FuzzParseF32(f *testing.F) {
	for _, s := range []string{"0", "-1.5e-7", "3.4028235e38", "1e-45", "0.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkParse(t, s) })
}
