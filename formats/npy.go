package formats

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unsafe"

	"github.com/softdb/softdb/types"
)

// The .npy format (numpy.lib.format): the magic "\x93NUMPY", a version
// byte pair, the header length (uint16 in 1.0, uint32 in 2.0 and 3.0) and
// a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape':
// (n, d)}, then the data.

var npyMagic = []byte("\x93NUMPY")

// nativeLE: on little-endian machines <f4 data is read straight into the
// vectors' memory.
var nativeLE = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

const maxNPYHeader = 1 << 20

type npyType struct {
	kind byte // 'f', 'i', 'u'
	size int  // bytes per element
	big  bool // big-endian
}

func (t npyType) String() string {
	o := byte('<')
	if t.big {
		o = '>'
	}
	return fmt.Sprintf("%c%c%d", o, t.kind, t.size)
}

type npyHeader struct {
	descr   string
	fortran bool
	shape   []int64
}

func shapeString(s []int64) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, d := range s {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatInt(d, 10))
	}
	if len(s) == 1 {
		b.WriteByte(',')
	}
	b.WriteByte(')')
	return b.String()
}

// parseDescr reads a dtype string such as '<f4' or '|u1'.
func parseDescr(d string) (npyType, error) {
	bad := fmt.Errorf("dtype %q is not supported: use float32, float64, float16 or an integer type", d)
	if len(d) < 3 {
		return npyType{}, bad
	}
	var t npyType
	switch d[0] {
	case '<', '|', '=':
	case '>':
		t.big = true
	default:
		return npyType{}, bad
	}
	t.kind = d[1]
	n, err := strconv.Atoi(d[2:])
	if err != nil {
		return npyType{}, bad
	}
	t.size = n
	switch {
	case t.kind == 'f' && (n == 2 || n == 4 || n == 8):
	case (t.kind == 'i' || t.kind == 'u') && (n == 1 || n == 2 || n == 4 || n == 8):
	default:
		return npyType{}, bad
	}
	if t.size == 1 {
		t.big = false
	}
	return t, nil
}

// parseNPYHeader reads the header dict, a small subset of Python literals.
func parseNPYHeader(h string) (npyHeader, error) {
	p := pyLit{s: h}
	var hd npyHeader
	seen := map[string]bool{}
	if !p.eat('{') {
		return hd, errors.New("header is not a Python dict")
	}
	for {
		if p.eat('}') {
			break
		}
		key, ok := p.str()
		if !ok || !p.eat(':') {
			return hd, errors.New("malformed header dict")
		}
		if seen[key] {
			return hd, fmt.Errorf("header names %q twice", key)
		}
		seen[key] = true
		switch key {
		case "descr":
			d, ok := p.str()
			if !ok {
				if p.peek() == '[' {
					return hd, errors.New("structured dtypes (records) are not supported: save a plain numeric matrix")
				}
				return hd, errors.New("header 'descr' is not a dtype string")
			}
			hd.descr = d
		case "fortran_order":
			b, ok := p.boolean()
			if !ok {
				return hd, errors.New("header 'fortran_order' is not True or False")
			}
			hd.fortran = b
		case "shape":
			s, ok := p.tuple()
			if !ok {
				return hd, errors.New("header 'shape' is not a tuple of integers")
			}
			hd.shape = s
		default:
			return hd, fmt.Errorf("header has unknown key %q", key)
		}
		if !p.eat(',') {
			if !p.eat('}') {
				return hd, errors.New("malformed header dict")
			}
			break
		}
	}
	p.space()
	if p.i != len(p.s) {
		return hd, errors.New("text after the header dict")
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return hd, fmt.Errorf("header lacks %q", k)
		}
	}
	return hd, nil
}

type pyLit struct {
	s string
	i int
}

func (p *pyLit) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\n' || p.s[p.i] == '\t' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *pyLit) peek() byte {
	p.space()
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *pyLit) eat(c byte) bool {
	if p.peek() == c {
		p.i++
		return true
	}
	return false
}

