package softdb_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/softdb/softdb"
	"github.com/softdb/softdb/internal/childtest"
)

// softdbBin builds the softdb command once per test binary.
var softdbBin struct {
	once sync.Once
	path string
	err  error
}

func buildSoftdbBin(t *testing.T) string {
	t.Helper()
	softdbBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "softdb-bin-")
		if err != nil {
			softdbBin.err = err
			return
		}
		softdbBin.path = filepath.Join(dir, "softdb")
		if out, err := exec.Command("go", "build", "-o", softdbBin.path, "./cmd/softdb").CombinedOutput(); err != nil {
			softdbBin.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if softdbBin.err != nil {
		t.Fatal(softdbBin.err)
	}
	return softdbBin.path
}

// writeNPY writes an (n, d) <f4 npy file of reproducible values: row i
// starts with i, so a row can be recognised.
func writeNPY(t testing.TB, path string, n, d int, seed uint64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", n, d)
	pad := 64 - (10+len(header)+1)%64
	header += strings.Repeat(" ", pad%64) + "\n"
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("\x93NUMPY\x01\x00")
	binary.Write(w, binary.LittleEndian, uint16(len(header)))
	w.WriteString(header)
	rng := rand.New(rand.NewPCG(seed, 3))
	buf := make([]byte, 4*d)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint32(buf, math.Float32bits(float32(i)))
		for j := 1; j < d; j++ {
			binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(float32(rng.NormFloat64())))
		}
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// tableRows returns the row count of every table, read by the softdb
// command, and how long that took (mostly opening the database).
func tableRows(t *testing.T, bin, dir string) (map[string]int64, time.Duration) {
	t.Helper()
	start := time.Now()
	out, err := exec.Command(bin, "--format", "csv", dir, "SHOW TABLES").CombinedOutput()
	if err != nil {
		t.Fatalf("reading the database after a kill: %v\n%s", err, out)
	}
	took := time.Since(start)
	rows := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n")[1:] {
		name, count, ok := strings.Cut(line, ",")
		n, err := strconv.ParseInt(count, 10, 64)
		if !ok || err != nil {
			t.Fatalf("unexpected output %q", out)
		}
		rows[name] = n
	}
	return rows, took
}

// TestCopyKill9 kills the softdb command with SIGKILL at random moments
// of a large COPY, one table per round: after each kill the table of the
// round holds all or none of the file, never a part, and the tables of
// earlier rounds are as they were; a COPY whose command exited
// successfully is never lost.
func TestCopyKill9(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL")
	}
	bin := buildSoftdbBin(t)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SOFTDB_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (replay with SOFTDB_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 9))
	n, rounds := 100_000, 10
	if testing.Short() {
		n, rounds = 40_000, 6
	}
	tmp := t.TempDir()
	dir, npy := filepath.Join(tmp, "db"), filepath.Join(tmp, "big.npy")
	writeNPY(t, npy, n, 128, seed)
	var create strings.Builder
	for r := 0; r <= rounds; r++ {
		fmt.Fprintf(&create, "CREATE TABLE t%d (key VECTOR(128));", r)
	}
	if out, err := exec.Command(bin, dir, create.String()).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}

	want := map[string]int64{}
	for r := 0; r <= rounds; r++ {
		want[fmt.Sprintf("t%d", r)] = 0
	}
	var copyTook, openTook time.Duration
	var whole, none int
	for r := 0; r <= rounds; r++ {
		table := fmt.Sprintf("t%d", r)
		cmd := exec.Command(bin, dir, fmt.Sprintf("COPY %s FROM '%s'", table, npy))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var delay time.Duration
		if r > 0 {
			// Anywhere from the start of the process to a little after
			// opening the database and a COPY would take.
			delay = time.Duration(rng.Int64N(int64(openTook+copyTook) * 6 / 5))
			timer := time.AfterFunc(delay, func() { cmd.Process.Signal(syscall.SIGKILL) })
			defer timer.Stop()
		}
		err := cmd.Wait()
		took := time.Since(start)
		acked := err == nil
		if err != nil && !strings.Contains(err.Error(), "killed") {
			t.Fatalf("round %d: softdb failed: %v\n%s", r, err, stderr.String())
		}
		if r == 0 {
			copyTook = took
		}
		var got map[string]int64
		got, openTook = tableRows(t, bin, dir)
		switch got[table] {
		case 0:
			none++
		case int64(n):
			whole++
		default:
			t.Fatalf("round %d (kill after %v): %s has %d rows, want 0 or %d: a partial COPY", r, delay, table, got[table], n)
		}
		if acked && got[table] != int64(n) {
			t.Fatalf("round %d: the COPY was acknowledged but %s has %d rows, want %d", r, table, got[table], n)
		}
		want[table] = got[table]
		for name, k := range want {
			if got[name] != k {
				t.Fatalf("round %d: %s has %d rows, had %d", r, name, got[name], k)
			}
		}
		t.Logf("round %d: kill after %v (ran %v), acknowledged %v: %s has %d rows", r, delay.Round(time.Millisecond), took.Round(time.Millisecond), acked, table, got[table])
	}
	t.Logf("%d kills: %d left the COPY out, %d kept all of it", rounds, none, whole-1)
	// The database is sound: every loaded table reads back its last row.
	db, err := softdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, k := range want {
		if k == 0 {
			continue
		}
		var key []float32
		if err := db.QueryRow(context.Background(), fmt.Sprintf("SELECT key FROM %s WHERE rowid = %d", name, n)).Scan(&key); err != nil {
			t.Fatal(err)
		}
		if key[0] != float32(n-1) {
			t.Fatalf("%s: last row starts with %v, want %d", name, key[0], n-1)
		}
	}
}

