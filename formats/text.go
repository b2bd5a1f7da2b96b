package formats

import (
	"fmt"
	"io"
)

// textSource buffers a text file (csv, jsonl) so that records are scanned
// in place: fields are slices of the buffer, valid until the next record.
// Memory is one buffer, grown only for a record longer than it.
type textSource struct {
	src    io.Reader
	closer io.Closer
	path   string
	buf    []byte
	r, w   int // unread input is buf[r:w]
	eof    bool
}

const (
	textBufSize = 1 << 20
	maxRecord   = 256 << 20 // a record (line) longer than this is an error
)

// newTextSource reads src; size, when known (≥ 0), keeps the buffer of a
// small file small.
func newTextSource(src io.ReadCloser, size int64, path string) *textSource {
	n := textBufSize
	if size >= 0 && size < textBufSize {
		n = max(int(size)+1, 512)
	}
	return &textSource{src: src, closer: src, path: path, buf: make([]byte, n)}
}

// more reads more input, first moving the unread bytes to the front of the
// buffer (by shift bytes, which the caller subtracts from its offsets) and
// growing it when one record fills it. line is for the error message.
func (t *textSource) more(line int64) (shift int, err error) {
	if t.r > 0 {
		copy(t.buf, t.buf[t.r:t.w])
		shift = t.r
		t.w -= t.r
		t.r = 0
	}
	if t.w == len(t.buf) {
		if len(t.buf) >= maxRecord {
			return shift, tooLong(t.path, line)
		}
		nb := make([]byte, 2*len(t.buf))
		copy(nb, t.buf[:t.w])
		t.buf = nb
	}
	for {
		n, err := t.src.Read(t.buf[t.w:])
		t.w += n
		if err == io.EOF {
			t.eof = true
			return shift, nil
		}
		if err != nil {
			return shift, ioError(t.path, "read", err)
		}
		if n > 0 {
			return shift, nil
		}
	}
}

func (t *textSource) close() error {
	if t.closer == nil {
		return nil
	}
	err := t.closer.Close()
	t.closer = nil
	return err
}

// tooLong is the error of a record of maxRecord bytes or more.
func tooLong(path string, line int64) error {
	return &Error{Pos: Pos{Path: path, Line: line}, Msg: fmt.Sprintf("record is longer than %d MiB", maxRecord>>20)}
}

// resetBlock points t at data, a block of whole records: all there is.
func (t *textSource) resetBlock(data []byte) {
	t.buf, t.r, t.w, t.eof = data, 0, len(data), true
}
