package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/softdb/softdb"
)

type indexFixture struct {
	db *softdb.DB
	qs []string // "[…] USING L2"
	ts float64  // the sharp temperature
}

// indexQueryFixture is TestIndexSpeed's clustered table (L2, int8 codes,
// n/1,000 lists) with its 15 queries and sharp T, built once a process.
func indexQueryFixture(b testing.TB) indexFixture {
	n := 200_000
	if s := os.Getenv("SOFTDB_BENCH_INDEX_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	return once(b, fmt.Sprintf("index query %d", n), func(dir string) indexFixture {
		keys, d, metric := indexData(b, "clustered", n)
		kp, vp := filepath.Join(dir, "k.npy"), filepath.Join(dir, "v.npy")
		writeNpy(b, kp, keys, d)
		rng := rand.New(rand.NewPCG(12, 12))
		vals := make([]float32, n*16)
		for i := range vals {
			vals[i] = float32(rng.NormFloat64())
		}
		writeNpy(b, vp, vals, 16)
		db, err := softdb.Open(filepath.Join(dir, "db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Exec(ctx, fmt.Sprintf("CREATE TABLE t (key VECTOR(%d), value VECTOR(16)); COPY t (key, value) FROM '%s', '%s'; CREATE INDEX ti ON t (key) WITH (lists = %d, codes = int8)", d, kp, vp, max(1, n/1000))); err != nil {
			b.Fatal(err)
		}
		fx := indexFixture{db: db}
		var first []float32
		for i := 0; i < 15; i++ {
			r := rng.IntN(n)
			parts := make([]string, d)
			q := make([]float32, d)
			for j := range parts {
				q[j] = keys[r*d+j] + float32(rng.NormFloat64()*0.05)
				parts[j] = strconv.FormatFloat(float64(q[j]), 'g', -1, 32)
			}
			if first == nil {
				first = q
			}
			fx.qs = append(fx.qs, "["+strings.Join(parts, ",")+"] USING "+metric)
		}
		scores := make([]float64, n)
		for i := range scores {
			scores[i] = score(metric, first, keys[i*d:(i+1)*d])
		}
		fx.ts = sharpT(scores)
		// Let the index's background pass split every list into blocks
		// (once per table version) before anything is timed.
		conn := db.Conn()
		defer conn.Close()
		for i := 0; i < 3; i++ {
			r, err := conn.Query(ctx, "HARD SELECT rowid FROM t MATCH "+fx.qs[0]+" LIMIT 10")
			if err != nil {
				b.Fatal(err)
			}
			r.Close()
			time.Sleep(time.Duration(n/1000) * 5 * time.Millisecond)
		}
		return fx
	})
}

// BenchmarkIndexQuery runs TestIndexSpeed's queries through the index
// (auto) and by the scan (off), the two alternating query by query, and
// reports the medians of each (index-ms, scan-ms) and their ratio; the
// per-op time is the pair's. A CPU profile of one shape is then easy to
// take (SOFTDB_BENCH_INDEX_ONLY=1 leaves the scan out):
//
//	SOFTDB_BENCH_INDEX=1 SOFTDB_BENCH_INDEX_N=1000000 go test -run=NONE -bench=IndexQuery/within -benchtime=60x -count=3 ./bench
func BenchmarkIndexQuery(b *testing.B) {
	if os.Getenv("SOFTDB_BENCH_INDEX") == "" {
		b.Skip("set SOFTDB_BENCH_INDEX=1 to run (builds a clustered table with an index)")
	}
	fx := indexQueryFixture(b)
	ctx := context.Background()
	cases := map[string]string{
		"within": "SOFT SELECT value FROM t MATCH %s TEMPERATURE " + fmt.Sprint(fx.ts) + " WITHIN ERROR 1e-3",
		"soft":   "SOFT SELECT value FROM t MATCH %s TEMPERATURE " + fmt.Sprint(fx.ts),
		"hard":   "HARD SELECT rowid FROM t MATCH %s LIMIT 10",
	}
	for _, name := range []string{"within", "soft", "hard"} {
		b.Run(name, func(b *testing.B) {
			conn := fx.db.Conn()
			defer conn.Close()
			run := func(mode, sql string) time.Duration {
				if _, err := conn.Exec(ctx, "SET index_scan = "+mode); err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				r, err := conn.Query(ctx, sql)
				if err != nil {
					b.Fatal(err)
				}
				for r.Next() {
					_ = r.Values()
				}
				r.Close()
				return time.Since(t0)
			}
			var idx, scan []float64
			for i := 0; i < b.N; i++ {
				sql := fmt.Sprintf(cases[name], fx.qs[i%len(fx.qs)])
				if os.Getenv("SOFTDB_BENCH_INDEX_ONLY") != "" {
					idx = append(idx, float64(run("auto", sql).Microseconds())/1e3)
					continue
				}
				scan = append(scan, float64(run("off", sql).Microseconds())/1e3)
				idx = append(idx, float64(run("auto", sql).Microseconds())/1e3)
			}
			sort.Float64s(idx)
			sort.Float64s(scan)
			if len(scan) == 0 {
				b.ReportMetric(idx[len(idx)/2], "index-ms")
				return
			}
			mi, ms := idx[len(idx)/2], scan[len(scan)/2]
			b.ReportMetric(mi, "index-ms")
			b.ReportMetric(ms, "scan-ms")
			b.ReportMetric(ms/mi, "speed-up")
		})
	}
}

// TestIndexQueryTimes prints, for the WITHIN query alternating with the
// scan, EXPLAIN ANALYZE's time line of the index run (lists, bounds,
// search, output) beside the statement's wall time:
//
//	SOFTDB_BENCH_INDEX=1 SOFTDB_BENCH_INDEX_N=1000000 go test -run=TestIndexQueryTimes -v ./bench
func TestIndexQueryTimes(t *testing.T) {
	if os.Getenv("SOFTDB_BENCH_INDEX") == "" {
		t.Skip("set SOFTDB_BENCH_INDEX=1 to run (builds a clustered table with an index)")
	}
	fx := indexQueryFixture(t)
	ctx := context.Background()
	conn := fx.db.Conn()
	defer conn.Close()
	sqlf := "SOFT SELECT value FROM t MATCH %s TEMPERATURE " + fmt.Sprint(fx.ts) + " WITHIN ERROR 1e-3"
	for i := 0; i < 15; i++ {
		sql := fmt.Sprintf(sqlf, fx.qs[i])
		for _, mode := range []string{"off", "auto"} {
			if _, err := conn.Exec(ctx, "SET index_scan = "+mode); err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			lines := explainLines(t, conn, sql, "time:", "rows:", "lists:")
			t.Logf("%s %6.2f ms | %s", mode, float64(time.Since(t0).Microseconds())/1e3, strings.Join(lines, " | "))
		}
	}
}
