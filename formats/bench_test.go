package formats

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/softdb/softdb/types"
)

// Benchmark files are made once per run and shared by the sub-benchmarks.
var (
	benchOnce  sync.Once
	benchDir   string
	benchFiles = map[string]string{}
	benchMu    sync.Mutex
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchRows are n embedding-like rows: a VECTOR(d) of N(0, 0.1) values.
func benchRows(n, d int) [][]types.Value {
	rng := rand.New(rand.NewPCG(42, uint64(d)))
	rows := make([][]types.Value, n)
	for i := range rows {
		v := make([]float32, d)
		for k := range v {
			v[k] = float32(rng.NormFloat64() * 0.1)
		}
		rows[i] = []types.Value{types.VectorValue(v)}
	}
	return rows
}

func benchFile(b *testing.B, format string, n, d int) string {
	benchOnce.Do(func() {
		var err error
		if benchDir, err = os.MkdirTemp("", "formats-bench-"); err != nil {
			b.Fatal(err)
		}
	})
	benchMu.Lock()
	defer benchMu.Unlock()
	key := fmt.Sprintf("%s/%d/%d", format, n, d)
	if p, ok := benchFiles[key]; ok {
		return p
	}
	p := filepath.Join(benchDir, fmt.Sprintf("n%d-d%d.%s", n, d, format))
	writeAll(b, p, []Column{col("key", vec(d))}, Options{}, benchRows(n, d))
	benchFiles[key] = p
	return p
}

// BenchmarkRead reads a whole file of n rows of one VECTOR(d) column.
// MB/s is of the file; vec-MB/s is of the float32 data (n·d·4 bytes).
func BenchmarkRead(b *testing.B) {
	const n, d = 100_000, 128
	for _, format := range []string{"npy", "fvecs", "csv", "jsonl", "parquet"} {
		b.Run(fmt.Sprintf("%s/n=1e5/d=%d", format, d), func(b *testing.B) {
			readWhole(b, benchFile(b, format, n, d), []Column{col("key", vec(d))}, n, n*d*4)
		})
	}
}

// readWhole reads the file at p, of n rows of cols, b.N times. MB/s is of
// the file; vec-MB/s is of its vecBytes of float32 data.
func readWhole(b *testing.B, p string, cols []Column, n, vecBytes int) {
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	row := make([]types.Value, len(cols))
	b.SetBytes(st.Size())
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for range b.N {
		r, err := OpenReader(p, cols, Options{})
		if err != nil {
			b.Fatal(err)
		}
		rows := 0
		for {
			err := r.Next(row)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows++
		}
		r.Close()
		if rows != n {
			b.Fatalf("%d rows", rows)
		}
	}
	b.ReportMetric(float64(vecBytes)*float64(b.N)/time.Since(start).Seconds()/1e6, "vec-MB/s")
	// On a shared machine wall time depends on the neighbours; the rate
	// per CPU-second of this process does much less.
	b.ReportMetric(float64(st.Size())*float64(b.N)/(cpuTime()-cpu0).Seconds()/1e6, "cpu-MB/s")
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWrite writes n rows of one VECTOR(d) column, fsync included.
func BenchmarkWrite(b *testing.B) {
	const n, d = 100_000, 128
	rows := benchRows(n, d)
	for _, format := range []string{"npy", "fvecs", "csv", "jsonl", "parquet"} {
		b.Run(fmt.Sprintf("%s/n=1e5/d=%d", format, d), func(b *testing.B) {
			p := filepath.Join(b.TempDir(), "w."+format)
			b.SetBytes(int64(n * d * 4))
			b.ReportAllocs()
			for range b.N {
				writeAll(b, p, []Column{col("key", vec(d))}, Options{}, rows)
			}
		})
	}
}

// BenchmarkReadKV reads csv and jsonl files of 2e5 rows of two VECTOR(128)
// columns (key, value), the shape of COPY's text benchmark in bench/.
// MB/s is of the file; vec-MB/s is of the float32 data (n·2d·4 bytes).
//
//	go test -run=NONE -bench=ReadKV -count=5 ./formats
func BenchmarkReadKV(b *testing.B) {
	const n, d = 200_000, 128
	cols := []Column{col("key", vec(d)), col("value", vec(d))}
	for _, format := range []string{"csv", "jsonl"} {
		b.Run(fmt.Sprintf("%s/n=2e5/d=128+128", format), func(b *testing.B) {
			readWhole(b, benchKVFile(b, format, n, d), cols, n, n*2*d*4)
		})
	}
}

// benchKVFile writes (once) n rows of key and value VECTOR(d), N(0, 1)
// elements as in bench/'s COPY inputs.
func benchKVFile(b *testing.B, format string, n, d int) string {
	benchOnce.Do(func() {
		var err error
		if benchDir, err = os.MkdirTemp("", "formats-bench-"); err != nil {
			b.Fatal(err)
		}
	})
	benchMu.Lock()
	defer benchMu.Unlock()
	key := fmt.Sprintf("kv %s/%d/%d", format, n, d)
	if p, ok := benchFiles[key]; ok {
		return p
	}
	p := filepath.Join(benchDir, fmt.Sprintf("kv-n%d-d%d.%s", n, d, format))
	cols := []Column{col("key", vec(d)), col("value", vec(d))}
	w, err := CreateWriter(p, cols, Options{})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 13))
	row := make([]types.Value, 2)
	for range n {
		for j := range row {
			v := make([]float32, d)
			for k := range v {
				v[k] = float32(rng.NormFloat64())
			}
			row[j] = types.VectorValue(v)
		}
		if err := w.Write(row); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	benchFiles[key] = p
	return p
}
