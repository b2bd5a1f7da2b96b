package formats

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/softdb/softdb/types"
)

// trace reads r to its end or first error: one line per row (its line in
// the file and values), then the error.
func trace(r Reader, ncols int) []string {
	defer r.Close()
	var out []string
	row := make([]types.Value, ncols)
	for {
		clear(row)
		err := r.Next(row)
		if err == io.EOF {
			return append(out, "EOF")
		}
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				return append(out, fmt.Sprintf("error %T: %v", err, err))
			}
			return append(out, "error: "+err.Error())
		}
		out = append(out, fmt.Sprintf("%s: %v", r.Pos(), row))
	}
}

// chunky returns reads of 1 to 100 bytes, as a pipe might.
type chunky struct {
	r   io.Reader
	rng *rand.Rand
}

func (c *chunky) Read(p []byte) (int, error) {
	return c.r.Read(p[:min(len(p), 1+c.rng.IntN(100))])
}

// sameText checks that the parallel reader, with small blocks, gives the
// serial reader's rows, lines and error on data.
func sameText(t *testing.T, data []byte, csv, header bool, cols []Column, blockSize, workers int, seed uint64) {
	t.Helper()
	open := func(src io.Reader, size int64) (Reader, *textSource, error) {
		rc := io.NopCloser(src)
		if csv {
			c, err := newCSVReader(rc, size, "f.csv", cols, Options{Header: &header})
			if err != nil {
				return nil, nil, err
			}
			return c, c.t, nil
		}
		j, err := newJSONLReader(rc, size, "f.jsonl", cols)
		return j, j.t, err
	}
	serial, _, serr := open(bytes.NewReader(data), int64(len(data)))
	// The parallel one reads in small uneven pieces, size unknown.
	par, _, perr := open(&chunky{bytes.NewReader(data), rand.New(rand.NewPCG(seed, 1))}, -1)
	if (serr == nil) != (perr == nil) || serr != nil && serr.Error() != perr.Error() {
		t.Fatalf("opening: serial %v, parallel %v", serr, perr)
	}
	if serr != nil {
		return
	}
	if csv {
		par = parallelCSV(par.(*csvReader), workers, blockSize)
	} else {
		par = parallelJSONL(par.(*jsonlReader), workers, blockSize)
	}
	want, got := trace(serial, len(cols)), trace(par, len(cols))
	for i := range max(len(want), len(got)) {
		w, g := "(none)", "(none)"
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			t.Fatalf("block size %d, %d workers, data %q:\nrow %d: serial   %s\n        parallel %s", blockSize, workers, clip(data), i, w, g)
		}
	}
}

func clip(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}

var parCols = []Column{col("key", vec(3)), col("label", tInt), col("name", tText)}

// randomCSV is a csv file of n rows of parCols with quoted fields that
// hold newlines, quotes and commas, empty lines, CRLF line ends and, with
// bad, bad cells here and there.
func randomCSV(rng *rand.Rand, n int, header, bad bool) []byte {
	var b bytes.Buffer
	if header {
		b.WriteString("key,label,name\n")
	}
	for i := range n {
		if rng.IntN(10) == 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "\"[%g, %g, %g]\",%d,", rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64(), i)
		switch rng.IntN(5) {
		case 0:
			b.WriteString("\"two\nlines, \"\"quoted\"\"\n\"")
		case 1:
			b.WriteString("\"\"")
		case 2:
		default:
			b.WriteString("plain")
		}
		if bad && rng.IntN(40) == 0 {
			b.WriteString([]string{",extra", "\"", "x\"y"}[rng.IntN(3)])
		}
		b.WriteString([]string{"\n", "\r\n"}[rng.IntN(2)])
	}
	return b.Bytes()
}

func randomJSONL(rng *rand.Rand, n int, bad bool) []byte {
	var b bytes.Buffer
	for i := range n {
		if rng.IntN(10) == 0 {
			b.WriteString("  \n")
		}
		fmt.Fprintf(&b, `{"key": [%g,%g,%g], "label": %d, "name": %s}`, rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64(), i,
			strconv.Quote([]string{"a\nb \"q\"", "", "plain"}[rng.IntN(3)]))
		if bad && rng.IntN(40) == 0 {
			b.WriteString([]string{",", " x", "}"}[rng.IntN(3)])
		}
		b.WriteString([]string{"\n", "\r\n"}[rng.IntN(2)])
	}
	return b.Bytes()
}