// memoryHelperEnv makes the test binary the child process of
// TestCopyMemory.
const memoryHelperEnv = "SOFTDB_COPY_MEMORY_CHILD"

// TestCopyMemory COPYs a 512 MB npy file into a durable table in a fresh
// process and checks how far its peak RSS rises above the RSS before the
// COPY: the table's mirror (the vectors themselves) plus a bounded
// overhead, not a second copy of the file in a batch. The overhead is mostly garbage not yet collected (the npy reader
// reads into fresh blocks; with GOGC=100 that stays below about a third
// of the live heap), plus the runtime and pebble.
//
// The child is this test binary rather than the softdb command: the peak
// RSS that wait4 reports for an exec'd child includes the parent's, while
// the child's own /proc/self/status VmHWM does not.
func TestCopyMemory(t *testing.T) {
	if path := os.Getenv(memoryHelperEnv); path != "" {
		copyMemoryChild(path)
		return
	}
	if testing.Short() {
		t.Skip("writes a 512 MB file and loads it in a child process; skipped in -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads peak RSS from /proc")
	}
	const n, d = 1_000_000, 128
	raw := int64(n * d * 4)
	tmp := t.TempDir()
	npy := filepath.Join(tmp, "big.npy")
	writeNPY(t, npy, n, d, 5)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCopyMemory$", "-test.count=1")
	cmd.Env = append(os.Environ(), memoryHelperEnv+"="+npy, "SOFTDB_COPY_MEMORY_DIR="+filepath.Join(tmp, "db"), "GOGC=100", "GOMEMLIMIT=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var before, peak, rows int64
	var took time.Duration
	if _, err := fmt.Sscanf(string(out), "before %d peak %d rows %d took %d", &before, &peak, &rows, &took); err != nil || rows != n {
		t.Fatalf("child: %q (%v)", out, err)
	}
	grew, limit := peak-before, raw*13/10+64<<20
	t.Logf("%d MiB of vectors: peak RSS %d MiB, %d MiB more than before the COPY (%.2f× the vectors; limit %d MiB); COPY took %v, %.0f MB/s",
		raw>>20, peak>>20, grew>>20, float64(grew)/float64(raw), limit>>20, took.Round(time.Millisecond), float64(raw)/took.Seconds()/1e6)
	if grew > limit {
		t.Errorf("the COPY took the RSS up by %d MiB, more than %d MiB (1.3 × %d MiB of vectors + 64 MiB)", grew>>20, limit>>20, raw>>20)
	}
}

// copyMemoryChild is the child process of TestCopyMemory: it COPYs path
// into a new on-disk database and prints its RSS figures.
func copyMemoryChild(path string) {
	ctx := context.Background()
	db, err := softdb.Open(os.Getenv("SOFTDB_COPY_MEMORY_DIR"), nil)
	if err == nil {
		_, err = db.Exec(ctx, "CREATE TABLE t (key VECTOR(128))")
	}
	before := childtest.ProcStatus("VmRSS")
	start := time.Now()
	if err == nil {
		_, err = db.Exec(ctx, fmt.Sprintf("COPY t FROM '%s'", path))
	}
	took := time.Since(start)
	peak := childtest.ProcStatus("VmHWM") // before the count: a query has its own memory
	var rows int64
	if err == nil {
		err = db.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&rows)
	}
	if err == nil {
		err = db.Close()
	}
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Printf("before %d peak %d rows %d took %d\n", before, peak, rows, took)
	os.Exit(0)
}

