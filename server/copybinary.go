package server

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/softdb/softdb/types"
)

// copySignature opens PostgreSQL's binary COPY format (the COPY
// reference page, "Binary Format"): the signature, then a 32-bit flags
// field and a 32-bit header extension length.
const copySignature = "PGCOPY\n\xff\r\n\x00"

// convertBinaryToCSV turns COPY's binary format (what pgx's CopyFrom
// sends) into softdb's csv, so that the load goes through softdb's COPY
// and is atomic and checked as any COPY is. Each field is read as the
// column's wire type: INT as int8 (or int4, int2), FLOAT as float8 (or
// float4), TEXT as text, and VECTOR as a float4[] or float8[] array or as
// the text '[1,2,3]'; kinds are the columns' (INT, FLOAT, TEXT, VECTOR).
func convertBinaryToCSV(r *bufio.Reader, out io.Writer, cols, kinds []string, table string) error {
	bad := func(row int, col string, format string, args ...any) error {
		where := fmt.Sprintf("COPY %s FROM STDIN (binary)", table)
		if row > 0 {
			where += fmt.Sprintf(", row %d", row)
		}
		if col != "" {
			where += fmt.Sprintf(", column %s", col)
		}
		return &pgError{code: "22P04", msg: where + ": " + fmt.Sprintf(format, args...)}
	}
	head := make([]byte, len(copySignature)+8)
	if _, err := io.ReadFull(r, head); err != nil || string(head[:len(copySignature)]) != copySignature {
		return bad(0, "", "the data do not start with the binary COPY signature")
	}
	if flags := binary.BigEndian.Uint32(head[len(copySignature):]); flags&(1<<16) != 0 {
		return bad(0, "", "rows with OIDs are not supported")
	}
	ext := binary.BigEndian.Uint32(head[len(copySignature)+4:])
	if _, err := io.CopyN(io.Discard, r, int64(ext)); err != nil {
		return bad(0, "", "the header extension of %d bytes is cut short", ext)
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	rec := make([]string, len(cols))
	nulls := make([]bool, len(cols))
	var word [4]byte
	var field []byte
	for row := 1; ; row++ {
		// The trailer (-1) may be left out: PostgreSQL, like pgx's
		// CopyFrom, takes the end of the data at a row's start as the end
		// (copyfromparse.c, CopyFromBinaryOneRow).
		k, err := io.ReadFull(r, word[:2])
		if k == 0 && err == io.EOF {
			return bw.Flush()
		}
		if err != nil {
			return bad(row, "", "the data end inside a field count")
		}
		n := int16(binary.BigEndian.Uint16(word[:2]))
		if n == -1 {
			break
		}
		if int(n) != len(cols) {
			return bad(row, "", "%d fields, expected %d (%s)", n, len(cols), strings.Join(cols, ", "))
		}
		for i := range cols {
			if _, err := io.ReadFull(r, word[:4]); err != nil {
				return bad(row, cols[i], "the data end inside the row")
			}
			l := int32(binary.BigEndian.Uint32(word[:4]))
			if l == -1 {
				rec[i], nulls[i] = "", true
				continue
			}
			// A field is at most a vector of MaxDim float8 elements with
			// their lengths and the array header, or a text of the
			// statement limit's size; anything longer is damage.
			if l < 0 || l > 64<<20 {
				return bad(row, cols[i], "field length %d", l)
			}
			if cap(field) < int(l) {
				field = make([]byte, l)
			}
			field = field[:l]
			if _, err := io.ReadFull(r, field); err != nil {
				return bad(row, cols[i], "the data end inside a field of %d bytes", l)
			}
			s, err := binaryFieldText(field, kinds[i])
			if err != nil {
				return bad(row, cols[i], "%v", err)
			}
			rec[i], nulls[i] = s, false
		}
		i := 0
		if err := writeCSVRecord(bw, rec, func(string) bool { i++; return nulls[i-1] }); err != nil {
			return err
		}
	}
	// Nothing may follow the trailer but the end of the data.
	if _, err := r.ReadByte(); err != io.EOF {
		return bad(0, "", "data follow the trailer")
	}
	return bw.Flush()
}

// binaryFieldText is a binary field as softdb's csv text of a column of
// kind INT, FLOAT, TEXT or VECTOR.
func binaryFieldText(f []byte, kind string) (string, error) {
	switch {
	case kind == "INT":
		switch len(f) {
		case 8:
			return strconv.FormatInt(int64(binary.BigEndian.Uint64(f)), 10), nil
		case 4:
			return strconv.FormatInt(int64(int32(binary.BigEndian.Uint32(f))), 10), nil
		case 2:
			return strconv.FormatInt(int64(int16(binary.BigEndian.Uint16(f))), 10), nil
		}
		return "", fmt.Errorf("an integer of %d bytes (int8, int4 or int2 expected)", len(f))
	case kind == "FLOAT":
		var x float64
		switch len(f) {
		case 8:
			x = math.Float64frombits(binary.BigEndian.Uint64(f))
		case 4:
			x = float64(math.Float32frombits(binary.BigEndian.Uint32(f)))
		default:
			return "", fmt.Errorf("a float of %d bytes (float8 or float4 expected)", len(f))
		}
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return "", fmt.Errorf("%v is not a finite FLOAT", x)
		}
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case kind == "VECTOR" && len(f) > 0 && f[0] == 0:
		// A binary array's first field is its dimension count, a small
		// number, so its first byte is 0; a vector's text starts with
		// '[' or '{'.
		v, err := decodeArray(f, func(format string, args ...any) error { return fmt.Errorf(format, args...) })
		if err != nil {
			return "", err
		}
		return types.FormatVectorCompact(v.([]float32)), nil
	}
	if bytes.IndexByte(f, 0) >= 0 {
		return "", errors.New("a NUL byte in text")
	}
	return string(f), nil
}
