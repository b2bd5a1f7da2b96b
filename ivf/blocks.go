package ivf

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/softdb/softdb/attention"
)

// A list's radius is the distance of its farthest member, so a list that
// k-means left holding two or more of the data's clusters (or one far
// outlier) has a radius as large as the gaps between them and its bounds
// prove nothing. Blocks split such a list into balls of its own members
// (a two-level ball tree: Omohundro, "Five balltree construction
// algorithms", 1989; Moore, "The anchors hierarchy", UAI 2000), each with
// its own centre and radius, so a search can skip the parts of a list that
// are far from the query while it reads the parts that are near.
//
// A node is split in two by 2-means seeded with the farthest-point pair
// (the member farthest from the centre, then the member farthest from
// that one). The split is kept only when the halves are notably tighter
// than the whole: their k-means objective (the sum of squared distances
// to their means) at most blockShrink of the whole's. Splitting one round
// Gaussian cluster in d dimensions removes only about 2/(πd) of it (0.5%
// at d = 128), so such a list stays one or a few blocks; a union of
// well-separated clusters loses most of it and is split until the
// clusters are apart.
const (
	blockShrink  = 0.97 // keep a split that lowers the k-means objective by at least 3%
	blockMinRows = 32   // never split a node of fewer rows
	blockLloyd   = 2    // Lloyd iterations of each 2-means split
	blockSample  = 256  // members a split is chosen on
)

// blockSet is the blocks of one list: member positions (into the list's
// IDs, ascending within a block) and, per block, a ball.
type blockSet struct {
	pos     [][]int32
	ids     [][]int64
	cent32  []float32 // B×d, the kernels' centres
	unit32  []float32 // B×d, the kernels' unit centres (COSINE)
	cent    []float64 // float64(cent32)
	unit    []float64 // the unit centres in float64
	cnorm   []float64
	radius  []float64 // ≥ ‖k − c‖ for every member k
	uradius []float64 // ≥ ‖k/‖k‖ − u‖ for every non-zero member
	maxNorm []float64
	hasZero []bool
}

// blockCache holds the blocks of a view's lists, built on first use
// (a list a search never opens never pays for them).
type blockCache struct {
	once   sync.Once
	sets   []atomic.Pointer[blockSet]
	blocks atomic.Int64 // blocks built (of the sets kept)
	warm   sync.Once
}

// BlocksBuilt returns how many blocks the lists split into so far hold:
// the cost, in bounds, of refining an estimate with them (Units).
func (v *View) BlocksBuilt() int { return int(v.blk.blocks.Load()) }

// blocks returns list l's blocks, building them from the members' keys
// (src.Gather) the first time. Two searches racing build the same blocks;
// one is kept.
func (v *View) blocks(l int, src Source) *blockSet {
	if bs := v.slots()[l].Load(); bs != nil {
		return bs
	}
	L := &v.Lists[l]
	d := v.Q.D
	kp := keyPool.Get().(*[]float32)
	defer keyPool.Put(kp)
	keys := growTo(*kp, len(L.IDs)*d)
	*kp = keys
	if L.Half != nil {
		// bfloat16 codes decode exactly to float32: split on them as on
		// int8 codes below.
		for i, h := range L.Half[:len(L.IDs)*d] {
			keys[i] = FromBFloat16(h)
		}
	} else if L.Codes != nil {
		// The codes lie in list order, d bytes a row: split on them
		// rather than gather the rows' keys from all over the table
		// (addBall then bounds the true keys through the coding error).
		for i := range L.IDs {
			sc := L.Scale[i]
			for j, c := range L.Codes[i*d : (i+1)*d] {
				keys[i*d+j] = sc * float32(c)
			}
		}
	} else {
		src.Gather(keys, L.IDs)
	}
	bs := buildBlocks(L, keys, d)
	if v.blk.sets[l].CompareAndSwap(nil, bs) {
		v.blk.blocks.Add(int64(len(bs.pos)))
	}
	return v.blk.sets[l].Load()
}

