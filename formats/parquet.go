package formats

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/softdb/softdb/types"
)

// Parquet columns map to target columns by name (ignoring case), with the
// same wide rule as csv headers. A VECTOR column reads any top-level field
// with one numeric leaf repeated once: LIST<FLOAT|DOUBLE|INT> in the
// standard three-level form (pyarrow, DuckDB, Spark; Arrow's and DuckDB's
// fixed-size arrays are written this way too), the legacy two-level form,
// or a bare repeated field. Scalars are INT32/INT64 (plain or integer
// annotated), FLOAT/DOUBLE and BYTE_ARRAY strings. Rows stream one row
// group at a time, page by page.

type pqLeaf struct {
	name     string // the file's column name, for errors
	col      *parquet.Column
	kind     parquet.Kind
	unsigned bool
	maxDef   int
	defTop   int // below this the top-level field is NULL
	defRep   int // vectors: below this (and ≥ defTop) the list is empty

	pages parquet.Pages

	// Scalars are read value by value.
	vr  parquet.ValueReader
	buf []parquet.Value
	bi  int
	bn  int

	// Vectors are read a page at a time: its levels and its non-null
	// values, typed (or dictionary indexes into typed values).
	page     parquet.Page
	rep, def []byte
	li       int // next level
	vi       int // next non-null value
	f32      []float32
	f64      []float64
	i32      []int32
	i64      []int64
	idx      []int32 // dictionary indexes, when the page has a dictionary
	nvals    int     // values in f32/f64/i32/i64
}

type parquetReader struct {
	file   io.Closer
	src    io.ReaderAt
	size   int64
	path   string
	pf     *parquet.File
	cols   []Column
	leaves [][]*pqLeaf // per target column; several for a spread vector
	spread []bool
	rec    int64
	group  int   // next row group to open
	left   int64 // rows left in the open row group
	ar     arena
}

// pqPanic turns a panic inside the parquet library (a damaged file) into
// an error.
func pqPanic(path string, rec int64, err *error) {
	if p := recover(); p != nil {
		*err = &Error{Pos: Pos{Path: path, Record: rec}, Msg: fmt.Sprintf("damaged parquet file: %v", p)}
	}
}

func newParquetReader(file interface {
	io.ReaderAt
	io.Closer
}, size int64, path string, cols []Column) (r *parquetReader, err error) {
	defer pqPanic(path, 0, &err)
	if size < 0 {
		return nil, &Error{Pos: Pos{Path: path}, Msg: "parquet needs a regular file (it is read from the end)"}
	}
	// Check the footer's length before the library allocates it.
	var tail [8]byte
	if size < 12 {
		return nil, &Error{Pos: Pos{Path: path}, Msg: fmt.Sprintf("not a parquet file: only %d bytes", size)}
	}
	if _, err := file.ReadAt(tail[:], size-8); err != nil {
		return nil, ioError(path, "read", err)
	}
	if string(tail[4:]) != "PAR1" {
		return nil, &Error{Pos: Pos{Path: path}, Msg: fmt.Sprintf("not a parquet file: it ends in %q, not \"PAR1\" (encrypted files are not supported)", tail[4:])}
	}
	footer := int64(binary.LittleEndian.Uint32(tail[:4]))
	if footer+12 > size {
		return nil, &Error{Pos: Pos{Path: path}, Msg: fmt.Sprintf("damaged parquet file: its footer claims %d bytes, the file has %d", footer, size)}
	}
	fb := make([]byte, footer)
	if _, err := file.ReadAt(fb, size-8-footer); err != nil {
		return nil, ioError(path, "read", err)
	}
	if _, err := thriftSize(fb); err != nil {
		return nil, &Error{Pos: Pos{Path: path}, Msg: "damaged parquet file: malformed footer"}
	}
	pf, err := parquet.OpenFile(file, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, &Error{Pos: Pos{Path: path}, Msg: "not a readable parquet file: " + err.Error(), Err: err}
	}
	top := pf.Root().Columns()
	names := make([]string, len(top))
	for i, c := range top {
		names[i] = c.Name()
	}
	spreadable := func(j int) bool {
		c := top[j]
		return c.Leaf() && c.MaxRepetitionLevel() == 0 && numericLeaf(c) == ""
	}
	plan, err := matchColumns(Pos{Path: path}, cols, names, spreadable, "file")
	if err != nil {
		return nil, err
	}
	r = &parquetReader{file: file, src: file, size: size, path: path, pf: pf, cols: cols,
		leaves: make([][]*pqLeaf, len(cols)), spread: make([]bool, len(cols))}
	for i, col := range cols {
		src := plan[i]
		r.spread[i] = col.Type.Kind == types.Vector && (len(src) > 1 || !strings.EqualFold(names[src[0]], col.Name))
		for _, j := range src {
			l, err := r.leaf(col, top[j], r.spread[i])
			if err != nil {
				return nil, err
			}
			r.leaves[i] = append(r.leaves[i], l)
		}
	}
	return r, nil
}

