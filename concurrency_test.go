package softdb_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/softdb/softdb"
	"github.com/softdb/softdb/internal/childtest"
)

// loadVectors creates table (key VECTOR(d), value VECTOR(d)) and fills it
// with n rows through a prepared multi-row INSERT: parsing happens once,
// and each call inserts batch rows. The vectors cycle through a pool of
// random ones, since generating 2n of them would dominate the time.
func loadVectors(t testing.TB, db *softdb.DB, table string, n, d int) {
	t.Helper()
	ctx := context.Background()
	mustExec(t, db, fmt.Sprintf("CREATE TABLE %s (key VECTOR(%d), value VECTOR(%d))", table, d, d))
	rng := rand.New(rand.NewSource(1))
	pool := make([][]float32, 4099) // prime, so rows do not repeat in step with batches
	for i := range pool {
		pool[i] = make([]float32, d)
		for j := range pool[i] {
			pool[i][j] = rng.Float32()*2 - 1
		}
	}
	const batch = 2000
	var stmts = map[int]*softdb.Stmt{}
	prepare := func(rows int) *softdb.Stmt {
		if s := stmts[rows]; s != nil {
			return s
		}
		s, err := db.Prepare(ctx, "INSERT INTO "+table+" VALUES "+strings.TrimSuffix(strings.Repeat("(?, ?), ", rows), ", "))
		if err != nil {
			t.Fatal(err)
		}
		stmts[rows] = s
		return s
	}
	args := make([]any, 0, 2*batch)
	k := 0
	for done := 0; done < n; {
		rows := min(batch, n-done)
		args = args[:0]
		for i := 0; i < 2*rows; i++ {
			args = append(args, pool[k%len(pool)])
			k++
		}
		if _, err := prepare(rows).Exec(ctx, args...); err != nil {
			t.Fatal(err)
		}
		done += rows
	}
}

// TestReadersSeeConsistentSnapshots runs readers against a writer. Every
// row has x = 1, so in any consistent snapshot sum(x) = count(*); rows
// only ever get added, so each reader's count never decreases; and the
// queries of one View agree with each other.
func TestReadersSeeConsistentSnapshots(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, t.TempDir())
	mustExec(t, db, "CREATE TABLE t (x INT, key VECTOR(2))")
	mustExec(t, db, "INSERT INTO t VALUES (1, [1, 1])") // no NULL sums, no empty blends
	count, err := db.Prepare(ctx, "SELECT count(*), sum(x) FROM t")
	if err != nil {
		t.Fatal(err)
	}
	const writes = 60
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads atomic.Int64
	for r := 0; r < 8; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := int64(0)
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n, sum int64
				var err error
				switch r % 3 {
				case 0: // a shared prepared statement
					err = count.QueryRow(ctx).Scan(&n, &sum)
				case 1:
					err = db.QueryRow(ctx, "SELECT count(*), sum(x) FROM t").Scan(&n, &sum)
				case 2: // two queries of one View see one snapshot
					err = db.View(ctx, func(tx *softdb.Tx) error {
						if err := tx.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil {
							return err
						}
						var blend []float32
						if err := tx.QueryRow(ctx, "SOFT SELECT key FROM t MATCH [1, 0]").Scan(&blend); err != nil {
							return err
						}
						return tx.QueryRow(ctx, "SELECT sum(x) FROM t").Scan(&sum)
					})
				}
				if err != nil {
					t.Error(err)
					return
				}
				if n != sum || n < last {
					t.Errorf("reader %d: count %d, sum %d, previous count %d", r, n, sum, last)
					return
				}
				last = n
				reads.Add(1)
			}
		}()
	}
	for i := 0; i < writes; i++ {
		rows := 1 + i%7
		var sb strings.Builder
		for j := 0; j < rows; j++ {
			if j > 0 {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "(1, [%d, %d])", i, j)
		}
		if i%2 == 0 {
			mustExec(t, db, "INSERT INTO t VALUES "+sb.String())
			continue
		}
		// Two statements in one transaction: readers see both or neither.
		err := db.Update(ctx, func(tx *softdb.Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO t VALUES "+sb.String()); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO t VALUES (1, [0, 0])")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d consistent reads during %d writes", reads.Load(), writes)
}

// TestCloseWhileBusy closes a DB while goroutines query, write and hold
// transactions: every call must either succeed or report ErrClosed (or
// the end of its transaction), and nothing may deadlock.
func TestCloseWhileBusy(t *testing.T) {
	ctx := context.Background()
	db, err := softdb.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "CREATE TABLE t (x INT)")
	var wg sync.WaitGroup
	ok := func(err error) bool {
		return err == nil || errors.Is(err, softdb.ErrClosed) || errors.Is(err, softdb.ErrTxDone)
	}
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				var err error
				switch g % 3 {
				case 0:
					_, err = db.Exec(ctx, "INSERT INTO t VALUES (?)", i)
				case 1:
					var n int
					err = db.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n)
				case 2:
					var tx *softdb.Tx
					tx, err = db.Begin(ctx, nil)
					if err == nil {
						_, err = tx.Exec(ctx, "INSERT INTO t VALUES (?)", -i)
						if ok(err) {
							err = tx.Commit()
						}
					}
				}
				if !ok(err) {
					t.Errorf("goroutine %d: %v", g, err)
				}
				if errors.Is(err, softdb.ErrClosed) {
					return
				}
			}
		}()
	}
	// An idle open transaction and an idle Conn inside BEGIN must not
	// keep Close waiting.
	idle, err := db.Begin(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn := db.Conn()
	connDone := make(chan error, 1)
	go func() {
		_, err := conn.Exec(ctx, "BEGIN") // waits for idle's writer lock
		connDone <- err
	}()
	time.Sleep(20 * time.Millisecond)
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	wg.Wait()
	if err := <-connDone; !ok(err) {
		t.Errorf("Conn BEGIN during Close: %v", err)
	}
	if err := idle.Commit(); !errors.Is(err, softdb.ErrClosed) {
		t.Errorf("Commit of a Tx ended by Close: %v", err)
	}
}

