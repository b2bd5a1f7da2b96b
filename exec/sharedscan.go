package exec

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
	"github.com/softdb/softdb/types"
)

// Shared scans. A HARD or SOFT SELECT of one query vector reads every key
// of its table once: it is bound by memory bandwidth, and concurrent
// statements on the same table each read the same keys. The batch kernels
// (attention.ScoreBatch, TopKBatch, AccumulateBatch) score a block of
// queries per read of a key, so statements that arrive while another one
// over the same keys is running are queued and then run together, as one
// batch, each getting its own answer.
//
// Scheduling is leader/follower, per lane (see lane): the first statement
// of an idle lane runs at once, alone, through runMatch, exactly as it
// would without sharing; statements that arrive while the lane is busy
// queue, and when the running scan ends, every queued statement (up to
// passLimit) runs in the next pass. A lone statement never waits for a
// timer; a statement waits at most for the scan in progress, and after a
// pass of several for a fraction of it while that pass's members come
// back (see regroup).
//
// A pass computes what its members have in common (the candidate masks,
// then each query's best rows or scores, or the fused blend) on a
// goroutine of its own, under a context cancelled only when every member
// has gone, so cancelling one member does not cancel the others. Each
// member then finishes its own answer (weights, ordering, output) on its
// own goroutine, under its own context. When the common part fails (a
// score beyond float32's range, a WHERE that fails on some row, a
// panic), every member runs alone instead, so its error is exactly the
// one it would get alone.
//
// Members of a pass read the same *storage.Table: a published table never
// changes, so they read the same rows, those of the snapshot each planned
// against. A statement that starts after a commit plans against the new
// table and joins only a pass over it.

// scanShare is an Engine's shared-scan switch and counters.
type scanShare struct {
	off    atomic.Bool  // every statement runs alone
	passes atomic.Int64 // passes of two or more statements
	shared atomic.Int64 // statements run in such passes
}

// SetSharedScans turns shared scans on (the default) or off; off, every
// HARD/SOFT SELECT scans alone, as a baseline for comparison.
func (e *Engine) SetSharedScans(on bool) { e.scans.off.Store(!on) }

// SharedScanStats returns how many passes have served two or more
// statements since the engine started, and how many statements they
// served.
func (e *Engine) SharedScanStats() (passes, statements int64) {
	return e.scans.passes.Load(), e.scans.shared.Load()
}

// passLimit bounds the statements of one pass: a pass of 64 queries at
// d = 128 is compute-bound (each key row is reused 64 times), and a
// longer one would only make the statements queued behind it wait.
const passLimit = 64

// laneKey is what statements must share to be run together.
type laneKey struct {
	table *storage.Table // the table version (pointer identity: same rows)
	col   int            // the match column
	fused bool           // the fused blend (see shapeOf)
}

// A lane is the queue of one kind of compatible statement.
type lane struct {
	key     laneKey
	shape   matchPlan // shapeOf its statements' plans
	where   expr
	running bool          // a statement or pass is running
	queue   []*member     // waiting for the next pass
	arrived chan struct{} // signalled (without blocking) when queue grows
}

// member is one statement in a lane.
type member struct {
	ctx  context.Context
	p    *selectPlan
	q    queryVec
	done chan struct{} // closed when the outcome below is set

	rows     [][]types.Value // final rows (with err)
	err      error
	final    bool        // rows and err are the answer
	alone    bool        // run alone: the pass's common part failed
	panicked any         // a panic in the pass, raised again in the member
	chunks   []chunk     // to finish: the pass's chunks
	pre      blockResult // and the member's best rows or scores (index 0)
}

// leadHook, set by tests, runs before a lone statement scans; passHook
// at the start of each pass.
var (
	leadHook func()
	passHook func(batch []*member)
)

var lanes struct {
	sync.Mutex
	m map[laneKey][]*lane
}