// numericLeaf explains why a leaf is not a plain number, or returns "".
func numericLeaf(c *parquet.Column) string {
	switch c.Type().Kind() {
	case parquet.Int32, parquet.Int64:
		if lt := c.Type().LogicalType(); lt != nil && lt.Value != nil {
			if _, ok := lt.Value.(*format.IntType); !ok {
				return fmt.Sprintf("its type %s is not a plain number", lt)
			}
		}
		return ""
	case parquet.Float, parquet.Double:
		if lt := c.Type().LogicalType(); lt != nil && lt.Value != nil {
			return fmt.Sprintf("its type %s is not a plain number", lt)
		}
		return ""
	}
	return fmt.Sprintf("its type %s is not a number", c.Type())
}

func isUnsigned(c *parquet.Column) bool {
	if lt := c.Type().LogicalType(); lt != nil {
		if it, ok := lt.Value.(*format.IntType); ok {
			return !it.IsSigned
		}
	}
	return false
}

// leaf checks that the file column fits the target and prepares to read it.
func (r *parquetReader) leaf(col Column, top *parquet.Column, spread bool) (*pqLeaf, error) {
	bad := func(format string, args ...any) error {
		return &Error{Pos: Pos{Path: r.path}, Column: top.Name(), Msg: fmt.Sprintf(format, args...)}
	}
	l := &pqLeaf{name: top.Name(), buf: make([]parquet.Value, 1024)}
	if top.Optional() {
		l.defTop = 1
	}
	c, def := top, 0
	for {
		if c.Optional() || c.Repeated() {
			def++
		}
		if c.Repeated() && l.defRep == 0 {
			l.defRep = def
		}
		if c.Leaf() {
			break
		}
		if len(c.Columns()) != 1 {
			return nil, bad("is a group of %d fields; a %s column needs a list of numbers", len(c.Columns()), col.Type)
		}
		c = c.Columns()[0]
	}
	l.col, l.kind, l.maxDef, l.unsigned = c, c.Type().Kind(), c.MaxDefinitionLevel(), isUnsigned(c)
	rep := c.MaxRepetitionLevel()
	if col.Type.Kind == types.Vector && !spread {
		if rep != 1 {
			if rep == 0 {
				return nil, bad("is a single value per row; a %s column needs a list of numbers", col.Type)
			}
			return nil, bad("is a nested list; a %s column needs a flat list of numbers", col.Type)
		}
		if why := numericLeaf(c); why != "" {
			return nil, bad("cannot fill %s: the list's elements are not numbers (%s)", col.Type, why)
		}
		return l, nil
	}
	if rep != 0 || !c.Leaf() || c != top {
		return nil, bad("is a list or a group; a %s column needs a single value per row", col.Type)
	}
	switch col.Type.Kind {
	case types.Int, types.Float, types.Vector:
		if why := numericLeaf(c); why != "" {
			return nil, bad("cannot fill %s: %s", col.Type, why)
		}
	case types.Text:
		ok := l.kind == parquet.ByteArray
		if lt := c.Type().LogicalType(); ok && lt != nil && lt.Value != nil {
			switch lt.Value.(type) {
			case *format.StringType, *format.EnumType, *format.JsonType:
			default:
				ok = false
			}
		}
		if !ok {
			return nil, bad("cannot fill TEXT: its type %s is not a string", c.Type())
		}
	}
	return l, nil
}

func (r *parquetReader) Rows() int64 { return r.pf.NumRows() }
func (r *parquetReader) Pos() Pos    { return Pos{Path: r.path, Record: r.rec} }