// TestCancelLongScan is the promise of SPEC §7: cancelling the context
// stops a scan of 1,000,000 rows within 50 ms. The executor checks the
// context between chunks of 16,384 rows.
func TestCancelLongScan(t *testing.T) {
	if raceEnabled {
		t.Skip("wall-clock latency is meaningless under the race detector; TestCancelMidScan covers cancellation there")
	}
	const (
		n       = 1_000_000
		d       = 32
		after   = 20 * time.Millisecond
		latency = 50 * time.Millisecond
	)
	db := mustOpen(t, softdb.Memory)
	start := time.Now()
	loadVectors(t, db, "t", n, d)
	t.Logf("loaded %d rows of 2×%d floats in %v", n, d, time.Since(start))

	q := make([]float32, d)
	for i := range q {
		q[i] = float32(i%3) - 1
	}
	single := "SOFT SELECT value FROM t MATCH ?"
	full := timeQuery(t, db, single, q)
	t.Logf("uncancelled %s: %v", single, full)

	// The query as a user writes it, then a batch of k queries over the
	// same rows, with chunks k times as expensive, which runs long enough
	// that the cancel lands mid-scan even on a fast machine; then a plain
	// scan with a filter.
	k := 2
	for ; k < 64 && time.Duration(k)*full < 300*time.Millisecond; k *= 2 {
	}
	loadQueries(t, db, k, d)
	batch := "SOFT SELECT value FROM t MATCH (SELECT key FROM q)"
	scan := "SELECT count(*) FROM t WHERE rowid % 7 = 3"
	t.Logf("uncancelled batch of %d queries: %v; %s: %v", k, timeQuery(t, db, batch), scan, timeQuery(t, db, scan))
	for _, c := range []struct {
		sql  string
		args []any
		must bool // some run must be cancelled mid-scan
	}{{single, []any{q}, false}, {batch, nil, true}, {scan, nil, true}} {
		var worst time.Duration
		cancelled, early := 0, 0
		for i := 0; i < 20 && (i < 5 || c.must && cancelled == 0); i++ {
			lat, err := cancelAfter(db, after, c.sql, c.args...)
			switch {
			case err == nil && lat == 0:
				early++ // finished before the cancel: nothing to measure
				continue
			case errors.Is(err, context.Canceled):
				cancelled++
			case err != nil:
				t.Fatalf("%s: %v, want context.Canceled", c.sql, err)
			}
			// Cancelled, or finished in its last chunk without noticing:
			// either way it must return promptly.
			worst = max(worst, lat)
		}
		t.Logf("%s: %d runs cancelled, %d over before the cancel; worst return %v after the cancel", c.sql, cancelled, early, worst)
		if worst > latency {
			t.Errorf("%s returned %v after the cancel, want < %v", c.sql, worst, latency)
		}
		if c.must && cancelled == 0 {
			t.Errorf("%s: no run was cancelled mid-scan", c.sql)
		}
	}
}

