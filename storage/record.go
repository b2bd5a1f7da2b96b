package storage

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"unsafe"

	"github.com/softdb/softdb/types"
)

// Key layout (docs/storage-format.md):
//
//	"mformat"          → uvarint database format version
//	"mnexttable"       → 8-byte big-endian next table ID
//	"c" + lower(name)  → catalog entry (JSON)
//	"r" + id + rowid   → record (id, rowid: 8-byte big-endian)
const (
	formatVersion = 1 // value of "mformat"
	recordVersion = 1 // first byte of every record
)

var (
	keyFormat    = []byte("mformat")
	keyNextTable = []byte("mnexttable")
)

const (
	prefixCatalog = 'c'
	prefixRow     = 'r'
	rowKeyLen     = 17
)

func catalogKey(name string) []byte {
	return append([]byte{prefixCatalog}, strings.ToLower(name)...)
}

func putRowKey(dst []byte, id uint64, rowid int64) {
	dst[0] = prefixRow
	binary.BigEndian.PutUint64(dst[1:9], id)
	binary.BigEndian.PutUint64(dst[9:17], uint64(rowid))
}

func rowKey(id uint64, rowid int64) []byte {
	k := make([]byte, rowKeyLen)
	putRowKey(k, id, rowid)
	return k
}

// tableSpan returns the key range [lo, hi) holding table id's rows.
func tableSpan(id uint64) (lo, hi []byte) {
	lo = make([]byte, 9)
	lo[0] = prefixRow
	binary.BigEndian.PutUint64(lo[1:], id)
	hi = make([]byte, 9)
	hi[0] = prefixRow
	binary.BigEndian.PutUint64(hi[1:], id+1)
	return lo, hi
}

// Field tags of a record.
const (
	tagNull   = 0
	tagInt    = 1 // zig-zag varint
	tagFloat  = 2 // 8 bytes, little-endian IEEE 754 bits
	tagText   = 3 // uvarint length, bytes
	tagVector = 4 // uvarint dim, dim × 4 bytes little-endian float32
)

// littleEndian reports whether float32 slices can be copied as bytes.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

func f32bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func zigzag(x int64) uint64 { return uint64(x<<1) ^ uint64(x>>63) }

// recordSize returns the encoded size of row.
func recordSize(row []types.Value) int {
	n := 1
	for i := range row {
		v := &row[i]
		n++
		switch v.K {
		case types.Int:
			n += uvarintLen(zigzag(v.I))
		case types.Float:
			n += 8
		case types.Text:
			n += uvarintLen(uint64(len(v.S))) + len(v.S)
		case types.Vector:
			n += uvarintLen(uint64(len(v.V))) + 4*len(v.V)
		}
	}
	return n
}

// appendRecord appends the encoding of row to dst.
func appendRecord(dst []byte, row []types.Value) []byte {
	dst = append(dst, recordVersion)
	for i := range row {
		v := &row[i]
		switch v.K {
		case types.Null:
			dst = append(dst, tagNull)
		case types.Int:
			dst = append(dst, tagInt)
			dst = binary.AppendUvarint(dst, zigzag(v.I))
		case types.Float:
			dst = append(dst, tagFloat)
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.F))
		case types.Text:
			dst = append(dst, tagText)
			dst = binary.AppendUvarint(dst, uint64(len(v.S)))
			dst = append(dst, v.S...)
		case types.Vector:
			dst = append(dst, tagVector)
			dst = binary.AppendUvarint(dst, uint64(len(v.V)))
			if littleEndian {
				dst = append(dst, f32bytes(v.V)...)
			} else {
				for _, x := range v.V {
					dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(x))
				}
			}
		default:
			panic("storage: invalid value kind")
		}
	}
	return dst
}

var (
	errRecordEmpty   = errors.New("empty record")
	errRecordVersion = errors.New("unknown record format version")
	errRecordTrunc   = errors.New("truncated record")
	errRecordVarint  = errors.New("malformed varint in record")
	errRecordTag     = errors.New("unknown field tag in record")
	errRecordDim     = errors.New("vector dimension out of range in record")
)

// field is one decoded field; raw aliases the record for text and vectors.
type field struct {
	tag byte
	i   int64
	f   float64
	raw []byte // text bytes, or dim×4 vector bytes
	dim int
}

// readField decodes the field at b[off:] and returns the offset after it.
// It never panics on malformed input.
func readField(b []byte, off int) (field, int, error) {
	var fd field
	if off >= len(b) {
		return fd, off, errRecordTrunc
	}
	fd.tag = b[off]
	off++
	switch fd.tag {
	case tagNull:
	case tagInt:
		u, n := binary.Uvarint(b[off:])
		if n <= 0 {
			return fd, off, errRecordVarint
		}
		off += n
		fd.i = int64(u>>1) ^ -int64(u&1)
	case tagFloat:
		if len(b)-off < 8 {
			return fd, off, errRecordTrunc
		}
		fd.f = math.Float64frombits(binary.LittleEndian.Uint64(b[off:]))
		off += 8
	case tagText:
		u, n := binary.Uvarint(b[off:])
		if n <= 0 {
			return fd, off, errRecordVarint
		}
		off += n
		if u > uint64(len(b)-off) {
			return fd, off, errRecordTrunc
		}
		fd.raw = b[off : off+int(u)]
		off += int(u)
	case tagVector:
		u, n := binary.Uvarint(b[off:])
		if n <= 0 {
			return fd, off, errRecordVarint
		}
		off += n
		if u < 1 || u > types.MaxDim {
			return fd, off, errRecordDim
		}
		fd.dim = int(u)
		if 4*u > uint64(len(b)-off) {
			return fd, off, errRecordTrunc
		}
		fd.raw = b[off : off+4*fd.dim]
		off += 4 * fd.dim
	default:
		return fd, off, errRecordTag
	}
	return fd, off, nil
}

// decodeFloat32s copies little-endian float32 bytes src into dst.
func decodeFloat32s(dst []float32, src []byte) {
	if littleEndian {
		copy(f32bytes(dst), src)
		return
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

// decodeRecord decodes a whole record without a schema. Corrupt input
// yields an error, never a panic.
func decodeRecord(b []byte) ([]types.Value, error) {
	if len(b) == 0 {
		return nil, errRecordEmpty
	}
	if b[0] != recordVersion {
		return nil, errRecordVersion
	}
	var row []types.Value
	for off := 1; off < len(b); {
		fd, next, err := readField(b, off)
		if err != nil {
			return nil, err
		}
		off = next
		switch fd.tag {
		case tagNull:
			row = append(row, types.Value{})
		case tagInt:
			row = append(row, types.IntValue(fd.i))
		case tagFloat:
			row = append(row, types.FloatValue(fd.f))
		case tagText:
			row = append(row, types.TextValue(string(fd.raw)))
		case tagVector:
			v := make([]float32, fd.dim)
			decodeFloat32s(v, fd.raw)
			row = append(row, types.VectorValue(v))
		}
	}
	return row, nil
}

// kindTag maps a column kind to its record tag.
func kindTag(k types.Kind) byte {
	switch k {
	case types.Int:
		return tagInt
	case types.Float:
		return tagFloat
	case types.Text:
		return tagText
	case types.Vector:
		return tagVector
	}
	return 0xff
}