func (r *parquetReader) Close() error {
	r.closePages()
	if r.file == nil {
		return nil
	}
	err := r.file.Close()
	r.file = nil
	return err
}

func (r *parquetReader) closePages() {
	for _, ls := range r.leaves {
		for _, l := range ls {
			if l.pages != nil {
				l.pages.Close()
				l.pages, l.vr, l.bi, l.bn = nil, nil, 0, 0
				l.rep, l.def, l.li, l.page = nil, nil, 0, nil
			}
		}
	}
}

// openGroup moves to the next row group with rows in it.
func (r *parquetReader) openGroup() error {
	r.closePages()
	groups := r.pf.RowGroups()
	for r.group < len(groups) {
		g := groups[r.group]
		r.group++
		if g.NumRows() == 0 {
			continue
		}
		chunks := g.ColumnChunks()
		meta := r.pf.Metadata().RowGroups[r.group-1].Columns
		for _, ls := range r.leaves {
			for _, l := range ls {
				if err := checkChunkPages(r.src, r.size, &meta[l.col.Index()].MetaData); err != nil {
					return &Error{Pos: Pos{Path: r.path, Record: r.rec + 1}, Column: l.name, Msg: "damaged parquet file: " + err.Error()}
				}
				l.pages = chunks[l.col.Index()].Pages()
			}
		}
		r.left = g.NumRows()
		return nil
	}
	return io.EOF
}

func (r *parquetReader) damaged(l *pqLeaf, err error) error {
	if err == io.EOF {
		return &Error{Pos: r.Pos(), Column: l.name, Msg: "damaged parquet file: the column has fewer rows than its row group"}
	}
	return &Error{Pos: r.Pos(), Column: l.name, Msg: "damaged parquet file: " + err.Error(), Err: err}
}

// peek returns the leaf's next value without consuming it.
func (l *pqLeaf) peek() (parquet.Value, error) {
	for l.bi == l.bn {
		if l.vr == nil {
			p, err := l.pages.ReadPage()
			if err != nil {
				return parquet.Value{}, err
			}
			l.vr = p.Values()
		}
		n, err := l.vr.ReadValues(l.buf)
		l.bi, l.bn = 0, n
		if err == io.EOF {
			l.vr = nil
		} else if err != nil {
			return parquet.Value{}, err
		}
	}
	return l.buf[l.bi], nil
}

func (r *parquetReader) Next(dst []types.Value) (err error) {
	if len(dst) != len(r.cols) {
		panic(fmt.Sprintf("formats: Next got %d slots for %d columns", len(dst), len(r.cols)))
	}
	defer pqPanic(r.path, r.rec+1, &err)
	if r.left == 0 {
		if err := r.openGroup(); err != nil {
			return err
		}
	}
	r.rec++
	r.left--
	for i, col := range r.cols {
		var v types.Value
		var err error
		switch {
		case r.spread[i]:
			v, err = r.spreadValue(col, r.leaves[i])
		case col.Type.Kind == types.Vector:
			v, err = r.vector(col, r.leaves[i][0])
		default:
			v, err = r.scalar(col, r.leaves[i][0])
		}
		if err != nil {
			return err
		}
		dst[i] = v
	}
	return nil
}

// number reads a numeric parquet value as float64 and, for integers, int64.
func (l *pqLeaf) number(v parquet.Value) (float64, int64, bool) {
	switch l.kind {
	case parquet.Int32:
		if l.unsigned {
			u := uint32(v.Int32())
			return float64(u), int64(u), true
		}
		return float64(v.Int32()), int64(v.Int32()), true
	case parquet.Int64:
		if l.unsigned {
			u := uint64(v.Int64())
			return float64(u), int64(u), u <= 1<<63-1
		}
		return float64(v.Int64()), v.Int64(), true
	case parquet.Float:
		return float64(v.Float()), 0, true
	}
	return v.Double(), 0, true
}

