package server

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/softdb/softdb"
	"github.com/softdb/softdb/types"
)

// Type OIDs of PostgreSQL (src/include/catalog/pg_type.dat).
const (
	oidUnknown  = 0
	oidBool     = 16
	oidInt8     = 20
	oidInt2     = 21
	oidInt4     = 23
	oidText     = 25
	oidFloat4   = 700
	oidFloat8   = 701
	oidFloat4Ar = 1021
	oidFloat8Ar = 1022
	oidVarchar  = 1043
	oidNumeric  = 1700
)

// oidOf is the wire type of a softdb column: INT is int8, FLOAT float8,
// TEXT text, VECTOR text in pgvector's form; a column typed only per value
// is text.
func oidOf(t softdb.ColumnType) uint32 {
	switch t.Kind {
	case "INT":
		return oidInt8
	case "FLOAT":
		return oidFloat8
	}
	return oidText
}

func typeSize(oid uint32) int16 {
	switch oid {
	case oidInt8, oidFloat8:
		return 8
	}
	return -1
}

// fields builds a RowDescription's fields.
func fields(cols []softdb.ColumnType) []pgproto3.FieldDescription {
	out := make([]pgproto3.FieldDescription, len(cols))
	for i, c := range cols {
		oid := oidOf(c)
		out[i] = pgproto3.FieldDescription{Name: []byte(c.Name), DataTypeOID: oid, DataTypeSize: typeSize(oid), TypeModifier: -1}
	}
	return out
}

// textFields is a RowDescription of text columns.
func textFields(names ...string) []pgproto3.FieldDescription {
	cols := make([]softdb.ColumnType, len(names))
	for i, n := range names {
		cols[i] = softdb.ColumnType{Name: n, Kind: "TEXT"}
	}
	return fields(cols)
}

// formatFloat writes a float8 as PostgreSQL does with extra_float_digits
// > 0: the shortest text that reads back to the same double, in
// exponent form below 1e-4 and from 1e15 (float8out's rule).
func formatFloat(f float64) string {
	a := math.Abs(f)
	if a == 0 || a >= 1e-4 && a < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'e', -1, 64)
}

// appendText appends a value's text form; ok is false for NULL.
func appendText(buf []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case nil:
		return buf, false
	case int64:
		return strconv.AppendInt(buf, x, 10), true
	case float64:
		return append(buf, formatFloat(x)...), true
	case string:
		return append(buf, x...), true
	case []float32:
		return append(buf, types.FormatVectorCompact(x)...), true
	case bool:
		if x {
			return append(buf, 't'), true
		}
		return append(buf, 'f'), true
	}
	return append(buf, fmt.Sprint(v)...), true
}

// encodeRow encodes one row for a DataRow: each value in its field's
// format (0 text, 1 binary).
func encodeRow(row []any, fs []pgproto3.FieldDescription, formats []int16, buf []byte) ([][]byte, []byte) {
	vals := make([][]byte, len(row))
	if buf == nil {
		// A slice of a nil buffer is nil, which the wire sends as NULL:
		// '' must stay a value of length 0.
		buf = make([]byte, 0, 256)
	}
	buf = buf[:0]
	starts := make([]int, len(row)+1)
	nulls := make([]bool, len(row))
	for i, v := range row {
		starts[i] = len(buf)
		format := formatFor(formats, i)
		var ok bool
		if format == 1 && i < len(fs) {
			buf, ok = appendBinary(buf, v, fs[i].DataTypeOID)
		} else {
			buf, ok = appendText(buf, v)
		}
		nulls[i] = !ok
	}
	starts[len(row)] = len(buf)
	for i := range row {
		if !nulls[i] {
			vals[i] = buf[starts[i]:starts[i+1]:starts[i+1]]
		}
	}
	return vals, buf
}

func appendBinary(buf []byte, v any, oid uint32) ([]byte, bool) {
	if v == nil {
		return buf, false
	}
	switch oid {
	case oidInt8:
		switch x := v.(type) {
		case int64:
			return binary.BigEndian.AppendUint64(buf, uint64(x)), true
		case float64:
			return binary.BigEndian.AppendUint64(buf, uint64(int64(x))), true
		}
	case oidFloat8:
		switch x := v.(type) {
		case float64:
			return binary.BigEndian.AppendUint64(buf, math.Float64bits(x)), true
		case int64:
			return binary.BigEndian.AppendUint64(buf, math.Float64bits(float64(x))), true
		}
	}
	// text's binary form is its text.
	return appendText(buf, v)
}

// isTextOID reports the types whose binary form is their text.
func isTextOID(oid uint32) bool {
	return oid == oidText || oid == oidVarchar || oid == oidUnknown
}

func formatFor(formats []int16, i int) int16 {
	switch len(formats) {
	case 0:
		return 0
	case 1:
		return formats[0]
	}
	if i < len(formats) {
		return formats[i]
	}
	return 0
}

// paramOID is the OID a placeholder is described with: int8 and float8
// for INT and FLOAT (clients then send them in binary), text for TEXT,
// unknown for VECTOR and untyped placeholders, so that a client sends a
// float4[] or a string as text ('{1,2,3}' or '[1,2,3]'), both accepted.
func paramOID(t softdb.ColumnType) uint32 {
	switch t.Kind {
	case "INT":
		return oidInt8
	case "FLOAT":
		return oidFloat8
	case "TEXT":
		return oidText
	}
	return oidUnknown
}