func (p *pyLit) str() (string, bool) {
	q := p.peek()
	if q != '\'' && q != '"' {
		return "", false
	}
	j := strings.IndexByte(p.s[p.i+1:], q)
	if j < 0 {
		return "", false
	}
	s := p.s[p.i+1 : p.i+1+j]
	p.i += j + 2
	return s, true
}

func (p *pyLit) boolean() (bool, bool) {
	p.space()
	for _, w := range []string{"True", "False"} {
		if strings.HasPrefix(p.s[p.i:], w) {
			p.i += len(w)
			return w == "True", true
		}
	}
	return false, false
}

func (p *pyLit) tuple() ([]int64, bool) {
	if !p.eat('(') {
		return nil, false
	}
	var out []int64
	for {
		if p.eat(')') {
			return out, true
		}
		p.space()
		j := p.i
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		n, err := strconv.ParseInt(p.s[p.i:j], 10, 64)
		if err != nil {
			return nil, false
		}
		p.i = j
		if p.i < len(p.s) && p.s[p.i] == 'L' { // Python 2 long
			p.i++
		}
		out = append(out, n)
		if !p.eat(',') {
			return out, p.eat(')')
		}
	}
}

type npyReader struct {
	src      io.ReadCloser
	path     string
	col      Column
	typ      npyType
	rows     int64 // declared rows
	width    int   // elements per row
	rowBytes int
	rec      int64 // rows returned
	fast     bool  // <f4 into a VECTOR on a little-endian machine

	vec  []float32 // fast path: the current block, fresh per block
	raw  []byte    // other paths: the current block, reused
	have int       // rows in the block
	next int       // next row of the block
	tail error     // reported once the block is used up
	ar   arena
}

// npyBlock is the size of one read.
const npyBlock = 4 << 20

