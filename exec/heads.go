package exec

import (
	"context"

	"github.com/softdb/softdb/attention"
	"github.com/softdb/softdb/types"
)

// runFused computes a blend with HEADS or BACKWARD on the fused kernels.
// The items the plain fused path can compute go to it (runFusedBlend on
// a copy of the plan without them); this pass blends the others head by
// head (attention.State over each head's slice of the keys and values)
// and runs the gradient's second pass over the same chunks
// (attention.State.Backward, from the forward's maximum and sum).
//
// Head j of h sees components [j·d/h, (j+1)·d/h) of the query and keys
// and [j·dv/h, (j+1)·dv/h) of each value; its rows are gathered into
// contiguous matrices per chunk, so the kernels run unchanged. With one
// head nothing is gathered.
func (lp *learnPlan) runFused(ctx context.Context, m *matchPlan, chunks []chunk, qs []queryVec) ([][]types.Value, error) {
	rest := *m
	rest.learn = nil
	rest.blendItems = append([]blendItem(nil), m.blendItems...)
	// streams: the VECTOR (or, for BACKWARD, FLOAT/INT) columns this pass
	// blends; item i of the blend takes stream of[i] (or -1).
	var streams []int
	var stypes []types.Type
	of := make([]int, len(m.blendItems))
	for i, k := range lp.kinds {
		of[i] = -1
		if k == itemPlain {
			continue
		}
		rest.blendItems[i] = blendItem{e: &constE{}, vecCol: -1, floatCol: -1, constant: true}
		if k == itemHead || k == itemGradCol {
			of[i] = len(streams)
			streams = append(streams, m.blendItems[i].vecCol)
			stypes = append(stypes, m.blendItems[i].t)
		}
	}
	gradStream := -1
	if lp.grad != nil {
		for i, k := range lp.kinds {
			if k == itemGradCol {
				gradStream = of[i]
			}
		}
		if gradStream < 0 {
			gradStream = len(streams)
			streams = append(streams, lp.grad.col)
			stypes = append(stypes, lp.grad.t)
		}
	}
	results, err := rest.runFusedBlend(ctx, chunks, qs)
	if err != nil {
		return nil, err
	}
	hs := newHeadSet(m, lp.heads, qs)
	keepStream := -1
	if len(hs.live) == 1 && lp.grad != nil {
		keepStream = gradStream // one query: the gradient pass reuses its scores
	}
	fwd, kept, err := hs.forward(ctx, chunks, streams, stypes, keepStream)
	if err != nil {
		return nil, err
	}
	// fwd[si][j*h+head]: the merged forward state of stream si, live query j.
	h := lp.heads
	for i, si := range of {
		if si < 0 {
			continue
		}
		dv := m.blendItems[i].t.Dim
		for j, qi := range hs.live {
			out := make([]float32, dv)
			ok := true
			for hd := 0; hd < h && ok; hd++ {
				ok = fwd[si][j*h+hd].Result(out[hd*dv/h : (hd+1)*dv/h])
			}
			if ok {
				results[qi][i] = types.VectorValue(out)
			}
		}
	}
	if lp.grad == nil {
		return results, nil
	}
	gq, gT, err := hs.backward(ctx, chunks, lp.grad, fwd[gradStream], kept)
	if err != nil {
		return nil, err
	}
	for j, qi := range hs.live {
		if err := lp.gradItems(m, results[qi], qs[qi].qrow, gq[j], gT[j]); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// headSet is the live queries of a match cut into h heads: qmat[hd] is
// the nlive × d/h matrix of head hd's query slices (for COSINE scaled by
// a power of two, as queryMatrix does), qnorms[hd] their norms.
type headSet struct {
	m      *matchPlan
	h, dh  int
	live   []int // index in qs of each live query
	qs     []queryVec
	qmat   [][]float32
	qnorms [][]float32
	invT   float64
}

func newHeadSet(m *matchPlan, h int, qs []queryVec) *headSet {
	hs := &headSet{m: m, h: h, dh: m.dim / h, qs: qs, invT: 1 / m.temp}
	for i, q := range qs {
		if q.v != nil {
			hs.live = append(hs.live, i)
		}
	}
	for hd := 0; hd < h; hd++ {
		qmat := make([]float32, len(hs.live)*hs.dh)
		qn := make([]float32, len(hs.live))
		for j, i := range hs.live {
			part := hs.query(i, hd)
			dst := qmat[j*hs.dh : (j+1)*hs.dh]
			if m.metric == attention.Cosine {
				qn[j] = attention.ScaleQuery(dst, part)
				continue
			}
			copy(dst, part)
			qn[j] = attention.Norm(part)
		}
		hs.qmat = append(hs.qmat, qmat)
		hs.qnorms = append(hs.qnorms, qn)
	}
	return hs
}

// query is head hd's slice of query qs[i].
func (hs *headSet) query(i, hd int) []float32 {
	return hs.qs[i].v[hd*hs.dh : (hd+1)*hs.dh]
}

// backwardTile is how many rows a batch's gradient pass takes at a time:
// 512 rows of 128-float keys and values are 512 KiB, which stay in a
// core's L2 cache while every query of the block passes over them.
const backwardTile = 512

// workItem is work item number item of a pass over the chunks: chunk
// ci (c, n rows, its keys) × the live queries [lo, hi) of one block.
func (hs *headSet) workItem(chunks []chunk, item, nblocks int) (ci int, c *chunk, n, lo, hi int, keys []float32) {
	ci, qb := item/nblocks, item%nblocks
	c = &chunks[ci]
	d := hs.m.dim
	lo, hi = qb*queryBlock, min((qb+1)*queryBlock, len(hs.live))
	return ci, c, c.end - c.start, lo, hi, c.seg.Vectors(hs.m.col)[c.start*d : c.end*d]
}

// headRows returns head hd of h of the n rows of a (n×w, row-major):
// a itself for one head, else the rows' slices gathered into buf.
func headRows(buf *[]float32, a []float32, n, w, h, hd int) []float32 {
	if h == 1 {
		return a
	}
	wh := w / h
	if cap(*buf) < n*wh {
		*buf = make([]float32, n*wh)
	}
	out := (*buf)[:n*wh]
	for i := 0; i < n; i++ {
		copy(out[i*wh:(i+1)*wh], a[i*w+hd*wh:i*w+(hd+1)*wh])
	}
	return out
}

// streamRows is column col's rows of chunk c as float32 rows of dv
// components (FLOAT and INT values are rounded to float32: they feed the
// gradient pass only; the blend of such a column is the plain path's, in
// float64) and its candidate mask.
func streamRows(c *chunk, col int, t types.Type) (vals []float32, dv int, mask []byte) {
	mask = c.mask
	if nulls := c.seg.Nulls(col); nulls != nil {
		mask = andNotNull(mask, nulls[c.start:c.end])
	}
	if t.Kind == types.Vector {
		return c.seg.Vectors(col)[c.start*t.Dim : c.end*t.Dim], t.Dim, mask
	}
	vals = make([]float32, c.end-c.start)
	if t.Kind == types.Int {
		for i, x := range c.seg.Ints(col)[c.start:c.end] {
			vals[i] = float32(x)
		}
	} else {
		for i, x := range c.seg.Floats(col)[c.start:c.end] {
			vals[i] = float32(x)
		}
	}
	return vals, 1, mask
}

// forward blends each stream head by head: the result [si][j*h+hd] is
// the state of stream si, live query j, head hd, merged over the chunks
// in chunk order. For one query, the scores of stream keep (≥ 0) are
// kept too, kept[ci][hd] for chunk ci and head hd (attention.AccumulateKeep).
func (hs *headSet) forward(ctx context.Context, chunks []chunk, streams []int, stypes []types.Type, keep int) (total [][]*attention.State, kept [][][]float32, err error) {
	m, h, dh := hs.m, hs.h, hs.dh
	nlive := len(hs.live)
	nblocks := (nlive + queryBlock - 1) / queryBlock
	partial := make([][][]*attention.State, len(chunks)) // [ci][si][j*h+hd]
	if keep >= 0 {
		kept = make([][][]float32, len(chunks))
	}
	for ci := range partial {
		partial[ci] = make([][]*attention.State, len(streams))
		for si := range streams {
			partial[ci][si] = make([]*attention.State, nlive*h)
		}
	}
	err = parallel(ctx, len(chunks)*nblocks, func(item int) error {
		ci, c, n, lo, hi, keys := hs.workItem(chunks, item, nblocks)
		var kbuf, vbuf []float32
		if kept != nil {
			kept[ci] = make([][]float32, h)
		}
		for hd := 0; hd < h; hd++ {
			kh := headRows(&kbuf, keys, n, m.dim, h, hd)
			qm := hs.qmat[hd][lo*dh : hi*dh]
			for si, col := range streams {
				vals, dv, mask := streamRows(c, col, stypes[si])
				dvh := dv / h
				vh := headRows(&vbuf, vals, n, dv, h, hd)
				states := make([]*attention.State, hi-lo)
				for j := range states {
					states[j] = attention.NewState(dvh)
					partial[ci][si][(lo+j)*h+hd] = states[j]
				}
				switch {
				case si == keep:
					kept[ci][hd] = make([]float32, n)
					states[0].AccumulateKeep(m.metric, qm, hs.qnorms[hd][lo], kh, dh, vh, dvh, mask, hs.invT, kept[ci][hd])
				case len(states) == 1:
					states[0].Accumulate(m.metric, qm, hs.qnorms[hd][lo], kh, dh, vh, dvh, mask, hs.invT)
				default:
					attention.AccumulateBatch(states, m.metric, qm, hs.qnorms[hd][lo:hi], kh, dh, vh, dvh, mask, hs.invT)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	total = make([][]*attention.State, len(streams))
	for si := range streams {
		dvh := 1
		if t := stypes[si]; t.Kind == types.Vector {
			dvh = t.Dim / h
		}
		total[si] = make([]*attention.State, nlive*h)
		for x := range total[si] {
			t := attention.NewState(dvh)
			for ci := range chunks {
				t.Merge(partial[ci][si][x])
			}
			if err := t.Err(); err != nil {
				return nil, nil, m.kernelErr(err)
			}
			total[si][x] = t
		}
	}
	return total, kept, nil
}

// backward runs the gradient's second pass over the chunks: each head's
// rows against its merged forward state fwd[j*h+hd] (stream gs.col), with
// g's slice of that head, over the forward's scores when it kept them. It returns, per live query, ∂L/∂q (the heads'
// slices side by side; nil when no row took part) and ∂L/∂T (the sum
// over heads, which share T).
func (hs *headSet) backward(ctx context.Context, chunks []chunk, gs *gradSpec, fwd []*attention.State, kept [][][]float32) (gq [][]float64, gT []float64, err error) {
	m, h, dh := hs.m, hs.h, hs.dh
	nlive := len(hs.live)
	dvh := gs.dv / h
	// ⟨g, b⟩ per query and head, from the forward's float64 sums.
	gb := make([]float64, nlive*h)
	for x, s := range fwd {
		if s.Empty() {
			continue
		}
		hd := x % h
		for j, a := range s.Acc {
			gb[x] += float64(gs.g[hd*dvh+j]) * (a / s.Sum)
		}
	}
	nblocks := (nlive + queryBlock - 1) / queryBlock
	partial := make([][]*attention.Grad, len(chunks)) // [ci][j*h+hd]
	for ci := range partial {
		partial[ci] = make([]*attention.Grad, nlive*h)
	}
	err = parallel(ctx, len(chunks)*nblocks, func(item int) error {
		ci, c, n, lo, hi, keys := hs.workItem(chunks, item, nblocks)
		var kbuf, vbuf []float32
		vals, dv, mask := streamRows(c, gs.col, gs.t)
		cancel := newCanceller(ctx)
		for hd := 0; hd < h; hd++ {
			kh := headRows(&kbuf, keys, n, m.dim, h, hd)
			vh := headRows(&vbuf, vals, n, dv, h, hd)
			g := gs.g[hd*dvh : (hd+1)*dvh]
			for j := lo; j < hi; j++ {
				partial[ci][j*h+hd] = attention.NewGrad(dh)
			}
			// Several queries take the rows a tile at a time, so that each
			// tile's keys and values are read from memory once for all of
			// them (Grads over disjoint rows add); one query streams the
			// chunk in one call.
			step := n
			if hi-lo > 1 {
				step = backwardTile
			}
			for r0 := 0; r0 < n; r0 += step {
				r1 := min(r0+step, n)
				var mk []byte
				if mask != nil {
					mk = mask[r0:r1]
				}
				for j := lo; j < hi; j++ {
					if err := cancel.tick(); err != nil {
						return err
					}
					x := j*h + hd
					var sc []float32
					if kept != nil {
						sc = kept[ci][hd][r0:r1]
					}
					fwd[x].Backward(partial[ci][x], m.metric, hs.qmat[hd][j*dh:(j+1)*dh], hs.qnorms[hd][j], kh[r0*dh:r1*dh], dh, vh[r0*dvh:r1*dvh], dvh, mk, g, gb[x], sc)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	gq = make([][]float64, nlive)
	gT = make([]float64, nlive)
	for j, qi := range hs.live {
		out := make([]float64, m.dim)
		for hd := 0; hd < h; hd++ {
			x := j*h + hd
			if fwd[x].Empty() {
				out = nil
				break
			}
			t := attention.NewGrad(dh)
			for ci := range chunks {
				t.Merge(partial[ci][x])
			}
			t.Query(out[hd*dh:(hd+1)*dh], m.metric, hs.query(qi, hd))
			gT[j] += t.Temperature(hs.invT)
		}
		gq[j] = out
	}
	return gq, gT, nil
}