// slots returns the view's per-list block pointers.
func (v *View) slots() []atomic.Pointer[blockSet] {
	v.blk.once.Do(func() { v.blk.sets = make([]atomic.Pointer[blockSet], len(v.Lists)) })
	return v.blk.sets
}

// keyPool keeps the key buffers blocks are built from: fresh ones cost
// more in page faults than the build itself.
var keyPool = sync.Pool{New: func() any { return new([]float32) }}

// buildBlocks splits the members of L (keys: their float32 keys, in
// L.IDs order) into blocks.
func buildBlocks(L *List, keys []float32, d int) *blockSet {
	b := &blockBuilder{keys: keys, d: d, c: make([]float64, 3*d)}
	all := make([]int32, len(L.IDs))
	for i := range all {
		all[i] = int32(i)
	}
	b.split(all, 0)
	bs := &blockSet{}
	if len(b.leaves) == 1 {
		// One block: the list's own bounds serve (nothing measures it).
		bs.pos, bs.ids = [][]int32{all}, [][]int64{L.IDs}
		return bs
	}
	for _, pos := range b.leaves {
		slices.Sort(pos)
		ids := make([]int64, len(pos))
		for i, p := range pos {
			ids[i] = L.IDs[p]
		}
		bs.pos = append(bs.pos, pos)
		bs.ids = append(bs.ids, ids)
		bs.addBall(L, keys, d, pos)
	}
	return bs
}

// addBall appends the ball of the members pos: the mean rounded to
// float32 as its centre, and the radii, norms and unit centre measured in
// float64 and widened by up (as Fill does for lists). Without codes the
// rows are the exact float32 keys. With codes they are k̂ = s·code,
// exact in float64 (a float32 times an integer of 7 bits), or the
// bfloat16 code's float32 (exact), and each
// distance is widened by the row's coding error e ≥ ‖k − k̂‖:
// ‖k − c‖ ≤ ‖k̂ − c‖ + e, and ‖k/‖k‖ − u‖ ≤ ‖k̂/‖k‖ − u‖ + e/‖k‖ with ‖k‖
// the row's stored norm (triangle inequality).
func (bs *blockSet) addBall(L *List, keys []float32, d int, pos []int32) {
	row := make([]float64, d)
	get := func(p int32) (slack float64) {
		if L.coded() {
			L.decode(row, int(p), d)
			return L.Err[p]
		}
		for j, x := range keys[int(p)*d : (int(p)+1)*d] {
			row[j] = float64(x)
		}
		return 0
	}
	c := make([]float64, d)
	u := make([]float64, d)
	var maxNorm float64
	hasZero := false
	for _, p := range pos {
		get(p)
		n := L.Norm[p]
		maxNorm = max(maxNorm, up(n))
		if n == 0 {
			hasZero = true
		}
		for j, x := range row {
			c[j] += x
			if n > 0 {
				u[j] += x / n
			}
		}
	}
	var cn2, un2 float64
	for j := range c {
		c[j] = float64(float32(c[j] / float64(len(pos))))
		cn2 += c[j] * c[j]
		un2 += u[j] * u[j]
	}
	if un := math.Sqrt(un2); un > 0 {
		for j := range u {
			u[j] /= un
		}
	} else {
		clear(u)
	}
	var r, ur float64
	for _, p := range pos {
		slack := get(p)
		n := L.Norm[p]
		var s, su float64
		for j, x := range row {
			e := x - c[j]
			s += e * e
			if n > 0 {
				e := x/n - u[j]
				su += e * e
			}
		}
		r = max(r, math.Sqrt(s)+slack)
		if n > 0 {
			ur = max(ur, math.Sqrt(su)+slack/n)
		}
	}
	for j := range c {
		bs.cent32 = append(bs.cent32, float32(c[j]))
		bs.unit32 = append(bs.unit32, float32(u[j]))
	}
	bs.cent = append(bs.cent, c...)
	bs.unit = append(bs.unit, u...)
	bs.cnorm = append(bs.cnorm, math.Sqrt(cn2))
	bs.radius = append(bs.radius, up(r))
	bs.uradius = append(bs.uradius, up(ur))
	bs.maxNorm = append(bs.maxNorm, maxNorm)
	bs.hasZero = append(bs.hasZero, hasZero)
}

