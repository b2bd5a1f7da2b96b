package formats

import (
	"bytes"
	"io"
	"runtime"
	"sync"

	"github.com/softdb/softdb/types"
)

// Parallel parsing of csv and jsonl.
//
// One goroutine (the splitter) reads the file in blocks of about
// parBlockSize bytes, each cut just after a record boundary, and numbers
// each block with the line it starts on; workers parse whole blocks with
// the serial reader's own code, each into its own rows; Next hands the
// rows out in file order. So rows, their lines and the error (the first
// one in file order: a block's error is only seen after every row before
// it) are the serial reader's, whatever the timing. A pipe or a FIFO is
// read the same way, front to back.
//
// Boundaries: in jsonl every '\n' ends a record (a JSON string cannot hold
// a raw newline). In csv a '\n' ends a record when the quotes before it,
// counted from the start of the record, are even; records start at even
// counts, so that is when the quotes from the start of the file are even,
// which the splitter counts with bytes.Count. The header (or, without
// one, the first record, which fixes the columns) is read serially first.

// parBlockSize is the size of the blocks handed to the workers.
const parBlockSize = 1 << 20

// blockParser is a serial reader that can be pointed at one block of
// whole records starting at a given line; the workers each have one.
type blockParser interface {
	Next(dst []types.Value) error
	Pos() Pos
	resetBlock(data []byte, line int64)
}

// textBlock is a run of whole records and, once done is closed, their
// rows (ncols values each), lines and the error that ended them, if any.
type textBlock struct {
	data  []byte
	line  int64 // of data[0]
	rows  []types.Value
	lines []int64
	err   error
	done  chan struct{}
}

// parallelText reads blocks with a splitter goroutine and parses them on
// workers. It implements Reader.
type parallelText struct {
	path   string
	ncols  int
	closer io.Closer

	order chan *textBlock // every block, in file order; closed after the last
	work  chan *textBlock // blocks to parse
	free  chan *textBlock // parsed blocks handed back, for reuse
	stop  chan struct{}
	wg    sync.WaitGroup

	cur *textBlock
	at  int // next row of cur
	pos Pos
	err error // sticky
}

// splitFunc finds the last record boundary in data[from:]: the offset
// just after the '\n' that ends the last whole record, or -1. odd is the
// quote parity of data[:from] (csv), which it updates to that of data.
type splitFunc func(data []byte, from int, odd *bool) int

// newParallelText starts parsing src from its unread bytes rest (and
// eof, when src has nothing more), the first of them on line. newWorker
// makes each worker's parser; workers ≥ 1.
func newParallelText(src io.Reader, closer io.Closer, rest []byte, eof bool, path string, line int64, ncols int,
	split splitFunc, newWorker func() blockParser, workers, blockSize int) *parallelText {
	p := &parallelText{
		path: path, ncols: ncols, closer: closer,
		order: make(chan *textBlock, 2*workers),
		work:  make(chan *textBlock, workers),
		free:  make(chan *textBlock, 2*workers+2),
		stop:  make(chan struct{}),
	}
	p.wg.Add(1 + workers)
	go p.splitter(src, rest, eof, line, split, blockSize)
	for range workers {
		go p.worker(newWorker())
	}
	return p
}

// parWorkers is how many workers a parallel reader uses.
func parWorkers() int { return min(runtime.GOMAXPROCS(0), 8) }

// block returns a block to fill, reusing a parsed one.
func (p *parallelText) block() *textBlock {
	select {
	case b := <-p.free:
		b.rows, b.lines, b.err = b.rows[:0], b.lines[:0], nil
		b.done = make(chan struct{})
		return b
	default:
		return &textBlock{done: make(chan struct{})}
	}
}

// send queues b in file order and, unless it only carries an error, for
// a worker. It reports false when the reader is being closed.
func (p *parallelText) send(b *textBlock) bool {
	select {
	case p.order <- b:
	case <-p.stop:
		return false
	}
	if b.err != nil {
		close(b.done)
		return true
	}
	select {
	case p.work <- b:
		return true
	case <-p.stop:
		return false
	}
}

func (p *parallelText) splitter(src io.Reader, rest []byte, eof bool, line int64, split splitFunc, blockSize int) {
	defer p.wg.Done()
	defer close(p.work)
	defer close(p.order)
	// pending is read but not yet sent: whole records up to cut, then
	// the start of the next one; from is where the search for the last
	// boundary resumes, odd the quote parity before it.
	pending := append(make([]byte, 0, blockSize+len(rest)), rest...)
	from, odd := 0, false
	want := blockSize
	for {
		// Read a block's worth, or what a pipe has for now: a short read
		// sends the whole records there are, so that rows written slowly
		// into a pipe do not wait for a block to fill.
		var rerr error
		for short := false; !eof && len(pending) < want && !short; {
			if cap(pending) < want {
				pending = append(pending[:cap(pending)], make([]byte, want-cap(pending))...)[:len(pending)]
			}
			n, err := src.Read(pending[len(pending):cap(pending)])
			short = n > 0 && n < cap(pending)-len(pending)
			pending = pending[:len(pending)+n]
			if err == io.EOF {
				eof = true
			} else if err != nil {
				rerr = ioError(p.path, "read", err)
				break
			}
		}
		cut := len(pending)
		if !eof || rerr != nil {
			cut = split(pending, from, &odd)
		}
		if cut < 0 {
			if rerr == nil && len(pending) >= maxRecord {
				// As the serial reader: a record that does not fit its
				// largest buffer.
				rerr = tooLong(p.path, line)
			}
			if rerr != nil {
				p.send(&textBlock{err: rerr, done: make(chan struct{})})
				return
			}
			from = len(pending)
			if len(pending) >= want {
				want = 2 * len(pending) // one record longer than a block
			}
			continue
		}
		if cut > 0 {
			b := p.block()
			b.data = append(b.data[:0], pending[:cut]...)
			b.line = line
			line += int64(bytes.Count(b.data, []byte{'\n'}))
			if !p.send(b) {
				return
			}
		}
		if rerr != nil {
			p.send(&textBlock{err: rerr, done: make(chan struct{})})
			return
		}
		if eof && cut == len(pending) {
			return
		}
		n := copy(pending, pending[cut:])
		pending = pending[:n]
		from, odd = 0, false
		want = max(blockSize, 2*n)
	}
}

