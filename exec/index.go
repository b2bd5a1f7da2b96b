package exec

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/softdb/softdb/ivf"
	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
	"github.com/softdb/softdb/types"
)

// indexSeed seeds k-means: a fixed seed makes CREATE INDEX and REINDEX
// deterministic for the same rows.
const indexSeed = 0x50f7db

// indexOptions are CREATE INDEX's WITH options, checked.
type indexOptions struct {
	lists int // 0: default from the row count
	codes ivf.Codes
}

func parseIndexOptions(opts []query.CopyOption) (indexOptions, error) {
	var o indexOptions
	for _, op := range opts {
		switch op.Name {
		case "LISTS":
			n, err := strconv.Atoi(op.Value)
			if err != nil || n < 1 {
				return o, errorf(ErrValue, op.At, "lists must be an integer ≥ 1, got %s", op.Value)
			}
			if n > ivf.MaxLists {
				return o, errorf(ErrValue, op.At, "lists must be at most %d, got %d", ivf.MaxLists, n)
			}
			o.lists = n
		case "CODES":
			c, err := ivf.ParseCodes(op.Value)
			if err != nil {
				return o, errorf(ErrValue, op.At, "%v", err)
			}
			o.codes = c
		default:
			return o, errorf(ErrValue, op.At, "unknown index option %s (expected lists or codes)", strings.ToLower(op.Name))
		}
	}
	return o, nil
}

// keyRows lists the live rows of t with a non-NULL col, as (segment
// index, slot) pairs packed in a uint64, and returns a function giving
// row i's key: the rows are sampled in place, not copied.
func keyRows(ctx context.Context, t *storage.Table, col, d int) (int, func(i int) []float32, error) {
	segs := t.Segments()
	pos := make([]uint64, 0, t.LiveRows())
	for k, seg := range segs {
		if err := ctx.Err(); err != nil {
			return 0, nil, err
		}
		live, nulls := seg.Live(), seg.Nulls(col)
		for i := 0; i < seg.Len(); i++ {
			if live[i] != 0 && (nulls == nil || nulls[i] == 0) {
				pos = append(pos, uint64(k)<<32|uint64(i))
			}
		}
	}
	vecs := make([][]float32, len(segs))
	for k, seg := range segs {
		vecs[k] = seg.Vectors(col)
	}
	return len(pos), func(i int) []float32 {
		k, s := int(pos[i]>>32), int(uint32(pos[i]))
		return vecs[k][s*d : (s+1)*d]
	}, nil
}

// trainIndex builds the definition of an index over the current rows.
func trainIndex(ctx context.Context, t *storage.Table, name string, at query.Pos, colName query.Ident, o indexOptions) (storage.Index, error) {
	schema := t.Schema()
	col := schema.ColumnIndex(colName.Name)
	if col < 0 {
		return storage.Index{}, errorf(ErrNotFound, colName.At, "column %q does not exist in table %q", colName.Name, schema.Name)
	}
	c := schema.Columns[col]
	if c.Type.Kind != types.Vector {
		return storage.Index{}, errorf(ErrType, colName.At, "CREATE INDEX %s: column %s.%s is %s; an index needs a VECTOR column", name, schema.Name, c.Name, c.Type)
	}
	d := c.Type.Dim
	n, row, err := keyRows(ctx, t, col, d)
	if err != nil {
		return storage.Index{}, err
	}
	lists := o.lists
	if lists == 0 {
		lists = ivf.DefaultLists(n)
	} else if lists > max(n, 1) {
		return storage.Index{}, errorf(ErrValue, at, "CREATE INDEX %s: lists = %d exceeds the %d rows of %s with a %s (at most one list a row)", name, lists, n, schema.Name, c.Name)
	}
	var cent []float32
	if n == 0 {
		cent = make([]float32, lists*d) // one zero centroid: the bounds hold for any rows added later
	} else {
		if cent, err = ivf.TrainRows(ctx, n, row, d, lists, indexSeed); err != nil {
			return storage.Index{}, err
		}
	}
	return storage.Index{Name: name, Table: schema.Name, Column: c.Name, Method: "ivf", Lists: len(cent) / d,
		Codes: o.codes.String(), Seed: indexSeed, Dim: d, Centroids: cent}, nil
}

