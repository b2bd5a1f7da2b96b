package exec

// Chunks: the runs of rows a match statement scans as units, their masks,
// and the candidate rows gathered from sparse ones.

import (
	"bytes"
	"context"

	"github.com/softdb/softdb/storage"
)

// chunk is a run of rows of one segment scanned as a unit.
type chunk struct {
	seg        *storage.Segment
	start, end int
	mask       []byte // live, key not NULL, WHERE true

	// cand lists the candidate rows (offsets from start) when they are
	// few enough to be gathered and scored alone (see sparseRows); nil
	// when the chunk is scored in place under mask.
	cand []int64
}

// width is the number of rows the kernels score in c: its candidates when
// they are gathered, else all its rows.
func (c *chunk) width() int {
	if c.cand != nil {
		return len(c.cand)
	}
	return c.end - c.start
}

// sparseRows lists the rows set in mask when they are fewer than a quarter
// of them, and returns nil otherwise; such a chunk's candidates are
// gathered (chunkKeys) and scored alone. A batch, bound by arithmetic,
// saves in proportion to the rows left out. One query is bound by memory
// bandwidth: gathering reads each candidate key twice (copy, then score)
// but skips the others, and measured on 16 Ki random rows at d = 128 and
// 768 it breaks even near 40% candidates; a quarter keeps a margin (it
// takes 0.8× the time of scoring in place there, 0.3× at 10%). Denser
// chunks are scored in place, where the mask costs nothing.
func sparseRows(mask []byte) []int64 {
	n := len(mask) - bytes.Count(mask, []byte{0}) // vectorised
	if n >= (len(mask)+3)/4 {
		return nil
	}
	rows := make([]int64, 0, n)
	for i, b := range mask {
		if b != 0 {
			rows = append(rows, int64(i))
		}
	}
	return rows
}

// chunkKeys returns the key rows of c for the kernels, with the mask to
// apply to them: the chunk's keys in place under c.mask, or, when c.cand
// is set, the candidate rows gathered into a contiguous matrix (row j is
// row c.cand[j] of the chunk) and no mask. A row's score does not depend
// on where it sits among the keys, so gathered rows score exactly as in
// place. Call release once the kernels are done with the keys.
func (m *matchPlan) chunkKeys(c *chunk) (keys []float32, mask []byte, release func()) {
	d := m.dim
	keys = c.seg.Vectors(m.col)[c.start*d : c.end*d]
	if c.cand == nil {
		return keys, c.mask, func() {}
	}
	n := len(c.cand) * d
	buf, _ := gatherPool.Get().(*[]float32)
	if buf == nil || cap(*buf) < n {
		b := make([]float32, n)
		buf = &b
	}
	g := (*buf)[:n]
	for j, i := range c.cand {
		copy(g[j*d:(j+1)*d], keys[int(i)*d:])
	}
	return g, nil, func() { gatherPool.Put(buf) }
}

// chunks lists the table's rows in rowid order with their candidate masks.
func (m *matchPlan) chunks(ctx context.Context, t *storage.Table, where expr) ([]chunk, error) {
	var out []chunk
	ncols := len(t.Schema().Columns)
	plain := where == nil // every chunk's mask is its live flags
	for _, seg := range t.Segments() {
		plain = plain && seg.Nulls(m.col) == nil
		for start := 0; start < seg.Len(); start += chunkRows {
			end := min(start+chunkRows, seg.Len())
			out = append(out, chunk{seg: seg, start: start, end: end})
		}
	}
	if plain {
		// About 2 µs a chunk, done serially: waking another core took
		// ~150 µs on average on a 2-vCPU VM, and made this step 41 µs
		// (serial: 14 µs) of a 2.7 ms HARD SELECT over 10⁵ rows.
		for i := range out {
			c := &out[i]
			c.setMask(c.seg.Live()[c.start:c.end])
		}
		return out, ctx.Err()
	}
	err := parallel(ctx, len(out), func(ci int) error {
		c := &out[ci]
		live := c.seg.Live()[c.start:c.end]
		nulls := c.seg.Nulls(m.col)
		if nulls == nil && where == nil {
			c.setMask(live)
			return nil
		}
		mask := make([]byte, c.end-c.start)
		copy(mask, live)
		if nulls != nil {
			for i := range mask {
				if nulls[c.start+i] != 0 {
					mask[i] = 0
				}
			}
		}
		if where != nil {
			r := srcRow{seg: c.seg, ncols: ncols}
			cancel := newCanceller(ctx)
			for i := range mask {
				if mask[i] == 0 {
					continue
				}
				if err := cancel.tick(); err != nil {
					return err
				}
				r.i = c.start + i
				r.rowid = c.seg.Base() + int64(r.i)
				ok, err := passes(where, &r)
				if err != nil {
					return err
				}
				if !ok {
					mask[i] = 0
				}
			}
		}
		c.setMask(mask)
		return nil
	})
	return out, err
}

// setMask makes mask (live, key not NULL, WHERE true) c's candidates.
func (c *chunk) setMask(mask []byte) {
	c.mask = mask
	c.cand = sparseRows(mask)
}

// chunkOffsets returns the start of each chunk's scores in a score vector
// over all chunks (chunk.width of them each); the last entry is the total.
func chunkOffsets(chunks []chunk) []int {
	offs := make([]int, len(chunks)+1)
	for ci := range chunks {
		offs[ci+1] = offs[ci] + chunks[ci].width()
	}
	return offs
}