// runShared runs a HARD/SOFT SELECT, in a shared pass when it can be.
func runShared(ctx context.Context, p *selectPlan) ([][]types.Value, error) {
	m := p.match
	if p.scans == nil || p.scans.off.Load() || m.vec == nil && m.single == nil ||
		m.mode == query.Hard && m.k == m.skip || !knownPlan(p) {
		return runMatch(ctx, p)
	}
	qs, err := m.queries(ctx, p.table.Schema())
	if err != nil {
		return nil, err
	}
	if qs[0].v == nil { // a NULL query matches no row: nothing to share
		return runMatch(ctx, p)
	}
	if err := p.checkMemory(p.memLimit, 1); err != nil {
		return nil, err
	}
	key := laneKey{table: p.table, col: m.col, fused: m.blend && m.fusable()}
	shape := shapeOf(m, key.fused)
	lanes.Lock()
	l := findLane(key, &shape, p.where)
	if !l.running {
		// The lane is idle: run now, alone, as without sharing.
		l.running = true
		lanes.Unlock()
		defer l.next(p.scans)
		if leadHook != nil {
			leadHook()
		}
		return runMatch(ctx, p)
	}
	mb := &member{ctx: ctx, p: p, q: qs[0], done: make(chan struct{})}
	l.queue = append(l.queue, mb)
	lanes.Unlock()
	select {
	case l.arrived <- struct{}{}:
	default: // a signal is pending already
	}
	return mb.wait()
}

// knownPlan reports whether p sets only plan fields that a shared pass
// knows: a field added to selectPlan or matchPlan later (another access
// path, say) may change how runMatch runs the statement, which a pass,
// calling the kernels itself, would not do; a statement that sets one
// runs alone until the field is listed below.
func knownPlan(p *selectPlan) bool {
	return zeroFields(reflect.ValueOf(p).Elem(), unknownSelect) &&
		zeroFields(reflect.ValueOf(p.match).Elem(), unknownMatch)
}

var (
	unknownSelect = unknownFields(selectPlan{}, "table", "memLimit", "where", "match", "scans", "out")
	unknownMatch  = unknownFields(matchPlan{}, "mode", "col", "colName", "table", "dim", "metric", "temp",
		"tempSrc", "top", "k", "skip", "vec", "sub", "single", "ncols", "rowsNeeded", "unordered", "blend", "blendItems")
)

// unknownFields lists the fields of the struct x not named in known.
func unknownFields(x any, known ...string) []int {
	var out []int
	t := reflect.TypeOf(x)
	for i := 0; i < t.NumField(); i++ {
		if !slices.Contains(known, t.Field(i).Name) {
			out = append(out, i)
		}
	}
	return out
}

func zeroFields(v reflect.Value, fields []int) bool {
	for _, i := range fields {
		if !v.Field(i).IsZero() {
			return false
		}
	}
	return true
}

// shapeOf is m without what may differ between the statements of a pass:
// the query always; for the unfused paths also everything applied after
// the common ranking or scoring (mode, OFFSET, temperature, the row form's
// needs, the blend items), which each member applies itself. Fields not
// named here must be equal, so a plan field added later is shared only
// when equal.
func shapeOf(m *matchPlan, fused bool) matchPlan {
	s := *m
	s.vec, s.single, s.sub = nil, nil, nil
	if !fused {
		top := m.topK() // the common ranking depends on k only
		s.mode, s.k, s.skip, s.top = 0, top, 0, 0
		s.temp, s.tempSrc = 0, ""
		s.rowsNeeded, s.unordered, s.blend, s.blendItems = 0, false, false, nil
	}
	return s
}

// findLane returns the lane of key whose statements have shape and where,
// creating it. Called with lanes held.
func findLane(key laneKey, shape *matchPlan, where expr) *lane {
	for _, l := range lanes.m[key] {
		if sameShape(reflect.ValueOf(&l.shape), reflect.ValueOf(shape), 0) && sameShape(reflect.ValueOf(&l.where), reflect.ValueOf(&where), 0) {
			return l
		}
	}
	if lanes.m == nil {
		lanes.m = map[laneKey][]*lane{}
	}
	l := &lane{key: key, shape: *shape, where: where, arrived: make(chan struct{}, 1)}
	lanes.m[key] = append(lanes.m[key], l)
	return l
}

