package storage

import (
	"math"
	"sync/atomic"

	"github.com/softdb/softdb/internal/hugepage"
	"github.com/softdb/softdb/types"
)

// Segment holds the rows with rowids Base()..Base()+Len()-1 of one table,
// column by column: slot i holds rowid Base()+i. A published Segment never
// changes: the slices it returns stay valid and constant for as long as
// the caller holds them, and may be read from any number of goroutines.
// Callers must not modify them.
//
// The backing arrays may extend past Len(); the single writer appends
// there, which is why readers must never reslice past Len().
type Segment struct {
	base  int64
	n     int // published slots
	nlive int
	live  []byte // len = allocated slots
	cols  []colData
	// Epochs record which write epoch allocated each array (see Tx); an
	// array may be written below n only in the epoch that allocated it.
	epoch     uint64 // of this header and its cols slice
	liveEpoch uint64
}

// colData is one column of a segment. Exactly one of the value slices is
// in use, by kind; every in-use slice covers the allocated slots.
type colData struct {
	kind      types.Kind
	dim       int
	nulls     []byte // nil while the column has had no NULL in this segment
	ints      []int64
	floats    []float64
	texts     []string
	vecs      []float32
	valEpoch  uint64
	nullEpoch uint64
	// patch, when set, holds the slots whose values differ from the
	// arrays above: an update of a shared array records the new value
	// here instead of copying the array (see update).
	patch *colPatch
}

// colPatch is the set of updated slots of a column whose arrays are
// shared with published snapshots. An update in the epoch that made it
// writes it in place; a later epoch makes its own, sharing the older
// slots (base) and copying only the recent ones (vals), so that one-row
// transactions do not copy a large patch each. A reader that wants the
// column's arrays gets them merged (merged), built once per patch by the
// first reader that asks.
type colPatch struct {
	// base holds the slots of older epochs not in vals; it is shared
	// between patches and never written. vals holds the newer slots,
	// written in place by the epoch that owns the patch.
	base   map[int]types.Value // by slot; K Null for NULL
	vals   map[int]types.Value
	n      int  // distinct slots in base and vals
	hasNul bool // some value in base or vals is NULL
	epoch  uint64
	merged atomic.Pointer[mergedCol]
}

// get returns slot i's value in the patch, if it has one.
func (p *colPatch) get(i int) (types.Value, bool) {
	if v, ok := p.vals[i]; ok {
		return v, true
	}
	v, ok := p.base[i]
	return v, ok
}

// each calls f with every slot of the patch and its value.
func (p *colPatch) each(f func(i int, v types.Value)) {
	for i, v := range p.base {
		if _, newer := p.vals[i]; !newer {
			f(i, v)
		}
	}
	for i, v := range p.vals {
		f(i, v)
	}
}

// maxDelta is how many slots a new epoch's patch copies from the last
// one before folding them into a new shared base: a one-row transaction
// then copies at most maxDelta values, and every maxDelta-th one copies
// the patch whole (at most maxPatch values), so about maxPatch/maxDelta
// a transaction on average.
const maxDelta = 32

// mergedCol is a column's arrays with a patch applied, for slots < n.
type mergedCol struct {
	n int
	c colData
}

// maxPatch is the number of patched slots past which an update copies the
// column instead: one slot in eight. A transaction of updates writes its
// epoch's patch in place, so the patch costs a map insertion an update
// (and a reader merging it, once per committed patch, the copy it would
// make without one), while copying a 65,536-row column is 32 MiB at
// VECTOR(128) and 128 MiB at VECTOR(512), most of it into memory never
// touched before: ~50-150 ms on this host, which a transaction of 3,000
// updates used to pay once its patch passed 512 slots.
func maxPatch(slots, dim int) int { return max(4, slots/8) }

// Base returns the rowid of slot 0.
func (g *Segment) Base() int64 { return g.base }

// Len returns the number of slots, deleted ones included.
func (g *Segment) Len() int { return g.n }

// LiveCount returns the number of live (not deleted) slots.
func (g *Segment) LiveCount() int { return g.nlive }

// Live returns one byte per slot: 1 for a live row, 0 for a deleted one.
func (g *Segment) Live() []byte { return g.live[:g.n:g.n] }

// col returns column i as readers see it: with its patch, if any, merged
// into arrays of its own.
func (g *Segment) col(i int) *colData {
	c := &g.cols[i]
	if c.patch == nil {
		return c
	}
	return c.patch.merge(c, g.n)
}

