package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/softdb/softdb/formats"
	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
	"github.com/softdb/softdb/types"
)

// progressRows is how often COPY reports progress and checks for
// cancellation.
const progressRows = 4096

// Progress receives COPY's progress: rows done so far and, when the files
// tell it in advance, the total (else -1). It is called from the
// statement's goroutine.
type Progress func(done, total int64)

// SetProgress installs a progress callback for later COPY statements.
func (s *Session) SetProgress(p Progress) { s.progress = p }

func (s *Session) copy(ctx context.Context, n *query.Copy, res *Result) error {
	if n.To {
		return s.copyTo(ctx, n, res)
	}
	// Inside BEGIN … COMMIT the load goes through the transaction's batch,
	// so that later statements can still write; alone, it goes to
	// sstables that its commit ingests (storage.Tx.InsertBulk).
	inTx := s.tx != nil
	return s.write(ctx, func(tx *storage.Tx) error {
		rows, err := copyFrom(ctx, tx, n, s.progress, inTx)
		res.RowsAffected = rows
		return err
	})
}

// copyTargets resolves COPY's column list. Without one, COPY FROM and
// COPY TO both take every column but the generated ones, as in
// PostgreSQL: what COPY TO writes, COPY FROM reads back (the generated
// columns are computed again). A list may name a generated column for
// COPY TO.
func copyTargets(t *storage.Table, n *query.Copy) ([]int, []formats.Column, error) {
	schema := t.Schema()
	var idx []int
	if len(n.Columns) == 0 {
		idx = writableColumns(schema)
	} else {
		seen := map[int]bool{}
		for _, c := range n.Columns {
			i := schema.ColumnIndex(c.Name)
			if i < 0 {
				return nil, nil, errorf(ErrNotFound, c.At, "column %q does not exist in table %q", c.Name, schema.Name)
			}
			if seen[i] {
				return nil, nil, errorf(ErrValue, c.At, "column %q is listed twice", c.Name)
			}
			if !n.To && schema.Columns[i].Generated != "" {
				return nil, nil, generatedTarget(c.At, schema.Name, schema.Columns[i])
			}
			seen[i] = true
			idx = append(idx, i)
		}
	}
	cols := make([]formats.Column, len(idx))
	for j, i := range idx {
		cols[j] = formats.Column{Name: schema.Columns[i].Name, Type: schema.Columns[i].Type}
	}
	return idx, cols, nil
}

func copyOptions(n *query.Copy) (formats.Options, error) {
	var o formats.Options
	for _, opt := range n.Options {
		if err := o.Set(opt.Name, opt.Value); err != nil {
			return o, errorf(ErrValue, opt.At, "COPY option %s: %v", opt.Name, err)
		}
	}
	return o, nil
}

