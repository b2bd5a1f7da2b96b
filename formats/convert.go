package formats

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/softdb/softdb/types"
)

// The rules every value passes on the way in, whatever the format:
// vector elements are finite float32 (float64 sources must fit), FLOAT
// values are finite, INT values fit int64 and may come from a float only
// when it is integral, TEXT is valid UTF-8.

// bstr views b as a string without copying, for strconv calls that do not
// keep their argument (their errors copy it).
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

var (
	errVecNaN = errors.New("NaN is not allowed in a vector")
	errVecInf = errors.New("infinite value is not allowed in a vector")
)

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// fastF32 parses the common decimal forms ("-0.1234567", "1.5e-07") without
// strconv, and reports ok=false for anything else or anything it cannot
// round exactly as strconv would. D·10^q with D < 2^53 and |q| ≤ 22 is
// rounded once to float64 (both factors are exact); rounding that to
// float32 is then correct unless it landed exactly on a float32 midpoint,
// which is checked. Subnormal and overflowing results go to strconv.
func fastF32(b []byte) (float32, bool) {
	i, neg := 0, false
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		neg = b[i] == '-'
		i++
	}
	var d uint64
	q := 0 // decimal exponent
	start := i
	i, d = digitRun(b, i, d)
	if d > 1e18 {
		return 0, false
	}
	some := i > start
	if i < len(b) && b[i] == '.' {
		i++
		j := i
		i, d = digitRun(b, i, d)
		if d > 1e18 {
			return 0, false
		}
		q -= i - j
		some = some || i > j
	}
	if !some {
		return 0, false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		eneg := false
		if i < len(b) && (b[i] == '-' || b[i] == '+') {
			eneg = b[i] == '-'
			i++
		}
		e, j := 0, i
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if e > 1000 {
				return 0, false
			}
			e = e*10 + int(b[i]-'0')
		}
		if i == j {
			return 0, false
		}
		if eneg {
			e = -e
		}
		q += e
	}
	if i != len(b) {
		return 0, false
	}
	return finishF32(d, q, neg)
}

// finishF32 rounds ±d·10^q to float32 when that can be done exactly in
// float64 arithmetic (see fastF32).
func finishF32(d uint64, q int, neg bool) (float32, bool) {
	if d == 0 {
		if neg {
			return float32(math.Copysign(0, -1)), true
		}
		return 0, true
	}
	if d >= 1<<53 || q < -22 || q > 22 {
		return 0, false
	}
	f := float64(d)
	if q < 0 {
		f /= pow10[-q]
	} else {
		f *= pow10[q]
	}
	bits := math.Float64bits(f)
	if f < 0x1p-126 || f >= 0x1p127 || bits&(1<<29-1) == 1<<28 {
		return 0, false
	}
	// The sign of data is a coin toss: set it without a branch.
	return math.Float32frombits(math.Float32bits(float32(f)) | uint32(b2u(neg))<<31), true
}

// b2u is 1 for true, 0 for false, without a branch.
func b2u(b bool) uint8 { return *(*uint8)(unsafe.Pointer(&b)) }

// digitRun appends the decimal digits at b[i:] to d, eight at a time where
// it can. It stops early (leaving d > 1e18) when d would overflow.
func digitRun(b []byte, i int, d uint64) (int, uint64) {
	for len(b)-i >= 8 && d < 1e10 {
		v, ok := eightDigits(b[i:])
		if !ok {
			break
		}
		d = d*1e8 + v
		i += 8
	}
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if d >= 1e17 {
			return i, math.MaxUint64
		}
		d = d*10 + uint64(b[i]-'0')
	}
	return i, d
}

// eightDigits reads eight ASCII digits at once (the SWAR method of
// simdjson's parse_eight_digits_unrolled).
func eightDigits(b []byte) (uint64, bool) {
	x := binary.LittleEndian.Uint64(b)
	if (x&0xF0F0F0F0F0F0F0F0)|(((x+0x0606060606060606)&0xF0F0F0F0F0F0F0F0)>>4) != 0x3333333333333333 {
		return 0, false
	}
	x -= 0x3030303030303030
	x = x*10 + x>>8
	x = ((x&0x000000FF000000FF)*(100+1000000<<32) + (x>>16&0x000000FF000000FF)*(1+10000<<32)) >> 32
	return x, true
}

// parseF32 parses one vector element from text, rounding once to float32.
func parseF32(b []byte) (float32, error) {
	if x, ok := fastF32(b); ok {
		return x, nil
	}
	f, err := strconv.ParseFloat(bstr(b), 32)
	if err != nil {
		if len(b) == 0 {
			return 0, errors.New("empty element")
		}
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%s is out of range for float32", b)
		}
		return 0, fmt.Errorf("%s is not a number", quote(b))
	}
	x := float32(f)
	if !finite32(x) {
		if x != x {
			return 0, errVecNaN
		}
		return 0, errVecInf
	}
	return x, nil
}

func finite32(x float32) bool { return math.Float32bits(x)&0x7f800000 != 0x7f800000 }

// checkF32 rejects a non-finite float32 element.
func checkF32(x float32) error {
	if finite32(x) {
		return nil
	}
	if x != x {
		return errVecNaN
	}
	return errVecInf
}

// firstNonFinite returns the index of the first NaN or ±Inf in v, or -1.
func firstNonFinite(v []float32) int {
	u := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(v))), len(v))
	for i, b := range u {
		if b&0x7f800000 == 0x7f800000 {
			return i
		}
	}
	return -1
}

// elemErr phrases a bad vector element: "element 3: NaN is not allowed…".
func elemErr(i int, err error) string { return fmt.Sprintf("element %d: %v", i+1, err) }

// parseF64 parses a FLOAT value.
func parseF64(b []byte) (float64, error) {
	f, err := strconv.ParseFloat(bstr(b), 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%s is out of range for FLOAT", b)
		}
		return 0, fmt.Errorf("%s is not a number", quote(b))
	}
	return f, checkF64(f)
}

func checkF64(f float64) error {
	if math.IsNaN(f) {
		return errors.New("NaN is not allowed")
	}
	if math.IsInf(f, 0) {
		return errors.New("infinite value is not allowed")
	}
	return nil
}

// parseInt parses an INT value; "3.0" and "1e3" are accepted because they
// are integral, "3.5" is not.
func parseInt(b []byte) (int64, error) {
	i, err := strconv.ParseInt(bstr(b), 10, 64)
	if err == nil {
		return i, nil
	}
	if errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("%s is out of range for INT", b)
	}
	f, ferr := strconv.ParseFloat(bstr(b), 64)
	if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%s is not an integer", quote(b))
	}
	return floatToInt(f)
}

// floatToInt converts an integral float to INT.
func floatToInt(f float64) (int64, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) {
		return 0, fmt.Errorf("%s is not an integer", types.FormatFloat(f))
	}
	if f < -(1<<63) || f >= 1<<63 {
		return 0, fmt.Errorf("%s is out of range for INT", types.FormatFloat(f))
	}
	return int64(f), nil
}

// f64ToElem converts a float64 source element to float32.
func f64ToElem(f float64) (float32, error) { return types.CheckElement(f) }

// textValue copies b into a TEXT value after checking it is UTF-8.
func textValue(b []byte) (types.Value, error) {
	if !utf8.Valid(b) {
		return types.Value{}, errors.New("invalid UTF-8 in text")
	}
	return types.TextValue(string(b)), nil
}

// half converts an IEEE 754 binary16 to float32 (exactly).
func half(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0:
		// ±0 or subnormal: man · 2⁻²⁴
		f := float32(man) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}