func createIndex(ctx context.Context, tx *storage.Tx, s *query.CreateIndex) error {
	snap := tx.View()
	if _, ix := snap.Index(s.Name.Name); ix != nil {
		if s.IfNotExists {
			return nil
		}
		return errorf(ErrValue, s.Name.At, "index %q already exists (on %s.%s)", ix.Name, ix.Table, ix.Column)
	}
	if s.Method != nil && !strings.EqualFold(s.Method.Name, "ivf") {
		return errorf(ErrUnsupported, s.Method.At, "unknown index method %q (softdb has ivf)", s.Method.Name)
	}
	t, err := tableOf(snap, s.Table)
	if err != nil {
		return err
	}
	o, err := parseIndexOptions(s.Options)
	if err != nil {
		return err
	}
	def, err := trainIndex(ctx, t, s.Name.Name, s.At, s.Column, o)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err // before every row's list is written
	}
	return tx.CreateIndex(def)
}

func dropIndex(tx *storage.Tx, s *query.DropIndex) error {
	if _, ix := tx.View().Index(s.Name.Name); ix == nil {
		if s.IfExists {
			return nil
		}
		return errorf(ErrNotFound, s.Name.At, "index %q does not exist", s.Name.Name)
	}
	return tx.DropIndex(s.Name.Name)
}

// reindex trains an index again on the current rows, with its lists
// (fewer if rows were deleted) and codes.
func reindex(ctx context.Context, tx *storage.Tx, s *query.Reindex) error {
	t, ix := tx.View().Index(s.Name.Name)
	if ix == nil {
		return errorf(ErrNotFound, s.Name.At, "index %q does not exist", s.Name.Name)
	}
	codes, _ := ivf.ParseCodes(ix.Codes)
	col := t.Schema().ColumnIndex(ix.Column)
	n, _, err := keyRows(ctx, t, col, ix.Dim)
	if err != nil {
		return err
	}
	lists := max(1, min(ix.Lists, n))
	def, err := trainIndex(ctx, t, ix.Name, s.At, query.Ident{Name: ix.Column}, indexOptions{lists: lists, codes: codes})
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := tx.DropIndex(ix.Name); err != nil {
		return err
	}
	return tx.CreateIndex(def)
}

// showIndexes lists every index: SHOW INDEXES.
func showIndexes(snap *storage.Snapshot, res *Result) {
	res.Columns = []string{"name", "table", "column", "method", "lists", "codes"}
	res.Types = []types.Type{{Kind: types.Text}, {Kind: types.Text}, {Kind: types.Text}, {Kind: types.Text}, {Kind: types.Int}, {Kind: types.Text}}
	res.HasRows = true
	for _, t := range snap.Tables() {
		for _, ix := range t.Indexes() {
			res.Rows = append(res.Rows, []types.Value{types.TextValue(ix.Name), types.TextValue(ix.Table),
				types.TextValue(ix.Column), types.TextValue(ix.Method), types.IntValue(int64(ix.Lists)), types.TextValue(ix.Codes)})
		}
	}
}

// describeIndexes appends DESCRIBE's rows for t's indexes.
func describeIndexes(t *storage.Table, res *Result) {
	for _, ix := range t.Indexes() {
		res.Rows = append(res.Rows, []types.Value{types.TextValue(ix.Name),
			types.TextValue(fmt.Sprintf("INDEX USING %s (%s) WITH (lists = %d, codes = %s)", ix.Method, ix.Column, ix.Lists, ix.Codes)),
			boolValue(false), boolValue(false)})
	}
}

// indexStmt runs the index statements; ok is false for other statements.
func (s *Session) indexStmt(ctx context.Context, stmt query.Statement, res *Result) (ok bool, err error) {
	switch n := stmt.(type) {
	case *query.CreateIndex:
		err := s.write(ctx, func(tx *storage.Tx) error { return createIndex(ctx, tx, n) })
		s.warmIndex(n.Name.Name, err)
		return true, err
	case *query.DropIndex:
		return true, s.write(ctx, func(tx *storage.Tx) error { return dropIndex(tx, n) })
	case *query.Reindex:
		err := s.write(ctx, func(tx *storage.Tx) error { return reindex(ctx, tx, n) })
		s.warmIndex(n.Name.Name, err)
		return true, err
	case *query.ShowIndexes:
		showIndexes(s.snapshot(), res)
		return true, nil
	}
	return false, nil
}