// loadQueries creates table q with k query vectors.
func loadQueries(t testing.TB, db *softdb.DB, k, d int) {
	mustExec(t, db, fmt.Sprintf("CREATE TABLE q (key VECTOR(%d))", d))
	for i := 0; i < k; i++ {
		v := make([]float32, d)
		v[i%d] = 1
		mustExec(t, db, "INSERT INTO q VALUES (?)", v)
	}
}

func timeQuery(t testing.TB, db *softdb.DB, sql string, args ...any) time.Duration {
	t.Helper()
	start := time.Now()
	rows, err := db.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	rows.Close()
	return time.Since(start)
}

// cancelAfter runs sql and cancels its context after delay. It returns
// how long after the cancel the query returned, and its error.
func cancelAfter(db *softdb.DB, delay time.Duration, sql string, args ...any) (time.Duration, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	var returned time.Time
	go func() {
		rows, err := db.Query(ctx, sql, args...)
		returned = time.Now()
		if err == nil {
			rows.Close()
		}
		done <- err
	}()
	timer := time.NewTimer(delay)
	var cancelled time.Time
	select {
	case err := <-done:
		timer.Stop()
		return 0, err
	case <-timer.C:
		cancelled = time.Now()
		cancel()
	}
	err := <-done
	return returned.Sub(cancelled), err
}

// cancelOnCall is a context that becomes cancelled at the nth call of its
// Err method. The executor consults Err between chunks, so this cancels a
// scan mid-way at a point that does not depend on timing.
type cancelOnCall struct {
	context.Context
	n     int64
	calls atomic.Int64
	once  sync.Once
	done  chan struct{}
}

func newCancelOnCall(n int64) *cancelOnCall {
	return &cancelOnCall{Context: context.Background(), n: n, done: make(chan struct{})}
}

func (c *cancelOnCall) Done() <-chan struct{} { return c.done }

func (c *cancelOnCall) Err() error {
	if c.calls.Add(1) < c.n {
		return nil
	}
	c.once.Do(func() { close(c.done) })
	return context.Canceled
}

// TestCancelMidScan cancels scans of a smaller table in every mode,
// including under the race detector: the error is context.Canceled, and
// the DB works normally afterwards.
func TestCancelMidScan(t *testing.T) {
	n := 200_000
	if raceEnabled || testing.Short() {
		n = 30_000
	}
	ctx := context.Background()
	// Small segments make many chunks, the unit of cancellation, of a
	// table small enough to load quickly under the race detector.
	db, err := softdb.Open(softdb.Memory, &softdb.Options{SegmentRows: 2048})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	loadVectors(t, db, "t", n, 16)
	loadQueries(t, db, 64, 16)
	for _, sql := range []string{
		"SOFT SELECT value FROM t MATCH (SELECT key FROM q)",
		"SOFT SELECT value FROM t MATCH (SELECT key FROM q) USING COSINE WHERE rowid % 3 = 1",
		"SOFT SELECT value FROM t MATCH ? TOP 10",
		"HARD SELECT rowid FROM t MATCH (SELECT key FROM q) LIMIT 3",
		"SELECT count(*) FROM t WHERE rowid % 7 = 3",
	} {
		var args []any
		if strings.Contains(sql, "?") {
			args = []any{make([]float32, 16)}
		}
		// Count the checks of a whole run, then cancel at half of them.
		probe := newCancelOnCall(1 << 62)
		if _, err := db.Query(probe, sql, args...); err != nil {
			t.Fatal(err)
		}
		checks := probe.calls.Load()
		if checks < 4 {
			t.Errorf("%s: the context was checked only %d times", sql, checks)
			continue
		}
		cctx := newCancelOnCall(checks / 2)
		if _, err := db.Query(cctx, sql, args...); !errors.Is(err, context.Canceled) {
			t.Errorf("%s cancelled at check %d of %d: %v, want context.Canceled", sql, checks/2, checks, err)
		}

		// And a real cancel from another goroutine, a fifth of the way in.
		full := timeQuery(t, db, sql, args...)
		lat, err := cancelAfter(db, full/5, sql, args...)
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", sql, err)
		}
		t.Logf("%s: %d context checks, %v uncancelled, returned %v after the cancel (%v)", sql, checks, full, lat, err)
	}
	// An already cancelled context stops a statement before it starts.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := db.Query(cctx, "SOFT SELECT value FROM t MATCH (SELECT key FROM q)"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before start: %v", err)
	}
	var count int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&count); err != nil || count != n {
		t.Errorf("after cancellations: %d rows, %v", count, err)
	}
}

