package formats

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/softdb/softdb/types"
)

// Reader yields the rows of one file for a list of target columns.
//
// Vector values are fresh slices (carved from large shared blocks, so there
// is no allocation per row); they stay valid after later calls and after
// Close, and the caller may keep them. TEXT values are ordinary strings.
// A Reader is not safe for concurrent use.
type Reader interface {
	// Next fills dst, which has one slot per target column, with the next
	// row. It returns io.EOF after the last row. Any other error is an
	// *Error naming the file, the line or record, the column and the
	// reason; the Reader is then spent and only Close may be called.
	Next(dst []types.Value) error
	// Rows is the number of rows when the file tells it in advance (npy,
	// *vecs, parquet), else -1 (csv, jsonl). For progress reports only.
	Rows() int64
	// Pos is the position of the row last returned by Next, so that the
	// caller can report an error of its own (a duplicate key, a NOT NULL
	// violation) as &Error{Pos: r.Pos(), Column: …, Msg: …}.
	Pos() Pos
	Close() error
}

// OpenReader opens path for reading rows of cols. The format is o.Format,
// else it comes from the extension. Header and schema problems (a missing
// column, a dimension mismatch, a bad npy header) are reported here, before
// any row is read.
func OpenReader(path string, cols []Column, o Options) (Reader, error) {
	return OpenReaderContext(context.Background(), path, cols, o)
}

// OpenReaderContext is OpenReader for a file that may never deliver (a
// FIFO without a writer, a device): opening it and each later read end
// with ctx's error when ctx ends first.
func OpenReaderContext(ctx context.Context, path string, cols []Column, o Options) (Reader, error) {
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
	file, size, err := openFileContext(ctx, path)
	if err != nil {
		return nil, err
	}
	var src io.ReadCloser = file
	if size < 0 {
		src = newCtxFile(ctx, file)
	}
	var r Reader
	switch f {
	case CSV:
		var c *csvReader
		if c, err = newCSVReader(src, size, path, cols, o); err == nil {
			r = c
			if useParallel(size) {
				r = parallelCSV(c, parWorkers(), parBlockSize)
			}
		}
	case JSONL:
		var j *jsonlReader
		if j, err = newJSONLReader(src, size, path, cols); err == nil {
			r = j
			if useParallel(size) {
				r = parallelJSONL(j, parWorkers(), parBlockSize)
			}
		}
	case NPY:
		r, err = newNPYReader(src, size, path, cols[0])
	case Fvecs, Ivecs, Bvecs:
		r, err = newVecsReader(src, size, path, f, cols[0])
	case Parquet:
		r, err = newParquetReader(file, size, path, cols)
	default:
		err = fmt.Errorf("unreachable format %q", f)
	}
	if err != nil {
		src.Close()
		return nil, err
	}
	return r, nil
}

// openFileContext is openFile that gives up when ctx ends: opening a FIFO
// for reading waits for a writer, so it is opened on another goroutine,
// which a moment's writer of our own releases if ctx ends first.
func openFileContext(ctx context.Context, path string) (*os.File, int64, error) {
	st, err := os.Stat(path)
	if err != nil || st.Mode()&os.ModeNamedPipe == 0 || ctx.Done() == nil {
		return openFile(path)
	}
	type opened struct {
		f    *os.File
		size int64
		err  error
	}
	ch := make(chan opened, 1)
	go func() {
		f, size, err := openFile(path)
		ch <- opened{f, size, err}
	}()
	select {
	case o := <-ch:
		return o.f, o.size, o.err
	case <-ctx.Done():
		if w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		go func() {
			if o := <-ch; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, 0, ioError(path, "cannot open", ctx.Err())
	}
}

// ctxFile is a pipe or device whose blocked reads end when ctx ends:
// such files are in Go's poller, so a read deadline interrupts them.
type ctxFile struct {
	*os.File
	ctx  context.Context
	stop func() bool
}

func newCtxFile(ctx context.Context, f *os.File) *ctxFile {
	return &ctxFile{File: f, ctx: ctx, stop: context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Now()) })}
}

func (f *ctxFile) Read(p []byte) (int, error) {
	n, err := f.File.Read(p)
	if err != nil && f.ctx.Err() != nil {
		err = f.ctx.Err()
	}
	return n, err
}

func (f *ctxFile) Close() error {
	f.stop()
	return f.File.Close()
}

// withPath fills in the path of a position-less *Error.
func withPath(err error, path string) error {
	if e, ok := err.(*Error); ok && e.Path == "" {
		e2 := *e
		e2.Path = path
		return &e2
	}
	return err
}

// openFile is a variable so that tests can inject I/O failures.
var openFile = func(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, ioError(path, "cannot open", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, ioError(path, "cannot open", err)
	}
	if st.IsDir() {
		f.Close()
		return nil, 0, &Error{Pos: Pos{Path: path}, Msg: "cannot open: is a directory"}
	}
	size := int64(-1) // unknown: a pipe or a device
	if st.Mode().IsRegular() {
		size = st.Size()
	}
	return f, size, nil
}

// readFull is io.ReadFull that turns read errors into *Error.
func readFull(r io.Reader, path string, b []byte) (int, error) {
	n, err := io.ReadFull(r, b)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return n, ioError(path, "read", err)
	}
	return n, err
}

// arena hands out vector slices from large blocks so that reading a row
// does not allocate. A block stays alive while any of its rows is used.
type arena struct{ buf []float32 }

const arenaBlock = 1 << 16 // floats

func (a *arena) alloc(n int) []float32 {
	if len(a.buf) < n {
		a.buf = make([]float32, max(n, arenaBlock))
	}
	v := a.buf[:n:n]
	a.buf = a.buf[n:]
	return v
}
