package types

import (
	"math"
	"slices"
	"strconv"
	"testing"
)

// TestParseElementRoundsOnce: a decimal near a float32 midpoint must round
// straight to float32; through float64 it can round twice to another value.
func TestParseElementRoundsOnce(t *testing.T) {
	// 1 + 2^-24 + 2^-60 is just above the midpoint between 1 and the next
	// float32: correct rounding gives 1+2^-23; via float64 it becomes the
	// exact midpoint 1+2^-24, which rounds to even, 1.
	s := strconv.FormatFloat(1+math.Ldexp(1, -24), 'f', -1, 64) + "0000000001"
	got, err := ParseElement(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := float32(1 + math.Ldexp(1, -23)); got != want {
		t.Errorf("ParseElement(%s) = %v, want %v", s, got, want)
	}
}

func TestParseVector(t *testing.T) {
	v, err := ParseVector(" [1, 2.5, -3e-2] ")
	if err != nil || len(v) != 3 || v[2] != float32(-3e-2) {
		t.Fatalf("%v %v", v, err)
	}
	// The array literal a PostgreSQL client sends for a float4[] parameter.
	a, err := ParseVector("{1,2.5,-3e-2}")
	if err != nil || !slices.Equal(a, v) {
		t.Fatalf("ParseVector({1,2.5,-3e-2}) = %v, %v; want %v", a, err, v)
	}
	for _, bad := range []string{"[hello,1]", "[NaN,1]", "[Infinity,1]", "[4e38,1]", "[1,2,3", "[1,2,3]9", "1,2,3", "[", "[]", "[1,]", "[1a]", "[1,,3]", "[1, ,3]", "{}", "{1,2", "{1,{2}}", "{1,2]"} {
		if _, err := ParseVector(bad); err == nil {
			t.Errorf("ParseVector(%q) succeeded", bad)
		}
	}
	if FormatVector([]float32{1, 0.1, -2.5e-8}) != "[1, 0.1, -2.5e-08]" {
		t.Errorf("FormatVector: %s", FormatVector([]float32{1, 0.1, -2.5e-8}))
	}
	if got := FormatVectorCompact([]float32{1, 0.1, -2.5e-8}); got != "[1,0.1,-2.5e-08]" {
		t.Errorf("FormatVectorCompact: %s", got)
	}
	if got := FormatVectorCompact(nil); got != "[]" {
		t.Errorf("FormatVectorCompact(nil): %s", got)
	}
}

// FuzzParseVector: no panic on any text; whatever parses formats back to a
// text that parses to the same bits.
func FuzzParseVector(f *testing.F) {
	for _, s := range []string{"[1, 2.5, -3e-2]", "[hello,1]", "[NaN,1]", "[4e38,1]", "[1,2,3", "[]", "[1,]", "[1e-45]", " [ -0 ] "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVector(s)
		if err != nil {
			return
		}
		w, err := ParseVector(FormatVector(v))
		if err != nil || len(w) != len(v) {
			t.Fatalf("%q → %q: %v", s, FormatVector(v), err)
		}
		for i := range v {
			if math.Float32bits(v[i]) != math.Float32bits(w[i]) {
				t.Fatalf("%q: element %d %v → %v", s, i, v[i], w[i])
			}
		}
	})
}

// TestInvalidUTF8: the offset of the first byte that does not start a
// character; U+FFFD itself, written out, is valid text.
func TestInvalidUTF8(t *testing.T) {
	for _, c := range []struct {
		s    string
		want int
	}{
		{"", -1}, {"plain", -1}, {"é – ü", -1}, {"\uFFFD", -1},
		{"ab\xffcd", 2}, {"a\xc3", 1}, {"\uFFFD\x80", 3}, {"\xc3\xa9\xed\xa0\x80", 2}, // a surrogate's encoding
	} {
		if got := InvalidUTF8(c.s); got != c.want {
			t.Errorf("InvalidUTF8(%q) = %d, want %d", c.s, got, c.want)
		}
	}
}