func TestParallelTextSame(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	rounds := 60
	if testing.Short() {
		rounds = 15
	}
	for round := range rounds {
		bad := round%3 != 0
		n := 1 + rng.IntN(300)
		bs := []int{1, 2, 7, 64, 333, 4096}[rng.IntN(6)]
		workers := 1 + rng.IntN(4)
		header := round%4 != 1
		sameText(t, randomCSV(rng, n, header, bad), true, header, parCols, bs, workers, uint64(round))
		sameText(t, randomJSONL(rng, n, bad), false, false, parCols, bs, workers, uint64(round))
	}
	// The seeds of the fuzz targets, and the wide and positional forms.
	for _, s := range csvSeeds() {
		for _, cols := range [][]Column{fuzzCols, fuzzWideCols} {
			for _, h := range []bool{true, false} {
				for _, bs := range []int{1, 3, 16} {
					sameText(t, s, true, h, cols, bs, 3, 1)
				}
			}
		}
	}
	for _, s := range jsonlSeeds() {
		for _, bs := range []int{1, 3, 16} {
			sameText(t, s, false, false, fuzzCols, bs, 3, 1)
		}
	}
}

// TestParallelFirstError: of two bad rows in different blocks, the first
// is reported, with its line, whichever worker finds its error first.
func TestParallelFirstError(t *testing.T) {
	var b strings.Builder
	b.WriteString("key,label,name\n")
	for i := range 2000 {
		switch i {
		case 10:
			b.WriteString("\"[1, 2, 3]\",oops,a\n") // line 12
		case 1900:
			b.WriteString("\"[1, 2]\",1,a\n")
		default:
			b.WriteString("\"[1, 2, 3]\",1,\"x\ny\"\n")
		}
	}
	data := []byte(b.String())
	for range 20 {
		c, err := newCSVReader(nopCloser(data), -1, "f.csv", parCols, Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := trace(parallelCSV(c, 4, 64), len(parCols))
		if len(got) != 11 || got[10] != `error: f.csv:22: column "label": "oops" is not an integer` {
			t.Fatalf("got %d rows, then %s", len(got)-1, got[len(got)-1])
		}
	}
}

func FuzzParallelCSV(f *testing.F) {
	for _, s := range csvSeeds() {
		f.Add(s, true, uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, header bool, bs uint8) {
		for _, cols := range [][]Column{fuzzCols, fuzzWideCols} {
			sameText(t, data, true, header, cols, 1+int(bs%32), 3, uint64(bs))
		}
	})
}

func FuzzParallelJSONL(f *testing.F) {
	for _, s := range jsonlSeeds() {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, bs uint8) {
		sameText(t, data, false, false, fuzzCols, 1+int(bs%32), 3, uint64(bs))
	})
}

// TestParallelFIFO reads a csv and a jsonl file through a named pipe,
// written in pieces, through OpenReader; and closes a reader whose pipe
// stays open and silent, which must not hang.
func TestParallelFIFO(t *testing.T) {
	if !useParallel(-1) {
		t.Skip("one CPU: pipes are read serially")
	}
	rng := rand.New(rand.NewPCG(4, 4))
	for _, format := range []string{"csv", "jsonl"} {
		var data []byte
		if format == "csv" {
			data = randomCSV(rng, 20000, true, false)
		} else {
			data = randomJSONL(rng, 20000, false)
		}
		file := writeFile(t, "f."+format, data)
		want := trace(mustOpen(t, file), len(parCols))
		p := filepath.Join(t.TempDir(), "f."+format)
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		wrng := rand.New(rand.NewPCG(5, 5))
		go func() {
			w, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return
			}
			defer w.Close()
			for b := data; len(b) > 0; {
				n := min(len(b), 1+wrng.IntN(100_000))
				if _, err := w.Write(b[:n]); err != nil {
					return
				}
				b = b[n:]
			}
		}()
		r := mustOpen(t, p)
		if _, ok := r.(*textReader); !ok {
			t.Fatalf("a pipe is read by %T", r)
		}
		got := trace(r, len(parCols))
		if len(got) != len(want) || len(got) != 20001 {
			t.Fatalf("%s through a pipe: %d rows, want %d", format, len(got)-1, len(want)-1)
		}
		for i := range want {
			if strings.Replace(got[i], p, "f", 1) != strings.Replace(want[i], file, "f", 1) {
				t.Fatalf("%s row %d: pipe %s, file %s", format, i, got[i], want[i])
			}
		}
	}
	// A silent writer: Close ends the blocked read.
	p := filepath.Join(t.TempDir(), "silent.jsonl")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	ready := make(chan *os.File)
	go func() {
		w, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			close(ready)
			return
		}
		w.Write([]byte(`{"key": [1, 2, 3], "label": 1, "name": "a"}` + "\n"))
		ready <- w
	}()
	r := mustOpen(t, p)
	w := <-ready
	defer w.Close()
	row := make([]types.Value, len(parCols))
	if err := r.Next(row); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- r.Close() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close of a reader blocked on a silent pipe does not return")
	}
}

func mustOpen(t *testing.T, path string) Reader {
	t.Helper()
	r, err := OpenReader(path, parCols, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
