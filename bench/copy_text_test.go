package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/softdb/softdb"
	"github.com/softdb/softdb/formats"
	"github.com/softdb/softdb/types"
)

// kvInputEnv, when set, is a directory where copyKVInput keeps its files
// (kv_N_D.csv, kv_N_D.jsonl, kv_N_D_k.npy, kv_N_D_v.npy) for a peer to
// read after the run, and later runs reuse them;
// bench/copy_text.sh uses it to time DuckDB on the same CSV.
const kvInputEnv = "SOFTDB_BENCH_KV_DIR"

// copyKVInput returns the files of n rows of key and value VECTOR(d)
// (N(0, 1) elements, seed 11/13) in format ext: one file for csv and jsonl,
// two (keys, values) for npy. They are written on first use.
func copyKVInput(b *testing.B, ext string, n, d int) []string {
	return once(b, fmt.Sprintf("copy kv %s/%d/%d", ext, n, d), func(dir string) []string {
		base := fmt.Sprintf("kv_%d_%d", n, d)
		if keep := os.Getenv(kvInputEnv); keep != "" {
			// Kept files are written once and reused by later runs.
			dir = keep
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
			var paths []string
			if ext == "npy" {
				paths = []string{filepath.Join(dir, base+"_k.npy"), filepath.Join(dir, base+"_v.npy")}
			} else {
				paths = []string{filepath.Join(dir, base+"."+ext)}
			}
			if _, err := os.Stat(paths[len(paths)-1]); err == nil {
				return paths
			}
		}
		vt := types.Type{Kind: types.Vector, Dim: d}
		var paths []string
		var ws []formats.Writer
		if ext == "npy" {
			for _, name := range []string{"key", "value"} {
				p := filepath.Join(dir, base+"_"+name[:1]+".npy")
				w, err := formats.CreateWriter(p, []formats.Column{{Name: name, Type: vt}}, formats.Options{})
				if err != nil {
					b.Fatal(err)
				}
				paths, ws = append(paths, p), append(ws, w)
			}
		} else {
			p := filepath.Join(dir, base+"."+ext)
			w, err := formats.CreateWriter(p, []formats.Column{{Name: "key", Type: vt}, {Name: "value", Type: vt}}, formats.Options{})
			if err != nil {
				b.Fatal(err)
			}
			paths, ws = append(paths, p), append(ws, w)
		}
		rng := rand.New(rand.NewPCG(11, 13))
		row := make([]types.Value, 2)
		for range n {
			row[0] = types.VectorValue(randVec(rng, d))
			row[1] = types.VectorValue(randVec(rng, d))
			var err error
			if len(ws) == 1 {
				err = ws[0].Write(row)
			} else {
				if err = ws[0].Write(row[:1]); err == nil {
					err = ws[1].Write(row[1:])
				}
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		for _, w := range ws {
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
		return paths
	})
}

// BenchmarkCopyKV: COPY … FROM csv, jsonl and npy files of n rows of
// (key VECTOR(128), value VECTOR(128)) into a fresh table of a fresh
// on-disk database; a COPY returns once the rows are durable. Bytes are
// the vectors' float32 bytes (n·2d·4), so the formats compare directly;
// file-MB/s is of the file(s) read. bench/copy_text.sh runs it beside
// DuckDB's read_csv on the same CSV.
//
//	go test -run=NONE -bench=CopyKV -benchtime=3x -count=3 ./bench
func BenchmarkCopyKV(b *testing.B) {
	const n, d = 200_000, 128
	ctx := context.Background()
	for _, ext := range []string{"csv", "jsonl", "npy"} {
		b.Run(ext+"/n=2e5/d=128+128", func(b *testing.B) {
			paths := copyKVInput(b, ext, n, d)
			var fileBytes int64
			from := ""
			for i, p := range paths {
				st, err := os.Stat(p)
				if err != nil {
					b.Fatal(err)
				}
				fileBytes += st.Size()
				if i > 0 {
					from += ", "
				}
				from += "'" + p + "'"
			}
			sql := "COPY t FROM " + from
			if len(paths) > 1 {
				sql = "COPY t (key, value) FROM " + from
			}
			b.SetBytes(n * 2 * d * 4)
			var cpu, wall time.Duration
			defer func() {
				reportCPU(b, cpu)
				b.ReportMetric(float64(fileBytes)*float64(b.N)/wall.Seconds()/1e6, "file-MB/s")
			}()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := filepath.Join(b.TempDir(), strconv.Itoa(i))
				db, err := softdb.Open(dir, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := db.Exec(ctx, fmt.Sprintf("CREATE TABLE t (key VECTOR(%d), value VECTOR(%d))", d, d)); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				t0, cpu0 := time.Now(), cpuTime()
				res, err := db.Exec(ctx, sql)
				cpu += cpuTime() - cpu0
				wall += time.Since(t0)
				b.StopTimer()
				if err != nil || res.RowsAffected != n {
					b.Fatalf("COPY: %v", err)
				}
				if err := db.Close(); err != nil {
					b.Fatal(err)
				}
				os.RemoveAll(dir)
				b.StartTimer()
			}
		})
	}
}