type blockBuilder struct {
	keys   []float32
	d      int
	c      []float64 // scratch: 3 centres
	leaves [][]int32
}

func (b *blockBuilder) key(p int32) []float32 { return b.keys[int(p)*b.d : (int(p)+1)*b.d] }

func dist2(k []float32, c []float64) float64 {
	var s float64
	for j, x := range k {
		e := float64(x) - c[j]
		s += e * e
	}
	return s
}

// mean sets c to the mean of the members pos.
func (b *blockBuilder) mean(c []float64, pos []int32) {
	clear(c)
	for _, p := range pos {
		for j, x := range b.key(p) {
			c[j] += float64(x)
		}
	}
	for j := range c {
		c[j] /= float64(len(pos))
	}
}

// radius returns max ‖k − c‖ over pos and the member that attains it.
func (b *blockBuilder) radius(c []float64, pos []int32) (float64, int32) {
	r, far := -1.0, pos[0]
	for _, p := range pos {
		if s := dist2(b.key(p), c); s > r {
			r, far = s, p
		}
	}
	return math.Sqrt(r), far
}

// split makes pos one leaf, or splits it in two and recurses (see the
// comment at blockShrink). The split is chosen on a sample of at most
// blockSample members (evenly spaced, plus the member farthest from the
// sample's mean, so that a far outlier is always considered) and then
// applied to every member by the side of the bisecting hyperplane of the
// two centres (one dot product a member). Only the balls' final radii,
// measured over every member (addBall), carry a proof; the split itself
// is a heuristic and may be poor without harm to correctness.
func (b *blockBuilder) split(pos []int32, depth int) {
	d := b.d
	if len(pos) < 2*blockMinRows || depth >= 32 {
		b.leaves = append(b.leaves, pos)
		return
	}
	c, ca, cb := b.c[:d], b.c[d:2*d], b.c[2*d:]
	sample := pos
	if len(pos) > blockSample {
		sample = make([]int32, 0, blockSample+1)
		for i := 0; i < blockSample; i++ {
			sample = append(sample, pos[i*len(pos)/blockSample])
		}
		b.mean(c, sample)
		_, far := b.radius(c, pos)
		sample = append(sample, far)
	}
	b.mean(c, sample)
	r, p0 := b.radius(c, sample)
	if r == 0 {
		b.leaves = append(b.leaves, pos)
		return
	}
	for j, x := range b.key(p0) {
		ca[j] = float64(x)
	}
	_, p1 := b.radius(ca, sample)
	for j, x := range b.key(p1) {
		cb[j] = float64(x)
	}
	side := make([]bool, len(sample)) // true: nearer cb
	na := 0
	for it := 0; ; it++ {
		na = 0
		for i, p := range sample {
			k := b.key(p)
			side[i] = dist2(k, cb) < dist2(k, ca)
			if !side[i] {
				na++
			}
		}
		if na == 0 || na == len(sample) {
			b.leaves = append(b.leaves, pos)
			return
		}
		clear(ca)
		clear(cb)
		for i, p := range sample {
			dst := ca
			if side[i] {
				dst = cb
			}
			for j, x := range b.key(p) {
				dst[j] += float64(x)
			}
		}
		for j := range ca {
			ca[j] /= float64(na)
			cb[j] /= float64(len(sample) - na)
		}
		if it == blockLloyd {
			break
		}
	}
	// The k-means objective of the halves against the whole's.
	var sse, sseAB float64
	for i, p := range sample {
		k := b.key(p)
		sse += dist2(k, c)
		if side[i] {
			sseAB += dist2(k, cb)
		} else {
			sseAB += dist2(k, ca)
		}
	}
	if sseAB > blockShrink*sse {
		b.leaves = append(b.leaves, pos)
		return
	}
	// Every member to the side of the hyperplane w·k = t bisecting ca, cb.
	w := make([]float64, d)
	var t float64
	for j := range w {
		w[j] = cb[j] - ca[j]
		t += w[j] * (cb[j] + ca[j]) / 2
	}
	var A, B []int32
	for _, p := range pos {
		var s float64
		for j, x := range b.key(p) {
			s += w[j] * float64(x)
		}
		if s > t {
			B = append(B, p)
		} else {
			A = append(A, p)
		}
	}
	if len(A) == 0 || len(B) == 0 {
		b.leaves = append(b.leaves, pos)
		return
	}
	b.split(A, depth+1)
	b.split(B, depth+1)
}

