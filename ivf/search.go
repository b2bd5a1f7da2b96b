package ivf

import (
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/softdb/softdb/attention"
)

// Source supplies the rows a search reads.
type Source interface {
	// Keep returns the ids (ascending) that take part in the match — live,
	// with a key, accepted by the WHERE mask — reusing ids' array.
	Keep(ids []int64) ([]int64, error)
	// Gather copies the keys of ids into dst (len(ids)·D floats).
	Gather(dst []float32, ids []int64)
}

// Stats is what a search did, for EXPLAIN ANALYZE.
type Stats struct {
	Lists       int // non-empty lists
	Visited     int // lists opened (their blocks bounded)
	Skipped     int // lists left out by their bound
	Blocks      int // blocks of the lists opened
	BlocksRead  int // blocks whose rows were read
	Candidates  int // rows of visited lists that take part
	Coded       int // rows bounded from their codes
	CodeSkipped int // rows left out by their code bound
	Scored      int // rows scored exactly in float32
	Bytes       int64
	Bound       float64 // the skipped mass proven (SOFT), as a fraction
	TimeBounds  time.Duration
	TimeScan    time.Duration
}

// Add accumulates o into s (a batch).
func (s *Stats) Add(o *Stats) {
	s.Lists += o.Lists
	s.Visited += o.Visited
	s.Skipped += o.Skipped
	s.Blocks += o.Blocks
	s.BlocksRead += o.BlocksRead
	s.Candidates += o.Candidates
	s.Coded += o.Coded
	s.CodeSkipped += o.CodeSkipped
	s.Scored += o.Scored
	s.Bytes += o.Bytes
	s.Bound = max(s.Bound, o.Bound)
	s.TimeBounds += o.TimeBounds
	s.TimeScan += o.TimeScan
}

// probeRows caps the rows Probe scores: enough real scores to sharpen
// the estimates, few enough that deciding stays cheap.
const probeRows = 64

// Probe scores up to max(k, probeRows) rows of the block with the highest upper
// bound in the list with the highest upper bound (the rows every search
// reads first) and returns their k-th best and their best score (−Inf
// when it has fewer than k or no candidates): real scores that sharpen
// the estimates far beyond the lists' lower bounds.
func (v *View) Probe(Q *Query, b *Bounds, k int, src Source) (kth, best float64, err error) {
	kth, best = math.Inf(-1), math.Inf(-1)
	if len(b.Order) == 0 {
		return kth, best, nil
	}
	l := b.Order[0]
	bs := v.blocks(l, src)
	top := 0
	if len(bs.pos) > 1 {
		lo, hi := make([]float64, len(bs.pos)), make([]float64, len(bs.pos))
		bs.bounds(Q, v.Q.D, b.Lo[l], b.Hi[l], lo, hi)
		for i := range hi {
			if hi[i] > hi[top] {
				top = i
			}
		}
	}
	s := getScratch()
	defer putScratch(s)
	var st Stats
	ids := append(s.ids[:0], bs.ids[top][:min(len(bs.ids[top]), max(k, probeRows))]...)
	ids, err = src.Keep(ids)
	if err != nil || len(ids) == 0 {
		return kth, best, err
	}
	scores, err := s.score(Q, v.Q.D, ids, src, &st)
	if err != nil {
		return kth, best, err
	}
	sorted := make([]float64, len(scores[:len(ids)]))
	for i, x := range scores[:len(ids)] {
		sorted[i] = float64(x)
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(sorted)))
	best = sorted[0]
	if k >= 1 && len(sorted) >= k {
		kth = sorted[k-1]
	}
	return kth, best, nil
}

// scratchPool keeps searches' buffers between queries: a fresh key
// buffer for a thousand rows of d = 128 is half a megabyte to fault in.
var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(s *scratch) {
	if cap(s.keys) > 1<<22 { // do not keep more than 16 MiB of keys alive
		return
	}
	scratchPool.Put(s)
}