func (p *parallelText) worker(bp blockParser) {
	defer p.wg.Done()
	for {
		var b *textBlock
		select {
		case b = <-p.work:
		case <-p.stop:
			return
		}
		if b == nil {
			return
		}
		bp.resetBlock(b.data, b.line)
		for {
			n := len(b.rows)
			if cap(b.rows)-n < p.ncols {
				b.rows = append(b.rows, make([]types.Value, p.ncols)...)[:n]
			}
			row := b.rows[n : n+p.ncols]
			clear(row)
			err := bp.Next(row)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.err = err
				break
			}
			b.rows = b.rows[:n+p.ncols]
			b.lines = append(b.lines, bp.Pos().Line)
		}
		close(b.done)
	}
}

func (p *parallelText) Next(dst []types.Value) error {
	if len(dst) != p.ncols {
		panic("formats: Next got the wrong number of slots")
	}
	if p.err != nil {
		return p.err
	}
	for p.cur == nil || p.at == len(p.cur.lines) {
		if p.cur != nil {
			if p.cur.err != nil {
				p.err = p.cur.err
				return p.err
			}
			select {
			case p.free <- p.cur:
			default:
			}
			p.cur = nil
		}
		b, ok := <-p.order
		if !ok {
			p.err = io.EOF
			return io.EOF
		}
		<-b.done
		p.cur, p.at = b, 0
	}
	copy(dst, p.cur.rows[p.at*p.ncols:])
	p.pos = Pos{Path: p.path, Line: p.cur.lines[p.at]}
	p.at++
	return nil
}

func (p *parallelText) Rows() int64 { return -1 }
func (p *parallelText) Pos() Pos    { return p.pos }

// Close stops the goroutines (closing the file ends a read blocked on a
// pipe) and waits for them.
func (p *parallelText) Close() error {
	select {
	case <-p.stop:
		return nil // closed before
	default:
	}
	close(p.stop)
	var err error
	if p.closer != nil {
		err = p.closer.Close()
	}
	p.wg.Wait()
	return err
}

// splitLines finds the last '\n' (jsonl).
func splitLines(data []byte, from int, _ *bool) int {
	i := bytes.LastIndexByte(data[from:], '\n')
	if i < 0 {
		return -1
	}
	return from + i + 1
}

// splitCSV finds the last '\n' outside quotes (csv).
func splitCSV(data []byte, from int, odd *bool) int {
	tail := data[from:]
	q := bytes.Count(tail, []byte{'"'})
	start := *odd
	*odd = start != (q%2 == 1)
	// Walk back over the newlines; the parity before each is that of the
	// whole, less the quotes after it.
	end := len(tail)
	for {
		i := bytes.LastIndexByte(tail[:end], '\n')
		if i < 0 {
			return -1
		}
		q -= bytes.Count(tail[i:end], []byte{'"'})
		if start == (q%2 == 1) {
			return from + i + 1
		}
		end = i
	}
}

// textReader reads a csv or jsonl file serially until its columns are
// known (a csv header, or the first record of a headerless csv), then
// hands the rest of the file to a parallel reader.
type textReader struct {
	serial    Reader
	src       *textSource
	line      func() int64 // of the serial reader's next record
	ready     func() bool  // the columns are known
	worker    func() blockParser
	split     splitFunc
	ncols     int
	workers   int
	blockSize int
	par       *parallelText
}

func (r *textReader) Next(dst []types.Value) error {
	if r.par == nil {
		if !r.ready() {
			return r.serial.Next(dst)
		}
		t := r.src
		r.par = newParallelText(t.src, t.closer, t.buf[t.r:t.w], t.eof, t.path, r.line(), r.ncols,
			r.split, r.worker, r.workers, r.blockSize)
		t.closer = nil // the parallel reader's now
	}
	return r.par.Next(dst)
}

func (r *textReader) Rows() int64 { return -1 }

func (r *textReader) Pos() Pos {
	if r.par != nil {
		return r.par.Pos()
	}
	return r.serial.Pos()
}

func (r *textReader) Close() error {
	if r.par != nil {
		return r.par.Close()
	}
	return r.serial.Close()
}

// parallelCSV reads c's records after the header on workers workers,
// in blocks of about blockSize bytes.
func parallelCSV(c *csvReader, workers, blockSize int) Reader {
	return &textReader{
		serial: c, src: c.t, line: func() int64 { return c.line }, ready: func() bool { return c.plan != nil },
		worker: c.worker, split: splitCSV, ncols: len(c.cols), workers: workers, blockSize: blockSize,
	}
}

// parallelJSONL reads r's lines on workers workers, in blocks of about
// blockSize bytes.
func parallelJSONL(r *jsonlReader, workers, blockSize int) Reader {
	return &textReader{
		serial: r, src: r.t, line: func() int64 { return r.line }, ready: func() bool { return true },
		worker: r.worker, split: splitLines, ncols: len(r.cols), workers: workers, blockSize: blockSize,
	}
}

// useParallel reports whether a text file of size bytes (-1: unknown, a
// pipe) is worth the parallel reader.
func useParallel(size int64) bool {
	return parWorkers() > 1 && (size < 0 || size >= 4*parBlockSize)
}