func (r *parquetReader) scalar(col Column, l *pqLeaf) (types.Value, error) {
	v, err := l.peek()
	if err != nil {
		return types.Value{}, r.damaged(l, err)
	}
	l.bi++
	if v.DefinitionLevel() < l.maxDef {
		return types.Value{}, nil
	}
	bad := func(e error) (types.Value, error) {
		return types.Value{}, &Error{Pos: r.Pos(), Column: l.name, Msg: e.Error()}
	}
	switch col.Type.Kind {
	case types.Text:
		t, err := textValue(v.ByteArray())
		if err != nil {
			return bad(err)
		}
		return t, nil
	case types.Int:
		f, i, ok := l.number(v)
		switch {
		case !ok:
			return bad(fmt.Errorf("%d is out of range for INT", uint64(v.Int64())))
		case l.kind == parquet.Float || l.kind == parquet.Double:
			i, err := floatToInt(f)
			if err != nil {
				return bad(err)
			}
			return types.IntValue(i), nil
		}
		return types.IntValue(i), nil
	}
	f, _, _ := l.number(v)
	if err := checkF64(f); err != nil {
		return bad(err)
	}
	return types.FloatValue(f), nil
}

func (r *parquetReader) vector(col Column, l *pqLeaf) (types.Value, error) {
	out := r.ar.alloc(col.Type.Dim)
	n, state, err := l.readList(out)
	switch {
	case err != nil:
		if e, ok := err.(*Error); ok {
			e.Pos, e.Column = r.Pos(), l.name
			return types.Value{}, e
		}
		return types.Value{}, r.damaged(l, err)
	case state == listNull:
		return types.Value{}, nil
	case state == listEmpty:
		return types.Value{}, &Error{Pos: r.Pos(), Column: l.name, Msg: "vector must have at least 1 dimension (the list is empty)"}
	case n != col.Type.Dim:
		return types.Value{}, &Error{Pos: r.Pos(), Column: l.name, Msg: fmt.Sprintf("vector has %d dimensions, expected %d", n, col.Type.Dim)}
	}
	return types.VectorValue(out), nil
}

const (
	listValues = iota
	listNull
	listEmpty
)

var errTruncatedChunk = errors.New("the column has fewer rows than its row group")

// nextPage loads the leaf's next page for readList.
func (l *pqLeaf) nextPage() error {
	if l.page != nil {
		// Every value of it was copied out: its buffers can be reused.
		parquet.Release(l.page)
		l.page = nil
	}
	p, err := l.pages.ReadPage()
	if err != nil {
		return err
	}
	l.page = p
	l.rep, l.def = p.RepetitionLevels(), p.DefinitionLevels()
	if len(l.rep) != len(l.def) || int64(len(l.def)) != p.NumValues() {
		return errors.New("page levels do not match its value count")
	}
	l.li, l.vi = 0, 0
	l.f32, l.f64, l.i32, l.i64, l.idx = nil, nil, nil, nil, nil
	data := p.Data()
	if d := p.Dictionary(); d != nil {
		l.idx = data.Int32()
		data = d.Page().Data()
	}
	switch l.kind {
	case parquet.Float:
		l.f32 = data.Float()
		l.nvals = len(l.f32)
	case parquet.Double:
		l.f64 = data.Double()
		l.nvals = len(l.f64)
	case parquet.Int32:
		l.i32 = data.Int32()
		l.nvals = len(l.i32)
	default:
		l.i64 = data.Int64()
		l.nvals = len(l.i64)
	}
	return nil
}

// readList reads the next row's list into out (elements beyond len(out)
// are counted, not stored) and returns the element count.
func (l *pqLeaf) readList(out []float32) (n, state int, err error) {
	first, skip := true, false
	for {
		if l.li == len(l.def) {
			if err := l.nextPage(); err != nil {
				if err == io.EOF {
					if first {
						return 0, 0, errTruncatedChunk
					}
					return n, state, nil
				}
				return 0, 0, err
			}
			continue
		}
		if first {
			if l.rep[l.li] != 0 {
				return 0, 0, errors.New("a row does not start at repetition level 0")
			}
			if d := int(l.def[l.li]); d < l.defRep {
				// NULL or empty; DuckDB writes a NULL fixed-size array
				// as dim null slots, which are skipped.
				state, skip = listEmpty, true
				if d < l.defTop {
					state = listNull
				}
			}
		} else if l.rep[l.li] == 0 {
			return n, state, nil
		}
		// This row's levels in this page: li..j-1.
		j := l.li + 1
		for j < len(l.rep) && l.rep[j] != 0 {
			j++
		}
		first = false
		maxDef := byte(l.maxDef)
		if skip {
			for k := l.li; k < j; k++ {
				if l.def[k] == maxDef {
					l.vi++
				}
			}
			l.li = j
			continue
		}
		for k := l.li; k < j; k++ {
			if l.def[k] != maxDef {
				return 0, 0, &Error{Msg: fmt.Sprintf("element %d is null", n+k-l.li+1)}
			}
		}
		m := j - l.li
		if l.vi+m > l.nvals && l.idx == nil || l.idx != nil && l.vi+m > len(l.idx) {
			return 0, 0, errors.New("a page has fewer values than its levels")
		}
		if n < len(out) {
			if err := l.elems(out[n:min(len(out), n+m)], n); err != nil {
				return 0, 0, err
			}
		}
		n += m
		l.vi += m
		l.li = j
	}
}