// scratch holds a search's buffers.
type scratch struct {
	lo, hi, sorted []float64
	lists          []float64
	heap           []pending // a frontier's, kept with its lo, hi
	flo, fhi       []float64
	ids            []int64
	keep           []int64
	keys           []float32
	scores         []float32
}

// score scores ids exactly with the scan's kernel and returns the scores.
func (s *scratch) score(Q *Query, d int, ids []int64, src Source, st *Stats) ([]float32, error) {
	n := len(ids)
	s.keys = growTo(s.keys, n*d)
	s.scores = growTo(s.scores, n)
	src.Gather(s.keys, ids)
	st.Scored += n
	st.Bytes += int64(n) * int64(d) * 4
	qn := []float32{Q.Norm}
	if err := attention.ScoreBatch(s.scores, n, Q.M, Q.V, qn, s.keys, d); err != nil {
		return nil, err
	}
	return s.scores, nil
}

// codeFilter keeps the ids whose code bound passes keep(lo, hi, kLo),
// in place, kLo being the k-th highest code lower bound of all of ids
// (−Inf when there are fewer than k). ids are an ascending subsequence of
// members, the block's ids, whose positions in L are pos.
func (s *scratch) codeFilter(Q *Query, L *List, ids, members []int64, pos []int32, k int, st *Stats, keep func(lo, hi, kLo float64) bool) []int64 {
	d := len(Q.V)
	s.lo, s.hi = growTo(s.lo, len(ids)), growTo(s.hi, len(ids))
	maxLo := math.Inf(-1)
	j := 0
	for i, id := range ids {
		for members[j] != id {
			j++
		}
		p := int(pos[j])
		dh, kh2, derr := Q.codeDot(L, p, d)
		s.lo[i], s.hi[i] = Q.rowBound(dh, kh2, derr, L.Norm[p], L.Err[p])
		maxLo = max(maxLo, s.lo[i])
	}
	st.Coded += len(ids)
	st.Bytes += int64(len(ids)) * L.rowCodeBytes(d)
	kLo := maxLo
	if k > 1 {
		kLo = math.Inf(-1)
		if len(ids) >= k {
			s.sorted, kLo = kthLargest(s.sorted, s.lo[:len(ids)], k)
		}
	}
	out := ids[:0]
	for i, id := range ids {
		if keep(s.lo[i], s.hi[i], kLo) {
			out = append(out, id)
		} else {
			st.CodeSkipped++
		}
	}
	return out
}

// pending is a block of an opened list waiting to be read.
type pending struct {
	hi   float64
	w    float64 // SOFT: an upper bound on n·e^{(hi−R)/T}
	list int32
	blk  int32
}

// frontier walks the units of a search in decreasing order of upper
// bound: the lists not yet opened (b.Order from i on) and the blocks of
// the lists opened (a max-heap). A block's bound is clipped to its list's,
// so no unit is ever bounded above the one taken before it.
type frontier struct {
	v    *View
	b    *Bounds
	Q    *Query
	src  Source
	st   *Stats
	i    int
	heap []pending
	lo   []float64
	hi   []float64
	s    *scratch
	// weight gives a block of n rows with upper bound hi its w (SOFT).
	weight func(n int, hi float64) float64
}

// release hands the frontier's buffers and scratch back.
func (f *frontier) release() {
	f.s.heap, f.s.flo, f.s.fhi = f.heap, f.lo, f.hi
	putScratch(f.s)
}

func (f *frontier) less(a, b int) bool {
	x, y := &f.heap[a], &f.heap[b]
	if x.hi != y.hi {
		return x.hi > y.hi
	}
	if x.list != y.list {
		return x.list < y.list
	}
	return x.blk < y.blk
}

func (f *frontier) push(p pending) {
	f.heap = append(f.heap, p)
	for i := len(f.heap) - 1; i > 0; {
		up := (i - 1) / 2
		if !f.less(i, up) {
			break
		}
		f.heap[i], f.heap[up] = f.heap[up], f.heap[i]
		i = up
	}
}