// warmIndex builds the lists of a new index over the rows it was trained
// on, so that CREATE INDEX, not the first query, pays for assigning them.
func (s *Session) warmIndex(name string, err error) {
	if err != nil {
		return
	}
	if t, ix := s.snapshot().Index(name); ix != nil {
		viewOf(ix, t)
	}
}

// ---- The lists of one table version, derived and cached ----

// indexState is the executor's cache for one index definition (kept in
// its storage.Index.Aux slot): the per-row data of each segment, and the
// view of the last table version asked for. Arrays a snapshot has seen
// are never written again below the length it saw (storage's
// copy-on-write), so a segment whose key and NULL arrays are the ones
// cached, at least as long, only gained rows; otherwise its rows are
// compared with the cached arrays and the changed ones recomputed.
type indexState struct {
	mu    sync.Mutex
	q     *ivf.Quantizer
	col   int
	parts map[int64]*partEntry // by segment base
	table *storage.Table
	view  *ivf.View
	// seed: the lists as stored (read at Open) or computed by CREATE
	// INDEX, from which parts are derived without assigning rows again;
	// consumed by the first viewOf.
	seed []storage.SegmentLists
}

type partEntry struct {
	vecs  []float32
	nulls []byte
	n     int
	p     *ivf.Part
}

var indexStateMu sync.Mutex

func stateOf(ix *storage.Index, t *storage.Table) *indexState {
	if st, ok := ix.Aux().Load().(*indexState); ok {
		return st
	}
	indexStateMu.Lock()
	defer indexStateMu.Unlock()
	if st, ok := ix.Aux().Load().(*indexState); ok {
		return st
	}
	codes, _ := ivf.ParseCodes(ix.Codes)
	st := &indexState{q: ivf.NewQuantizer(ix.Centroids, ix.Dim, codes), col: t.Schema().ColumnIndex(ix.Column), parts: map[int64]*partEntry{},
		seed: ix.TakeStoredLists()}
	ix.Aux().Store(st)
	return st
}

// AssignLists computes the lists of rows a write adds to a vector index
// (storage.Options.AssignLists): the nearest centroid, on the batch
// kernels.
func AssignLists(ix *storage.Index, dst []int32, keys []float32) {
	ivf.Assign(dst, keys, ix.Dim, ix.Centroids)
}

// seedParts derives the parts of the segments whose lists are stored,
// O(d) a row, the segments spread over the cores.
func (st *indexState) seedParts(d int) {
	seed := st.seed
	st.seed = nil
	entries := make([]*partEntry, len(seed))
	var next sync.Mutex
	k := 0
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(seed)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				i := k
				k++
				next.Unlock()
				if i >= len(seed) {
					return
				}
				// The lists cover the slots the segment had when they were
				// made (a transaction's own segment may have grown since).
				seg := seed[i].Seg
				n := len(seed[i].Lists)
				nulls := seg.Nulls(st.col)
				if nulls != nil {
					nulls = nulls[:n]
				}
				e := &partEntry{p: &ivf.Part{}, vecs: seg.Vectors(st.col)[:n*d], nulls: nulls, n: n}
				e.p.Grow(n, st.q)
				st.q.FillAssigned(e.p, e.vecs, seed[i].Lists, 0, n)
				entries[i] = e
			}
		}()
	}
	wg.Wait()
	for i, e := range entries {
		st.parts[seed[i].Seg.Base()] = e
	}
}