// merge returns c's arrays with the patch applied for the first n slots,
// building them on first use. Concurrent first readers each build one and
// never wait for each other; the copy that lands is shared from then on.
// A newer header with the same patch and more slots (rows appended since)
// builds anew.
func (p *colPatch) merge(c *colData, n int) *colData {
	if m := p.merged.Load(); m != nil && m.n >= n {
		return &m.c
	}
	m := &mergedCol{n: n, c: colData{kind: c.kind, dim: c.dim}}
	m.c.alloc(n)
	copy(m.c.ints, c.ints[:min(n, len(c.ints))])
	copy(m.c.floats, c.floats[:min(n, len(c.floats))])
	copy(m.c.texts, c.texts[:min(n, len(c.texts))])
	copy(m.c.vecs, c.vecs[:min(n*c.dim, len(c.vecs))])
	if c.nulls != nil || p.hasNul {
		m.c.nulls = make([]byte, n)
		if c.nulls != nil {
			copy(m.c.nulls, c.nulls[:n])
		}
	}
	p.each(func(i int, v types.Value) {
		if i < n {
			m.c.setNull(i, v.K == types.Null)
			m.c.set(i, &v)
		}
	})
	for {
		old := p.merged.Load()
		if old != nil && old.n >= n {
			return &old.c
		}
		if p.merged.CompareAndSwap(old, m) {
			return &m.c
		}
	}
}

// setNull sets slot i's NULL flag, where c.nulls exists or v is NULL.
func (c *colData) setNull(i int, null bool) {
	if c.nulls != nil {
		c.nulls[i] = 0
		if null {
			c.nulls[i] = 1
		}
	}
}

// Nulls returns one byte per slot, 1 where column col is NULL. It returns
// nil when no slot of the column is NULL.
func (g *Segment) Nulls(col int) []byte {
	c := g.col(col)
	if c.nulls == nil {
		return nil
	}
	return c.nulls[:g.n:g.n]
}

// Vectors returns the VECTOR column col as Len()*dim contiguous float32
// values, row after row; NULL rows hold zeros. It returns nil for a
// column of another kind.
func (g *Segment) Vectors(col int) []float32 {
	c := g.col(col)
	if c.kind != types.Vector {
		return nil
	}
	m := g.n * c.dim
	return c.vecs[:m:m]
}

// Dim returns the dimension of VECTOR column col (0 for other kinds).
func (g *Segment) Dim(col int) int { return g.cols[col].dim }

// Ints returns the INT column col (NULL rows hold 0), nil for another kind.
func (g *Segment) Ints(col int) []int64 {
	c := g.col(col)
	if c.kind != types.Int {
		return nil
	}
	return c.ints[:g.n:g.n]
}

// Floats returns the FLOAT column col (NULL rows hold 0), nil for another
// kind.
func (g *Segment) Floats(col int) []float64 {
	c := g.col(col)
	if c.kind != types.Float {
		return nil
	}
	return c.floats[:g.n:g.n]
}

// Texts returns the TEXT column col (NULL rows hold ""), nil for another
// kind.
func (g *Segment) Texts(col int) []string {
	c := g.col(col)
	if c.kind != types.Text {
		return nil
	}
	return c.texts[:g.n:g.n]
}

// Value returns the value of column col in slot i. A vector value shares
// the segment's memory.
func (g *Segment) Value(col, i int) types.Value {
	if i < 0 || i >= g.n {
		panic("storage: slot out of range")
	}
	c := &g.cols[col]
	if c.patch != nil {
		if v, ok := c.patch.get(i); ok {
			if v.K == types.Vector { // the patch's own memory: cap it
				v.V = v.V[:len(v.V):len(v.V)]
			}
			return v
		}
	}
	if c.nulls != nil && c.nulls[i] != 0 {
		return types.Value{}
	}
	switch c.kind {
	case types.Int:
		return types.IntValue(c.ints[i])
	case types.Float:
		return types.FloatValue(c.floats[i])
	case types.Text:
		return types.TextValue(c.texts[i])
	case types.Vector:
		return types.VectorValue(c.vecs[i*c.dim : (i+1)*c.dim : (i+1)*c.dim])
	}
	return types.Value{}
}

// Row returns slot i as a full row.
func (g *Segment) Row(i int) []types.Value {
	row := make([]types.Value, len(g.cols))
	for c := range row {
		row[c] = g.Value(c, i)
	}
	return row
}

// newSegment allocates a segment for rowids base.. with room for slots
// rows, owned by epoch.
func newSegment(s *Schema, base int64, slots int, epoch uint64) *Segment {
	g := &Segment{base: base, epoch: epoch, liveEpoch: epoch}
	g.live = make([]byte, slots)
	g.cols = make([]colData, len(s.Columns))
	for i := range s.Columns {
		c := &g.cols[i]
		c.kind = s.Columns[i].Type.Kind
		c.dim = s.Columns[i].Type.Dim
		c.valEpoch, c.nullEpoch = epoch, epoch
		c.alloc(slots)
	}
	return g
}