// copyFrom streams the files into the table within tx. Each file fills
// the listed columns (one file) or one column each (several files, zipped
// row by row; all must have the same number of rows). A refused row is
// reported at its position in the file that holds the column at fault.
func copyFrom(ctx context.Context, tx *storage.Tx, n *query.Copy, progress Progress, inTx bool) (int64, error) {
	t, err := tableOf(tx.View(), n.Table)
	if err != nil {
		return 0, err
	}
	schema := t.Schema()
	idx, cols, err := copyTargets(t, n)
	if err != nil {
		return 0, err
	}
	opts, err := copyOptions(n)
	if err != nil {
		return 0, err
	}
	if len(n.Paths) > 1 && len(n.Paths) != len(cols) {
		return 0, errorf(ErrValue, n.At, "COPY with %d files fills one column per file, but %d columns are listed; list the columns in the order of the files, e.g. COPY %s (key, value) FROM 'k.npy', 'v.npy'", len(n.Paths), len(cols), schema.Name)
	}
	// readers[i] fills fill[i] (indexes into cols).
	var readers []formats.Reader
	var fill [][]int
	defer func() {
		for _, r := range readers {
			r.Close()
		}
	}()
	total := int64(-1)
	for i, p := range n.Paths {
		var rc []formats.Column
		var f []int
		if len(n.Paths) == 1 {
			rc = cols
			for j := range cols {
				f = append(f, j)
			}
		} else {
			rc, f = cols[i:i+1], []int{i}
		}
		r, err := formats.OpenReaderContext(ctx, p.Value, rc, opts)
		if err != nil {
			return 0, err
		}
		readers = append(readers, r)
		fill = append(fill, f)
		if r.Rows() >= 0 && (total < 0 || r.Rows() > total) {
			total = r.Rows()
		}
	}
	// source[c] is the reader that fills table column c (0 when none).
	source := make([]int, len(schema.Columns))
	for i, f := range fill {
		for _, c := range f {
			source[idx[c]] = i
		}
	}
	gen, err := planGenerated(tx.View(), schema)
	if err != nil {
		return 0, err
	}
	// Reading and parsing run on a goroutine of their own, a few chunks
	// ahead of storage, so the two overlap on two cores.
	rd := &copyReader{
		readers: readers, fill: fill, idx: idx, schema: schema, source: source, paths: n.Paths, at: n.At,
		out: make(chan *copyChunk, 2), free: make(chan *copyChunk, 4), stop: make(chan struct{}), exited: make(chan struct{}),
	}
	for range cap(rd.free) {
		rd.free <- newCopyChunk(len(schema.Columns), len(readers))
	}
	go rd.run()
	defer rd.close()
	var (
		cur  *copyChunk
		at   int                                 // next row of cur
		pos  = make([]formats.Pos, len(readers)) // of the row last handed to storage
		done int64
	)
	next := func(row []types.Value) error {
		for cur == nil || at == len(cur.rows) {
			if cur != nil {
				if cur.err != nil {
					copy(pos, cur.errPos)
					return cur.err
				}
				rd.free <- cur
			}
			cur, at = <-rd.out, 0
		}
		copy(row, cur.rows[at])
		copy(pos, cur.pos[at*len(readers):(at+1)*len(readers)])
		at++
		if err := gen.fill(row, n.At, func() string { return pos[0].String() }); err != nil {
			return err
		}
		if done++; done%progressRows == 0 {
			if progress != nil {
				progress(done, total)
			}
			return ctx.Err()
		}
		return nil
	}
	rows, err := tx.InsertBulk(schema.Name, storage.BulkOptions{Rows: max(total, 0), Batch: inTx}, next)
	if err != nil {
		return 0, locateCopyError(err, schema, func(c int) formats.Pos { return pos[source[c]] })
	}
	if progress != nil {
		progress(rows, total)
	}
	return rows, nil
}

// copyChunkRows is how many rows the reading goroutine hands over at once.
const copyChunkRows = 1024

// copyChunk is a run of rows read from the files, with each row's
// position in every file. err, when set, ended the reading after the
// rows (io.EOF at the end of the files), at errPos.
type copyChunk struct {
	rows   [][]types.Value
	pos    []formats.Pos // len(readers) per row
	err    error
	errPos []formats.Pos
}

func newCopyChunk(ncols, nreaders int) *copyChunk {
	cells := make([]types.Value, copyChunkRows*ncols)
	c := &copyChunk{rows: make([][]types.Value, 0, copyChunkRows), pos: make([]formats.Pos, 0, copyChunkRows*nreaders), errPos: make([]formats.Pos, nreaders)}
	for i := range copyChunkRows {
		c.rows = append(c.rows, cells[i*ncols:(i+1)*ncols:(i+1)*ncols])
	}
	c.rows = c.rows[:0]
	return c
}

// copyReader reads rows from COPY's files into chunks.
type copyReader struct {
	readers []formats.Reader
	fill    [][]int // readers[i] fills the targets fill[i] (indexes into idx)
	idx     []int   // target → table column
	schema  *storage.Schema
	source  []int // table column → reader
	paths   []query.StringLit
	at      query.Pos
	out     chan *copyChunk
	free    chan *copyChunk
	stop    chan struct{}
	exited  chan struct{}
}

// run reads until the files end, a row is bad, or close.
func (rd *copyReader) run() {
	defer close(rd.exited)
	bufs := make([][]types.Value, len(rd.readers))
	for i, f := range rd.fill {
		bufs[i] = make([]types.Value, len(f))
	}
	var done int64
	for {
		var c *copyChunk
		select {
		case c = <-rd.free:
		case <-rd.stop:
			return
		}
		c.rows, c.pos, c.err = c.rows[:0], c.pos[:0], nil
		for len(c.rows) < copyChunkRows {
			row := c.rows[:len(c.rows)+1][len(c.rows)]
			clear(row)
			if err := rd.read(row, bufs, done); err != nil {
				c.err = err
				for i, r := range rd.readers {
					c.errPos[i] = r.Pos()
				}
				break
			}
			c.rows = c.rows[:len(c.rows)+1]
			for _, r := range rd.readers {
				c.pos = append(c.pos, r.Pos())
			}
			done++
		}
		select {
		case rd.out <- c:
		case <-rd.stop:
			return
		}
		if c.err != nil {
			return
		}
	}
}