// elems converts the page's values vi… into out; base numbers the
// elements in messages.
func (l *pqLeaf) elems(out []float32, base int) error {
	vi := l.vi
	if l.idx != nil {
		for k := range out {
			x := l.idx[vi+k]
			if x < 0 || int(x) >= l.nvals {
				return fmt.Errorf("dictionary index %d out of range", x)
			}
			switch {
			case l.f32 != nil:
				out[k] = l.f32[x]
			case l.f64 != nil:
				f, err := f64ToElem(l.f64[x])
				if err != nil {
					return &Error{Msg: elemErr(base+k, err)}
				}
				out[k] = f
			case l.i32 != nil:
				out[k] = l.int32Elem(l.i32[x])
			default:
				out[k] = l.int64Elem(l.i64[x])
			}
		}
	} else {
		switch {
		case l.f32 != nil:
			copy(out, l.f32[vi:])
		case l.f64 != nil:
			for k := range out {
				f, err := f64ToElem(l.f64[vi+k])
				if err != nil {
					return &Error{Msg: elemErr(base+k, err)}
				}
				out[k] = f
			}
		case l.i32 != nil:
			for k := range out {
				out[k] = l.int32Elem(l.i32[vi+k])
			}
		default:
			for k := range out {
				out[k] = l.int64Elem(l.i64[vi+k])
			}
		}
	}
	if k := firstNonFinite(out); k >= 0 {
		return &Error{Msg: elemErr(base+k, checkF32(out[k]))}
	}
	return nil
}

func (l *pqLeaf) int32Elem(x int32) float32 {
	if l.unsigned {
		return float32(uint32(x))
	}
	return float32(x)
}

func (l *pqLeaf) int64Elem(x int64) float32 {
	if l.unsigned {
		return float32(uint64(x))
	}
	return float32(x)
}

// elem converts one numeric value to a vector element.
func (l *pqLeaf) elem(v parquet.Value) (float32, error) {
	switch l.kind {
	case parquet.Float:
		x := v.Float()
		return x, checkF32(x)
	case parquet.Double:
		return f64ToElem(v.Double())
	}
	f, _, _ := l.number(v)
	return float32(f), nil
}

// spreadValue reads a vector from one numeric column per element.
func (r *parquetReader) spreadValue(col Column, ls []*pqLeaf) (types.Value, error) {
	out := r.ar.alloc(len(ls))
	nulls, first := 0, ""
	for k, l := range ls {
		v, err := l.peek()
		if err != nil {
			return types.Value{}, r.damaged(l, err)
		}
		l.bi++
		if v.DefinitionLevel() < l.maxDef {
			if nulls++; first == "" {
				first = l.name
			}
			continue
		}
		x, err := l.elem(v)
		if err != nil {
			return types.Value{}, &Error{Pos: r.Pos(), Column: l.name, Msg: fmt.Sprintf("%v (element %d of %q)", err, k+1, col.Name)}
		}
		out[k] = x
	}
	switch nulls {
	case 0:
		return types.VectorValue(out), nil
	case len(ls):
		return types.Value{}, nil
	}
	return types.Value{}, &Error{Pos: r.Pos(), Column: first, Msg: fmt.Sprintf("null element of %q (a vector is NULL only when all its columns are)", col.Name)}
}

