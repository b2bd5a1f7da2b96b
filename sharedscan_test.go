package softdb_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/softdb/softdb"
)

// sharedDB is a database on disk with t (id INT, key VECTOR(8), value
// VECTOR(4), label TEXT, x FLOAT) of n random rows in segments of 1024,
// some deleted and some with NULL x.
func sharedDB(t *testing.T, n int) *softdb.DB {
	t.Helper()
	db, err := softdb.Open(t.TempDir(), &softdb.Options{SegmentRows: 1024})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	mustExec(t, db, "CREATE TABLE t (id INT, key VECTOR(8), value VECTOR(4), label TEXT, x FLOAT)")
	ins, err := db.Prepare(ctx, "INSERT INTO t VALUES (?, ?, ?, ?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 11))
	tx, err := db.Begin(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		var x any = rng.NormFloat64()
		if i%13 == 0 {
			x = nil
		}
		label := string(rune('a' + rng.IntN(4)))
		if _, err := tx.Stmt(ins).Exec(ctx, i, randVector(rng, 8), randVector(rng, 4), label, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "DELETE FROM t WHERE id % 7 = 3")
	return db
}

func randVector(rng *rand.Rand, d int) []float32 {
	v := make([]float32, d)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// randomMatch is a random HARD or SOFT SELECT with one parameter, the
// query vector: any metric, temperature, TOP, LIMIT, WHERE, blend or row
// form.
func randomMatch(rng *rand.Rand) string {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	where := pick("", " WHERE x > 0", " WHERE label <> 'b'")
	using := pick("", " USING COSINE", " USING L2", " USING DOT")
	if rng.IntN(3) == 0 {
		return "HARD SELECT " + pick("id, score", "label, id", "value") + " FROM t MATCH ?" + using + where + pick("", " LIMIT 3", " LIMIT 2 OFFSET 1")
	}
	temp := pick("", " TEMPERATURE 0", " TEMPERATURE 0.3", " TEMPERATURE 2")
	top := pick("", "", " TOP 1", " TOP 7")
	switch rng.IntN(3) {
	case 0:
		return "SOFT SELECT value, x FROM t MATCH ?" + using + temp + top + where
	case 1:
		return "SOFT SELECT id, label, weight FROM t MATCH ?" + using + temp + top + where + " LIMIT 5"
	}
	return "SOFT SELECT label, SUM(weight) AS p FROM t MATCH ?" + using + temp + top + where + " GROUP BY label ORDER BY p DESC, label"
}

// answer runs sql with q and renders the result, with its floats kept
// apart for a comparison within tolerance.
type answer struct {
	text   string    // everything but floats, floats as "%"
	floats []float64 // in order
}

func runAnswer(ctx context.Context, db *softdb.DB, sql string, q []float32) (answer, error) {
	rows, err := db.Query(ctx, sql, q)
	if err != nil {
		return answer{}, err
	}
	defer rows.Close()
	var a answer
	var b strings.Builder
	for rows.Next() {
		for _, v := range rows.Values() {
			switch x := v.(type) {
			case float64:
				b.WriteString("% ")
				a.floats = append(a.floats, x)
			case []float32:
				b.WriteString("[")
				for _, f := range x {
					b.WriteString("%")
					a.floats = append(a.floats, float64(f))
				}
				b.WriteString("] ")
			default:
				fmt.Fprintf(&b, "%v ", x)
			}
		}
		b.WriteString("\n")
	}
	a.text = b.String()
	return a, rows.Err()
}

// same compares answers: all but floats exactly; floats within 1e-5
// relative to the largest of the answer's (SPEC §4: blended components
// within 1e-5·max|v|, weights within 1e-6).
func (a answer) same(b answer) bool {
	if a.text != b.text || len(a.floats) != len(b.floats) {
		return false
	}
	scale := 1.0
	for _, f := range b.floats {
		scale = math.Max(scale, math.Abs(f))
	}
	for i := range a.floats {
		if math.Abs(a.floats[i]-b.floats[i]) > 1e-5*scale {
			return false
		}
	}
	return true
}

// TestSharedScansAnswerAsAlone: goroutines running random HARD and SOFT
// SELECTs at once (some shared, some not, some cancelled) each get the
// answer the statement gets alone; cancelled ones get that answer or
// their context's error, never another answer.
func TestSharedScansAnswerAsAlone(t *testing.T) {
	db := sharedDB(t, 6000)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 3))
	rounds, goroutines, each := 4, 8, 12
	if testing.Short() {
		rounds = 2
	}
	for round := 0; round < rounds; round++ {
		// A few statements, so that some concurrent ones share a lane.
		stmts := make([]string, 4)
		for i := range stmts {
			stmts[i] = randomMatch(rng)
		}
		queries := make([][]float32, 6)
		for i := range queries {
			queries[i] = randVector(rng, 8)
		}
		db.SetSharedScans(false)
		want := map[[2]int]answer{}
		wantErr := map[[2]int]error{}
		for s, sql := range stmts {
			for q, vec := range queries {
				want[[2]int{s, q}], wantErr[[2]int{s, q}] = runAnswer(ctx, db, sql, vec)
			}
		}
		db.SetSharedScans(true)
		before := db.ScanStats()
		var wg sync.WaitGroup
		for g := 0; g < goroutines; g++ {
			seed := rng.Uint64()
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(seed, 1))
				for i := 0; i < each; i++ {
					k := [2]int{r.IntN(len(stmts)), r.IntN(len(queries))}
					c, cancel := context.WithCancel(ctx)
					cancelled := g == 0 && i%2 == 1
					if cancelled {
						time.AfterFunc(time.Duration(r.IntN(300))*time.Microsecond, cancel)
					}
					got, err := runAnswer(c, db, stmts[k[0]], queries[k[1]])
					cancel()
					switch {
					case cancelled && errors.Is(err, context.Canceled):
					case wantErr[k] != nil:
						if err == nil || err.Error() != wantErr[k].Error() {
							t.Errorf("%s: error %v, alone %v", stmts[k[0]], err, wantErr[k])
						}
					case err != nil:
						t.Errorf("%s: %v", stmts[k[0]], err)
					case !got.same(want[k]):
						t.Errorf("%s, query %d: shared answer\n%s%v\nalone\n%s%v", stmts[k[0]], k[1], got.text, got.floats, want[k].text, want[k].floats)
					}
				}
			}()
		}
		wg.Wait()
		after := db.ScanStats()
		t.Logf("round %d: %d shared passes of %d statements", round, after.Passes-before.Passes, after.Statements-before.Statements)
	}
}

