package formats

import (
	"encoding/binary"
	"math/bits"
)

// One-pass parsing of a whole text vector, "[0.5, -1.25, 3]" (csv, and
// jsonl's pgvector strings) or a JSON array [0.5,-1.25,3]: the common
// case of every vector cell of an export, at a few nanoseconds an
// element. They accept a subset of what the element-by-element parsers
// accept, and give the same float32 for it; anything else (an error, a
// hexadecimal float, twenty digits) makes them report false, and the
// caller goes the careful way, which also words the error.

// leadingDigits returns how many of the 8 bytes of x (little-endian: the
// first byte of the text is the lowest) are leading ASCII digits, and
// their value. A byte c is a digit when its high nibble is 3 and that of
// c+6 is too. The carry of c+6 and the borrow of c-'0' only ever move
// into later bytes, so they can spoil bytes after the first non-digit
// only, and those are shifted out.
func leadingDigits(x uint64) (int, uint64) {
	const hi = 0xF0F0F0F0F0F0F0F0
	m := (x&hi ^ 0x3030303030303030) | ((x+0x0606060606060606)&hi ^ 0x3030303030303030)
	n := bits.TrailingZeros64(m) >> 3 // 8 when all are digits
	if n == 0 {
		return 0, 0
	}
	// The n digits go to the top bytes, zeros below them are leading
	// zeros, and eightDigits' reduction reads them as one number.
	y := (x - 0x3030303030303030) << (64 - 8*uint(n))
	y = y*10 + y>>8
	y = ((y&0x000000FF000000FF)*(100+1000000<<32) + (y>>16&0x000000FF000000FF)*(1+10000<<32)) >> 32
	return n, y
}

// pow10u are the powers of ten that fit uint64, up to the 8 digits of one
// leadingDigits step.
var pow10u = [...]uint64{1, 10, 100, 1000, 1e4, 1e5, 1e6, 1e7, 1e8}

// digitsAt appends the decimal digits at b[i:] to d. It gives up (ok
// false) when d could overflow, well before: d stays below 10¹⁸.
func digitsAt(b []byte, i int, d uint64) (int, uint64, bool) {
	for len(b)-i >= 8 {
		if d >= 1e10 {
			return i, d, false
		}
		n, v := leadingDigits(binary.LittleEndian.Uint64(b[i:]))
		d = d*pow10u[n] + v
		i += n
		if n < 8 {
			return i, d, true
		}
	}
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if d >= 1e17 {
			return i, d, false
		}
		d = d*10 + uint64(b[i]-'0')
	}
	return i, d, true
}

// exponentAt reads the exponent digits of a number at b[i:] (after 'e'
// and its sign): at least one, at most three, so that |e| < 1000.
func exponentAt(b []byte, i int) (int, int, bool) {
	e, j := 0, i
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if i-j == 3 {
			return i, 0, false
		}
		e = e*10 + int(b[i]-'0')
	}
	return i, e, i > j
}

// textVectorFast parses t, a vector in the pgvector text form already
// trimmed and known to start with '[' and end with ']', into v, which
// has the column's dimension. It reports false unless t has exactly
// len(v) elements, each of the decimal forms fastF32 takes and rounds
// itself, separated by commas with spaces or tabs around them; for such
// a t, parseVectorText's own loop gives the same v.
func textVectorFast(v []float32, t []byte) bool {
	end := len(t) - 1 // the ']'
	b := t[:end]
	i := 1
	for k := range v {
		for i < end && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		// t[end] is the ']', so t[i] is there; no branch on the sign.
		c := t[i]
		neg := c == '-'
		i += int(b2u((c-'+')&^2 == 0)) // '+' or '-'
		j := i
		var d uint64
		var ok bool
		if i, d, ok = digitsAt(b, i, 0); !ok {
			return false
		}
		some := i > j
		q := 0
		if i < end && b[i] == '.' {
			i++
			f := i
			if i, d, ok = digitsAt(b, i, d); !ok {
				return false
			}
			q = f - i
			some = some || i > f
		}
		if !some {
			return false
		}
		if i < end && (b[i] == 'e' || b[i] == 'E') {
			i++
			eneg := false
			if i < end && (b[i] == '-' || b[i] == '+') {
				eneg = b[i] == '-'
				i++
			}
			var e int
			if i, e, ok = exponentAt(b, i); !ok {
				return false
			}
			if eneg {
				e = -e
			}
			q += e
		}
		x, ok := finishF32(d, q, neg)
		if !ok {
			return false // subnormal, huge or a rounding tie: strconv's
		}
		v[k] = x
		for i < end && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		if k == len(v)-1 {
			return i == end
		}
		if i == end || b[i] != ',' {
			return false
		}
		i++
	}
	return false
}

// jsonArrayFast parses the JSON array of numbers at b[i:] (after its
// '[') into v, which has the column's dimension, and returns the offset
// after its ']'. It reports false unless the array has exactly len(v)
// elements, each a JSON number; for such an array float32Elem gives the
// same elements, and the reader's vector loop the same v.
func jsonArrayFast(v []float32, b []byte, i int) (int, bool) {
	for k := range v {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
			i++
		}
		start := i
		if i == len(b) {
			return i, false
		}
		neg := b[i] == '-'
		i += int(b2u(neg))
		var d uint64
		ok := true
		switch {
		case i < len(b) && b[i] == '0':
			i++
		case i < len(b) && b[i] >= '1' && b[i] <= '9':
			if i, d, ok = digitsAt(b, i, 0); !ok {
				return i, false
			}
		default:
			return i, false
		}
		q := 0
		if i < len(b) && b[i] == '.' {
			i++
			f := i
			if i, d, ok = digitsAt(b, i, d); !ok || i == f {
				return i, false
			}
			q = f - i
		}
		if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
			i++
			eneg := false
			if i < len(b) && (b[i] == '-' || b[i] == '+') {
				eneg = b[i] == '-'
				i++
			}
			var e int
			if i, e, ok = exponentAt(b, i); !ok {
				return i, false
			}
			if eneg {
				e = -e
			}
			q += e
		}
		x, ok := finishF32(d, q, neg)
		if !ok {
			// As float32Elem: strconv, for subnormals and the like.
			y, err := parseF32(b[start:i])
			if err != nil {
				return i, false
			}
			x = y
		}
		v[k] = x
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
			i++
		}
		if i == len(b) {
			return i, false
		}
		if k == len(v)-1 {
			return i + 1, b[i] == ']'
		}
		if b[i] != ',' {
			return i, false
		}
		i++
	}
	return i, false
}