// alloc gives c fresh value arrays for slots rows (nulls stay nil).
func (c *colData) alloc(slots int) {
	c.ints, c.floats, c.texts, c.vecs = nil, nil, nil, nil
	switch c.kind {
	case types.Int:
		c.ints = make([]int64, slots)
	case types.Float:
		c.floats = make([]float64, slots)
	case types.Text:
		c.texts = make([]string, slots)
	case types.Vector:
		c.vecs = hugepage.Make(slots * c.dim)
	}
}

// cloneVals replaces c's value arrays with copies holding the first n
// slots, sized for slots rows. It runs inside a write statement (a
// segment growing, an update copying a shared column), so a vector array
// is advised for huge pages without the synchronous collapse (see
// hugepage.MakeLazy).
func (c *colData) cloneVals(n, slots int, epoch uint64) {
	old := *c
	if c.kind == types.Vector {
		c.ints, c.floats, c.texts = nil, nil, nil
		c.vecs = hugepage.MakeLazy(slots * c.dim)
	} else {
		c.alloc(slots)
	}
	copy(c.ints, old.ints[:min(n, len(old.ints))])
	copy(c.floats, old.floats[:min(n, len(old.floats))])
	copy(c.texts, old.texts[:min(n, len(old.texts))])
	copy(c.vecs, old.vecs[:min(n*c.dim, len(old.vecs))])
	c.valEpoch = epoch
}

func (c *colData) cloneNulls(n, slots int, epoch uint64) {
	nn := make([]byte, slots)
	if c.nulls != nil {
		copy(nn, c.nulls[:n])
	}
	c.nulls = nn
	c.nullEpoch = epoch
}

// slots returns the allocated number of slots.
func (g *Segment) slots() int { return len(g.live) }

// clone returns a copy of the header (sharing the arrays) owned by epoch.
func (g *Segment) clone(epoch uint64) *Segment {
	h := *g
	h.cols = append([]colData(nil), g.cols...)
	h.epoch = epoch
	return &h
}

// grow reallocates every array of the (owned) header g to hold slots rows.
func (g *Segment) grow(slots int, epoch uint64) {
	live := make([]byte, slots)
	copy(live, g.live[:g.n])
	g.live, g.liveEpoch = live, epoch
	for i := range g.cols {
		c := &g.cols[i]
		if c.nulls != nil || c.patch != nil && c.patch.hasNul {
			c.cloneNulls(g.n, slots, epoch)
		}
		c.cloneVals(g.n, slots, epoch)
		c.applyPatch(g.n)
	}
}

// applyPatch writes the patch of c, whose arrays are owned, into them and
// drops it.
func (c *colData) applyPatch(n int) {
	if c.patch == nil {
		return
	}
	c.patch.each(func(i int, v types.Value) {
		if i < n {
			c.setNull(i, v.K == types.Null)
			c.set(i, &v)
		}
	})
	c.patch = nil
}

// oldestEpoch returns the oldest epoch of g's arrays.
func (g *Segment) oldestEpoch() uint64 {
	e := g.liveEpoch
	for i := range g.cols {
		c := &g.cols[i]
		e = min(e, c.valEpoch)
		if c.nulls != nil {
			e = min(e, c.nullEpoch)
		}
	}
	return e
}

// put writes row into the unpublished slot i >= g.n of the (owned) header
// g: no reader looks at it, so the shared arrays are written in place.
func (g *Segment) put(i int, row []types.Value, epoch uint64) {
	for ci := range g.cols {
		c := &g.cols[ci]
		v := &row[ci]
		if v.K == types.Null {
			if c.nulls == nil {
				c.cloneNulls(0, len(g.live), epoch)
			}
			c.nulls[i] = 1
		} else if c.nulls != nil {
			c.nulls[i] = 0
		}
		c.set(i, v)
	}
}

