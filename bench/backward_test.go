package bench

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/softdb/softdb"
)

// BenchmarkBackward: SOFT SELECT … BACKWARD value = g (the blend, its
// gradient pass, grad_query and grad_temperature) against the forward
// SOFT SELECT of the same blend, on 200,000 × 128 (keys and values),
// one query, through prepared statements. The two run alternately in one
// loop, so that a noisy shared host slows both alike; the benchmark
// reports each one's median and the ratio of the medians (x-forward).
//
//	go test -run=NONE -bench=Backward -benchtime=20x ./bench
func BenchmarkBackward(b *testing.B) {
	const n, d = 200_000, 128
	for _, metric := range []string{"DOT", "COSINE", "L2"} {
		b.Run("n=2e5/d=128/"+metric, func(b *testing.B) {
			db := softTable(b, n, d)
			ctx := context.Background()
			using := " USING " + metric + " TEMPERATURE √d"
			fwd := prepare(b, db, "SOFT SELECT value FROM t MATCH ?"+using)
			bwd := prepare(b, db, "SOFT SELECT value, grad_query, grad_temperature FROM t MATCH ?"+using+" BACKWARD value = ?")
			rng := rand.New(rand.NewPCG(2, 2))
			q, g := randVec(rng, d), randVec(rng, d)
			var out, gq []float32
			var gT float64
			var tf, tb []float64 // seconds
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if err := fwd.QueryRow(ctx, q).Scan(&out); err != nil {
					b.Fatal(err)
				}
				tf = append(tf, time.Since(start).Seconds())
				start = time.Now()
				if err := bwd.QueryRow(ctx, q, g).Scan(&out, &gq, &gT); err != nil {
					b.Fatal(err)
				}
				tb = append(tb, time.Since(start).Seconds())
			}
			b.StopTimer()
			mf, mb := median(tf), median(tb)
			b.ReportMetric(mf*1e3, "fwd-ms")
			b.ReportMetric(mb*1e3, "bwd-ms")
			b.ReportMetric(mb/mf, "x-forward")
		})
	}
}

// BenchmarkBackwardBatch: a batch of 64 queries with BACKWARD against the
// same batch's forward blend, alternately in one loop, as BenchmarkBackward.
// The forward runs in register tiles of 3 queries (AccumulateBatch); the
// gradient pass takes 512 rows at a time for all queries of a block.
func BenchmarkBackwardBatch(b *testing.B) {
	const m, n, d = 64, 200_000, 128
	b.Run("m=64/n=2e5/d=128", func(b *testing.B) {
		db := softTable(b, n, d)
		queryTable(b, db, m, d)
		ctx := context.Background()
		fwd := prepare(b, db, "SOFT SELECT qrow, value FROM t MATCH (SELECT key FROM q64) TEMPERATURE √d")
		bwd := prepare(b, db, "SOFT SELECT qrow, value, grad_query FROM t MATCH (SELECT key FROM q64) TEMPERATURE √d BACKWARD value = ?")
		g := randVec(rand.New(rand.NewPCG(2, 2)), d)
		var tf, tb []float64
		run := func(st interface {
			Query(context.Context, ...any) (*softdb.Rows, error)
		}, args ...any) float64 {
			start := time.Now()
			rows, err := st.Query(ctx, args...)
			if err != nil {
				b.Fatal(err)
			}
			got := 0
			for rows.Next() {
				got++
			}
			if err := rows.Err(); err != nil || got != m {
				b.Fatalf("%d rows, %v", got, err)
			}
			rows.Close()
			return time.Since(start).Seconds()
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			tf = append(tf, run(fwd))
			tb = append(tb, run(bwd, g))
		}
		b.StopTimer()
		mf, mb := median(tf), median(tb)
		b.ReportMetric(mf*1e3, "fwd-ms")
		b.ReportMetric(mb*1e3, "bwd-ms")
		b.ReportMetric(mb/mf, "x-forward")
	})
}
