package formats

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"unsafe"

	"github.com/softdb/softdb/types"
)

// The TEXMEX vector files (fvecs, ivecs, bvecs): per record a little-endian
// int32 dimension, then that many elements: float32, int32 or uint8.

func vecsElemSize(f Format) int {
	if f == Bvecs {
		return 1
	}
	return 4
}

type vecsReader struct {
	src      io.ReadCloser
	path     string
	f        Format
	col      Column
	dim      int
	rowBytes int
	rows     int64 // -1 when the size is unknown
	left     int64 // bytes not yet read, when the size is known; else -1
	rec      int64 // records returned
	head     []byte
	fast     bool // fvecs on a little-endian machine: no copy

	words []uint32 // fast path: the current block, fresh per block
	raw   []byte   // other formats: the current block, reused
	have  int
	next  int
	tail  error
	eof   bool
	ar    arena
}

const vecsBlock = 4 << 20

func newVecsReader(src io.ReadCloser, size int64, path string, f Format, col Column) (*vecsReader, error) {
	r := &vecsReader{src: src, path: path, f: f, col: col, rows: -1, left: -1}
	var h [4]byte
	n, err := readFull(src, path, h[:])
	switch {
	case n == 0 && err == io.EOF:
		r.eof = true
		r.rows = 0
		return r, nil
	case err == io.ErrUnexpectedEOF:
		return nil, &Error{Pos: Pos{Path: path, Record: 1}, Column: col.Name, Err: ErrTruncated,
			Msg: fmt.Sprintf("truncated: the file has only %d bytes", n)}
	case err != nil:
		return nil, err
	}
	d := int32(binary.LittleEndian.Uint32(h[:]))
	if d <= 0 || d > types.MaxDim {
		return nil, &Error{Pos: Pos{Path: path, Record: 1}, Column: col.Name,
			Msg: fmt.Sprintf("bad dimension %d in the record header: this is not an %s file, or it is damaged", d, f)}
	}
	if int(d) != col.Type.Dim {
		return nil, &Error{Pos: Pos{Path: path, Record: 1}, Column: col.Name,
			Msg: fmt.Sprintf("vector has %d dimensions, but the column is %s", d, col.Type)}
	}
	r.dim = int(d)
	r.rowBytes = 4 + r.dim*vecsElemSize(f)
	r.head = h[:]
	if size >= 0 {
		r.rows = size / int64(r.rowBytes)
		r.left = size
	}
	r.fast = f == Fvecs && nativeLE
	return r, nil
}

func (r *vecsReader) Rows() int64 { return r.rows }
func (r *vecsReader) Pos() Pos    { return Pos{Path: r.path, Record: r.rec} }
func (r *vecsReader) Close() error {
	if r.src == nil {
		return nil
	}
	err := r.src.Close()
	r.src = nil
	return err
}

func (r *vecsReader) errAt(rec int64, format string, args ...any) error {
	return &Error{Pos: Pos{Path: r.path, Record: rec}, Column: r.col.Name, Msg: fmt.Sprintf(format, args...)}
}

func (r *vecsReader) load() error {
	k := max(1, vecsBlock/r.rowBytes)
	if r.left >= 0 {
		// Small files get small blocks; +1 sees a truncated last record.
		k = int(min(int64(k), r.left/int64(r.rowBytes)+1))
		r.left -= int64(k * r.rowBytes)
	}
	var buf []byte
	if r.fast {
		r.words = make([]uint32, k*(r.dim+1))
		buf = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(r.words))), k*r.rowBytes)
	} else {
		if cap(r.raw) < k*r.rowBytes {
			r.raw = make([]byte, k*r.rowBytes)
		}
		r.raw = r.raw[:k*r.rowBytes]
		buf = r.raw
	}
	off := copy(buf, r.head)
	r.head = nil
	n, err := readFull(r.src, r.path, buf[off:])
	n += off
	if err != nil {
		if e, ok := err.(*Error); ok {
			return e
		}
		r.eof = true
		k = n / r.rowBytes
		if part := n % r.rowBytes; part > 0 {
			rec := r.rec + int64(k) + 1
			r.tail = &Error{Pos: Pos{Path: r.path, Record: rec}, Column: r.col.Name, Err: ErrTruncated,
				Msg: fmt.Sprintf("truncated: the last record has %d of its %d bytes", part, r.rowBytes)}
			// A wrong dimension explains a short record better.
			if part >= 4 {
				if d := int32(binary.LittleEndian.Uint32(buf[k*r.rowBytes:])); int(d) != r.dim {
					r.tail = r.errAt(rec, "vector has %d dimensions, expected %d (as the first record and the column %s)", d, r.dim, r.col.Type)
				}
			}
		}
	}
	// Every record must repeat the dimension.
	for i := 0; i < k; i++ {
		var d int32
		if r.fast {
			d = int32(r.words[i*(r.dim+1)])
		} else {
			d = int32(binary.LittleEndian.Uint32(buf[i*r.rowBytes:]))
		}
		if int(d) != r.dim {
			r.tail = r.errAt(r.rec+int64(i)+1, "vector has %d dimensions, expected %d (as the first record and the column %s)", d, r.dim, r.col.Type)
			k = i
			break
		}
	}
	if r.fast {
		// The dimension words are small integers, never NaN bit patterns.
		fl := unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(r.words))), k*(r.dim+1))
		if i := firstNonFinite(fl); i >= 0 {
			row := i / (r.dim + 1)
			r.tail = r.errAt(r.rec+int64(row)+1, "%s", elemErr(i%(r.dim+1)-1, checkF32(fl[i])))
			k = row
		}
	}
	r.have, r.next = k, 0
	return nil
}

