package exec

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
	"github.com/softdb/softdb/types"
)

// shareFixture is an engine over t (id INT, key VECTOR(8), value
// VECTOR(4), label TEXT, x FLOAT) with n random rows (fixed seed).
func shareFixture(t *testing.T, n int) *Engine {
	t.Helper()
	db, err := storage.Open(storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := New(db)
	s := e.NewSession()
	run := func(sql string) {
		st, err := query.ParseOne(sql)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Exec(context.Background(), st, nil); err != nil {
			t.Fatalf("%.80s: %v", sql, err)
		}
	}
	run("CREATE TABLE t (id INT, key VECTOR(8), value VECTOR(4), label TEXT, x FLOAT)")
	rng := rand.New(rand.NewPCG(5, 5))
	vec := func(d int) string {
		parts := make([]string, d)
		for i := range parts {
			parts[i] = fmt.Sprint(float32(rng.NormFloat64()))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	var b strings.Builder
	b.WriteString("INSERT INTO t VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "(%d, '%s', '%s', '%c', %g)", i, vec(8), vec(4), 'a'+rune(rng.IntN(4)), rng.NormFloat64())
	}
	run(b.String())
	return e
}

// shareRun runs sql with the query vector q on a session of its own.
func shareRun(ctx context.Context, e *Engine, sql string, q []float32) ([][]types.Value, error) {
	st, err := query.ParseOne(sql)
	if err != nil {
		return nil, err
	}
	res, err := e.NewSession().Exec(ctx, st, []types.Value{types.VectorValue(q)})
	if err != nil {
		return nil, err
	}
	return res.Rows, nil
}

// sameAnswer compares two results: texts and integers exactly, floats and
// vector components within 1e-5 relative to the largest magnitude of
// their column (SPEC §4's tolerance for blends; rankings and scores come
// from the same kernels, so they agree exactly).
func sameAnswer(got, want [][]types.Value) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			return fmt.Errorf("row %d: %d items, want %d", i, len(got[i]), len(want[i]))
		}
		for j, w := range want[i] {
			g := got[i][j]
			if g.K != w.K {
				return fmt.Errorf("row %d item %d: %v, want %v", i, j, g, w)
			}
			bad := false
			switch w.K {
			case types.Float:
				bad = math.Abs(g.F-w.F) > 1e-5*math.Max(1, math.Abs(w.F))
			case types.Vector:
				scale := 1.0
				for _, x := range w.V {
					scale = math.Max(scale, math.Abs(float64(x)))
				}
				bad = len(g.V) != len(w.V)
				for k := 0; !bad && k < len(w.V); k++ {
					bad = math.Abs(float64(g.V[k]-w.V[k])) > 1e-5*scale
				}
			default:
				bad = g.String() != w.String()
			}
			if bad {
				return fmt.Errorf("row %d item %d: %v, want %v", i, j, g, w)
			}
		}
	}
	return nil
}

// shareStatements cover the fused blend, HARD ranking, TOP with WHERE, and
// the row form with aggregates, under each metric.
var shareStatements = []string{
	"SOFT SELECT value, x FROM t MATCH ?",
	"HARD SELECT id, score FROM t MATCH ? USING COSINE LIMIT 3",
	"SOFT SELECT label, id, weight FROM t MATCH ? TOP 5 TEMPERATURE 0.5 WHERE x > 0 LIMIT 4",
	"SOFT SELECT label, SUM(weight) AS p FROM t MATCH ? USING L2 GROUP BY label ORDER BY p DESC",
	"SOFT SELECT id, weight FROM t MATCH ? LIMIT 3",
}