// sameShape reports whether a and b hold equal data, as reflect.DeepEqual
// does, except that source positions (query.Pos) are ignored: they only
// place error messages, and a pass whose common part fails runs each
// member alone, with its own. Bound expressions are plain data (a
// parameter is bound as its value; a function call holds a pointer to the
// built-in's entry, equal for equal calls). A function value, map or
// channel compares equal only when nil, so a plan holding one runs in
// lanes of its own. Plans are acyclic; depth bounds a mistake.
func sameShape(a, b reflect.Value, depth int) bool {
	if !a.IsValid() || !b.IsValid() {
		return a.IsValid() == b.IsValid()
	}
	if a.Type() != b.Type() || depth > 64 {
		return false
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		if a.Kind() == reflect.Pointer && a.Pointer() == b.Pointer() {
			return true
		}
		return sameShape(a.Elem(), b.Elem(), depth+1)
	case reflect.Struct:
		if a.Type() == posType {
			return true
		}
		for i := 0; i < a.NumField(); i++ {
			if !sameShape(a.Field(i), b.Field(i), depth+1) {
				return false
			}
		}
		return true
	case reflect.Slice, reflect.Array:
		if a.Kind() == reflect.Slice && (a.IsNil() != b.IsNil() || a.Len() != b.Len()) {
			return false
		}
		for i := 0; i < a.Len(); i++ {
			if !sameShape(a.Index(i), b.Index(i), depth+1) {
				return false
			}
		}
		return true
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return a.Uint() == b.Uint()
	case reflect.Float32, reflect.Float64:
		return a.Float() == b.Float()
	case reflect.String:
		return a.String() == b.String()
	case reflect.Func, reflect.Map, reflect.Chan:
		return a.IsNil() && b.IsNil()
	}
	return false // complex numbers, unsafe pointers: not in plans
}

var posType = reflect.TypeOf(query.Pos{})

// next starts the next pass of l's queue on a goroutine of its own, or
// retires l when nobody waits.
func (l *lane) next(stats *scanShare) {
	lanes.Lock()
	batch := l.take()
	if batch == nil {
		l.retire()
		lanes.Unlock()
		return
	}
	lanes.Unlock()
	go l.passes(batch, stats)
}

// take removes the next pass's members from the queue: those still
// waiting, up to the pass's limit. Called with lanes held.
func (l *lane) take() []*member {
	var batch []*member
	limit := passLimit
	i := 0
	for ; i < len(l.queue) && len(batch) < limit; i++ {
		mb := l.queue[i]
		if mb.ctx.Err() != nil {
			continue // gone: it returned its context's error
		}
		if batch == nil {
			limit = min(passLimit, passSize(mb.p))
		}
		batch = append(batch, mb)
	}
	l.queue = append(l.queue[:0], l.queue[i:]...)
	return batch
}

// passSize is how many single-query statements like p's one pass takes:
// within the budgets of runMatch's blocks of queries.
func passSize(p *selectPlan) int {
	m := p.match
	if m.blend && m.fusable() {
		return queryBlock
	}
	var slots, chunks int
	for _, seg := range p.table.Segments() {
		slots += seg.Len()
		chunks += (seg.Len() + chunkRows - 1) / chunkRows
	}
	if k := m.topK(); k > 0 {
		return topBatchQueries(chunks, k)
	}
	return scoreBatchQueries(slots)
}

// retire removes the idle lane l. Called with lanes held.
func (l *lane) retire() {
	l.running = false
	ls := lanes.m[l.key]
	for i, x := range ls {
		if x == l {
			ls = append(ls[:i], ls[i+1:]...)
			break
		}
	}
	if len(ls) == 0 {
		delete(lanes.m, l.key)
	} else {
		lanes.m[l.key] = ls
	}
}

// passes runs batch, then every batch queued meanwhile, until the queue is
// empty.
func (l *lane) passes(batch []*member, stats *scanShare) {
	for batch != nil {
		if len(batch) > 1 {
			stats.passes.Add(1)
			stats.shared.Add(int64(len(batch)))
		}
		start := time.Now()
		waiting := 0 // queued while the pass ran
		runPass(batch, func() {
			lanes.Lock()
			waiting = len(l.queue)
			lanes.Unlock()
		})
		if len(batch) > 1 {
			l.regroup(min(len(batch)+waiting, passLimit), time.Since(start))
		}
		lanes.Lock()
		batch = l.take()
		if batch == nil {
			l.retire()
		}
		lanes.Unlock()
	}
}

