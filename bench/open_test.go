package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/softdb/softdb"
	"github.com/softdb/softdb/internal/childtest"
)

// The performance targets checked here: reopening a 1,000,000 × 128 table
// and answering the first query takes at most 2 s, and the resident set is
// at most 1.3 × the raw vector bytes. Both are a fresh process's figures:
// Open and the first query run in a child process (this test binary run
// again, with openChildEnv set, selecting TestOpenFirstQueryChild), so the
// Go heap starts empty and nothing of the parent's is resident. The
// database's files are in the OS page cache, as after a recent Close: the
// child reads them from memory, not from the disk (dropping the page cache
// needs root, which a test cannot count on), so the figures are those of a
// warm restart, not of a cold boot.

const (
	openSoftSQL = "SOFT SELECT value FROM t MATCH ? TEMPERATURE √d"
	openHardSQL = "HARD SELECT rowid FROM t MATCH ? LIMIT 10"
	openSeed    = 1 // table's seed for t
	openQSeed   = 2 // the query vector: randVec(rand.NewPCG(openQSeed, openQSeed), d)

	openChildEnv = "SOFTDB_BENCH_OPEN_DIR" // the database the child opens
	openDimEnv   = "SOFTDB_BENCH_OPEN_DIM" // its key dimension
	openT0Env    = "SOFTDB_BENCH_OPEN_T0"  // parent's clock (UnixNano) just before it started the child
)

// openFigures are what the child measured, and the parent's wall time of
// the whole child process.
type openFigures struct {
	startup time.Duration // exec, Go runtime and test binary start-up, until the child's code runs
	open    time.Duration // softdb.Open
	first   time.Duration // prepare + run the SOFT SELECT + read its row (the first query)
	hard    time.Duration // then prepare + run the HARD SELECT + read its 10 rows
	cpu     time.Duration // the child's CPU time (all threads) over Open and both queries
	proc    time.Duration // parent: start of the child to its exit

	rss0, rss, hwm, rssGC int64 // bytes: VmRSS before Open, VmRSS and VmHWM after the queries, VmRSS after GC + FreeOSMemory
	heapInuse, heapSys    int64 // Go runtime, after the queries (before the GC)

	soft []float32 // the SOFT SELECT's blend
	rows []int64   // the HARD SELECT's rowids, best first
}

// total is the target's figure: Open and the first query's answer.
func (f *openFigures) total() time.Duration { return f.open + f.first }

func (f *openFigures) String() string {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
	mb := func(b int64) float64 { return float64(b) / 1e6 }
	return fmt.Sprintf("start-up %.0f ms, Open %.0f ms, first query (SOFT) %.1f ms, then HARD %.1f ms: total %.0f ms (CPU %.0f ms; whole process %.0f ms); "+
		"resident before Open %.1f MB, after the queries %.1f MB, peak %.1f MB, after GC %.1f MB; Go heap in use %.1f MB of %.1f MB",
		ms(f.startup), ms(f.open), ms(f.first), ms(f.hard), ms(f.total()), ms(f.cpu), ms(f.proc),
		mb(f.rss0), mb(f.rss), mb(f.hwm), mb(f.rssGC), mb(f.heapInuse), mb(f.heapSys))
}

// openRaw is the raw vector bytes of the table: n rows of a d-dimensional
// key and a d-dimensional value, float32.
func openRaw(n, d int) float64 { return float64(n) * float64(2*d) * 4 }

// makeOpenDB creates, in dir, a database with table t of n rows (keys and
// values of dimension d, seed openSeed), and closes it.
func makeOpenDB(tb testing.TB, dir string, n, d int) {
	tb.Helper()
	db, err := softdb.Open(dir, nil)
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	table(tb, db, "t", n, d, d, openSeed)
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
	// Finish this process's garbage collection and hand its free memory
	// back now, so that neither runs alongside the child on a small host:
	// without this, the first child's Open took 0.4-0.9 s instead of
	// ~0.2 s at n = 2·10⁵ on 2 vCPUs.
	debug.FreeOSMemory()
	tb.Logf("created %d × (%d + %d) rows in %v", n, d, d, time.Since(start).Round(time.Millisecond))
}