func newNPYReader(src io.ReadCloser, size int64, path string, col Column) (*npyReader, error) {
	fail := func(rec int64, format string, args ...any) error {
		return &Error{Pos: Pos{Path: path, Record: rec}, Column: col.Name, Msg: fmt.Sprintf(format, args...)}
	}
	pre := make([]byte, 10)
	if n, err := readFull(src, path, pre[:8]); err != nil {
		if n == 0 && err == io.EOF {
			return nil, fail(0, "empty file: not an npy file")
		}
		if _, ok := err.(*Error); ok {
			return nil, err
		}
		return nil, fail(0, "not an npy file: too short")
	}
	if string(pre[:6]) != string(npyMagic) {
		return nil, fail(0, "not an npy file: bad magic %q (expected \"\\x93NUMPY\")", pre[:6])
	}
	major := pre[6]
	var hlen, start int
	switch major {
	case 1:
		if _, err := readFull(src, path, pre[8:10]); err != nil {
			return nil, fail(0, "truncated npy header")
		}
		hlen, start = int(binary.LittleEndian.Uint16(pre[8:10])), 10
	case 2, 3:
		if _, err := readFull(src, path, pre[8:10]); err != nil {
			return nil, fail(0, "truncated npy header")
		}
		var b4 [2]byte
		if _, err := readFull(src, path, b4[:]); err != nil {
			return nil, fail(0, "truncated npy header")
		}
		hlen = int(binary.LittleEndian.Uint32([]byte{pre[8], pre[9], b4[0], b4[1]}))
		start = 12
	default:
		return nil, fail(0, "npy version %d.%d is not supported (expected 1.0, 2.0 or 3.0)", major, pre[7])
	}
	if hlen > maxNPYHeader {
		return nil, fail(0, "npy header of %d bytes is too long", hlen)
	}
	hb := make([]byte, hlen)
	if _, err := readFull(src, path, hb); err != nil {
		return nil, fail(0, "truncated npy header: expected %d bytes", hlen)
	}
	hs := string(hb)
	if major < 3 && !isLatin1(hs) {
		return nil, fail(0, "npy header is not ASCII")
	}
	h, err := parseNPYHeader(hs)
	if err != nil {
		return nil, fail(0, "bad npy header: %v", err)
	}
	t, err := parseDescr(h.descr)
	if err != nil {
		return nil, fail(0, "%v", err)
	}
	r := &npyReader{src: src, path: path, col: col, typ: t}
	shape := shapeString(h.shape)
	switch len(h.shape) {
	case 1:
		r.rows, r.width = h.shape[0], 1
		if col.Type.Kind == types.Vector && col.Type.Dim != 1 {
			return nil, fail(0, "shape %s is a 1-D array; a %s column needs shape (rows, %d)", shape, col.Type, col.Type.Dim)
		}
	case 2:
		r.rows = h.shape[0]
		if h.shape[1] > types.MaxDim {
			return nil, fail(0, "shape %s: %d columns is more than the maximum dimension %d", shape, h.shape[1], types.MaxDim)
		}
		r.width = int(h.shape[1])
		switch {
		case col.Type.Kind == types.Vector && r.width != col.Type.Dim:
			return nil, fail(0, "shape %s has %d columns but the column is %s", shape, r.width, col.Type)
		case col.Type.Kind != types.Vector && r.width != 1:
			return nil, fail(0, "shape %s is a matrix; a %s column needs shape (rows,) or (rows, 1)", shape, col.Type)
		}
		if h.fortran && r.width > 1 && r.rows > 1 {
			return nil, fail(0, "Fortran-order (column-major) arrays are not supported; save np.ascontiguousarray(a)")
		}
	default:
		return nil, fail(0, "shape %s: expected (rows, dim) for a VECTOR column or (rows,) for INT and FLOAT", shape)
	}
	r.rowBytes = r.width * t.size
	if r.rows > (1<<62)/int64(max(r.rowBytes, 1)) {
		return nil, fail(0, "shape %s is too large", shape)
	}
	if size >= 0 {
		data := size - int64(start+hlen)
		need := r.rows * int64(r.rowBytes)
		if data < need {
			got := data / int64(r.rowBytes)
			return nil, &Error{Pos: Pos{Path: path, Record: got + 1}, Column: col.Name, Err: ErrTruncated,
				Msg: fmt.Sprintf("truncated: expected %d rows (header says shape %s), file has %d", r.rows, shape, got)}
		}
		if data > need {
			return nil, fail(0, "the header says shape %s (%d bytes of data) but the file has %d bytes after the header", shape, need, data)
		}
	}
	r.fast = nativeLE && t.kind == 'f' && t.size == 4 && !t.big && col.Type.Kind == types.Vector
	return r, nil
}

func isLatin1(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func (r *npyReader) Rows() int64 { return r.rows }
func (r *npyReader) Pos() Pos    { return Pos{Path: r.path, Record: r.rec} }
func (r *npyReader) Close() error {
	if r.src == nil {
		return nil
	}
	err := r.src.Close()
	r.src = nil
	return err
}

func (r *npyReader) errAt(rec int64, format string, args ...any) error {
	return &Error{Pos: Pos{Path: r.path, Record: rec}, Column: r.col.Name, Msg: fmt.Sprintf(format, args...)}
}

// load reads the next block of rows.
func (r *npyReader) load() error {
	k := int(min(int64(max(1, npyBlock/max(r.rowBytes, 1))), r.rows-r.rec))
	want := k * r.rowBytes
	var buf []byte
	if r.fast {
		r.vec = make([]float32, k*r.width)
		buf = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(r.vec))), want)
	} else {
		if cap(r.raw) < want {
			r.raw = make([]byte, want)
		}
		r.raw = r.raw[:want]
		buf = r.raw
	}
	n, err := readFull(r.src, r.path, buf)
	if err != nil {
		if e, ok := err.(*Error); ok {
			return e
		}
		k = n / r.rowBytes
		got := r.rec + int64(k)
		r.tail = &Error{Pos: Pos{Path: r.path, Record: got + 1}, Column: r.col.Name, Err: ErrTruncated,
			Msg: fmt.Sprintf("truncated: expected %d rows, file has %d", r.rows, got)}
	}
	if r.fast {
		if i := firstNonFinite(r.vec[:k*r.width]); i >= 0 {
			row := i / r.width
			r.tail = r.errAt(r.rec+int64(row)+1, "%s", elemErr(i%r.width, checkF32(r.vec[i])))
			k = row
		}
	}
	r.have, r.next = k, 0
	return nil
}