func (f *frontier) pop() pending {
	top := f.heap[0]
	n := len(f.heap) - 1
	f.heap[0] = f.heap[n]
	f.heap = f.heap[:n]
	for i := 0; ; {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && f.less(c+1, c) {
			c++
		}
		if !f.less(c, i) {
			break
		}
		f.heap[i], f.heap[c] = f.heap[c], f.heap[i]
		i = c
	}
	return top
}

// peek returns the highest upper bound of a unit left and whether that
// unit is a list (ok is false when none is left).
func (f *frontier) peek() (hi float64, list, ok bool) {
	if f.i < len(f.b.Order) {
		l := f.b.Order[f.i]
		if len(f.heap) == 0 || f.b.Hi[l] >= f.heap[0].hi {
			return f.b.Hi[l], true, true
		}
	}
	if len(f.heap) > 0 {
		return f.heap[0].hi, false, true
	}
	return 0, false, false
}

// open bounds the blocks of the next list and queues them; it returns
// the sum of their weights.
func (f *frontier) open() float64 {
	l := f.b.Order[f.i]
	f.i++
	bs := f.v.blocks(l, f.src)
	nb := len(bs.pos)
	f.st.Visited++
	f.st.Blocks += nb
	f.lo, f.hi = growTo(f.lo, nb), growTo(f.hi, nb)
	if nb == 1 {
		f.lo[0], f.hi[0] = f.b.Lo[l], f.b.Hi[l]
	} else {
		bs.bounds(f.Q, f.v.Q.D, f.b.Lo[l], f.b.Hi[l], f.lo, f.hi)
	}
	var sum float64
	for i := 0; i < nb; i++ {
		p := pending{hi: f.hi[i], list: int32(l), blk: int32(i)}
		if f.weight != nil {
			p.w = f.weight(len(bs.pos[i]), p.hi)
			sum += p.w
		}
		f.push(p)
	}
	return sum
}

// read reads the next block: its candidates (Source.Keep), those whose
// code bound passes filter (when the list has codes and filter is set),
// scored exactly.
func (f *frontier) read(k int, filter func(lo, hi, kLo float64) bool) (pending, []int64, []float32, error) {
	p := f.pop()
	L := &f.v.Lists[p.list]
	bs := f.v.blocks(int(p.list), f.src)
	members := bs.ids[p.blk]
	f.s.ids = append(f.s.ids[:0], members...)
	ids, err := f.src.Keep(f.s.ids)
	if err != nil {
		return p, nil, nil, err
	}
	f.st.BlocksRead++
	f.st.Candidates += len(ids)
	if L.coded() && filter != nil {
		ids = f.s.codeFilter(f.Q, L, ids, members, bs.pos[p.blk], k, f.st, filter)
	}
	if len(ids) == 0 {
		return p, nil, nil, nil
	}
	scores, err := f.s.score(f.Q, len(f.Q.V), ids, f.src, f.st)
	return p, ids, scores, err
}

// SearchHard returns the k best rows (best first, ties to the lower id),
// exactly the float32 scan's: lists and then their blocks are read only
// while their upper bound reaches the k-th best score found so far, and
// with codes a row is scored only when its code bound does (branch and
// bound; equal bounds are never skipped, so a tie with a lower id is
// never lost).
func (v *View) SearchHard(Q *Query, b *Bounds, k int, src Source, st *Stats) ([]attention.Scored, error) {
	t0 := time.Now()
	top := attention.NewTopK(k)
	f := &frontier{v: v, b: b, Q: Q, src: src, st: st, s: getScratch()}
	f.heap, f.lo, f.hi = f.s.heap[:0], f.s.flo, f.s.fhi
	defer f.release()
	st.Lists += len(b.Order)
	thr := math.Inf(-1)
	for {
		hi, list, ok := f.peek()
		if !ok {
			break
		}
		if k == 0 || hi < thr {
			break
		}
		if list {
			f.open()
			continue
		}
		// A row whose code upper bound is strictly below the k-th best
		// score held, or below the k-th best code lower bound of this
		// block, cannot enter the top k nor tie: the k rows of lower bound
		// ≥ kLo have upper bounds ≥ kLo, so they are all scored.
		filter := func(lo, hi, kLo float64) bool { return hi >= max(thr, kLo) }
		_, ids, scores, err := f.read(k, filter)
		if err != nil {
			return nil, err
		}
		for j, id := range ids {
			top.Push(scores[j], id)
		}
		if top.Len() == k {
			thr = float64(top.Sorted()[k-1].Score)
		}
	}
	st.Skipped += len(b.Order) - f.i
	st.TimeScan += time.Since(t0)
	return top.Sorted(), nil
}