// runOpenChild opens the database in dir in a fresh process and returns
// its figures.
func runOpenChild(tb testing.TB, dir string, d int) *openFigures {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenFirstQueryChild$", "-test.count=1")
	cmd.Stderr = os.Stderr
	start := time.Now()
	cmd.Env = append(os.Environ(), openChildEnv+"="+dir, fmt.Sprintf("%s=%d", openDimEnv, d),
		fmt.Sprintf("%s=%d", openT0Env, start.UnixNano()))
	out, err := cmd.Output()
	proc := time.Since(start)
	if err != nil {
		tb.Fatalf("child: %v\n%s", err, out)
	}
	f := &openFigures{proc: proc}
	ints := map[string]*int64{
		"rss0": &f.rss0, "rss": &f.rss, "hwm": &f.hwm, "rss-gc": &f.rssGC,
		"heap-inuse": &f.heapInuse, "heap-sys": &f.heapSys,
	}
	durs := map[string]*time.Duration{
		"startup-ns": &f.startup, "open-ns": &f.open, "first-ns": &f.first, "hard-ns": &f.hard, "cpu-ns": &f.cpu,
	}
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || fields[0] != "openfq" {
			continue
		}
		name, vals := fields[1], fields[2:]
		seen++
		switch {
		case ints[name] != nil && len(vals) == 1:
			*ints[name], err = strconv.ParseInt(vals[0], 10, 64)
		case durs[name] != nil && len(vals) == 1:
			var ns int64
			ns, err = strconv.ParseInt(vals[0], 10, 64)
			*durs[name] = time.Duration(ns)
		case name == "soft":
			for _, s := range vals {
				var x float64
				x, err = strconv.ParseFloat(s, 32)
				f.soft = append(f.soft, float32(x))
			}
		case name == "rows":
			for _, s := range vals {
				var r int64
				r, err = strconv.ParseInt(s, 10, 64)
				f.rows = append(f.rows, r)
			}
		default:
			seen--
		}
		if err != nil {
			tb.Fatalf("child line %q: %v", sc.Text(), err)
		}
	}
	if want := len(ints) + len(durs) + 2; seen != want {
		tb.Fatalf("child printed %d of the %d figures:\n%s", seen, want, out)
	}
	return f
}