func (r *vecsReader) Next(dst []types.Value) error {
	if len(dst) != 1 {
		panic(fmt.Sprintf("formats: Next got %d slots for 1 column", len(dst)))
	}
	if r.next == r.have {
		if r.tail != nil {
			return r.tail
		}
		if r.eof {
			return io.EOF
		}
		if err := r.load(); err != nil {
			return err
		}
		if r.have == 0 {
			if r.tail != nil {
				return r.tail
			}
			return io.EOF
		}
	}
	i := r.next
	r.next++
	r.rec++
	if r.fast {
		s := i*(r.dim+1) + 1
		fl := unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(r.words))), len(r.words))
		dst[0] = types.VectorValue(fl[s : s+r.dim : s+r.dim])
		return nil
	}
	row := r.raw[i*r.rowBytes+4 : (i+1)*r.rowBytes]
	v := r.ar.alloc(r.dim)
	switch r.f {
	case Fvecs:
		for k := range v {
			v[k] = math.Float32frombits(binary.LittleEndian.Uint32(row[4*k:]))
		}
		if k := firstNonFinite(v); k >= 0 {
			return r.errAt(r.rec, "%s", elemErr(k, checkF32(v[k])))
		}
	case Ivecs:
		for k := range v {
			v[k] = float32(int32(binary.LittleEndian.Uint32(row[4*k:])))
		}
	case Bvecs:
		for k := range v {
			v[k] = float32(row[k])
		}
	}
	dst[0] = types.VectorValue(v)
	return nil
}

// vecsWriter writes one record per row; NULL cannot be written. ivecs and
// bvecs need integral elements in range (int32, uint8).
type vecsWriter struct {
	out *outFile
	f   Format
	col Column
	n   int64
	buf []byte
}

func newVecsWriter(out *outFile, f Format, col Column) (*vecsWriter, error) {
	return &vecsWriter{out: out, f: f, col: col}, nil
}

func (w *vecsWriter) Write(row []types.Value) error {
	w.n++
	if err := checkRow(w.out.path, false, w.n, []Column{w.col}, row); err != nil {
		return err
	}
	v := row[0].V
	if row[0].K == types.Null {
		return writeErr(w.out.path, false, w.n, w.col.Name, "%s cannot hold NULL", w.f)
	}
	b := binary.LittleEndian.AppendUint32(w.buf[:0], uint32(len(v)))
	w.buf = b
	switch w.f {
	case Fvecs:
		if nativeLE {
			if err := w.out.write(b); err != nil {
				return err
			}
			return w.out.write(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v)))
		}
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	case Ivecs:
		for k, x := range v {
			if f := float64(x); f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
				return writeErr(w.out.path, false, w.n, w.col.Name, "element %d: ivecs holds int32, not %s", k+1, types.FormatFloat32(x))
			}
			b = binary.LittleEndian.AppendUint32(b, uint32(int32(x)))
		}
	case Bvecs:
		for k, x := range v {
			if f := float64(x); f != math.Trunc(f) || f < 0 || f > 255 {
				return writeErr(w.out.path, false, w.n, w.col.Name, "element %d: bvecs holds bytes 0…255, not %s", k+1, types.FormatFloat32(x))
			}
			b = append(b, byte(x))
		}
	}
	w.buf = b
	return w.out.write(b)
}

func (w *vecsWriter) Close() error { return w.out.commit() }
func (w *vecsWriter) Abort() error { return w.out.abort() }