// SoftResult is what SearchSoft found: the rows it scored (ascending ids
// within each block, blocks in reading order) and the proven bound Delta
// ≥ Z_skipped / Z_scored on the softmax mass it left out.
type SoftResult struct {
	IDs    []int64
	Scores []float32
	Delta  float64
}

// SearchSoft reads lists and blocks in decreasing order of upper bound
// and stops once the mass the rest can carry is proven at most tau times
// the mass scored (docs/indexes.md, §4). A unit of n rows with upper bound
// h carries at most n·e^{h/T}; these are summed relative to R, the
// highest bound of all (so every term is at most n and none overflows),
// each term rounded up and floored at 1e-300·n so that underflow never
// drops mass; the lists not opened are a suffix sum, the queued blocks a
// running sum recomputed exactly before it is trusted to stop. The test
// compares logarithms, so it cannot overflow for any T or score. With
// codes, a row whose code bound is below M + T·log(tau/(2N)) is left out
// and its bound added to the skipped mass; the rows left out that way
// carry at most tau/2 of it.
func (v *View) SearchSoft(Q *Query, b *Bounds, invT, tau float64, src Source, st *Stats) (*SoftResult, error) {
	t0 := time.Now()
	defer func() { st.TimeScan += time.Since(t0) }()
	st.Lists += len(b.Order)
	res := &SoftResult{}
	if len(b.Order) == 0 {
		return res, nil
	}
	R := b.Hi[b.Order[0]]
	weight := func(n int, hi float64) float64 {
		return float64(n) * max(math.Exp((hi-R)*invT)*(1+1e-12), 1e-300)
	}
	f := &frontier{v: v, b: b, Q: Q, src: src, st: st, weight: weight, s: getScratch()}
	f.heap, f.lo, f.hi = f.s.heap[:0], f.s.flo, f.s.fhi
	defer f.release()
	// lists[i] = Σ_{j ≥ i} w_j over the lists not opened, summed from the
	// smallest (no cancellation).
	f.s.lists = growTo(f.s.lists, len(b.Order)+1)
	lists := f.s.lists
	lists[len(b.Order)] = 0
	for i := len(b.Order) - 1; i >= 0; i-- {
		l := b.Order[i]
		lists[i] = lists[i+1] + weight(v.size[l], b.Hi[l])
	}
	var queued, peak float64 // Σ w over the heap (running), and its largest value since it was last recomputed
	exactQueued := func() float64 {
		var s float64
		for _, p := range f.heap {
			s += p.w
		}
		return s * (1 + 1e-9) // n additions of non-negative terms err by < n·2⁻⁵³ relative
	}
	M, sum := math.Inf(-1), 0.0 // the best score; Σ e^{(s−M)/T}
	skipped := math.Inf(-1)     // log of the mass bound of rows skipped by code
	logHalfTau := math.Log(tau / 2)
	logTau := math.Log(tau)
	logZ := func() float64 { return M*invT + math.Log(sum) }
	rest := func() float64 { // log of the bound on the mass not scored
		return logAddExp(math.Log(lists[f.i]+max(queued, 0))+R*invT, skipped)
	}
	for {
		if sum > 0 && rest()-logZ() <= logTau {
			queued = exactQueued()
			peak = queued
			if r := rest(); r-logZ() <= logTau {
				st.Skipped += len(b.Order) - f.i
				res.Delta = math.Exp(r - logZ())
				st.Bound = res.Delta
				return res, nil
			}
		}
		_, list, ok := f.peek()
		if !ok {
			break
		}
		if list {
			queued += f.open()
			peak = max(peak, queued)
			continue
		}
		// A row whose code bound keeps the mass left out by codes within
		// tau/2 of a lower bound on Z_A is left out: Z_A is at least the
		// mass scored so far and at least e^{maxLo/T}, since the row whose
		// code lower bound is maxLo is then scored (leaving it out would
		// need e^{hi/T} ≤ (tau/2)·e^{maxLo/T} with hi ≥ maxLo).
		refZ := math.Inf(-1) // log Z, constant while a block is filtered
		if sum > 0 {
			refZ = logZ()
		}
		// Within a block the limit is constant (maxLo is the block's), so
		// the mass left out is summed as acc = (e^{skipped} + Σ e^{h})/e^{lim}
		// in plain numbers, one exp a row, each term rounded up by 10⁻⁶
		// (covering the rounding of up to 10⁹ additions of non-negative
		// terms, error < n·2⁻⁵³ relative), and folded back into skipped,
		// rounded up again, once the block is read.
		var lim, acc float64
		started, left := false, false
		filter := func(lo, hi, maxLo float64) bool {
			if !started {
				started = true
				lim = logHalfTau + max(maxLo*invT, refZ)
				acc = math.Exp(skipped-lim) * (1 + 1e-6)
			}
			h := hi * invT
			if !(h <= lim) {
				return true // e^{skipped} + e^h > e^h > e^{lim}: kept
			}
			if math.IsInf(lim, 0) || math.IsInf(h, -1) {
				// Outside the plain-number range: in logarithms.
				if s := logAddExp(skipped, h); s <= lim {
					skipped = s
					return false
				}
				return true
			}
			if t := math.Exp(h-lim) * (1 + 1e-6); acc+t <= 1 {
				acc += t
				left = true
				return false
			}
			return true
		}
		p, ids, scores, err := f.read(1, filter)
		if err != nil {
			return nil, err
		}
		if left {
			// log rounds within 2⁻⁵² of lim's magnitude: round up by that.
			skipped = max(skipped, lim+math.Log(acc)+0x1p-50*(1+math.Abs(lim)))
		}
		queued -= p.w
		if queued < 1e-9*peak { // cancellation: recompute
			queued = exactQueued()
			peak = queued
		}
		for j, id := range ids {
			x := float64(scores[j])
			if x > M {
				sum = sum*math.Exp((M-x)*invT) + 1
				M = x
			} else {
				sum += math.Exp((x - M) * invT)
			}
			res.IDs = append(res.IDs, id)
			res.Scores = append(res.Scores, scores[j])
		}
	}
	if sum > 0 && !math.IsInf(skipped, -1) {
		res.Delta = math.Exp(skipped - logZ())
	}
	st.Bound = res.Delta
	return res, nil
}

// kthLargest returns the k-th largest of xs (1 ≤ k ≤ len(xs)), NaN
// counting as −Inf, keeping the k largest in buf (ascending, reused):
// one pass with an insertion into buf when a value enters it, where a sort
// of xs cost n·log n.
func kthLargest(buf, xs []float64, k int) ([]float64, float64) {
	if k > 64 {
		buf = append(buf[:0], xs...)
		for i, x := range buf {
			if x != x {
				buf[i] = math.Inf(-1)
			}
		}
		slices.Sort(buf)
		return buf, buf[len(buf)-k]
	}
	buf = buf[:0]
	for _, x := range xs {
		if x != x {
			x = math.Inf(-1)
		}
		if len(buf) == k {
			if x <= buf[0] {
				continue
			}
			// Drop the smallest: move the smaller ones down, x in place.
			i := 0
			for i+1 < k && buf[i+1] < x {
				buf[i] = buf[i+1]
				i++
			}
			buf[i] = x
			continue
		}
		i := len(buf)
		buf = append(buf, x)
		for i > 0 && buf[i-1] > x {
			buf[i] = buf[i-1]
			i--
		}
		buf[i] = x
	}
	return buf, buf[0]
}