// viewOf returns the lists of ix over table version t.
func viewOf(ix *storage.Index, t *storage.Table) *ivf.View {
	st := stateOf(ix, t)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.table == t {
		return st.view
	}
	d, col := ix.Dim, st.col
	if st.seed != nil {
		st.seedParts(d)
	}
	parts := make(map[int64]*partEntry, len(t.Segments()))
	refs := make([]ivf.PartRef, 0, len(t.Segments()))
	for _, seg := range t.Segments() {
		n := seg.Len()
		vecs, nulls := seg.Vectors(col)[:n*d], seg.Nulls(col)
		if nulls != nil {
			nulls = nulls[:n]
		}
		e := st.parts[seg.Base()]
		switch {
		case e == nil:
			e = &partEntry{p: &ivf.Part{}}
			e.p.Grow(n, st.q)
			st.q.Fill(e.p, vecs, nulls, 0, n)
		case sameArray(e.vecs, vecs) && sameArray(e.nulls, nulls) && e.n <= n:
			e.p.Grow(n, st.q)
			st.q.Fill(e.p, vecs, nulls, e.n, n)
		default:
			old := e
			e = &partEntry{p: old.p}
			e.p.Grow(n, st.q)
			m := min(old.n, n)
			for i := 0; i < m; {
				if sameRow(old, vecs, nulls, i, d) {
					i++
					continue
				}
				j := i + 1
				for j < m && !sameRow(old, vecs, nulls, j, d) {
					j++
				}
				st.q.Fill(e.p, vecs, nulls, i, j)
				i = j
			}
			if n > m {
				st.q.Fill(e.p, vecs, nulls, m, n)
			}
		}
		e.vecs, e.nulls, e.n = vecs, nulls, n
		parts[seg.Base()] = e
		refs = append(refs, ivf.PartRef{Base: seg.Base(), P: e.p, N: n})
	}
	st.parts = parts
	st.table = t
	st.view = ivf.NewView(st.q, refs)
	return st.view
}

func (st *indexState) current() *ivf.View {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.view
}

func sameArray[T any](a, b []T) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == 0 && len(b) == 0 || a == nil && b == nil
	}
	return unsafe.SliceData(a) == unsafe.SliceData(b)
}

func sameRow(e *partEntry, vecs []float32, nulls []byte, i, d int) bool {
	on := e.nulls != nil && e.nulls[i] != 0
	nn := nulls != nil && nulls[i] != 0
	if on != nn {
		return false
	}
	if nn {
		return true
	}
	a, b := e.vecs[i*d:(i+1)*d], vecs[i*d:(i+1)*d]
	for j := range a {
		if math.Float32bits(a[j]) != math.Float32bits(b[j]) {
			return false
		}
	}
	return true
}

// tableSource gives an index search the rows of one table version:
// liveness, NULL keys and the WHERE mask are checked only for the rows a
// search reads.
type tableSource struct {
	t     *storage.Table
	col   int
	d     int
	where expr
	segs  []*storage.Segment
}

func (s *tableSource) locate(id int64) (*storage.Segment, int, bool) {
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].Base()+int64(s.segs[i].Len()) > id })
	if i == len(s.segs) || s.segs[i].Base() > id {
		return nil, 0, false
	}
	return s.segs[i], int(id - s.segs[i].Base()), true
}

// Keep's and Gather's ids ascend (a block's members), so both walk the
// segments with a cursor instead of a binary search a row (any order
// stays correct, only slower); without a WHERE, a segment with every row
// live and no NULL key keeps its rows without reading them.
func (s *tableSource) Keep(ids []int64) ([]int64, error) {
	out := ids[:0]
	ncols := len(s.t.Schema().Columns)
	var seg *storage.Segment
	var live, nulls []byte
	full := false
	for _, id := range ids {
		if seg == nil || id >= seg.Base()+int64(seg.Len()) || id < seg.Base() {
			sg, _, ok := s.locate(id)
			if !ok {
				continue
			}
			seg, live, nulls = sg, sg.Live(), sg.Nulls(s.col)
			full = s.where == nil && nulls == nil && sg.LiveCount() == sg.Len()
		}
		if full {
			out = append(out, id)
			continue
		}
		i := int(id - seg.Base())
		if live[i] == 0 || nulls != nil && nulls[i] != 0 {
			continue
		}
		if s.where != nil {
			r := srcRow{seg: seg, i: i, ncols: ncols, rowid: id}
			pass, err := passes(s.where, &r)
			if err != nil {
				return nil, err
			}
			if !pass {
				continue
			}
		}
		out = append(out, id)
	}
	return out, nil
}

func (s *tableSource) Gather(dst []float32, ids []int64) {
	d := s.d
	var seg *storage.Segment
	var vecs []float32
	for j, id := range ids {
		if seg == nil || id >= seg.Base()+int64(seg.Len()) || id < seg.Base() {
			seg, _, _ = s.locate(id)
			vecs = seg.Vectors(s.col)
		}
		i := int(id - seg.Base())
		copy(dst[j*d:(j+1)*d], vecs[i*d:(i+1)*d])
	}
}