// holdLeader makes the next lone statement wait, before it scans, until n
// statements are queued behind it, so that they run in one pass.
func holdLeader(t *testing.T, n int) {
	var once sync.Once
	leadHook = func() {
		once.Do(func() {
			deadline := time.Now().Add(10 * time.Second)
			for queued() < n {
				if time.Now().After(deadline) {
					t.Errorf("only %d statements queued behind the leader, want %d", queued(), n)
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	t.Cleanup(func() { leadHook = nil })
}

func queued() int {
	lanes.Lock()
	defer lanes.Unlock()
	n := 0
	for _, ls := range lanes.m {
		for _, l := range ls {
			n += len(l.queue)
		}
	}
	return n
}

// TestSharedPassAnswers: statements queued behind a running one run as
// one pass, and each gets the answer it gets alone.
func TestSharedPassAnswers(t *testing.T) {
	e := shareFixture(t, 3000)
	ctx := context.Background()
	const n = 6
	rng := rand.New(rand.NewPCG(9, 9))
	for _, sql := range shareStatements {
		qs := make([][]float32, n)
		want := make([][][]types.Value, n)
		e.SetSharedScans(false)
		for i := range qs {
			qs[i] = make([]float32, 8)
			for j := range qs[i] {
				qs[i][j] = float32(rng.NormFloat64())
			}
			var err error
			if want[i], err = shareRun(ctx, e, sql, qs[i]); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		}
		e.SetSharedScans(true)
		passes, shared := e.SharedScanStats()
		holdLeader(t, n-1)
		got, errs := concurrently(t, e, repeat(sql, len(qs)), nil, qs, nil)
		leadHook = nil
		for i := range qs {
			if errs[i] != nil {
				t.Fatalf("%s, query %d: %v", sql, i, errs[i])
			}
			if err := sameAnswer(got[i], want[i]); err != nil {
				t.Errorf("%s, query %d shared: %v", sql, i, err)
			}
		}
		p2, s2 := e.SharedScanStats()
		if p2-passes != 1 || s2-shared != n-1 {
			t.Errorf("%s: %d passes of %d statements, want 1 of %d", sql, p2-passes, s2-shared, n-1)
		}
	}
}

// TestSharedPassCancel: a member cancelled during its pass returns its
// context's error at once; the others get their answers.
func TestSharedPassCancel(t *testing.T) {
	e := shareFixture(t, 3000)
	const n = 4
	for _, sql := range shareStatements[:2] {
		ctxs := make([]context.Context, n)
		cancels := make([]context.CancelFunc, n)
		for i := range ctxs {
			ctxs[i], cancels[i] = context.WithCancel(context.Background())
		}
		victim := ctxs[1]
		qs := make([][]float32, n)
		want := make([][][]types.Value, n)
		e.SetSharedScans(false)
		for i := range qs {
			qs[i] = []float32{float32(i), 1, 0, -1, 2, 0.5, 0, float32(-i)}
			var err error
			if want[i], err = shareRun(context.Background(), e, sql, qs[i]); err != nil {
				t.Fatal(err)
			}
		}
		e.SetSharedScans(true)
		// The victim, queued behind the leader, is cancelled when its pass
		// starts; the pass waits until it has returned.
		victimDone := make(chan error, 1)
		passHook = func(batch []*member) {
			for _, mb := range batch {
				if mb.ctx == victim {
					cancels[1]()
					select {
					case <-victimDone:
					case <-time.After(10 * time.Second):
						t.Error("the cancelled member did not return while its pass ran")
					}
				}
			}
		}
		holdLeader(t, n-1)
		got, errs := concurrently(t, e, repeat(sql, len(qs)), ctxs, qs, func(i int, err error) {
			if i == 1 {
				victimDone <- err
			}
		})
		leadHook, passHook = nil, nil
		if !errors.Is(errs[1], context.Canceled) {
			t.Errorf("%s: cancelled member got %v, want context.Canceled", sql, errs[1])
		}
		for i := range qs {
			if i == 1 {
				continue
			}
			if errs[i] != nil {
				t.Fatalf("%s, query %d: %v", sql, i, errs[i])
			}
			if err := sameAnswer(got[i], want[i]); err != nil {
				t.Errorf("%s, query %d: %v", sql, i, err)
			}
		}
		for _, c := range cancels {
			c()
		}
	}
}

// concurrently runs sqls[i] with query i, each on a goroutine and
// session of its own: query 0 first, and the others once it is scanning (so they
// queue behind it, with holdLeader). after, if set, runs when statement i
// has returned.
func concurrently(t *testing.T, e *Engine, sqls []string, ctxs []context.Context, qs [][]float32, after func(i int, err error)) ([][][]types.Value, []error) {
	// The passes of an earlier call retire their lanes just after their
	// statements return.
	for deadline := time.Now().Add(10 * time.Second); leaderRunning(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a lane is still busy")
		}
	}
	got := make([][][]types.Value, len(qs))
	errs := make([]error, len(qs))
	var wg sync.WaitGroup
	for i := range qs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			if ctxs != nil {
				ctx = ctxs[i]
			}
			got[i], errs[i] = shareRun(ctx, e, sqls[i], qs[i])
			if after != nil {
				after(i, errs[i])
			}
		}()
		if i == 0 {
			for deadline := time.Now().Add(10 * time.Second); !leaderRunning(); time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the first statement never started")
				}
			}
		}
	}
	wg.Wait()
	return got, errs
}

