package formats

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"

	"github.com/softdb/softdb/types"
)

// Writer writes rows of its target columns to a file.
//
// The file appears at its path only when Close succeeds: rows go to a
// temporary file in the same directory, which Close flushes, syncs and
// renames over path. Abort (or a failed Close) removes it, so a failed
// COPY … TO never leaves a half-written file or clobbers an existing one.
// A Writer is not safe for concurrent use.
type Writer interface {
	// Write appends one row; row has one value per target column. Values
	// must have the column's kind (INT and FLOAT convert to each other);
	// NULL is written where the format can hold it and rejected where it
	// cannot (npy, *vecs).
	Write(row []types.Value) error
	// Close flushes, syncs and publishes the file.
	Close() error
	// Abort discards the file. Close after Abort does nothing.
	Abort() error
}

// CreateWriter creates a writer of cols to path, in o.Format or the
// format of the extension.
func CreateWriter(path string, cols []Column, o Options) (Writer, error) {
	f, err := o.resolve(path)
	if err != nil {
		return nil, withPath(err, path)
	}
	if err := o.Validate(); err != nil {
		return nil, withPath(err, path)
	}
	if err := checkColumns(path, f, cols); err != nil {
		return nil, err
	}
	out, err := createOut(path)
	if err != nil {
		return nil, err
	}
	var w Writer
	switch f {
	case CSV:
		w, err = newCSVWriter(out, cols, o)
	case JSONL:
		w, err = newJSONLWriter(out, cols)
	case NPY:
		w, err = newNPYWriter(out, cols[0])
	case Fvecs, Ivecs, Bvecs:
		w, err = newVecsWriter(out, f, cols[0])
	case Parquet:
		w, err = newParquetWriter(out, cols)
	default:
		err = fmt.Errorf("unreachable format %q", f)
	}
	if err != nil {
		out.abort()
		return nil, err
	}
	return w, nil
}

// outFile is the temporary file behind a Writer.
type outFile struct {
	path   string // final path
	tmp    string // temporary path; "" when writing path directly
	f      *os.File
	bw     *bufio.Writer
	closed bool
}

func createOut(path string) (*outFile, error) {
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		if st.IsDir() {
			return nil, &Error{Pos: Pos{Path: path}, Msg: "cannot create: is a directory"}
		}
		// A device or a pipe: write it in place.
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, ioError(path, "cannot create", err)
		}
		return &outFile{path: path, f: f, bw: bufio.NewWriterSize(f, 1<<20)}, nil
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, ioError(path, "cannot create", err)
	}
	return &outFile{path: path, tmp: f.Name(), f: f, bw: bufio.NewWriterSize(f, 1<<20)}, nil
}

func (o *outFile) write(b []byte) error {
	if _, err := o.bw.Write(b); err != nil {
		return ioError(o.path, "write", err)
	}
	return nil
}

// commit flushes, syncs and renames the file into place, then syncs the
// directory so that the rename itself is durable.
func (o *outFile) commit() error {
	if o.closed {
		return nil
	}
	o.closed = true
	fail := func(err error) error {
		o.f.Close()
		if o.tmp != "" {
			os.Remove(o.tmp)
		}
		return ioError(o.path, "write", err)
	}
	if err := o.bw.Flush(); err != nil {
		return fail(err)
	}
	if o.tmp == "" {
		if err := o.f.Close(); err != nil {
			return ioError(o.path, "write", err)
		}
		return nil
	}
	if err := o.f.Sync(); err != nil {
		return fail(err)
	}
	if err := o.f.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := o.f.Close(); err != nil {
		os.Remove(o.tmp)
		return ioError(o.path, "write", err)
	}
	if err := os.Rename(o.tmp, o.path); err != nil {
		os.Remove(o.tmp)
		return ioError(o.path, "cannot create", err)
	}
	if d, err := os.Open(filepath.Dir(o.path)); err == nil {
		d.Sync() // best effort: some file systems refuse to sync directories
		d.Close()
	}
	return nil
}

func (o *outFile) abort() error {
	if o.closed {
		return nil
	}
	o.closed = true
	o.f.Close()
	if o.tmp != "" {
		return os.Remove(o.tmp)
	}
	return nil
}

// writeErr makes a positioned error for row n (1-based) of a writer.
func writeErr(path string, line bool, n int64, col, format string, args ...any) error {
	p := Pos{Path: path}
	if line {
		p.Line = n
	} else {
		p.Record = n
	}
	return &Error{Pos: p, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// checkRow verifies that row fits cols: the count, and the kinds of the
// values (NULL fits anything; INT and FLOAT convert to each other).
func checkRow(path string, line bool, n int64, cols []Column, row []types.Value) error {
	if len(row) != len(cols) {
		return writeErr(path, line, n, "", "row has %d values, expected %d", len(row), len(cols))
	}
	for i, v := range row {
		c := cols[i]
		switch {
		case v.K == types.Null:
		case v.K == c.Type.Kind:
			if v.K == types.Vector && len(v.V) != c.Type.Dim {
				return writeErr(path, line, n, c.Name, "vector has %d dimensions, expected %d", len(v.V), c.Type.Dim)
			}
		case v.K == types.Int && c.Type.Kind == types.Float:
		case v.K == types.Float && c.Type.Kind == types.Int:
			if _, err := floatToInt(v.F); err != nil {
				return writeErr(path, line, n, c.Name, "%v", err)
			}
		default:
			return writeErr(path, line, n, c.Name, "cannot write a %s value to a %s column", v.K, c.Type)
		}
	}
	return nil
}
