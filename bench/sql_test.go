// Package bench measures softdb end to end, through SQL, on the shapes of
// PERF.md. Peers run on the same shapes from bench/sql_peer.py (numpy,
// FAISS) and here (chromem-go); bench/run.sh runs them all in one job so
// the ratios are fair.
//
//	go test -run=NONE -bench=. -benchtime=20x ./bench
package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	chromem "github.com/philippgille/chromem-go"

	"github.com/softdb/softdb"
	"github.com/softdb/softdb/formats"
	"github.com/softdb/softdb/types"
)

// table creates t (key VECTOR(d), value VECTOR(dv)) with n random rows,
// loaded with COPY from npy files (fixed seed).
func table(b testing.TB, db *softdb.DB, name string, n, d, dv int, seed uint64) {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	rng := rand.New(rand.NewPCG(seed, 7))
	write := func(file string, dim int) string {
		path := filepath.Join(dir, file)
		w, err := formats.CreateWriter(path, []formats.Column{{Name: "v", Type: types.Type{Kind: types.Vector, Dim: dim}}}, formats.Options{})
		if err != nil {
			b.Fatal(err)
		}
		row := []types.Value{{}}
		for i := 0; i < n; i++ {
			row[0] = types.VectorValue(randVec(rng, dim))
			if err := w.Write(row); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		return path
	}
	k, v := write("k.npy", d), write("v.npy", dv)
	sql := fmt.Sprintf("CREATE TABLE %s (key VECTOR(%d), value VECTOR(%d)); COPY %s (key, value) FROM '%s', '%s'", name, d, dv, name, k, v)
	if _, err := db.Exec(ctx, sql); err != nil {
		b.Fatal(err)
	}
}

// shared holds what the benchmarks build once per process (input files,
// loaded databases), in one temporary directory removed when the process
// ends (closeShared): a table of 10⁶ rows takes longer to load than to
// query many times over, and each benchmark runs at least twice (N = 1,
// then N).
var shared struct {
	sync.Mutex
	dir  string
	made map[string]any
}

// once returns the thing named key, making it on first use in dir, a
// fresh directory of its own. make must not call once.
func once[T any](b testing.TB, key string, make func(dir string) T) T {
	b.Helper()
	shared.Lock()
	defer shared.Unlock()
	if v, ok := shared.made[key]; ok {
		return v.(T)
	}
	if shared.dir == "" {
		dir, err := os.MkdirTemp("", "softdb-bench-")
		if err != nil {
			b.Fatal(err)
		}
		shared.dir, shared.made = dir, map[string]any{}
	}
	dir := filepath.Join(shared.dir, strconv.Itoa(len(shared.made)))
	if err := os.Mkdir(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	v := make(dir)
	shared.made[key] = v
	return v
}

// softTable is the database of the SOFT and HARD benchmarks: t with n
// rows of key VECTOR(d) and value VECTOR(d) (seed 1), shared.
func softTable(b *testing.B, n, d int) *softdb.DB {
	return once(b, fmt.Sprintf("db t/%d/%d", n, d), func(dir string) *softdb.DB {
		db, err := softdb.Open(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		table(b, db, "t", n, d, d, 1)
		return db
	})
}

// queryTable adds q<m> (key VECTOR(d), m rows, seed 3) to the shared db,
// once.
func queryTable(b *testing.B, db *softdb.DB, m, d int) {
	once(b, fmt.Sprintf("table %p/q%d", db, m), func(string) bool {
		table(b, db, fmt.Sprintf("q%d", m), m, d, 1, 3)
		return true
	})
}

// closeShared closes the shared databases and removes their directory.
func closeShared() {
	for _, v := range shared.made {
		if db, ok := v.(*softdb.DB); ok {
			db.Close()
		}
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
}

func openDB(b testing.TB) *softdb.DB {
	db, err := softdb.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// prepare prepares sql on db or fails the benchmark. It is the last step
// before a benchmark's timed loop, so it also collects the garbage of the
// set-up (a loaded table leaves hundreds of MB), which would otherwise be
// marked while the loop runs, on the loop's cores.
func prepare(b testing.TB, db *softdb.DB, sql string) *softdb.Stmt {
	b.Helper()
	st, err := db.Prepare(context.Background(), sql)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	return st
}

func randVec(rng *rand.Rand, d int) []float32 {
	v := make([]float32, d)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// BenchmarkSoftSelect: one SOFT SELECT (scores, softmax, blend) through a
// prepared statement. Bytes are the keys and values read; each query is
// followed by a read of as many bytes (pairedLoop: read-GB/s, %read).
func BenchmarkSoftSelect(b *testing.B) {
	for _, sz := range []struct {
		name string
		n, d int
	}{{"n=2e5/d=128", 200_000, 128}, {"n=1e5/d=128", 100_000, 128}, {"n=1e6/d=128", 1_000_000, 128}, {"n=1e5/d=768", 100_000, 768}} {
		b.Run(sz.name, func(b *testing.B) {
			if testing.Short() && sz.n > 200_000 {
				b.Skip("10⁶ rows take a while to load; not in -short")
			}
			db := softTable(b, sz.n, sz.d)
			ctx := context.Background()
			bytes := int64(sz.n) * int64(2*sz.d) * 4
			ref := newReadRef(bytes)
			st := prepare(b, db, "SOFT SELECT value FROM t MATCH ? TEMPERATURE √d")
			q := randVec(rand.New(rand.NewPCG(2, 2)), sz.d)
			var out []float32
			b.SetBytes(bytes)
			b.ReportAllocs()
			pairedLoop(b, ref, float64(bytes), func() {
				if err := st.QueryRow(ctx, q).Scan(&out); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// runBatch runs the prepared batch statement st b.N times, checking that
// it returns one row per query (m).
func runBatch(b *testing.B, st *softdb.Stmt, m int) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rows, err := st.Query(ctx)
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for rows.Next() {
			got++
		}
		if got != m {
			b.Fatalf("%d rows, want %d", got, m)
		}
	}
}

// BenchmarkSoftBatch: 512 queries in one statement, MATCH (SELECT key FROM q512).
func BenchmarkSoftBatch(b *testing.B) {
	const m, n, d = 512, 200_000, 128
	b.Run(fmt.Sprintf("m=%d/n=2e5/d=%d", m, d), func(b *testing.B) {
		db := softTable(b, n, d)
		queryTable(b, db, m, d)
		st := prepare(b, db, "SOFT SELECT qrow, value FROM t MATCH (SELECT key FROM q512) TEMPERATURE √d")
		runBatch(b, st, m)
		flop := 4.0 * m * n * d // QKᵀ and PV, a multiply-add each
		b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// BenchmarkSoftRowsBatch: a batch in row form (every row weighed, then
// ORDER BY … LIMIT per query), which cannot use the fused blend: the
// scores of a block of queries are computed together.
func BenchmarkSoftRowsBatch(b *testing.B) {
	const m, n, d = 256, 100_000, 128
	b.Run(fmt.Sprintf("m=%d/n=1e5/d=%d", m, d), func(b *testing.B) {
		db := softTable(b, n, d)
		queryTable(b, db, m, d)
		st := prepare(b, db, "SOFT SELECT qrow, rowid, weight FROM t MATCH (SELECT key FROM q256) WHERE rowid % 100 = 0 ORDER BY weight DESC LIMIT 1")
		runBatch(b, st, m)
	})
}

// hardTop10 is the statement of BenchmarkHardTop10 on the shared table of
// n × d keys, and its query.
func hardTop10(b *testing.B, n, d int) func() {
	db := softTable(b, n, d)
	ctx := context.Background()
	st := prepare(b, db, "HARD SELECT rowid FROM t MATCH ? LIMIT 10")
	q := randVec(rand.New(rand.NewPCG(2, 2)), d)
	return func() {
		rows, err := st.Query(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for rows.Next() {
			got++
		}
		if got != 10 {
			b.Fatalf("%d rows", got)
		}
	}
}

// BenchmarkHardTop10: HARD SELECT … LIMIT 10, one query, each followed by
// a read of the keys' bytes (pairedLoop).
func BenchmarkHardTop10(b *testing.B) {
	const n, d = 100_000, 128
	b.Run("n=1e5/d=128", func(b *testing.B) {
		op := hardTop10(b, n, d)
		ref := newReadRef(n * d * 4)
		b.SetBytes(n * d * 4)
		b.ReportAllocs()
		pairedLoop(b, ref, n*d*4, op)
	})
}

// BenchmarkHardTop10Chromem is the peer of BenchmarkHardTop10: the same
// keys and query in chromem-go v0.7 (in memory, QueryEmbedding, top 10),
// each followed (outside the timer) by softdb's HARD SELECT, so that the
// ratio (chromem/softdb, the median of the per-iteration ratios) compares
// the two in the same moments. chromem-go normalises vectors when they are
// added, so it ranks by cosine; it reads the same n·d floats.
func BenchmarkHardTop10Chromem(b *testing.B) {
	const n, d = 100_000, 128
	b.Run("n=1e5/d=128", func(b *testing.B) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(1, 7)) // the shared table's keys (table, seed 1)
		docs := make([]chromem.Document, n)
		for i := range docs {
			docs[i] = chromem.Document{ID: strconv.Itoa(i), Embedding: randVec(rng, d)}
		}
		col, err := chromem.NewDB().CreateCollection("t", nil, func(context.Context, string) ([]float32, error) {
			return nil, fmt.Errorf("no embedding function")
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := col.AddDocuments(ctx, docs, runtime.GOMAXPROCS(0)); err != nil {
			b.Fatal(err)
		}
		softdbOp := hardTop10(b, n, d) // collects the set-up's garbage
		q := randVec(rand.New(rand.NewPCG(2, 2)), d)
		ratios := make([]float64, 0, b.N)
		var softdbTimes []float64
		b.SetBytes(n * d * 4)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			start := time.Now()
			res, err := col.QueryEmbedding(ctx, q, 10, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			if len(res) != 10 {
				b.Fatalf("%d results", len(res))
			}
			peer := time.Since(start)
			b.StopTimer()
			start = time.Now()
			softdbOp()
			own := time.Since(start)
			b.StartTimer()
			ratios = append(ratios, peer.Seconds()/own.Seconds())
			softdbTimes = append(softdbTimes, own.Seconds()*1e3)
		}
		b.StopTimer()
		b.ReportMetric(median(softdbTimes), "softdb-ms")
		b.ReportMetric(median(ratios), "chromem/softdb")
	})
}

// BenchmarkHardL2Batch: batch HARD with L2 at MNIST size (10,000 queries ×
// 60,000 keys × 784). Heavy: run with -benchtime=1x; skipped in -short.
func BenchmarkHardL2Batch(b *testing.B) {
	if testing.Short() || os.Getenv("SOFTDB_BENCH_MNIST") == "" {
		b.Skip("MNIST-size batch: set SOFTDB_BENCH_MNIST=1 (takes minutes to load)")
	}
	const m, n, d = 10_000, 60_000, 784
	db := openDB(b)
	table(b, db, "t", n, d, 1, 1)
	table(b, db, "q", m, d, 1, 3)
	ctx := context.Background()
	st := prepare(b, db, "HARD SELECT qrow, rowid FROM t MATCH (SELECT key FROM q) USING L2")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rows, err := st.Query(ctx)
		if err != nil {
			b.Fatal(err)
		}
		rows.Close()
	}
	b.ReportMetric(2.0*m*n*d*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkSoftScalar: one SOFT SELECT blending a FLOAT column, against a
// VECTOR column of the same table. s has n rows of
// key VECTOR(d), value VECTOR(d), f FLOAT (random), g FLOAT (f, NULL on
// every tenth row: its blend renormalises over the others).
func BenchmarkSoftScalar(b *testing.B) {
	const n, d = 100_000, 128
	db := once(b, fmt.Sprintf("db s/%d/%d", n, d), func(dir string) *softdb.DB {
		db, err := softdb.Open(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		table(b, db, "s", n, d, d, 1)
		ctx := context.Background()
		path := filepath.Join(dir, "f.npy")
		w, err := formats.CreateWriter(path, []formats.Column{{Name: "f", Type: types.Type{Kind: types.Float}}}, formats.Options{})
		if err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(5, 5))
		for i := 0; i < n; i++ {
			if err := w.Write([]types.Value{types.FloatValue(rng.NormFloat64())}); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		kpath := filepath.Join(dir, "k.npy")
		if _, err := db.Exec(ctx, fmt.Sprintf("COPY s (key) TO '%s'", kpath)); err != nil {
			b.Fatal(err)
		}
		vpath := filepath.Join(dir, "v.npy")
		if _, err := db.Exec(ctx, fmt.Sprintf("COPY s (value) TO '%s'", vpath)); err != nil {
			b.Fatal(err)
		}
		sql := fmt.Sprintf("CREATE TABLE sf (key VECTOR(%d), value VECTOR(%d), f FLOAT, g FLOAT); COPY sf (key, value, f) FROM '%s', '%s', '%s'; UPDATE sf SET g = f WHERE rowid %% 10 != 0", d, d, kpath, vpath, path)
		if _, err := db.Exec(ctx, sql); err != nil {
			b.Fatal(err)
		}
		return db
	})
	q := randVec(rand.New(rand.NewPCG(2, 2)), d)
	ctx := context.Background()
	for _, c := range []struct{ name, item string }{{"vector", "value"}, {"float", "f"}, {"float-nulls", "g"}} {
		b.Run(fmt.Sprintf("%s/n=1e5/d=%d", c.name, d), func(b *testing.B) {
			st := prepare(b, db, fmt.Sprintf("SOFT SELECT %s FROM sf MATCH ? TEMPERATURE √d", c.item))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rows, err := st.Query(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				rows.Close()
			}
		})
	}
}