// TestOpenFirstQueryChild is not a test: it is the fresh process of
// BenchmarkOpenFirstQuery and TestOpenFirstQueryMemory. It opens the
// database, runs the SOFT then the HARD query, and prints its figures
// ("openfq name value…" lines) on stdout.
func TestOpenFirstQueryChild(t *testing.T) {
	dir := os.Getenv(openChildEnv)
	if dir == "" {
		t.Skip("the child process of BenchmarkOpenFirstQuery and TestOpenFirstQueryMemory only")
	}
	begin := time.Now()
	fail := func(err error) {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	var startup time.Duration
	if t0, err := strconv.ParseInt(os.Getenv(openT0Env), 10, 64); err == nil {
		startup = begin.Sub(time.Unix(0, t0))
	}
	d, err := strconv.Atoi(os.Getenv(openDimEnv))
	if err != nil {
		fail(err)
	}
	q := randVec(rand.New(rand.NewPCG(openQSeed, openQSeed)), d)
	ctx := context.Background()
	rss0 := childtest.ProcStatus("VmRSS")
	cpu0 := cpuTime()

	start := time.Now()
	db, err := softdb.Open(dir, nil)
	if err != nil {
		fail(err)
	}
	opened := time.Now()
	st, err := db.Prepare(ctx, openSoftSQL)
	if err != nil {
		fail(err)
	}
	var soft []float32
	if err := st.QueryRow(ctx, q).Scan(&soft); err != nil {
		fail(err)
	}
	first := time.Now()
	st, err = db.Prepare(ctx, openHardSQL)
	if err != nil {
		fail(err)
	}
	res, err := st.Query(ctx, q)
	if err != nil {
		fail(err)
	}
	var rowids []int64
	for res.Next() {
		var r int64
		if err := res.Scan(&r); err != nil {
			fail(err)
		}
		rowids = append(rowids, r)
	}
	if err := res.Err(); err != nil {
		fail(err)
	}
	hard := time.Now()
	cpu := cpuTime() - cpu0
	rss, hwm := childtest.ProcStatus("VmRSS"), childtest.ProcStatus("VmHWM")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	debug.FreeOSMemory() // a GC, then the free pages back to the OS
	rssGC := childtest.ProcStatus("VmRSS")

	var b strings.Builder
	for _, l := range []struct {
		name string
		v    int64
	}{
		{"startup-ns", int64(startup)}, {"open-ns", int64(opened.Sub(start))},
		{"first-ns", int64(first.Sub(opened))}, {"hard-ns", int64(hard.Sub(first))}, {"cpu-ns", int64(cpu)},
		{"rss0", rss0}, {"rss", rss}, {"hwm", hwm}, {"rss-gc", rssGC},
		{"heap-inuse", int64(ms.HeapInuse)}, {"heap-sys", int64(ms.HeapSys)},
	} {
		fmt.Fprintf(&b, "openfq %s %d\n", l.name, l.v)
	}
	b.WriteString("openfq soft")
	for _, x := range soft {
		b.WriteString(" " + strconv.FormatFloat(float64(x), 'g', -1, 32))
	}
	b.WriteString("\nopenfq rows")
	for _, r := range rowids {
		b.WriteString(" " + strconv.FormatInt(r, 10))
	}
	b.WriteString("\n")
	fmt.Print(b.String())
	if err := db.Close(); err != nil {
		fail(err)
	}
	os.Exit(0)
}

// raceBuild reports whether this test binary was built with -race, which
// multiplies memory use and slows the load several times over.
func raceBuild() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// BenchmarkOpenFirstQuery: reopen a database of n rows (128-dimensional
// keys and values) in a fresh process and answer the first query, a SOFT
// SELECT, then a HARD SELECT … LIMIT 10. One iteration is one child
// process; ns/op is its whole life as the parent sees it (start-up and
// exit included). The custom metrics are the child's own figures, the
// mean over the iterations for times and the largest for memory:
//
//   - open-ms: softdb.Open; first-query-ms: prepare, run and read the
//     SOFT SELECT; total-ms: the two (the target: ≤ 2,000 for n = 10⁶);
//     hard-ms: the HARD SELECT that follows; startup-ms: from the parent's
//     exec to the child's code (the Go runtime and the test binary);
//     cpu-ms: the child's CPU time, all threads, over Open and both queries;
//   - rss/raw: VmRSS after the queries over the raw vector bytes
//     n·(128+128)·4 (the target: ≤ 1.3); hwm/raw: the peak, VmHWM.
//
// The files are in the OS page cache (the database was just written and
// closed, and each child reads it again): a warm restart.
//
//	go test -run=NONE -bench=OpenFirstQuery -benchtime=3x -count=1 ./bench
func BenchmarkOpenFirstQuery(b *testing.B) {
	if childtest.ProcStatus("VmRSS") < 0 {
		b.Skip("no /proc/self/status to read the resident set from")
	}
	n, name := 1_000_000, "n=1e6/d=128"
	if testing.Short() {
		n, name = 200_000, "n=2e5/d=128"
	}
	const d = 128
	dir := b.TempDir()
	made := false
	b.Run(name, func(b *testing.B) {
		if !made {
			makeOpenDB(b, dir, n, d)
			made = true
		}
		var sum openFigures
		var rssMax, hwmMax int64
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			f := runOpenChild(b, dir, d)
			if len(f.soft) != d || len(f.rows) != 10 {
				b.Fatalf("SOFT returned %d components, HARD %d rows", len(f.soft), len(f.rows))
			}
			b.Logf("%v", f)
			sum.startup += f.startup
			sum.open += f.open
			sum.first += f.first
			sum.hard += f.hard
			sum.cpu += f.cpu
			rssMax, hwmMax = max(rssMax, f.rss), max(hwmMax, f.hwm)
		}
		b.StopTimer()
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 / float64(b.N) }
		b.ReportMetric(ms(sum.open), "open-ms")
		b.ReportMetric(ms(sum.first), "first-query-ms")
		b.ReportMetric(ms(sum.total()), "total-ms")
		b.ReportMetric(ms(sum.hard), "hard-ms")
		b.ReportMetric(ms(sum.startup), "startup-ms")
		b.ReportMetric(ms(sum.cpu), "cpu-ms")
		b.ReportMetric(float64(rssMax)/openRaw(n, d), "rss/raw")
		b.ReportMetric(float64(hwmMax)/openRaw(n, d), "hwm/raw")
	})
}