// update replaces slot i (< g.n) of the (owned) header g with row,
// changing only the columns whose value changes. A column whose arrays
// the epoch owns is written in place. One whose arrays are shared records
// the value in its patch, O(1), until the patch holds maxPatch slots;
// then the arrays are copied (with the patch applied) and owned.
// row's vectors must not be changed afterwards (Update copies them).
func (g *Segment) update(i int, row []types.Value, epoch uint64) {
	for ci := range g.cols {
		c := &g.cols[ci]
		v := &row[ci]
		if c.patch != nil {
			if old, ok := c.patch.get(i); ok {
				if old.K == types.Null && v.K == types.Null || old.K != types.Null && v.K != types.Null && sameValue(&old, v) {
					continue
				}
			} else if c.unchanged(i, v) {
				continue
			}
		} else if c.unchanged(i, v) {
			continue
		}
		if c.patch != nil || c.valEpoch != epoch {
			if c.patch == nil || c.patch.n < maxPatch(len(g.live), c.dim) {
				c.patchSlot(i, *v, epoch)
				continue
			}
			// The patch is full: copy the arrays and own them.
			if c.nulls != nil || c.patch.hasNul {
				c.cloneNulls(g.n, len(g.live), epoch)
			}
			c.cloneVals(g.n, len(g.live), epoch)
			c.applyPatch(g.n)
		}
		wasNull := c.nulls != nil && c.nulls[i] != 0
		isNull := v.K == types.Null
		if isNull != wasNull {
			if c.nulls == nil || c.nullEpoch != epoch {
				c.cloneNulls(g.n, len(g.live), epoch)
			}
			if isNull {
				c.nulls[i] = 1
			} else {
				c.nulls[i] = 0
			}
		}
		if c.valEpoch != epoch {
			c.cloneVals(g.n, len(g.live), epoch)
		}
		c.set(i, v)
	}
}

// unchanged reports whether slot i of the arrays (not the patch) holds
// exactly v.
func (c *colData) unchanged(i int, v *types.Value) bool {
	wasNull := c.nulls != nil && c.nulls[i] != 0
	isNull := v.K == types.Null
	return isNull && wasNull || !isNull && !wasNull && c.equal(i, v)
}

// patchSlot records v as slot i's value in c's patch, making the epoch a
// patch of its own first when an older epoch made it (a snapshot may hold
// it): the older one's base is shared, and its recent slots copied, or
// folded with the base into a new one once there are maxDelta of them.
func (c *colData) patchSlot(i int, v types.Value, epoch uint64) {
	p := c.patch
	if p == nil || p.epoch != epoch {
		np := &colPatch{epoch: epoch}
		if p != nil {
			np.n, np.hasNul = p.n, p.hasNul
			if len(p.vals) < maxDelta {
				np.base = p.base
				np.vals = make(map[int]types.Value, len(p.vals)+1)
				for k, x := range p.vals {
					np.vals[k] = x
				}
			} else {
				np.base = make(map[int]types.Value, p.n)
				p.each(func(k int, x types.Value) { np.base[k] = x })
			}
		}
		if np.vals == nil {
			np.vals = make(map[int]types.Value, 8)
		}
		p, c.patch = np, np
	}
	if _, ok := p.vals[i]; !ok {
		if _, ok := p.base[i]; !ok {
			p.n++
		}
	}
	p.vals[i] = v
	p.hasNul = p.hasNul || v.K == types.Null
	p.merged.Store(nil) // a View may have merged the patch as it was
}

// sameValue reports whether two non-NULL values of one column are
// bitwise equal.
func sameValue(a, b *types.Value) bool {
	switch a.K {
	case types.Int:
		return a.I == b.I
	case types.Float:
		return math.Float64bits(a.F) == math.Float64bits(b.F)
	case types.Text:
		return a.S == b.S
	case types.Vector:
		for j, x := range a.V {
			if math.Float32bits(b.V[j]) != math.Float32bits(x) {
				return false
			}
		}
		return true
	}
	return false
}

// equal reports whether non-NULL slot i holds exactly v.
func (c *colData) equal(i int, v *types.Value) bool {
	switch c.kind {
	case types.Int:
		return c.ints[i] == v.I
	case types.Float:
		return math.Float64bits(c.floats[i]) == math.Float64bits(v.F)
	case types.Text:
		return c.texts[i] == v.S
	case types.Vector:
		old := c.vecs[i*c.dim : (i+1)*c.dim]
		for j, x := range v.V {
			if math.Float32bits(old[j]) != math.Float32bits(x) {
				return false
			}
		}
		return true
	}
	return false
}

// set writes v (zero for NULL) into slot i of the value arrays.
func (c *colData) set(i int, v *types.Value) {
	switch c.kind {
	case types.Int:
		c.ints[i] = v.I
	case types.Float:
		c.floats[i] = v.F
	case types.Text:
		c.texts[i] = v.S
	case types.Vector:
		dst := c.vecs[i*c.dim : (i+1)*c.dim]
		if v.K == types.Null {
			clear(dst)
		} else {
			copy(dst, v.V)
		}
	}
}

// ownLive makes the live bytes private to epoch.
func (g *Segment) ownLive(epoch uint64) {
	if g.liveEpoch == epoch {
		return
	}
	live := make([]byte, len(g.live))
	copy(live, g.live[:g.n])
	g.live, g.liveEpoch = live, epoch
}
