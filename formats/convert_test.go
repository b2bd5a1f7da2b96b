package formats

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// parseF32 must agree with strconv.ParseFloat(s, 32) bit for bit.
func checkParse(t *testing.T, s string) {
	t.Helper()
	want, werr := strconv.ParseFloat(s, 32)
	got, err := parseF32([]byte(s))
	w32 := float32(want)
	switch {
	case werr != nil || !finite32(w32):
		if err == nil {
			t.Fatalf("parseF32(%q) = %v, want an error", s, got)
		}
	case err != nil:
		t.Fatalf("parseF32(%q): %v", s, err)
	case math.Float32bits(got) != math.Float32bits(w32):
		t.Fatalf("parseF32(%q) = %v (%#x), want %v (%#x)", s, got, math.Float32bits(got), w32, math.Float32bits(w32))
	}
}

func TestParseF32(t *testing.T) {
	for _, s := range []string{"0", "-0", "+0", "0.0", "-0.000", "1", "-1", "1.5", ".5", "5.", "-.5e1", "1e-45", "1.4e-45", "7e-46",
		"3.4028235e38", "3.4028236e38", "3.5e38", "1e39", "1.17549435e-38", "1.1754942e-38", "16777217", "16777216.5", "0.1",
		"1.00000005960464477550", "1.000000059604644775", "123456789012345678901234567890", "0.000000000000000000000000000001",
		"1e", "e5", ".", "-", "+", "", " 1", "1 ", "1e+", "0x1p-2", "inf", "NaN", "1_0", "1.5E+07", "9007199254740993",
		"4.4501477170144023e-308", "1e-7", "2.5e-8", "8.589973e9", "0.100000001490116119384765625"} {
		checkParse(t, s)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 300_000 {
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
	for range 100_000 {
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