// TestCopyBulkErrorsAndTx: COPY into an in-memory database and inside
// BEGIN … COMMIT (where it goes through the transaction's batch); a
// duplicate primary key, in the file or against the table, is reported at
// its line and leaves nothing, also inside a transaction, whose other
// statements stay.
func TestCopyBulkErrorsAndTx(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name string, ids ...int) string {
		var b strings.Builder
		b.WriteString("id,key\n")
		for _, id := range ids {
			fmt.Fprintf(&b, "%d,\"[%d, 1]\"\n", id, id)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ids := func(lo, hi int) []int {
		var out []int
		for i := lo; i < hi; i++ {
			out = append(out, i)
		}
		return out
	}
	good := write("good.csv", ids(10, 3000)...)
	dupFile := write("dupfile.csv", append(ids(3000, 5000), 4000)...)   // line 2002 repeats line 1002
	dupTable := write("duptable.csv", append(ids(5000, 6000), 1500)...) // 1500 is in good.csv
	for _, path := range []string{softdb.Memory, filepath.Join(dir, "db")} {
		db, err := softdb.Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		count := func() int {
			var n int
			if err := db.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if _, err := db.Exec(ctx, "CREATE TABLE t (id INT PRIMARY KEY, key VECTOR(2)); COPY t FROM '"+good+"'"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ file, want string }{
			{dupFile, `dupfile.csv:2002: column "id": duplicate primary key 4000 (row 1001 of this COPY has it too)`},
			{dupTable, `duptable.csv:1002: column "id": duplicate primary key 1500 (already in table "t")`},
		} {
			_, err := db.Exec(ctx, "COPY t FROM '"+c.file+"'")
			if err == nil || !strings.HasSuffix(err.Error(), c.want) || !errors.Is(err, softdb.ErrConstraint) {
				t.Errorf("%s: error %v, want one ending in %q (ErrConstraint)", path, err, c.want)
			}
			if n := count(); n != 2990 {
				t.Fatalf("%s: %d rows after a failed COPY", path, n)
			}
		}
		// Inside a transaction: a failed COPY leaves the statements before
		// and after it; a good one goes with the transaction.
		tx, err := db.Begin(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO t VALUES (1, [1, 1])"); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "COPY t FROM '"+dupTable+"'"); err == nil {
			t.Fatal("COPY with a duplicate key succeeded in a transaction")
		}
		if _, err := tx.Exec(ctx, "COPY t FROM '"+write("more.csv", ids(7000, 7100)...)+"'"); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO t VALUES (2, [2, 2])"); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 2990+102 {
			t.Fatalf("%s: %d rows after the transaction, want %d", path, n, 2990+102)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	db, err := softdb.Open(filepath.Join(dir, "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, maxID int
	if err := db.QueryRow(ctx, "SELECT count(*), max(id) FROM t").Scan(&n, &maxID); err != nil || n != 3092 || maxID != 7099 {
		t.Fatalf("after reopen: %d rows, max id %d (%v)", n, maxID, err)
	}
}