// read reads the next row (the done+1st) into row.
func (rd *copyReader) read(row []types.Value, bufs [][]types.Value, done int64) error {
	eof := 0
	var ended []bool // reader i has no more rows; nil until one has none
	for i, r := range rd.readers {
		err := r.Next(bufs[i])
		if err == io.EOF {
			if ended == nil {
				ended = make([]bool, len(rd.readers))
			}
			eof++
			ended[i] = true
			continue
		}
		if err != nil {
			return err
		}
		for j, c := range rd.fill[i] {
			row[rd.idx[c]] = bufs[i][j]
		}
	}
	if eof == len(rd.readers) {
		return io.EOF
	}
	if eof > 0 {
		var short, long []string
		for i := range rd.readers {
			if ended[i] {
				short = append(short, rd.paths[i].Value)
			} else {
				long = append(long, rd.paths[i].Value)
			}
		}
		rows, goOn := "rows", "goes on"
		if done == 1 {
			rows = "row"
		}
		if len(long) > 1 {
			goOn = "go on"
		}
		return errorf(ErrValue, rd.at, "COPY files have different numbers of rows: %s ended after %d %s while %s %s", strings.Join(short, ", "), done, rows, strings.Join(long, ", "), goOn)
	}
	for c, col := range rd.schema.Columns {
		if row[c].IsNull() && col.NotNull && col.Generated == "" {
			return &formats.Error{Pos: rd.readers[rd.source[c]].Pos(), Column: col.Name, Msg: "NULL in a NOT NULL column"}
		}
	}
	return nil
}

// close stops the reading goroutine and waits for it, so that the
// readers can be closed.
func (rd *copyReader) close() {
	close(rd.stop)
	<-rd.exited
}

// locateCopyError puts a row storage refused at its file position: the
// row is the last one read, and pos gives the position of the reader that
// filled a column.
func locateCopyError(err error, schema *storage.Schema, pos func(col int) formats.Pos) error {
	var be *storage.BulkError
	if !errors.As(err, &be) {
		return err
	}
	column := ""
	var ce *storage.ConstraintError
	var de *storage.DimensionError
	var ve *storage.ValueError
	switch {
	case errors.As(be.Err, &ce):
		column = ce.Column
	case errors.As(be.Err, &de):
		column = de.Column
	case errors.As(be.Err, &ve):
		column = ve.Column
	}
	c := max(schema.ColumnIndex(column), 0)
	msg := be.Err.Error()
	if ce != nil && ce.Kind == storage.ConstraintPrimaryKey {
		if be.Earlier >= 0 {
			msg = fmt.Sprintf("duplicate primary key %s (row %d of this COPY has it too)", ce.Value, be.Earlier+1)
		} else {
			msg = fmt.Sprintf("duplicate primary key %s (already in table %q)", ce.Value, ce.Table)
		}
	}
	return &formats.Error{Pos: pos(c), Column: column, Msg: msg, Err: be.Err}
}

// copyTo writes the table's live rows, in rowid order, to one file.
func (s *Session) copyTo(ctx context.Context, n *query.Copy, res *Result) error {
	t, err := tableOf(s.snapshot(), n.Table)
	if err != nil {
		return err
	}
	idx, cols, err := copyTargets(t, n)
	if err != nil {
		return err
	}
	opts, err := copyOptions(n)
	if err != nil {
		return err
	}
	if len(n.Paths) != 1 {
		return errorf(ErrValue, n.At, "COPY … TO writes one file, got %d", len(n.Paths))
	}
	w, err := formats.CreateWriter(n.Paths[0].Value, cols, opts)
	if err != nil {
		return err
	}
	row := make([]types.Value, len(idx))
	var count int64
	for _, seg := range t.Segments() {
		live := seg.Live()
		for i := range live {
			if live[i] == 0 {
				continue
			}
			for j, c := range idx {
				row[j] = seg.Value(c, i)
			}
			if err := w.Write(row); err != nil {
				w.Abort()
				return err
			}
			if count++; count&4095 == 0 {
				if err := ctx.Err(); err != nil {
					w.Abort()
					return err
				}
			}
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	res.RowsAffected = count
	return nil
}