// bounds sets lo, hi to the bounds of q over each block (as View.Bounds
// does for lists), clipped to the list's own bounds llo, lhi: both bound
// every member of the block.
func (bs *blockSet) bounds(Q *Query, d int, llo, lhi float64, lo, hi []float64) {
	nb := len(bs.pos)
	if len(bs.radius) == 0 { // one block, the whole list: its bounds
		lo[0], hi[0] = llo, lhi
		return
	}
	fast := make([]float32, nb)
	var err error
	switch Q.M {
	case attention.Dot, attention.L2:
		err = attention.ScoreRows(fast, Q.M, Q.V, bs.cent32, d)
	case attention.Cosine:
		if Q.unit != nil {
			err = attention.ScoreRows(fast, attention.Dot, Q.V, bs.unit32, d)
		}
	}
	exact := err != nil
	for i := 0; i < nb; i++ {
		l, h := Q.ball(fast[i], exact, bs.cent[i*d:(i+1)*d], bs.unit[i*d:(i+1)*d], bs.cnorm[i], bs.radius[i], bs.uradius[i], bs.maxNorm[i], bs.hasZero[i])
		lo[i], hi[i] = max(l, llo), min(h, lhi)
	}
}

// WarmOnce runs Warm in a goroutine of its own, the first time it is
// called on v.
func (v *View) WarmOnce(src Source, stop func() bool) {
	v.blk.warm.Do(func() { go v.Warm(src, stop) })
}

// Warm builds the blocks of every list not built yet, in list order,
// reading keys from src; it returns early once stop reports true (the
// view is no longer the table's). It is safe to run beside searches.
func (v *View) Warm(src Source, stop func() bool) {
	for l := range v.Lists {
		if stop() {
			return
		}
		if len(v.Lists[l].IDs) > 0 {
			v.blocks(l, src)
		}
	}
}

// Units are the bounds a cost estimate reads: one per list, or one per
// block for the lists whose blocks are built (the estimate never builds
// them), in decreasing order of upper bound.
type Units struct {
	Lo, Hi []float64
	N      []int
	// EstimateSoft's suffix sums of n·e^{(hi−Top)/T}, for suffixInvT: two
	// estimates at one temperature share them.
	suffix     []float64
	suffixInvT float64
}

// ListUnits returns the lists' bounds as units (no blocks).
func (v *View) ListUnits(b *Bounds) *Units {
	u := unitsPool.Get().(*Units)
	n := len(b.Order)
	u.Lo, u.Hi, u.N = growTo(u.Lo, n), growTo(u.Hi, n), growTo(u.N, n)
	u.suffix, u.suffixInvT = u.suffix[:0], 0
	for i, l := range b.Order {
		u.Lo[i], u.Hi[i], u.N[i] = b.Lo[l], b.Hi[l], v.size[l]
	}
	return u
}

var unitsPool = sync.Pool{New: func() any { return new(Units) }}

// Release hands the arrays of units made by ListUnits back for a later
// query; u must not be used after it. Not calling it is correct.
func (u *Units) Release() {
	if u != nil {
		unitsPool.Put(u)
	}
}

