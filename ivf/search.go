package ivf

import (
	"math"
	"sort"
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
	Visited     int // lists whose rows were read
	Skipped     int // lists left out by their bound
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
	s.Candidates += o.Candidates
	s.Coded += o.Coded
	s.CodeSkipped += o.CodeSkipped
	s.Scored += o.Scored
	s.Bytes += o.Bytes
	s.Bound = max(s.Bound, o.Bound)
	s.TimeBounds += o.TimeBounds
	s.TimeScan += o.TimeScan
}

// Probe scores the list with the highest upper bound (the one every
// search reads first) and returns its k-th best and its best score
// (−Inf when it has fewer than k or no candidates): real scores that
// sharpen the estimates far beyond the lists' lower bounds.
func (v *View) Probe(Q *Query, b *Bounds, k int, src Source) (kth, best float64, err error) {
	kth, best = math.Inf(-1), math.Inf(-1)
	if len(b.Order) == 0 {
		return kth, best, nil
	}
	var s scratch
	var st Stats
	ids, err := src.Keep(s.idsOf(&v.Lists[b.Order[0]]))
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

// EstimateHard returns about how many rows SearchHard reads for the k
// best: the rows of every list whose upper bound reaches thr (a probed
// k-th best score), or else the k-th best lower bound of whole lists.
func (b *Bounds) EstimateHard(v *View, k int, thr float64) int {
	byLo := append([]int(nil), b.Order...)
	sortDesc(byLo, b.Lo)
	n := 0
	for _, l := range byLo {
		n += len(v.Lists[l].IDs)
		if n >= k {
			thr = max(thr, b.Lo[l])
			break
		}
	}
	rows := 0
	for _, l := range b.Order {
		if b.Hi[l] >= thr {
			rows += len(v.Lists[l].IDs)
		}
	}
	return rows
}

// EstimateSoft returns about how many rows SearchSoft reads with budget
// tau: the larger of best (a probed score) and the best lower bound
// stands for the best score.
func (b *Bounds) EstimateSoft(v *View, invT, tau, best float64) int {
	for _, l := range b.Order {
		best = max(best, b.Lo[l])
	}
	suffix := b.suffix(v, invT)
	rows := 0
	for i, l := range b.Order {
		if suffix[i]-best*invT <= math.Log(tau) {
			break
		}
		rows += len(v.Lists[l].IDs)
	}
	return rows
}

// suffix returns S[i] = log Σ_{j ≥ i} n_j·e^{Hi_j/T} over b.Order (one more
// entry, −Inf, at the end).
func (b *Bounds) suffix(v *View, invT float64) []float64 {
	s := make([]float64, len(b.Order)+1)
	s[len(b.Order)] = math.Inf(-1)
	for i := len(b.Order) - 1; i >= 0; i-- {
		l := b.Order[i]
		s[i] = logAddExp(s[i+1], math.Log(float64(len(v.Lists[l].IDs)))+b.Hi[l]*invT)
	}
	return s
}

func sortDesc(idx []int, key []float64) {
	// insertion sort is too slow for many lists; use the standard sort.
	sortSliceStable(idx, func(i, j int) bool { return key[idx[i]] > key[idx[j]] })
}

// scratch holds a search's buffers.
type scratch struct {
	ids    []int64
	keep   []int64
	keys   []float32
	scores []float32
}

func (s *scratch) idsOf(L *List) []int64 {
	s.ids = append(s.ids[:0], L.IDs...)
	return s.ids
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

// codeFilter keeps the members of L among ids whose code bound passes
// keep(lo, hi), in place. ids are ascending members of L.
func (s *scratch) codeFilter(Q *Query, L *List, ids []int64, st *Stats, keep func(lo, hi float64) bool) []int64 {
	d := len(Q.V)
	out := ids[:0]
	j := 0
	for _, id := range ids {
		for L.IDs[j] != id {
			j++
		}
		dh := codeDot(Q.v, L.Codes[j*d:(j+1)*d], L.Scale[j])
		lo, hi := Q.rowBound(dh, L.Norm[j], L.Err[j])
		st.Coded++
		st.Bytes += int64(d) + 12
		if keep(lo, hi) {
			out = append(out, id)
		} else {
			st.CodeSkipped++
		}
	}
	return out
}

// visit reads list L: its candidates (Source.Keep), those whose code
// bound passes filter (when L has codes and filter is set), scored exactly.
func (s *scratch) visit(Q *Query, L *List, src Source, st *Stats, filter func(lo, hi float64) bool) ([]int64, []float32, error) {
	ids, err := src.Keep(s.idsOf(L))
	if err != nil {
		return nil, nil, err
	}
	st.Visited++
	st.Candidates += len(ids)
	if L.Codes != nil && filter != nil {
		ids = s.codeFilter(Q, L, ids, st, filter)
	}
	if len(ids) == 0 {
		return nil, nil, nil
	}
	scores, err := s.score(Q, len(Q.V), ids, src, st)
	return ids, scores, err
}

// SearchHard returns the k best rows (best first, ties to the lower id),
// exactly the float32 scan's: a list is read only while its upper bound
// reaches the k-th best score found so far, and with codes a row is
// scored only when its code bound does (branch and bound; equal bounds
// are never skipped, so a tie with a lower id is never lost).
func (v *View) SearchHard(Q *Query, b *Bounds, k int, src Source, st *Stats) ([]attention.Scored, error) {
	t0 := time.Now()
	top := attention.NewTopK(k)
	var s scratch
	st.Lists += len(b.Order)
	kth := func() float64 {
		if top.Len() < k {
			return math.Inf(-1)
		}
		return float64(top.Sorted()[k-1].Score)
	}
	thr := math.Inf(-1)
	for i, l := range b.Order {
		if k == 0 || b.Hi[l] < thr {
			st.Skipped += len(b.Order) - i
			break
		}
		var filter func(lo, hi float64) bool
		if top.Len() == k {
			filter = func(lo, hi float64) bool { return hi >= thr }
		}
		ids, scores, err := s.visit(Q, &v.Lists[l], src, st, filter)
		if err != nil {
			return nil, err
		}
		for j, id := range ids {
			top.Push(scores[j], id)
		}
		thr = kth()
	}
	st.TimeScan += time.Since(t0)
	return top.Sorted(), nil
}

// SoftResult is what SearchSoft found: the rows it scored (ascending ids
// within each list, lists in visiting order) and the proven bound Delta ≥
// Z_skipped / Z_scored on the softmax mass it left out.
type SoftResult struct {
	IDs    []int64
	Scores []float32
	Delta  float64
}

// SearchSoft reads the lists in decreasing order of upper bound and stops
// once the mass the rest can carry is proven at most tau times the mass
// scored (docs/indexes.md, §3): with M the best score so far and S the
// scored mass relative to it, the rest carries at most Σ n_l·e^{Hi_l/T},
// a suffix sum in log space, so the test is exact arithmetic on logs and
// cannot overflow for any T or score. With codes, a row whose code bound
// is below M + T·log(tau/(2N)) is left out and its bound added to the
// skipped mass; the rows left out that way carry at most tau/2 of it.
func (v *View) SearchSoft(Q *Query, b *Bounds, invT, tau float64, src Source, st *Stats) (*SoftResult, error) {
	t0 := time.Now()
	var s scratch
	st.Lists += len(b.Order)
	suffix := b.suffix(v, invT)
	res := &SoftResult{}
	M, sum := math.Inf(-1), 0.0 // the best score; Σ e^{(s−M)/T}
	skipped := math.Inf(-1)     // log of the mass bound of rows skipped by code
	rowCut := math.Log(tau / (2 * float64(max(v.N, 1))))
	logZ := func() float64 { return M*invT + math.Log(sum) }
	for i, l := range b.Order {
		if sum > 0 && logAddExp(suffix[i], skipped)-logZ() <= math.Log(tau) {
			st.Skipped += len(b.Order) - i
			res.Delta = math.Exp(logAddExp(suffix[i], skipped) - logZ())
			st.Bound = res.Delta
			st.TimeScan += time.Since(t0)
			return res, nil
		}
		var filter func(lo, hi float64) bool
		if sum > 0 {
			filter = func(lo, hi float64) bool {
				if (hi-M)*invT <= rowCut {
					skipped = logAddExp(skipped, hi*invT)
					return false
				}
				return true
			}
		}
		ids, scores, err := s.visit(Q, &v.Lists[l], src, st, filter)
		if err != nil {
			return nil, err
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
	st.TimeScan += time.Since(t0)
	return res, nil
}