// TestLockedByAnotherProcess starts a child process that holds the
// directory open, and checks that Open here fails with ErrLocked, then
// succeeds once the child has exited.
func TestLockedByAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, dir)
	mustExec(t, db, "CREATE TABLE t (x INT)")
	mustExec(t, db, "INSERT INTO t VALUES (42)")
	db.Close()

	child := childtest.Start(t, "TestHelperHoldDirectory", "SOFTDB_TEST_HOLD_DIR="+dir, "holding 42")

	_, err := softdb.Open(dir, nil)
	if !errors.Is(err, softdb.ErrLocked) {
		t.Fatalf("Open of a directory another process holds: %v, want ErrLocked", err)
	}
	t.Logf("as expected: %v", err)

	child.Release(t) // the child closes its DB and exits
	db = mustOpen(t, dir)
	var x int
	if err := db.QueryRow(context.Background(), "SELECT x FROM t").Scan(&x); err != nil || x != 42 {
		t.Errorf("after the child exited: %d, %v", x, err)
	}
}

// TestHelperHoldDirectory is the child of TestLockedByAnotherProcess: it
// opens the directory, says so, and holds it until its stdin closes.
func TestHelperHoldDirectory(t *testing.T) {
	dir := os.Getenv("SOFTDB_TEST_HOLD_DIR")
	if dir == "" {
		t.Skip("helper process for TestLockedByAnotherProcess")
	}
	db, err := softdb.Open(dir, nil)
	if err != nil {
		childtest.Fail(err)
	}
	var x int
	if err := db.QueryRow(context.Background(), "SELECT x FROM t").Scan(&x); err != nil {
		childtest.Fail(err)
	}
	childtest.Hold(fmt.Sprintf("holding %d", x), db.Close)
}

// TestStmtConcurrentUse shares prepared statements, with literals and
// parameters of every kind, between goroutines (run it with -race: the
// parsed form must stay read-only).
func TestStmtConcurrentUse(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, softdb.Memory)
	mustExec(t, db, "CREATE TABLE t (key VECTOR(2), g INT, label TEXT)")
	ins, err := db.Prepare(ctx, "INSERT INTO t VALUES (?, ?, 'x'), ([0.5, 0.5], ?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	soft, err := db.Prepare(ctx, "SOFT SELECT key FROM t MATCH [1, 0] WHERE g = ? TEMPERATURE 0.5")
	if err != nil {
		t.Fatal(err)
	}
	hard, err := db.Prepare(ctx, "HARD SELECT g, label FROM t MATCH $1 WHERE label IN ('x', $2) LIMIT 2")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := []float32{float32(g), 1}
			for i := 0; i < 20; i++ {
				if _, err := ins.Exec(ctx, key, g, g, fmt.Sprint("y", g)); err != nil {
					t.Error(err)
					return
				}
				key[0]++ // the argument was copied: reusing it is fine
				var blend []float32
				if err := soft.QueryRow(ctx, g).Scan(&blend); err != nil || len(blend) != 2 {
					t.Error(blend, err)
					return
				}
				rows, err := hard.Query(ctx, []float32{1, 0}, fmt.Sprint("y", g))
				if err != nil {
					t.Error(err)
					return
				}
				rows.Close()
			}
		}()
	}
	wg.Wait()
	var n int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 8*20*2 {
		t.Errorf("%d rows, %v", n, err)
	}
	var keys int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM t WHERE g = 3 AND label = 'x' AND key = [22, 1]").Scan(&keys); err != nil || keys != 1 {
		t.Errorf("the 20th key of goroutine 3: %d rows, %v", keys, err)
	}
}