// Units returns the lists' bounds refined by their blocks where built.
func (v *View) Units(Q *Query, b *Bounds) *Units {
	u := &Units{}
	sets := v.slots()
	var lo, hi []float64
	for _, l := range b.Order {
		bs := sets[l].Load()
		if bs == nil || len(bs.pos) == 1 {
			u.Lo, u.Hi, u.N = append(u.Lo, b.Lo[l]), append(u.Hi, b.Hi[l]), append(u.N, v.size[l])
			continue
		}
		lo, hi = growTo(lo, len(bs.pos)), growTo(hi, len(bs.pos))
		bs.bounds(Q, v.Q.D, b.Lo[l], b.Hi[l], lo, hi)
		for i, pos := range bs.pos {
			u.Lo, u.Hi, u.N = append(u.Lo, lo[i]), append(u.Hi, hi[i]), append(u.N, len(pos))
		}
	}
	type unit struct {
		lo, hi float64
		n      int
	}
	us := make([]unit, len(u.Hi))
	for i := range us {
		us[i] = unit{u.Lo[i], u.Hi[i], u.N[i]}
	}
	slices.SortFunc(us, func(a, b unit) int { return cmp.Compare(b.hi, a.hi) })
	for i, x := range us {
		u.Lo[i], u.Hi[i], u.N[i] = x.lo, x.hi, x.n
	}
	return u
}

// Top returns the highest upper bound (−Inf with no units): no row
// scores above it.
func (u *Units) Top() float64 {
	if len(u.Hi) == 0 {
		return math.Inf(-1)
	}
	return u.Hi[0]
}

// Floor returns the lowest lower bound (+Inf with no units): no row
// scores below it.
func (u *Units) Floor() float64 {
	f := math.Inf(1)
	for _, l := range u.Lo {
		f = min(f, l)
	}
	return f
}

// EstimateHard returns about how many rows SearchHard reads for the k
// best: the rows of every unit whose upper bound reaches thr (a probed
// k-th best score), or else the k-th best lower bound of whole units.
func (u *Units) EstimateHard(k int, thr float64) int {
	ss := sortPool.Get().(*sortScratch)
	defer sortPool.Put(ss)
	byLo := growTo(ss.ids, len(u.Lo))
	ss.ids = byLo
	for i := range byLo {
		byLo[i] = i
	}
	ss.keys, ss.tmp = sortByHiDesc(byLo, u.Lo, ss.keys, ss.tmp)
	n := 0
	for _, i := range byLo {
		n += u.N[i]
		if n >= k {
			thr = max(thr, u.Lo[i])
			break
		}
	}
	rows := 0
	for i, h := range u.Hi {
		if h >= thr {
			rows += u.N[i]
		}
	}
	return rows
}

// EstimateSoft returns about how many rows SearchSoft reads with budget
// tau: the larger of best (a probed score) and the best lower bound
// stands for the best score. (An estimate: the mass terms are summed
// relative to the top bound in plain float64.)
func (u *Units) EstimateSoft(invT, tau, best float64) int {
	if len(u.Hi) == 0 {
		return 0
	}
	for _, l := range u.Lo {
		best = max(best, l)
	}
	R := u.Hi[0]
	if u.suffixInvT != invT || len(u.suffix) != len(u.Hi)+1 {
		u.suffix = growTo(u.suffix, len(u.Hi)+1)
		u.suffix[len(u.Hi)] = 0
		for i := len(u.Hi) - 1; i >= 0; i-- {
			u.suffix[i] = u.suffix[i+1] + float64(u.N[i])*math.Exp((u.Hi[i]-R)*invT)
		}
		u.suffixInvT = invT
	}
	// Stop where suffix·e^{R/T} ≤ tau·e^{best/T}, compared as numbers when
	// e^lim is one (no logarithm a unit).
	lim := math.Log(tau) + (best-R)*invT
	stop := func(s float64) bool { return math.Log(s) <= lim }
	if e := math.Exp(lim); e > 0 && !math.IsInf(e, 1) {
		stop = func(s float64) bool { return s <= e }
	}
	rows := 0
	for i := range u.Hi {
		if stop(u.suffix[i]) {
			break
		}
		rows += u.N[i]
	}
	return rows
}