func (r *npyReader) Next(dst []types.Value) error {
	if len(dst) != 1 {
		panic(fmt.Sprintf("formats: Next got %d slots for 1 column", len(dst)))
	}
	if r.next == r.have {
		if r.tail != nil {
			return r.tail
		}
		if r.rec == r.rows {
			return io.EOF
		}
		if err := r.load(); err != nil {
			return err
		}
		if r.have == 0 {
			return r.tail
		}
	}
	i := r.next
	r.next++
	r.rec++
	if r.fast {
		dst[0] = types.VectorValue(r.vec[i*r.width : (i+1)*r.width : (i+1)*r.width])
		return nil
	}
	row := r.raw[i*r.rowBytes : (i+1)*r.rowBytes]
	v, err := r.convert(row)
	if err != nil {
		return err
	}
	dst[0] = v
	return nil
}

// convert turns one row of raw elements into the column's value.
func (r *npyReader) convert(row []byte) (types.Value, error) {
	t := r.typ
	var bo binary.ByteOrder = binary.LittleEndian
	if t.big {
		bo = binary.BigEndian
	}
	switch r.col.Type.Kind {
	case types.Vector:
		v := r.ar.alloc(r.width)
		if err := decodeElems(v, row, t, bo); err >= 0 {
			x, _ := elemAt(row, err, t, bo)
			if t.kind == 'f' && t.size == 8 {
				_, e := types.CheckElement(x)
				return types.Value{}, r.errAt(r.rec, "%s", elemErr(err, e))
			}
			return types.Value{}, r.errAt(r.rec, "%s", elemErr(err, checkF32(float32(x))))
		}
		return types.VectorValue(v), nil
	case types.Int:
		if t.kind == 'f' {
			x, _ := elemAt(row, 0, t, bo)
			i, err := floatToInt(x)
			if err != nil {
				return types.Value{}, r.errAt(r.rec, "%v", err)
			}
			return types.IntValue(i), nil
		}
		if t.kind == 'u' && t.size == 8 {
			u := bo.Uint64(row)
			if u > math.MaxInt64 {
				return types.Value{}, r.errAt(r.rec, "%d is out of range for INT", u)
			}
			return types.IntValue(int64(u)), nil
		}
		_, i := elemAt(row, 0, t, bo)
		return types.IntValue(i), nil
	default: // Float
		x, i := elemAt(row, 0, t, bo)
		if t.kind != 'f' {
			x = float64(i)
			if t.kind == 'u' && t.size == 8 {
				x = float64(bo.Uint64(row))
			}
		}
		if err := checkF64(x); err != nil {
			return types.Value{}, r.errAt(r.rec, "%v", err)
		}
		return types.FloatValue(x), nil
	}
}

// elemAt decodes element k of row: floats as f, integers as i (and f).
func elemAt(row []byte, k int, t npyType, bo binary.ByteOrder) (f float64, i int64) {
	b := row[k*t.size:]
	switch t.kind {
	case 'f':
		switch t.size {
		case 2:
			return float64(half(bo.Uint16(b))), 0
		case 4:
			return float64(math.Float32frombits(bo.Uint32(b))), 0
		}
		return math.Float64frombits(bo.Uint64(b)), 0
	case 'i':
		switch t.size {
		case 1:
			i = int64(int8(b[0]))
		case 2:
			i = int64(int16(bo.Uint16(b)))
		case 4:
			i = int64(int32(bo.Uint32(b)))
		default:
			i = int64(bo.Uint64(b))
		}
	default:
		switch t.size {
		case 1:
			i = int64(b[0])
		case 2:
			i = int64(bo.Uint16(b))
		case 4:
			i = int64(bo.Uint32(b))
		default:
			u := bo.Uint64(b)
			return float64(u), int64(u)
		}
	}
	return float64(i), i
}

