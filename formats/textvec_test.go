package formats

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// vectorTexts are n vectors of d N(0, 1) elements in the forms the
// writers and common tools produce.
func vectorTexts(n, d int, sep string) [][]byte {
	rng := rand.New(rand.NewPCG(5, 6))
	out := make([][]byte, n)
	for i := range out {
		var b strings.Builder
		b.WriteByte('[')
		for k := range d {
			if k > 0 {
				b.WriteString(sep)
			}
			b.WriteString(strconv.FormatFloat(float64(float32(rng.NormFloat64())), 'g', -1, 32))
		}
		b.WriteByte(']')
		out[i] = []byte(b.String())
	}
	return out
}

// BenchmarkVectorText: one vector of the pgvector text form, the fast
// one-pass parser against the element-by-element one.
func BenchmarkVectorText(b *testing.B) {
	const d = 128
	texts := vectorTexts(256, d, ", ")
	size := 0
	for _, t := range texts {
		size += len(t)
	}
	v := make([]float32, d)
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(size))
		for range b.N {
			for _, t := range texts {
				if !textVectorFast(v, t) {
					b.Fatal("refused")
				}
			}
		}
	})
	b.Run("elems", func(b *testing.B) {
		b.SetBytes(int64(size))
		for range b.N {
			for _, t := range texts {
				if msg := textVectorElems(v, t[1:len(t)-1]); msg != "" {
					b.Fatal(msg)
				}
			}
		}
	})
	b.Run("json-fast", func(b *testing.B) {
		js := vectorTexts(256, d, ",")
		b.SetBytes(int64(size))
		for range b.N {
			for _, t := range js {
				if _, ok := jsonArrayFast(v, t, 1); !ok {
					b.Fatal("refused")
				}
			}
		}
	})
	b.Run("json-elems", func(b *testing.B) {
		js := vectorTexts(256, d, ",")
		b.SetBytes(int64(size))
		r := &jsonlReader{}
		c := col("v", vec(d))
		for range b.N {
			for _, t := range js {
				r.b, r.i = t, 1
				if _, err := r.vectorElems(c, v); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// checkVectorText: when the fast parser takes t, the element-by-element
// one must take it too, with the same bits.
func checkVectorText(t *testing.T, s string, dim int) bool {
	t.Helper()
	b := trimSpace([]byte(s))
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' || dim < 1 {
		return false
	}
	fast, slow := make([]float32, dim), make([]float32, dim)
	if !textVectorFast(fast, b) {
		return false
	}
	if msg := textVectorElems(slow, b[1:len(b)-1]); msg != "" {
		t.Fatalf("%q: fast parse took it, the careful one says %s", s, msg)
	}
	for k := range fast {
		if math.Float32bits(fast[k]) != math.Float32bits(slow[k]) {
			t.Fatalf("%q: element %d: fast %v, careful %v", s, k+1, fast[k], slow[k])
		}
	}
	return true
}

// checkJSONArray: the same for JSON arrays.
func checkJSONArray(t *testing.T, s string, dim int) bool {
	t.Helper()
	b := []byte(s)
	if len(b) < 1 || b[0] != '[' || dim < 1 {
		return false
	}
	fast, slow := make([]float32, dim), make([]float32, dim)
	end, ok := jsonArrayFast(fast, b, 1)
	if !ok {
		return false
	}
	r := &jsonlReader{b: b, i: 1}
	if _, err := r.vectorElems(col("v", vec(dim)), slow); err != nil {
		t.Fatalf("%q: fast parse took it, the careful one says %v", s, err)
	}
	if r.i != end {
		t.Fatalf("%q: fast parse ends at %d, the careful one at %d", s, end, r.i)
	}
	for k := range fast {
		if math.Float32bits(fast[k]) != math.Float32bits(slow[k]) {
			t.Fatalf("%q: element %d: fast %v, careful %v", s, k+1, fast[k], slow[k])
		}
	}
	return true
}

func TestVectorTextFast(t *testing.T) {
	// The forms of common writers are taken by the fast parser.
	for _, sep := range []string{", ", ",", " , ", "\t,\t"} {
		for _, s := range vectorTexts(50, 33, sep) {
			if !checkVectorText(t, string(s), 33) {
				t.Fatalf("fast parse refused %q", s)
			}
			if sep == "," && !checkJSONArray(t, string(s), 33) {
				t.Fatalf("fast JSON parse refused %q", s)
			}
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for range n {
		d := 1 + rng.IntN(4)
		var b strings.Builder
		b.WriteByte('[')
		for k := range d {
			if k > 0 {
				b.WriteString([]string{",", ", ", " ,", ",,", ""}[rng.IntN(5)])
			}
			x := nastyFloat(rng)
			b.WriteString([]string{"", " ", "\t", "+", "-"}[rng.IntN(5)])
			switch rng.IntN(5) {
			case 0:
				b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 32))
			case 1:
				b.WriteString(strconv.FormatFloat(float64(x), 'e', rng.IntN(12), 32))
			case 2:
				b.WriteString(strconv.FormatFloat(float64(x), 'f', rng.IntN(30), 64))
			case 3:
				b.WriteString(strconv.FormatFloat(float64(x)*(1+rng.NormFloat64()*1e-8), 'g', 9+rng.IntN(10), 64))
			default:
				b.WriteString([]string{"0", "-0", ".5", "5.", "00012", "1e", "0x1p3", "1_0", "NaN", "inf", "1e999", "1E-2"}[rng.IntN(12)])
			}
		}
		b.WriteString([]string{"]", " ]", ",]", "]]"}[rng.IntN(4)])
		s := b.String()
		for dim := d - 1; dim <= d+1; dim++ {
			checkVectorText(t, s, dim)
			checkJSONArray(t, s, dim)
		}
	}
}

func FuzzVectorText(f *testing.F) {
	for _, s := range []string{"[1, 2, 3]", "[-1.5e-7,0.1]", "[ 1 ]", "[1e-45, 3.4028235e38]", "[.5, 5., +1]", "[0012, 1E+2]"} {
		f.Add(s, uint8(2))
	}
	f.Fuzz(func(t *testing.T, s string, dim uint8) {
		checkVectorText(t, s, int(dim))
		checkJSONArray(t, s, int(dim))
	})
}
