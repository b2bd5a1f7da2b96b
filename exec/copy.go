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

// copyTargets resolves COPY's column list (all columns when absent).
func copyTargets(t *storage.Table, n *query.Copy) ([]int, []formats.Column, error) {
	schema := t.Schema()
	var idx []int
	if len(n.Columns) == 0 {
		for i := range schema.Columns {
			idx = append(idx, i)
		}
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
	t, err := tableOf(tx.Snapshot(), n.Table)
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
		r, err := formats.OpenReader(p.Value, rc, opts)
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
	bufs := make([][]types.Value, len(readers))
	for i, f := range fill {
		bufs[i] = make([]types.Value, len(f))
	}
	var done int64
	next := func(row []types.Value) error {
		eof := 0
		for i, r := range readers {
			err := r.Next(bufs[i])
			if err == io.EOF {
				eof++
				continue
			}
			if err != nil {
				return err
			}
			for j, c := range fill[i] {
				row[idx[c]] = bufs[i][j]
			}
		}
		if eof == len(readers) {
			return io.EOF
		}
		if eof > 0 {
			var short, long []string
			for i, r := range readers {
				if r.Pos().Line == 0 && r.Pos().Record == 0 {
					short = append(short, n.Paths[i].Value)
				} else {
					long = append(long, n.Paths[i].Value)
				}
			}
			return errorf(ErrValue, n.At, "COPY files have different numbers of rows: %s ended at row %d while %s go on", strings.Join(short, ", "), done, strings.Join(long, ", "))
		}
		for c, col := range schema.Columns {
			if row[c].IsNull() && col.NotNull {
				return &formats.Error{Pos: readers[source[c]].Pos(), Column: col.Name, Msg: "NULL in a NOT NULL column"}
			}
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
		return 0, locateCopyError(err, schema, func(c int) formats.Pos { return readers[source[c]].Pos() })
	}
	if progress != nil {
		progress(rows, total)
	}
	return rows, nil
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