// TestOpenFirstQueryMemory checks the memory target in a fresh process:
// after Open and the first queries, the resident set is at most 1.3 × the
// raw vector bytes; and the answers are right: the SOFT blend against a
// float64 evaluation over the same seeded data (within 1e-5·max|v|, the
// accuracy docs/sql.md promises), the HARD rows against the float64
// ranking. n = 10⁶ (2 × 512 MB of vectors); 2·10⁵ under -short. It logs
// the times, but does not hold them to the 2 s target (that is
// BenchmarkOpenFirstQuery's figure: a shared host makes a time assertion
// flaky).
func TestOpenFirstQueryMemory(t *testing.T) {
	if childtest.ProcStatus("VmRSS") < 0 || childtest.ProcStatus("VmHWM") < 0 {
		t.Skip("no /proc/self/status (VmRSS, VmHWM) to read the resident set from")
	}
	if raceBuild() {
		t.Skip("the race detector's shadow memory inflates the resident set, and it slows the load several times over")
	}
	n := 1_000_000
	if testing.Short() {
		n = 200_000
	}
	const d = 128
	dir := t.TempDir()
	makeOpenDB(t, dir, n, d)
	f := runOpenChild(t, dir, d)
	raw := openRaw(n, d)
	t.Logf("n = %d, raw vectors %.1f MB: %v", n, raw/1e6, f)
	t.Logf("rss/raw %.3f, hwm/raw %.3f, (rss - resident before Open)/raw %.3f (target: ≤ 1.3); Open + first query %v (target ≤ 2 s at n = 10⁶)",
		float64(f.rss)/raw, float64(f.hwm)/raw, float64(f.rss-f.rss0)/raw, f.total().Round(time.Millisecond))

	want, scores, maxAbs := openBruteForce(n, d, openSeed, randVec(rand.New(rand.NewPCG(openQSeed, openQSeed)), d))
	if len(f.soft) != d {
		t.Fatalf("SOFT SELECT: %d components, want %d", len(f.soft), d)
	}
	tol := 1e-5 * maxAbs
	worst := 0.0
	for j, x := range f.soft {
		diff := math.Abs(float64(x) - want[j])
		worst = max(worst, diff)
		if diff > tol {
			t.Errorf("SOFT SELECT component %d: %g, float64 evaluation %g (|diff| %.3g > %.3g)", j, x, want[j], diff, tol)
		}
	}
	t.Logf("SOFT blend (largest |component| %.3g) within %.3g of float64 (allowed %.3g)", maxAbsOf(want), worst, tol)
	// The float64 ranking, best first, ties to the lowest rowid. A returned
	// row must score, in float64, as the row of the same rank does, up to
	// the float32 rounding of the scores (which may swap near-ties).
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
	if len(f.rows) != 10 {
		t.Fatalf("HARD SELECT … LIMIT 10: %d rows %v", len(f.rows), f.rows)
	}
	seen := map[int64]bool{}
	for r, id := range f.rows {
		if id < 1 || id > int64(n) || seen[id] {
			t.Fatalf("HARD SELECT rowids %v: bad or repeated rowid %d", f.rows, id)
		}
		seen[id] = true
		got, best := scores[id-1], scores[order[r]]
		if math.Abs(got-best) > 1e-4*(1+math.Abs(best)) {
			t.Errorf("HARD SELECT rank %d: rowid %d scores %g, the float64 rank %d is rowid %d with %g", r+1, id, got, r+1, order[r]+1, best)
		}
	}
	best := make([]int, 10)
	for r := range best {
		best[r] = order[r] + 1
	}
	t.Logf("HARD SELECT rowids %v; the float64 ranking's %v", f.rows, best)
	// At n = 10⁶ the whole resident set is held to the target. Under
	// -short the test binary's own ~30 MB before Open (its packages,
	// chromem-go and parquet-go among them) would be 0.15 of the 205 MB
	// of vectors, a fixed cost the target does not mean: there, what
	// Open and the queries added is held to it.
	rss, what := f.rss, "resident set"
	if testing.Short() {
		rss, what = f.rss-f.rss0, "resident set's growth"
	}
	if ratio := float64(rss) / raw; ratio > 1.3 {
		t.Errorf("the %s after Open and the first queries is %.3f × the raw vector bytes (%.1f MB of %.1f MB), over the 1.3 target",
			what, ratio, float64(rss)/1e6, raw/1e6)
	}
}

// openBruteForce regenerates table's data (seed, keys then values, of
// dimension d) and evaluates, in float64, the SOFT blend at temperature √d
// and every row's score q·k. maxAbs is the largest |v| component.
func openBruteForce(n, d int, seed uint64, q []float32) (blend, scores []float64, maxAbs float64) {
	rng := rand.New(rand.NewPCG(seed, 7)) // as table draws them
	scores = make([]float64, n)
	for i := range scores {
		var s float64
		for j := 0; j < d; j++ {
			s += float64(q[j]) * float64(float32(rng.NormFloat64()))
		}
		scores[i] = s
	}
	T := math.Sqrt(float64(d))
	m := math.Inf(-1)
	for _, s := range scores {
		m = max(m, s/T)
	}
	blend = make([]float64, d)
	var sum float64
	for i := 0; i < n; i++ {
		w := math.Exp(scores[i]/T - m)
		sum += w
		for j := range blend {
			v := float64(float32(rng.NormFloat64()))
			maxAbs = max(maxAbs, math.Abs(v))
			blend[j] += w * v
		}
	}
	for j := range blend {
		blend[j] /= sum
	}
	return blend, scores, maxAbs
}

func maxAbsOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(x))
	}
	return m
}