// decodeParam converts parameter $i+1 from the wire: raw is nil for
// NULL; oid is the client's or the described type; kind is what the
// statement uses the placeholder as ("" when it does not tell).
func decodeParam(i int, raw []byte, format int16, oid uint32, kind string) (any, error) {
	if raw == nil {
		return nil, nil
	}
	bad := func(format string, args ...any) error {
		return &pgError{code: "22P02", msg: fmt.Sprintf("parameter $%d: ", i+1) + fmt.Sprintf(format, args...)}
	}
	if format == 1 {
		switch oid {
		case oidInt8, oidInt4, oidInt2:
			n := map[uint32]int{oidInt8: 8, oidInt4: 4, oidInt2: 2}[oid]
			if len(raw) != n {
				return nil, bad("binary integer of %d bytes, expected %d", len(raw), n)
			}
			switch n {
			case 8:
				return int64(binary.BigEndian.Uint64(raw)), nil
			case 4:
				return int64(int32(binary.BigEndian.Uint32(raw))), nil
			}
			return int64(int16(binary.BigEndian.Uint16(raw))), nil
		case oidFloat8:
			if len(raw) != 8 {
				return nil, bad("binary float8 of %d bytes, expected 8", len(raw))
			}
			return math.Float64frombits(binary.BigEndian.Uint64(raw)), nil
		case oidFloat4:
			if len(raw) != 4 {
				return nil, bad("binary float4 of %d bytes, expected 4", len(raw))
			}
			return float64(math.Float32frombits(binary.BigEndian.Uint32(raw))), nil
		case oidBool:
			if len(raw) != 1 {
				return nil, bad("binary bool of %d bytes, expected 1", len(raw))
			}
			return int64(raw[0]), nil
		case oidFloat4Ar, oidFloat8Ar:
			return decodeArray(raw, bad)
		case oidText, oidVarchar, oidUnknown:
			return string(raw), nil
		}
		return nil, bad("binary format of type OID %d is not supported (send it as text)", oid)
	}
	s := string(raw)
	switch oid {
	case oidInt8, oidInt4, oidInt2:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, bad("invalid integer %q", clip(s))
		}
		return n, nil
	case oidFloat8, oidFloat4, oidNumeric:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, bad("invalid number %q", clip(s))
		}
		return f, nil
	case oidBool:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "t", "true", "1", "on", "yes", "y":
			return int64(1), nil
		case "f", "false", "0", "off", "no", "n":
			return int64(0), nil
		}
		return nil, bad("invalid boolean %q", clip(s))
	case oidFloat4Ar, oidFloat8Ar:
		v, err := types.ParseVector(s)
		if err != nil {
			return nil, bad("%v", err)
		}
		return v, nil
	case oidText, oidVarchar:
		return s, nil
	}
	// An untyped text parameter: what the statement uses it as decides.
	switch kind {
	case "INT":
		t := strings.TrimSpace(s)
		if n, err := strconv.ParseInt(t, 10, 64); err == nil {
			return n, nil
		}
		if f, err := strconv.ParseFloat(t, 64); err == nil {
			return f, nil // an integral float is accepted where an INT goes
		}
		return nil, bad("invalid integer %q", clip(s))
	case "FLOAT":
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, bad("invalid number %q", clip(s))
		}
		return f, nil
	case "TEXT", "VECTOR":
		return s, nil // a vector's text is parsed where it is used
	}
	t := strings.TrimSpace(s)
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		return n, nil
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return f, nil
	}
	if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
		if v, err := types.ParseVector(t); err == nil {
			return v, nil
		}
	}
	return s, nil
}

// decodeArray reads a one-dimensional float4[] or float8[] in binary
// (array_recv: ndim, has-null flag, element OID, then per dimension its
// length and lower bound, then each element as length and bytes).
func decodeArray(raw []byte, bad func(string, ...any) error) (any, error) {
	if len(raw) < 12 {
		return nil, bad("binary array of %d bytes is too short", len(raw))
	}
	ndim := int32(binary.BigEndian.Uint32(raw))
	elem := binary.BigEndian.Uint32(raw[8:])
	if ndim == 0 {
		return nil, bad("empty array: a vector needs at least 1 element")
	}
	if ndim != 1 || len(raw) < 20 {
		return nil, bad("array of %d dimensions: a vector is one-dimensional", ndim)
	}
	n := int64(int32(binary.BigEndian.Uint32(raw[12:])))
	if n < 1 || n > types.MaxDim {
		return nil, bad("array of %d elements: a vector has 1 to %d", n, types.MaxDim)
	}
	size := map[uint32]int{oidFloat4: 4, oidFloat8: 8}[elem]
	if size == 0 {
		return nil, bad("array of element type OID %d: a vector is float4[] or float8[]", elem)
	}
	p := raw[20:]
	if int64(len(p)) != n*int64(4+size) {
		return nil, bad("binary array: %d bytes for %d elements", len(p), n)
	}
	out := make([]float32, n)
	for i := range out {
		l := int32(binary.BigEndian.Uint32(p))
		if l < 0 {
			return nil, bad("element %d is NULL: vectors have no NULL elements", i+1)
		}
		if int(l) != size {
			return nil, bad("element %d has %d bytes, expected %d", i+1, l, size)
		}
		var f float64
		if size == 4 {
			f = float64(math.Float32frombits(binary.BigEndian.Uint32(p[4:])))
		} else {
			f = math.Float64frombits(binary.BigEndian.Uint64(p[4:]))
		}
		x, err := types.CheckElement(f)
		if err != nil {
			return nil, bad("element %d: %v", i+1, err)
		}
		out[i] = x
		p = p[4+size:]
	}
	return out, nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}
