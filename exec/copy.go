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

// copyBatchRows is how many rows COPY hands to storage at a time: enough
// to amortise the call, small enough that a failing batch is cheap to
// search for the row at fault.
const copyBatchRows = 4096

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
	return s.write(ctx, func(tx *storage.Tx) error {
		rows, err := copyFrom(ctx, tx, n, s.progress)
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
// row by row; all must have the same number of rows).
func copyFrom(ctx context.Context, tx *storage.Tx, n *query.Copy, progress Progress) (int64, error) {
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
	pk := schema.PrimaryKey()
	var batch [][]types.Value
	var where []formats.Pos
	var done int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := tx.Insert(schema.Name, batch); err != nil {
			return locateCopyError(err, batch, where, pk)
		}
		done += int64(len(batch))
		batch, where = batch[:0], where[:0]
		if progress != nil {
			progress(done, total)
		}
		return ctx.Err()
	}
	bufs := make([][]types.Value, len(readers))
	for i, f := range fill {
		bufs[i] = make([]types.Value, len(f))
	}
	for {
		row := make([]types.Value, len(schema.Columns))
		eof := 0
		for i, r := range readers {
			err := r.Next(bufs[i])
			if err == io.EOF {
				eof++
				continue
			}
			if err != nil {
				return 0, err
			}
			for j, c := range fill[i] {
				row[idx[c]] = bufs[i][j]
			}
		}
		if eof == len(readers) {
			break
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
			return 0, errorf(ErrValue, n.At, "COPY files have different numbers of rows: %s ended at row %d while %s go on", strings.Join(short, ", "), done+int64(len(batch)), strings.Join(long, ", "))
		}
		pos := readers[0].Pos()
		for c, col := range schema.Columns {
			if row[c].IsNull() && col.NotNull {
				return 0, &formats.Error{Pos: pos, Column: col.Name, Msg: "NULL in a NOT NULL column"}
			}
		}
		batch = append(batch, row)
		where = append(where, pos)
		if len(batch) == copyBatchRows {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := flush(); err != nil {
		return 0, err
	}
	return done, nil
}

// locateCopyError names the file position of the row a storage error is
// about (a duplicate primary key names its value; find that row).
func locateCopyError(err error, batch [][]types.Value, where []formats.Pos, pk int) error {
	var ce *storage.ConstraintError
	if errors.As(err, &ce) && ce.Kind == storage.ConstraintPrimaryKey && pk >= 0 {
		for i, r := range batch {
			if literal(r[pk]) == ce.Value {
				return &formats.Error{Pos: where[i], Column: ce.Column, Msg: fmt.Sprintf("duplicate primary key %s (in this file or already in table %q)", ce.Value, ce.Table)}
			}
		}
	}
	if len(where) > 0 {
		return fmt.Errorf("%v … %v: %w", where[0], where[len(where)-1], err)
	}
	return err
}

// literal prints a value as storage quotes it in constraint errors.
func literal(v types.Value) string {
	if v.K == types.Text {
		return "'" + strings.ReplaceAll(v.S, "'", "''") + "'"
	}
	return v.String()
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