// parquetWriter writes one field per column, in column order: INT as
// INT64, FLOAT as DOUBLE, TEXT as STRING, VECTOR as LIST<FLOAT> (element
// required), all nullable; Snappy-compressed, row groups of about 64 MiB.
type parquetWriter struct {
	out      *outFile
	cols     []Column
	pw       *parquet.Writer
	n        int64
	inGroup  int
	perGroup int
	rows     []parquet.Row
}

// pqGroup is a parquet group whose fields keep the given order
// (parquet.Group is a map and sorts them by name).
type pqGroup struct {
	parquet.Group
	fields []parquet.Field
}

func (g pqGroup) Fields() []parquet.Field { return g.fields }

type pqField struct {
	parquet.Node
	name string
}

func (f pqField) Name() string                             { return f.name }
func (f pqField) Value(reflect.Value) (zero reflect.Value) { return zero }

func newParquetWriter(out *outFile, cols []Column) (w *parquetWriter, err error) {
	defer pqPanic(out.path, 0, &err)
	g := pqGroup{Group: parquet.Group{}}
	rowBytes := 0
	for _, c := range cols {
		var n parquet.Node
		switch c.Type.Kind {
		case types.Int:
			n = parquet.Optional(parquet.Leaf(parquet.Int64Type))
			rowBytes += 8
		case types.Float:
			n = parquet.Optional(parquet.Leaf(parquet.DoubleType))
			rowBytes += 8
		case types.Text:
			n = parquet.Optional(parquet.String())
			rowBytes += 32
		case types.Vector:
			n = parquet.Optional(parquet.List(parquet.Required(parquet.Leaf(parquet.FloatType))))
			rowBytes += 4 * c.Type.Dim
		}
		g.Group[c.Name] = n
		g.fields = append(g.fields, pqField{Node: n, name: c.Name})
	}
	schema := parquet.NewSchema("softdb", g)
	cfg, err := parquet.NewWriterConfig(schema, parquet.Compression(&parquet.Snappy), parquet.CreatedBy("softdb", "", ""))
	if err != nil {
		return nil, &Error{Pos: Pos{Path: out.path}, Msg: err.Error()}
	}
	w = &parquetWriter{out: out, cols: cols, pw: parquet.NewWriter(out.bw, cfg),
		perGroup: max(64, (64<<20)/max(rowBytes, 1)), rows: make([]parquet.Row, 1)}
	return w, nil
}

func (w *parquetWriter) Write(row []types.Value) (err error) {
	w.n++
	defer pqPanic(w.out.path, w.n, &err)
	if err := checkRow(w.out.path, false, w.n, w.cols, row); err != nil {
		return err
	}
	pr := w.rows[0][:0]
	for i, v := range row {
		switch {
		case v.K == types.Null:
			pr = append(pr, parquet.NullValue().Level(0, 0, i))
		case w.cols[i].Type.Kind == types.Int:
			x := v.I
			if v.K == types.Float {
				x = int64(v.F)
			}
			pr = append(pr, parquet.Int64Value(x).Level(0, 1, i))
		case w.cols[i].Type.Kind == types.Float:
			x := v.F
			if v.K == types.Int {
				x = float64(v.I)
			}
			pr = append(pr, parquet.DoubleValue(x).Level(0, 1, i))
		case v.K == types.Text:
			pr = append(pr, parquet.ByteArrayValue([]byte(v.S)).Level(0, 1, i))
		default:
			for k, x := range v.V {
				rep := 1
				if k == 0 {
					rep = 0
				}
				pr = append(pr, parquet.FloatValue(x).Level(rep, 2, i))
			}
		}
	}
	w.rows[0] = pr
	if _, err := w.pw.WriteRows(w.rows); err != nil {
		return &Error{Pos: Pos{Path: w.out.path, Record: w.n}, Msg: err.Error()}
	}
	if w.inGroup++; w.inGroup == w.perGroup {
		w.inGroup = 0
		if err := w.pw.Flush(); err != nil {
			return ioError(w.out.path, "write", err)
		}
	}
	return nil
}

func (w *parquetWriter) Close() (err error) {
	if w.out.closed {
		return nil
	}
	defer pqPanic(w.out.path, 0, &err)
	if err := w.pw.Close(); err != nil {
		w.out.abort()
		return ioError(w.out.path, "write", err)
	}
	return w.out.commit()
}

func (w *parquetWriter) Abort() error { return w.out.abort() }
