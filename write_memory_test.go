package softdb_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/softdb/softdb"
	"github.com/softdb/softdb/internal/childtest"
)

// insertMemoryEnv makes the test binary the child process of
// TestAutocommitInsertMemory; its value is the number of rows.
const insertMemoryEnv = "SOFTDB_INSERT_MEMORY_CHILD"

// TestAutocommitInsertMemory runs one-row autocommit INSERTs (a prepared
// statement, each its own synced transaction) into a fresh on-disk
// database in a child process, and checks that its peak RSS rises above
// the RSS before the inserts by at most 2× the table's raw bytes plus
// 64 MiB: what a row costs is its share of the mirror, not per-commit
// copies or garbage. 100,000 rows of (INT, VECTOR(128)); 20,000 in
// -short. The goal is 1.5×: at 100,000 rows the growth is about 2.8×
// the rows' 50 MiB, of which the mirror's two segment arrays are 64 MiB
// (the second one allocated whole, written to a half) and the rest the
// runtime's free heap and pebble's memtable and cache. The database goes in /dev/shm when there is one, so that the
// test measures memory rather than the disk's fsync rate (a file's pages
// there are not the process's RSS).
func TestAutocommitInsertMemory(t *testing.T) {
	if v := os.Getenv(insertMemoryEnv); v != "" {
		insertMemoryChild(v)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads peak RSS from /proc")
	}
	if raceEnabled {
		t.Skip("the race detector inflates memory use")
	}
	n := 100_000
	if testing.Short() {
		n = 20_000
	}
	const d = 128
	raw := int64(n) * (8 + d*4)
	dir, err := os.MkdirTemp("/dev/shm", "softdb-insert-memory-")
	if err != nil {
		dir = t.TempDir()
	} else {
		defer os.RemoveAll(dir)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAutocommitInsertMemory$", "-test.count=1")
	cmd.Env = append(os.Environ(), insertMemoryEnv+"="+strconv.Itoa(n), "SOFTDB_INSERT_MEMORY_DIR="+dir, "GOGC=100", "GOMEMLIMIT=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var before, peak, rows int64
	var took time.Duration
	if _, err := fmt.Sscanf(string(out), "before %d peak %d rows %d took %d", &before, &peak, &rows, &took); err != nil || rows != int64(n) {
		t.Fatalf("child: %q (%v)", out, err)
	}
	grew, limit := peak-before, raw*2+64<<20
	t.Logf("%d autocommit INSERTs in %v (%.0f/s) into %s: %.1f MiB of rows; peak RSS %d MiB, %d MiB above the start (%.2f× the rows; limit %d MiB, goal 1.5×)",
		n, took.Round(time.Millisecond), float64(n)/took.Seconds(), dir, float64(raw)/(1<<20), peak>>20, grew>>20, float64(grew)/float64(raw), limit>>20)
	if grew > limit {
		t.Errorf("the INSERTs took the RSS up by %d MiB, more than %d MiB (2 × %d MiB of rows + 64 MiB)", grew>>20, limit>>20, raw>>20)
	}
}

// insertMemoryChild is the child process of TestAutocommitInsertMemory.
func insertMemoryChild(count string) {
	n, _ := strconv.Atoi(count)
	ctx := context.Background()
	db, err := softdb.Open(os.Getenv("SOFTDB_INSERT_MEMORY_DIR"), nil)
	if err == nil {
		_, err = db.Exec(ctx, "CREATE TABLE t (id INT, key VECTOR(128))")
	}
	var st *softdb.Stmt
	if err == nil {
		st, err = db.Prepare(ctx, "INSERT INTO t VALUES (?, ?)")
	}
	before := childtest.ProcStatus("VmRSS")
	start := time.Now()
	v := make([]float32, 128)
	for i := 0; i < n && err == nil; i++ {
		for j := range v {
			v[j] = float32(i*128 + j)
		}
		_, err = st.Exec(ctx, i, v)
	}
	took := time.Since(start)
	peak := childtest.ProcStatus("VmHWM")
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
