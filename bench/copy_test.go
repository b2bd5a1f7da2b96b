package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	chromem "github.com/philippgille/chromem-go"
	"github.com/softdb/softdb"
	"github.com/softdb/softdb/formats"
	"github.com/softdb/softdb/types"
)

func TestMain(m *testing.M) {
	code := m.Run()
	closeShared()
	os.Exit(code)
}

// copyInput returns a file of n random d-dimensional vectors (one column
// "key") in format ext, writing it on first use.
func copyInput(b *testing.B, ext string, n, d int) string {
	return once(b, fmt.Sprintf("copy %s/%d/%d", ext, n, d), func(dir string) string {
		path := filepath.Join(dir, fmt.Sprintf("v_%d_%d.%s", n, d, ext))
		w, err := formats.CreateWriter(path, []formats.Column{{Name: "key", Type: types.Type{Kind: types.Vector, Dim: d}}}, formats.Options{})
		if err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(11, 13))
		row := []types.Value{{}}
		for i := 0; i < n; i++ {
			row[0] = types.VectorValue(randVec(rng, d))
			if err := w.Write(row); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		return path
	})
}

// cpuTime returns the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the CPU time per operation (all threads, the kernel's
// share included): on a shared, noisy machine it varies less than the
// wall time.
func reportCPU(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

// BenchmarkCopy: COPY … FROM a file of n vectors into a fresh table of a
// fresh on-disk database; a COPY returns once the rows are durable. Bytes
// are the vectors' float32 bytes. Peers on the same bytes, in the same
// run: fsync (write the bytes to a file and fsync it: what the disk
// allows) and chromem-go's AddDocuments (in memory; and persistent, which
// writes a gob file per document without fsync). cpu-ms/op is the CPU
// time of the timed part, on all threads.
//
//	go test -run=NONE -bench=Copy -benchtime=5x -count=5 ./bench
func BenchmarkCopy(b *testing.B) {
	const n, d = 200_000, 128
	size := fmt.Sprintf("n=2e5/d=%d", d)
	ctx := context.Background()
	for _, ext := range []string{"npy", "fvecs", "csv", "jsonl"} {
		b.Run(ext+"/"+size, func(b *testing.B) {
			path := copyInput(b, ext, n, d)
			b.SetBytes(n * d * 4)
			var cpu time.Duration
			defer func() { reportCPU(b, cpu) }()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := filepath.Join(b.TempDir(), strconv.Itoa(i))
				db, err := softdb.Open(dir, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := db.Exec(ctx, fmt.Sprintf("CREATE TABLE t (key VECTOR(%d))", d)); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				cpu0 := cpuTime()
				res, err := db.Exec(ctx, fmt.Sprintf("COPY t FROM '%s'", path))
				cpu += cpuTime() - cpu0
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
	b.Run("fsync/"+size, func(b *testing.B) {
		buf := make([]byte, 1<<20)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range buf {
			buf[i] = byte(rng.Uint32())
		}
		total := n * d * 4
		b.SetBytes(int64(total))
		dir := b.TempDir()
		var cpu time.Duration
		defer func() { reportCPU(b, cpu) }()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			cpu0 := cpuTime()
			path := filepath.Join(dir, strconv.Itoa(i))
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			for left := total; left > 0; left -= len(buf) {
				if _, err := f.Write(buf[:min(left, len(buf))]); err != nil {
					b.Fatal(err)
				}
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			f.Close()
			cpu += cpuTime() - cpu0
			b.StopTimer()
			os.Remove(path)
			b.StartTimer()
		}
	})
	for _, persistent := range []bool{false, true} {
		name := "chromem-go-memory/"
		if persistent {
			name = "chromem-go-persistent/"
		}
		b.Run(name+size, func(b *testing.B) {
			if persistent && testing.Short() {
				b.Skip("chromem-go persistent takes about 20 s per load")
			}
			rng := rand.New(rand.NewPCG(11, 13))
			docs := make([]chromem.Document, n)
			for i := range docs {
				docs[i] = chromem.Document{ID: strconv.Itoa(i), Embedding: randVec(rng, d)}
			}
			b.SetBytes(n * d * 4)
			var cpu time.Duration
			defer func() { reportCPU(b, cpu) }()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				var db *chromem.DB
				dir := filepath.Join(b.TempDir(), strconv.Itoa(i))
				if persistent {
					var err error
					if db, err = chromem.NewPersistentDB(dir, false); err != nil {
						b.Fatal(err)
					}
				} else {
					db = chromem.NewDB()
				}
				col, err := db.CreateCollection("t", nil, func(context.Context, string) ([]float32, error) {
					return nil, fmt.Errorf("no embedding function")
				})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				cpu0 := cpuTime()
				if err := col.AddDocuments(ctx, docs, 2); err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - cpu0
				b.StopTimer()
				os.RemoveAll(dir)
				b.StartTimer()
			}
		})
	}
}