// regroup gives the members of a pass, just answered, the chance to
// queue their next statements before the next pass starts: under steady
// concurrency a pass would otherwise take the few that came back first,
// and the rest would wait for the pass after, halving the batches (the
// statements that queued during the pass and the pass's members would
// then alternate). A pass's cost is mostly one read of the table, shared
// by its members, so gathering them pays: regroup waits until want
// statements are queued (the pass's members and those that queued while
// it ran), woken by each arrival, but at most an eighth of the pass's
// duration d and at most regroupMax, so that a member that does not come
// back (its client is gone, or thinking) costs little. A lone statement
// never gets here.
func (l *lane) regroup(want int, d time.Duration) {
	deadline := time.Now().Add(min(d/8, regroupMax))
	var timer *time.Timer
	for {
		lanes.Lock()
		q := len(l.queue)
		lanes.Unlock()
		left := time.Until(deadline)
		if q >= want || left <= 0 {
			break
		}
		if timer == nil {
			timer = time.NewTimer(left)
		}
		select {
		case <-l.arrived:
		case <-timer.C:
			timer = nil
		}
	}
	if timer != nil {
		timer.Stop()
	}
}

// regroupMax bounds regroup's wait: a client's round trip (answer sent,
// next statement parsed and planned) took well under a millisecond on a
// loaded 2-core host.
const regroupMax = 2 * time.Millisecond

// runPass computes the common part of batch's statements and hands each
// member its share; sending (if not nil) runs once, just before the
// first member gets its outcome.
func runPass(batch []*member, sending func()) {
	ctx, stop := passContext(batch)
	defer stop()
	sent := 0 // members batch[:sent] have their outcome
	send := func(f func(mb *member)) {
		if sending != nil {
			sending()
			sending = nil
		}
		for _, mb := range batch[sent:] {
			f(mb)
			sent++
			close(mb.done)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			send(func(mb *member) {
				if len(batch) == 1 {
					mb.panicked = r // as it would alone
				} else {
					mb.alone = true // each meets its own fate alone
				}
			})
		}
	}()
	if passHook != nil {
		passHook(batch)
	}
	lead := batch[0]
	if len(batch) == 1 {
		// One statement: run it as alone, on the pass's context (which
		// ends with the member's).
		rows, err := runMatch(ctx, lead.p)
		send(func(mb *member) { mb.rows, mb.err, mb.final = rows, err, true })
		return
	}
	m, p := lead.p.match, lead.p
	qs := make([]queryVec, len(batch))
	for i, mb := range batch {
		qs[i] = mb.q
	}
	alone := func(mb *member) { mb.alone = true }
	chunks, err := m.chunks(ctx, p.table, p.where)
	if err != nil {
		send(alone)
		return
	}
	if m.blend && m.fusable() {
		res, err := m.runFusedBlend(ctx, chunks, qs)
		if err != nil {
			send(alone)
			return
		}
		send(func(mb *member) { mb.rows, mb.final = res[sent:sent+1], true })
		return
	}
	var pre blockResult
	if k := m.topK(); k > 0 {
		pre.best, err = m.topBatch(ctx, chunks, qs, k)
	} else {
		pre.scores, err = m.scoreBatch(ctx, chunks, qs)
	}
	if err != nil {
		send(alone)
		return
	}
	send(func(mb *member) {
		mb.chunks = chunks
		if pre.best != nil {
			mb.pre.best = pre.best[sent : sent+1]
		} else {
			mb.pre.scores = pre.scores[sent : sent+1]
		}
	})
}

// passContext is a context for the common part of batch: cancelled once
// every member's context is done.
func passContext(batch []*member) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(batch[0].ctx))
	left := atomic.Int64{}
	left.Store(int64(len(batch)))
	stops := make([]func() bool, len(batch))
	for i, mb := range batch {
		stops[i] = context.AfterFunc(mb.ctx, func() {
			if left.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, s := range stops {
			s()
		}
		cancel()
	}
}

// wait waits for mb's pass and finishes its answer.
func (mb *member) wait() ([][]types.Value, error) {
	select {
	case <-mb.done:
	case <-mb.ctx.Done():
		// The pass goes on for the others; take skips mb if it has not
		// started.
		return nil, mb.ctx.Err()
	}
	switch {
	case mb.panicked != nil:
		panic(mb.panicked)
	case mb.final:
		return mb.rows, mb.err
	case mb.alone:
		return runMatch(mb.ctx, mb.p)
	}
	m, ctx := mb.p.match, mb.ctx
	if mb.pre.scores != nil && m.rowsNeeded >= 0 {
		var err error
		if mb.pre.ranked, err = m.rankBlock(ctx, mb.chunks, []queryVec{mb.q}, mb.pre.scores); err != nil {
			return nil, err
		}
	}
	return m.runOne(ctx, mb.p, mb.chunks, mb.q, mb.pre, 0)
}
