// Package types holds softdb's column types and the Value that carries one
// cell between the layers (parser literals, storage records, file formats,
// executor). It knows nothing of tables, SQL or files.
package types

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind is the type of a column or of a value.
type Kind uint8

const (
	Null   Kind = iota // only for values: SQL NULL
	Int                // int64
	Float              // float64
	Text               // UTF-8 string
	Vector             // []float32 of a fixed dimension
)

// InvalidUTF8 returns the offset of s's first byte that does not start a
// valid UTF-8 sequence, or -1 when s is UTF-8. TEXT is UTF-8 everywhere
// (statements, arguments, imports): invalid bytes would come back from
// an export as U+FFFD, or not at all.
func InvalidUTF8(s string) int {
	if utf8.ValidString(s) {
		return -1
	}
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				return i
			}
		}
	}
	return -1 // not reached: s is not valid
}

// MaxDim is the largest VECTOR dimension (SPEC §1).
const MaxDim = 65536

func (k Kind) String() string {
	switch k {
	case Null:
		return "NULL"
	case Int:
		return "INT"
	case Float:
		return "FLOAT"
	case Text:
		return "TEXT"
	case Vector:
		return "VECTOR"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Type is a column type: a kind and, for VECTOR, its dimension.
type Type struct {
	Kind Kind
	Dim  int // VECTOR only
}

func (t Type) String() string {
	if t.Kind == Vector {
		return fmt.Sprintf("VECTOR(%d)", t.Dim)
	}
	return t.Kind.String()
}

// Value is one cell. The zero Value is NULL. A Vector value's slice is
// shared, never mutated after construction: copy it before changing it.
type Value struct {
	K Kind
	I int64
	F float64
	S string
	V []float32
}

// Constructors.
func IntValue(i int64) Value        { return Value{K: Int, I: i} }
func FloatValue(f float64) Value    { return Value{K: Float, F: f} }
func TextValue(s string) Value      { return Value{K: Text, S: s} }
func VectorValue(v []float32) Value { return Value{K: Vector, V: v} }

// IsNull reports whether v is SQL NULL.
func (v Value) IsNull() bool { return v.K == Null }

// AsFloat returns a numeric value as float64; ok is false for other kinds.
func (v Value) AsFloat() (float64, bool) {
	switch v.K {
	case Int:
		return float64(v.I), true
	case Float:
		return v.F, true
	}
	return 0, false
}

// String renders the value as softdb prints it: shortest round-trip floats,
// vectors in the pgvector text form, NULL as "NULL".
func (v Value) String() string {
	switch v.K {
	case Null:
		return "NULL"
	case Int:
		return strconv.FormatInt(v.I, 10)
	case Float:
		return FormatFloat(v.F)
	case Text:
		return v.S
	case Vector:
		return FormatVector(v.V)
	}
	return "?"
}

// FormatFloat prints f in the shortest form that reads back to the same
// float64.
func FormatFloat(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// FormatFloat32 prints f in the shortest form that reads back to the same
// float32.
func FormatFloat32(f float32) string {
	return strconv.FormatFloat(float64(f), 'g', -1, 32)
}

// FormatVector prints v as "[1, 2.5, -0.03]" (pgvector's text form with a
// space after each comma, as SPEC §1 writes it).
func FormatVector(v []float32) string { return formatVector(v, ", ") }

// FormatVectorCompact prints v as "[1,2.5,-0.03]", pgvector's output form
// without spaces (the wire and JSON forms).
func FormatVectorCompact(v []float32) string { return formatVector(v, ",") }

func formatVector(v []float32, sep string) string {
	var b strings.Builder
	b.Grow(len(v)*10 + 2)
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(FormatFloat32(x))
	}
	b.WriteByte(']')
	return b.String()
}

// VectorError explains why a vector text or element was rejected.
type VectorError struct {
	Offset int // byte offset in the text, -1 when not applicable
	Msg    string
}

func (e *VectorError) Error() string { return e.Msg }

// ParseVector reads the pgvector text form "[1, 2.5, -3e-2]", or the array
// literal "{1, 2.5, -3e-2}". It rejects
// NaN, ±Inf, values that overflow float32, empty vectors, and anything
// malformed, with a message that quotes the offending element.
func ParseVector(s string) ([]float32, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
		// An array literal, as PostgreSQL clients send a float4[] parameter.
		t = "[" + t[1:len(t)-1] + "]"
	}
	if !strings.HasPrefix(t, "[") {
		return nil, &VectorError{0, fmt.Sprintf("malformed vector %q: must start with \"[\"", clip(s))}
	}
	if !strings.HasSuffix(t, "]") {
		return nil, &VectorError{len(t), fmt.Sprintf("malformed vector %q: must end with \"]\"", clip(s))}
	}
	body := t[1 : len(t)-1]
	if strings.TrimSpace(body) == "" {
		return nil, &VectorError{1, "vector must have at least 1 dimension"}
	}
	parts := strings.Split(body, ",")
	if len(parts) > MaxDim {
		return nil, &VectorError{-1, fmt.Sprintf("vector has %d dimensions, more than the maximum %d", len(parts), MaxDim)}
	}
	out := make([]float32, len(parts))
	off := 1
	for i, p := range parts {
		f, err := ParseElement(strings.TrimSpace(p))
		if err != nil {
			return nil, &VectorError{off, fmt.Sprintf("malformed vector %q: element %d: %v", clip(s), i+1, err)}
		}
		out[i] = f
		off += len(p) + 1
	}
	return out, nil
}

// ParseElement reads one vector element and checks it is a finite float32.
func ParseElement(p string) (float32, error) {
	if p == "" {
		return 0, fmt.Errorf("empty element")
	}
	// Rounded once, straight to float32 (parsing to float64 first could
	// round twice and store other bits than COPY does for the same text).
	f, err := strconv.ParseFloat(p, 32)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("%s is out of range for float32", p)
		}
		return 0, fmt.Errorf("%q is not a number", p)
	}
	return CheckElement(f)
}

// CheckElement converts f to float32, rejecting NaN, ±Inf and overflow.
func CheckElement(f float64) (float32, error) {
	if math.IsNaN(f) {
		return 0, fmt.Errorf("NaN is not allowed in a vector")
	}
	if math.IsInf(f, 0) {
		return 0, fmt.Errorf("infinite value is not allowed in a vector")
	}
	x := float32(f)
	if math.IsInf(float64(x), 0) {
		return 0, fmt.Errorf("%s is out of range for float32", FormatFloat(f))
	}
	return x, nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}