// TestSharedScansShare: concurrent statements of one shape do share
// passes (on this table a statement takes long enough for others to
// queue behind it).
func TestSharedScansShare(t *testing.T) {
	db := sharedDB(t, 6000)
	ctx := context.Background()
	for attempt := 0; attempt < 20; attempt++ {
		before := db.ScanStats()
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(g), 2))
				for i := 0; i < 10; i++ {
					if _, err := runAnswer(ctx, db, "SOFT SELECT value FROM t MATCH ?", randVector(rng, 8)); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if db.ScanStats().Passes > before.Passes {
			return
		}
	}
	t.Fatal("8 goroutines running the same SOFT SELECT never shared a scan")
}

// TestSharedScansWithWriter: while a writer commits new versions of x
// (every row set to the version number), concurrent readers, shared or
// not, each see one whole version, never one older than the last commit
// acknowledged before they started; and readers do not wait for a
// writer's open transaction.
func TestSharedScansWithWriter(t *testing.T) {
	db := sharedDB(t, 3000)
	ctx := context.Background()
	mustExec(t, db, "UPDATE t SET x = 0")
	var acked atomic.Int64
	stop := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		for v := int64(1); ; v++ {
			select {
			case <-stop:
				writerDone <- nil
				return
			default:
			}
			if _, err := db.Exec(ctx, "UPDATE t SET x = ?", float64(v)); err != nil {
				writerDone <- err
				return
			}
			acked.Store(v)
		}
	}()
	stmts := []string{
		"SOFT SELECT x FROM t MATCH ?",
		"HARD SELECT x FROM t MATCH ? USING L2",
		"SOFT SELECT x FROM t MATCH ? TOP 3",
		"SOFT SELECT MAX(x) FROM t MATCH ? WHERE id > 5",
	}
	var wg sync.WaitGroup
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for i := 0; i < 30; i++ {
				sql := stmts[(g+i)%len(stmts)]
				lo := acked.Load()
				var x float64
				if err := db.QueryRow(ctx, sql, randVector(rng, 8)).Scan(&x); err != nil {
					t.Errorf("%s: %v", sql, err)
					return
				}
				hi := acked.Load()
				v := math.Round(x)
				if math.Abs(x-v) > 1e-5*math.Max(1, v) { // SPEC §4
					t.Errorf("%s: x = %v mixes versions", sql, x)
				}
				// A commit is published just before it is acknowledged:
				// the reader may see one more than hi.
				if int64(v) < lo || int64(v) > hi+1 {
					t.Errorf("%s: saw version %v; %d was acknowledged before it started, %d after it ended", sql, v, lo, hi)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}

	// An open write transaction does not hold readers up.
	tx, err := db.Begin(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "UPDATE t SET x = -1"); err != nil {
		t.Fatal(err)
	}
	v := acked.Load()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var wg2 sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			var x float64
			if err := db.QueryRow(rctx, stmts[g%len(stmts)], randVector(rand.New(rand.NewPCG(uint64(g), 1)), 8)).Scan(&x); err != nil {
				t.Errorf("reader during an open write transaction: %v", err)
			} else if math.Round(x) != float64(v) {
				t.Errorf("reader during an open write transaction saw x = %v, want the committed %d", x, v)
			}
		}()
	}
	wg2.Wait()
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
}