// decodeElems converts raw elements to float32 into v (integers round to
// the nearest float32). It returns the index of the first element that is
// not a finite float32, or -1.
func decodeElems(v []float32, row []byte, t npyType, bo binary.ByteOrder) int {
	switch {
	case t.kind == 'f' && t.size == 4:
		for k := range v {
			v[k] = math.Float32frombits(bo.Uint32(row[4*k:]))
		}
		return firstNonFinite(v)
	case t.kind == 'f' && t.size == 8:
		for k := range v {
			x := float32(math.Float64frombits(bo.Uint64(row[8*k:])))
			if !finite32(x) {
				return k
			}
			v[k] = x
		}
	case t.kind == 'f' && t.size == 2:
		for k := range v {
			v[k] = half(bo.Uint16(row[2*k:]))
		}
		return firstNonFinite(v)
	default:
		for k := range v {
			f, _ := elemAt(row, k, t, bo)
			v[k] = float32(f)
		}
	}
	return -1
}

// npyWriter writes a version 1.0 .npy: <f4 (rows, dim) for a VECTOR
// column, <i8 (rows,) for INT, <f8 (rows,) for FLOAT. The row count is
// patched into the header on Close; the header is padded so that its
// length does not depend on the count.
type npyWriter struct {
	out   *outFile
	col   Column
	n     int64
	hsize int
	buf   []byte
}

func npyHeaderBytes(col Column, rows string, size int) []byte {
	var h string
	switch col.Type.Kind {
	case types.Vector:
		h = fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%s, %d), }", rows, col.Type.Dim)
	case types.Int:
		h = fmt.Sprintf("{'descr': '<i8', 'fortran_order': False, 'shape': (%s,), }", rows)
	default:
		h = fmt.Sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': (%s,), }", rows)
	}
	if size == 0 {
		size = (10 + len(h) + 1 + 63) / 64 * 64 // numpy aligns the data to 64 bytes
	}
	b := make([]byte, size)
	copy(b, npyMagic)
	b[6], b[7] = 1, 0
	binary.LittleEndian.PutUint16(b[8:], uint16(size-10))
	n := copy(b[10:], h)
	for i := 10 + n; i < size-1; i++ {
		b[i] = ' '
	}
	b[size-1] = '\n'
	return b
}

func newNPYWriter(out *outFile, col Column) (*npyWriter, error) {
	if col.Type.Kind == types.Text {
		return nil, &Error{Pos: Pos{Path: out.path}, Column: col.Name, Msg: "npy cannot hold TEXT"}
	}
	h := npyHeaderBytes(col, strings.Repeat("9", 20), 0)
	w := &npyWriter{out: out, col: col, hsize: len(h)}
	if err := out.write(h); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *npyWriter) Write(row []types.Value) error {
	w.n++
	if err := checkRow(w.out.path, false, w.n, []Column{w.col}, row); err != nil {
		return err
	}
	v := row[0]
	if v.K == types.Null {
		return writeErr(w.out.path, false, w.n, w.col.Name, "npy cannot hold NULL")
	}
	b := w.buf[:0]
	switch w.col.Type.Kind {
	case types.Vector:
		if nativeLE {
			return w.out.write(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v.V))), 4*len(v.V)))
		}
		for _, x := range v.V {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	case types.Int:
		i := v.I
		if v.K == types.Float {
			i = int64(v.F)
		}
		b = binary.LittleEndian.AppendUint64(b, uint64(i))
	default:
		f := v.F
		if v.K == types.Int {
			f = float64(v.I)
		}
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	}
	w.buf = b
	return w.out.write(b)
}

func (w *npyWriter) Close() error {
	if w.out.closed {
		return nil
	}
	if err := w.out.bw.Flush(); err != nil {
		w.out.abort()
		return ioError(w.out.path, "write", err)
	}
	h := npyHeaderBytes(w.col, strconv.FormatInt(w.n, 10), w.hsize)
	if _, err := w.out.f.WriteAt(h, 0); err != nil {
		w.out.abort()
		return ioError(w.out.path, "write", err)
	}
	return w.out.commit()
}

func (w *npyWriter) Abort() error { return w.out.abort() }