func leaderRunning() bool {
	lanes.Lock()
	defer lanes.Unlock()
	for _, ls := range lanes.m {
		for _, l := range ls {
			if l.running {
				return true
			}
		}
	}
	return false
}

// TestSharedPassErrors: a pass whose common part fails (a score beyond
// float32's range for one member's query) runs each member alone, so the
// member with the bad query gets its error and the others their answers.
func TestSharedPassErrors(t *testing.T) {
	e := shareFixture(t, 2000)
	sql := "HARD SELECT id FROM t MATCH ? LIMIT 2"
	big := float32(3e38)
	qs := [][]float32{
		{1, 0, 0, 0, 0, 0, 0, 0},
		{big, big, big, big, big, big, big, big},
		{0, 1, 0, 0, 0, 0, 0, 0},
		{0, 0, 1, 0, 0, 0, 0, 0},
	}
	ctx := context.Background()
	e.SetSharedScans(false)
	want := make([][][]types.Value, len(qs))
	wantErr := make([]error, len(qs))
	for i, q := range qs {
		want[i], wantErr[i] = shareRun(ctx, e, sql, q)
	}
	if wantErr[1] == nil || wantErr[0] != nil {
		t.Fatalf("alone: errors %v, want one for query 1 only", wantErr)
	}
	e.SetSharedScans(true)
	holdLeader(t, len(qs)-1)
	passes, _ := e.SharedScanStats()
	got, errs := concurrently(t, e, repeat(sql, len(qs)), nil, qs, nil)
	if p, _ := e.SharedScanStats(); p != passes+1 {
		t.Errorf("%d passes, want 1", p-passes)
	}
	for i := range qs {
		if (errs[i] == nil) != (wantErr[i] == nil) || errs[i] != nil && errs[i].Error() != wantErr[i].Error() {
			t.Errorf("query %d: error %v, want %v", i, errs[i], wantErr[i])
			continue
		}
		if err := sameAnswer(got[i], want[i]); err != nil {
			t.Errorf("query %d: %v", i, err)
		}
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestSharedPassMixed: statements that differ in what each applies on its
// own (HARD or SOFT, temperature, blend or rows, items, ORDER BY) but
// rank the same k rows share one pass, and each gets its own answer.
func TestSharedPassMixed(t *testing.T) {
	e := shareFixture(t, 3000)
	ctx := context.Background()
	sqls := []string{
		"HARD SELECT id, score FROM t MATCH ? WHERE label <> 'c' LIMIT 5",
		"SOFT SELECT id, weight FROM t MATCH ? TOP 5 TEMPERATURE 0.2 WHERE label <> 'c'",
		"SOFT SELECT value FROM t MATCH ? TOP 5 WHERE label <> 'c'",
		"HARD SELECT label FROM t MATCH ? WHERE label <> 'c' LIMIT 2 OFFSET 3",
		"SOFT SELECT label, SUM(weight) AS p FROM t MATCH ? TOP 5 TEMPERATURE 0 WHERE label <> 'c' GROUP BY label ORDER BY p DESC, label",
	}
	qs := make([][]float32, len(sqls)+1)
	rng := rand.New(rand.NewPCG(4, 4))
	for i := range qs {
		qs[i] = make([]float32, 8)
		for j := range qs[i] {
			qs[i][j] = float32(rng.NormFloat64())
		}
	}
	all := append([]string{sqls[0]}, sqls...) // the leader, then one of each
	e.SetSharedScans(false)
	want := make([][][]types.Value, len(qs))
	for i := range qs {
		var err error
		if want[i], err = shareRun(ctx, e, all[i], qs[i]); err != nil {
			t.Fatalf("%s: %v", all[i], err)
		}
	}
	e.SetSharedScans(true)
	passes, shared := e.SharedScanStats()
	holdLeader(t, len(qs)-1)
	got, errs := concurrently(t, e, all, nil, qs, nil)
	for i := range qs {
		if errs[i] != nil {
			t.Fatalf("%s: %v", all[i], errs[i])
		}
		if err := sameAnswer(got[i], want[i]); err != nil {
			t.Errorf("%s: %v", all[i], err)
		}
	}
	if p, s := e.SharedScanStats(); p-passes != 1 || s-shared != int64(len(qs)-1) {
		t.Errorf("%d passes of %d statements, want 1 of %d", p-passes, s-shared, len(qs)-1)
	}
}

// TestSharedPassPanic: a panic in a pass's common part makes each member
// run alone (and get its answer); a panic in a pass of one statement
// reaches that statement as an internal error, as it would alone.
func TestSharedPassPanic(t *testing.T) {
	e := shareFixture(t, 2000)
	ctx := context.Background()
	sql := shareStatements[0]
	qs := [][]float32{{1, 0, 0, 0, 0, 0, 0, 0}, {0, 1, 0, 0, 0, 0, 0, 0}, {0, 0, 1, 0, 0, 0, 0, 0}}
	e.SetSharedScans(false)
	want := make([][][]types.Value, len(qs))
	for i := range qs {
		var err error
		if want[i], err = shareRun(ctx, e, sql, qs[i]); err != nil {
			t.Fatal(err)
		}
	}
	e.SetSharedScans(true)
	passHook = func([]*member) { panic("injected") }
	defer func() { passHook = nil }()
	holdLeader(t, len(qs)-1)
	got, errs := concurrently(t, e, repeat(sql, len(qs)), nil, qs, nil)
	for i := range qs {
		if errs[i] != nil {
			t.Fatalf("query %d: %v", i, errs[i])
		}
		if err := sameAnswer(got[i], want[i]); err != nil {
			t.Errorf("query %d: %v", i, err)
		}
	}
	holdLeader(t, 1)
	_, errs = concurrently(t, e, repeat(sql, 2), nil, qs[:2], nil)
	if errs[0] != nil || errs[1] == nil || !strings.Contains(errs[1].Error(), "internal error") || !strings.Contains(errs[1].Error(), "injected") {
		t.Errorf("a pass of one that panicked: errors %v, want an internal error for the second", errs)
	}
}

// TestSameShape: plans that differ only in source positions share a lane;
// any other difference (a constant, the metric, k, a WHERE) keeps them
// apart.
func TestSameShape(t *testing.T) {
	e := shareFixture(t, 10)
	snap := e.db.Snapshot()
	plan := func(sql string) *selectPlan {
		st, err := query.ParseOne(sql)
		if err != nil {
			t.Fatal(err)
		}
		p, err := planSelect(snap, st.(*query.Select), []types.Value{types.VectorValue(make([]float32, 8))})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	same := func(a, b string) bool {
		pa, pb := plan(a), plan(b)
		fa, fb := pa.match.blend && pa.match.fusable(), pb.match.blend && pb.match.fusable()
		sa, sb := shapeOf(pa.match, fa), shapeOf(pb.match, fb)
		return fa == fb && sameShape(reflect.ValueOf(&sa), reflect.ValueOf(&sb), 0) &&
			sameShape(reflect.ValueOf(&pa.where), reflect.ValueOf(&pb.where), 0)
	}
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"SOFT SELECT value FROM t MATCH ? WHERE x > 0", "SOFT SELECT value FROM t WHERE x > 0 MATCH ?", true},
		{"SOFT SELECT value FROM t MATCH ? WHERE x > 0", "SOFT SELECT value FROM t MATCH ? WHERE x > 1", false},
		{"SOFT SELECT value FROM t MATCH ? WHERE abs(x) > 0", "SOFT SELECT value FROM t MATCH ?   WHERE abs(x) > 0", true},
		{"SOFT SELECT value FROM t MATCH ?", "SOFT SELECT value FROM t MATCH ? USING COSINE", false},
		{"SOFT SELECT value FROM t MATCH ?", "SOFT SELECT value FROM t MATCH ? TEMPERATURE 2", false},
		{"SOFT SELECT value FROM t MATCH ?", "SOFT SELECT x FROM t MATCH ?", false},
		{"SOFT SELECT id FROM t MATCH ? TOP 3", "HARD SELECT id, score FROM t MATCH ? LIMIT 3", true},
		{"SOFT SELECT id FROM t MATCH ? TOP 3 TEMPERATURE 1", "SOFT SELECT label FROM t MATCH ? TOP 3", true},
		{"SOFT SELECT id FROM t MATCH ? TOP 3", "SOFT SELECT id FROM t MATCH ? TOP 4", false},
		{"HARD SELECT id FROM t MATCH ? LIMIT 3", "HARD SELECT id FROM t MATCH ? WHERE label = 'a' LIMIT 3", false},
		{"SOFT SELECT id, weight FROM t MATCH ?", "SOFT SELECT id, weight FROM t MATCH ? LIMIT 3", true},
	} {
		if got := same(c.a, c.b); got != c.want {
			t.Errorf("%s | %s: share %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// TestSharedPassVersions: a statement that starts after a commit never
// joins a scan of the table as it was: while a statement over the old
// version is held before its scan, one over the new version runs at once
// (it would otherwise wait behind it) and sees the commit.
func TestSharedPassVersions(t *testing.T) {
	e := shareFixture(t, 2000)
	ctx := context.Background()
	sql := "SOFT SELECT x FROM t MATCH ?"
	q := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	e.SetSharedScans(false)
	old, err := shareRun(ctx, e, sql, q)
	if err != nil {
		t.Fatal(err)
	}
	e.SetSharedScans(true)
	release := make(chan struct{})
	var first atomic.Bool
	leadHook = func() {
		if first.Swap(true) {
			return // the statement over the new version
		}
		select {
		case <-release:
		case <-time.After(10 * time.Second):
			t.Error("the statement over the new version waited for the one over the old")
		}
	}
	defer func() { leadHook = nil }()
	held := make(chan [][]types.Value, 1)
	go func() {
		rows, err := shareRun(ctx, e, sql, q)
		if err != nil {
			t.Error(err)
		}
		held <- rows
	}()
	for deadline := time.Now().Add(10 * time.Second); !leaderRunning(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first statement never started")
		}
	}
	st, _ := query.ParseOne("UPDATE t SET x = 5")
	if _, err := e.NewSession().Exec(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	fresh, err := shareRun(ctx, e, sql, q)
	close(release)
	if err != nil {
		t.Fatal(err)
	}
	if x := fresh[0][0].F; math.Abs(x-5) > 5e-5 { // SPEC §4
		t.Errorf("after the commit: x = %v, want 5", x)
	}
	if err := sameAnswer(<-held, old); err != nil {
		t.Errorf("the statement started before the commit: %v", err)
	}
}

// TestKnownPlan: a plan field the shared pass does not know makes the
// statement run alone when it is set, and only then.
func TestKnownPlan(t *testing.T) {
	type plan struct {
		known   int
		unknown *int
	}
	fields := unknownFields(plan{}, "known")
	if !reflect.DeepEqual(fields, []int{1}) {
		t.Fatalf("unknown fields %v, want [1]", fields)
	}
	one := 1
	if !zeroFields(reflect.ValueOf(plan{known: 5}), fields) || zeroFields(reflect.ValueOf(plan{unknown: &one}), fields) {
		t.Error("zeroFields does not look at the unknown field alone")
	}
	// Today's plans set no field the pass does not know.
	e := shareFixture(t, 10)
	st, _ := query.ParseOne("SOFT SELECT value FROM t MATCH ? TOP 2 WHERE x > 0")
	p, err := planSelect(e.db.Snapshot(), st.(*query.Select), []types.Value{types.VectorValue(make([]float32, 8))})
	if err != nil {
		t.Fatal(err)
	}
	p.scans = &e.scans
	if !knownPlan(p) {
		t.Errorf("a plan of today is not known: unknown fields %v of selectPlan, %v of matchPlan", unknownSelect, unknownMatch)
	}
}
