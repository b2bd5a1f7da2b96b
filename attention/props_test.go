package attention

import (
	"math"
	"testing"
)

// TestShiftInvariance: adding a constant to every score changes nothing. The
// constant enters through an extra key component (q′ = [q, 1], k′ = [k, c]),
// with integers so the shifted scores stay exact.
func TestShiftInvariance(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		r := newRand(t)
		for ci := 0; ci < 100; ci++ {
			n, d, dv := 1+r.IntN(500), 1+r.IntN(20), 1+r.IntN(5)
			q, keys := randInts(r, d, 3), randInts(r, n*d, 3)
			values := randVec(r, n*dv, 10)
			T := logUniform(r, 1e-2, 1e3)
			c := float32(r.IntN(2000001) - 1000000)
			q2 := append(append([]float32(nil), q...), 1)
			k2 := make([]float32, 0, n*(d+1))
			for i := 0; i < n; i++ {
				k2 = append(append(k2, keys[i*d:(i+1)*d]...), c)
			}
			a, _ := softOne(Dot, q, keys, d, values, dv, nil, T)
			b, _ := softOne(Dot, q2, k2, d+1, values, dv, nil, T)
			for j := range a {
				if e := math.Abs(float64(a[j] - b[j])); e > 1e-5*maxAbs32(values) {
					t.Fatalf("case %d shift %g: %g vs %g", ci, c, a[j], b[j])
				}
			}
		}
	})
}

// TestColdLimit: T → 0 gives the argmax row's value; exact ties split.
func TestColdLimit(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		keys := []float32{1, 0, 0.5, 0.5, 0, 1, 0.9, 0.1}
		values := []float32{10, 20, 30, 40}
		q := []float32{1, 0}
		for _, invT := range []float64{1e6, 1e30, 1e300, math.Inf(1)} {
			s := NewState(1)
			s.Accumulate(Dot, q, 1, keys, 2, values, 1, nil, invT)
			out := []float32{0}
			if !s.Result(out) || out[0] != 10 {
				t.Fatalf("invT=%g: got %v, want [10]", invT, out)
			}
			// Tie between rows 0 and 3.
			s.Reset()
			s.Accumulate(Dot, q, 1, []float32{1, 0, 0, 1, 0, 0, 1, 0}, 2, values, 1, nil, invT)
			if !s.Result(out) || out[0] != 25 {
				t.Fatalf("invT=%g tie: got %v, want [25]", invT, out)
			}
		}
	})
}

// TestHugeLogits: scores of 10⁴ and 10⁸ give finite, correct blends.
func TestHugeLogits(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		for _, scale := range []float32{1e2, 1e4, 1e8} {
			// Scores scale·{1, 1−1/scale..., −1}: the first two rows are 1 apart.
			keys := []float32{scale, 0, scale - 1, 0, -scale, 0}
			values := []float32{1, 2, 3}
			q := []float32{1, 0}
			for _, T := range []float64{1e-3, 1, 10} {
				got, _ := softOne(Dot, q, keys, 2, values, 1, nil, T)
				want, _, _ := refSoft(Dot, q, keys, 2, values, 1, nil, T)
				if math.IsNaN(float64(got[0])) || math.IsInf(float64(got[0]), 0) || math.Abs(float64(got[0])-want[0]) > 1e-5*3 {
					t.Fatalf("scale %g T %g: got %v want %v", scale, T, got, want)
				}
				w := make([]float64, 3)
				Softmax(w, []float32{scale * scale, scale*scale - 1, -scale * scale}, 1/T)
				if s := w[0] + w[1] + w[2]; math.IsNaN(s) || math.Abs(s-1) > 1e-15 {
					t.Fatalf("Softmax weights %v", w)
				}
			}
		}
	})
}

// TestSoftmaxProperties: weights sum to 1, shifting scores changes nothing,
// +Inf invT splits among the tied best.
func TestSoftmaxProperties(t *testing.T) {
	r := newRand(t)
	for ci := 0; ci < 200; ci++ {
		n := 1 + r.IntN(1000)
		sc := randInts(r, n, 50)
		invT := logUniform(r, 1e-6, 1e3)
		w := make([]float64, n)
		Softmax(w, sc, invT)
		var sum float64
		for _, x := range w {
			sum += x
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Fatalf("sum %g", sum)
		}
		shifted := make([]float32, n)
		for i := range sc {
			shifted[i] = sc[i] + 1e6
		}
		w2 := make([]float64, n)
		Softmax(w2, shifted, invT)
		for i := range w {
			if math.Abs(w[i]-w2[i]) > 1e-12 {
				t.Fatalf("shift changed weight %d: %g vs %g", i, w[i], w2[i])
			}
		}
	}
	w := make([]float64, 4)
	Softmax(w, []float32{1, 3, 3, 2}, math.Inf(1))
	if w[0] != 0 || w[1] != 0.5 || w[2] != 0.5 || w[3] != 0 {
		t.Fatalf("cold Softmax: %v", w)
	}
	Softmax(w[:0], nil, 1) // empty: no panic
}

// TestEmpty: no rows, every row masked, dv = 0.
func TestEmpty(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		s := NewState(2)
		out := []float32{7, 7}
		s.Accumulate(Dot, []float32{1}, 1, nil, 1, nil, 2, nil, 1)
		if !s.Empty() || s.Result(out) || out[0] != 7 {
			t.Fatal("no rows: state not empty or dst touched")
		}
		s.Accumulate(L2, []float32{1}, 1, []float32{1, 2, 3}, 1, []float32{1, 1, 2, 2, 3, 3}, 2, []byte{0, 0, 0}, 1)
		if !s.Empty() || s.Result(out) {
			t.Fatal("all rows masked: state not empty")
		}
		if !math.IsInf(s.LogSumExp(), -1) {
			t.Fatal("LogSumExp of empty state")
		}
		var zero State // the zero value is usable and empty
		zero.Acc = make([]float64, 1)
		zero.Accumulate(Dot, []float32{1}, 1, []float32{2, 4}, 1, []float32{5, 6}, 1, nil, 1)
		one := []float32{0}
		if !zero.Result(one) || math.Abs(float64(one[0])-(5+6*math.E*math.E)/(1+math.E*math.E)) > 1e-5 {
			t.Fatalf("zero-value State: %v", one)
		}
		w := NewState(0) // normaliser only
		w.Accumulate(Dot, []float32{1}, 1, []float32{0, 0}, 1, nil, 0, nil, 1)
		if math.Abs(w.LogSumExp()-math.Log(2)) > 1e-12 {
			t.Fatalf("LogSumExp %g want ln 2", w.LogSumExp())
		}
	})
}

// TestPanics: shape mismatches panic.
func TestPanics(t *testing.T) {
	cases := map[string]func(){
		"query length": func() {
			NewState(1).Accumulate(Dot, []float32{1, 2}, 1, []float32{1, 2, 3}, 3, []float32{1}, 1, nil, 1)
		},
		"ragged keys": func() {
			NewState(1).Accumulate(Dot, []float32{1, 2}, 1, []float32{1, 2, 3}, 2, []float32{1}, 1, nil, 1)
		},
		"values": func() { NewState(1).Accumulate(Dot, []float32{1}, 1, []float32{1, 2}, 1, []float32{1}, 1, nil, 1) },
		"dv":     func() { NewState(2).Accumulate(Dot, []float32{1}, 1, []float32{1}, 1, []float32{1}, 1, nil, 1) },
		"mask": func() {
			NewState(1).Accumulate(Dot, []float32{1}, 1, []float32{1}, 1, []float32{1}, 1, []byte{1, 1}, 1)
		},
		"invT":   func() { NewState(1).Accumulate(Dot, []float32{1}, 1, []float32{1}, 1, []float32{1}, 1, nil, 0) },
		"metric": func() { ScoreRows(make([]float32, 1), Metric(9), []float32{1}, []float32{1}, 1) },
		"merge":  func() { NewState(1).Merge(NewState(2)) },
		"result": func() { NewState(1).Result(make([]float32, 2)) },
		"topk":   func() { NewTopK(-1) },
		"ids":    func() { NewTopK(1).PushBlock(Dot, []float32{1}, 1, []float32{1, 2}, 1, []int64{1}, nil) },
		"batch qs": func() {
			AccumulateBatch([]*State{NewState(1)}, Dot, []float32{1, 2}, nil, []float32{1}, 1, []float32{1}, 1, nil, 1)
		},
		"batch norms": func() { TopKBatch([]*TopK{NewTopK(1)}, Cosine, []float32{1}, nil, []float32{1}, 1, nil, nil) },
	}
	for name, f := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestScoreRows compares every metric with the float64 reference, including
// zero vectors under Cosine.
func TestScoreRows(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		r := newRand(t)
		for ci := 0; ci < 300; ci++ {
			m := Metric(r.IntN(3))
			n, d := r.IntN(200), 1+r.IntN(300)
			q, keys := randVec(r, d, 3), randVec(r, n*d, 3)
			if r.IntN(5) == 0 {
				clear(q)
			}
			if n > 0 {
				clear(keys[:d]) // a zero key
			}
			dst := make([]float32, n)
			ScoreRows(dst, m, q, keys, d)
			bound := scoreErrBound(m, q, keys, d)
			for i := range dst {
				want := refScore(m, q, keys[i*d:(i+1)*d])
				if e := math.Abs(float64(dst[i]) - want); e > bound*1.01+1e-30 {
					t.Fatalf("case %d %v d=%d row %d: %g want %g (err %.3g > %.3g)", ci, m, d, i, dst[i], want, e, bound)
				}
			}
		}
	})
}

// TestScoreBatch: the batch scores are ScoreRows' scores, bit for bit,
// for every metric, shapes that are not multiples of the tiles, and zero
// queries and keys.
func TestScoreBatch(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		r := newRand(t)
		for ci := 0; ci < 200; ci++ {
			m := Metric(r.IntN(3))
			n, d, nq := r.IntN(300), 1+r.IntN(200), 1+r.IntN(8)
			qs, keys := randVec(r, nq*d, 3), randVec(r, n*d, 3)
			if r.IntN(5) == 0 {
				clear(qs[:d])
			}
			if n > 0 {
				clear(keys[:d])
			}
			qnorms := make([]float32, nq)
			for a := range qnorms {
				qnorms[a] = Norm(qs[a*d : (a+1)*d])
			}
			ldd := n + r.IntN(3)
			dst := make([]float32, nq*ldd)
			for i := range dst {
				dst[i] = -7
			}
			ScoreBatch(dst, ldd, m, qs, qnorms, keys, d)
			want := make([]float32, n)
			for a := 0; a < nq; a++ {
				ScoreRows(want, m, qs[a*d:(a+1)*d], keys, d)
				for i := range want {
					if got := dst[a*ldd+i]; math.Float32bits(got) != math.Float32bits(want[i]) {
						t.Fatalf("case %d %v n=%d d=%d query %d row %d: %g, ScoreRows %g", ci, m, n, d, a, i, got, want[i])
					}
				}
				for i := n; i < ldd; i++ {
					if dst[a*ldd+i] != -7 {
						t.Fatalf("case %d: wrote past row %d's scores", ci, a)
					}
				}
			}
		}
	})
}

func TestMetricString(t *testing.T) {
	if Dot.String() != "DOT" || Cosine.String() != "COSINE" || L2.String() != "L2" || Metric(7).String() != "Metric(7)" {
		t.Fatal("Metric.String")
	}
}

// TestExpf checks the polynomial exp over its whole domain against math.Exp.
func TestExpf(t *testing.T) {
	worst := 0.0
	for x := float32(0); x >= -87.3; x -= 0.0013 {
		got, want := float64(expf(x)), math.Exp(float64(x))
		worst = max(worst, math.Abs(got-want)/want)
	}
	if worst > 3e-7 {
		t.Fatalf("expf relative error %g", worst)
	}
	for _, x := range []float32{-88, -1e30, float32(math.Inf(-1)), float32(math.NaN())} {
		if expf(x) != 0 {
			t.Fatalf("expf(%g) = %g, want 0", x, expf(x))
		}
	}
	if expf(0) != 1 {
		t.Fatal("expf(0) != 1")
	}
}

// TestParallelMerge: goroutines accumulate disjoint blocks into their own
// States and TopKs; merging gives the one-shot answer whatever the number
// of goroutines (up to float32 rounding from shifted chunk boundaries).
func TestParallelMerge(t *testing.T) {
	r := newRand(t)
	const n, d, dv = 20000, 24, 5
	q, keys := randVec(r, d, 1), randVec(r, n*d, 1)
	values := randVec(r, n*dv, 3)
	want, _ := softOne(L2, q, keys, d, values, dv, nil, 0.7)
	wantTop := NewTopK(7)
	wantTop.PushBlock(L2, q, 0, keys, d, nil, nil)
	for _, workers := range []int{1, 2, 3, 8} {
		states := make([]*State, workers)
		tops := make([]*TopK, workers)
		done := make(chan int)
		for w := 0; w < workers; w++ {
			go func(w int) {
				lo, hi := n*w/workers, n*(w+1)/workers
				states[w] = NewState(dv)
				states[w].Accumulate(L2, q, 0, keys[lo*d:hi*d], d, values[lo*dv:hi*dv], dv, nil, 1/0.7)
				ids := make([]int64, hi-lo)
				for i := range ids {
					ids[i] = int64(lo + i)
				}
				tops[w] = NewTopK(7)
				tops[w].PushBlock(L2, q, 0, keys[lo*d:hi*d], d, ids, nil)
				done <- w
			}(w)
		}
		all, top := NewState(dv), NewTopK(7)
		for range states {
			w := <-done
			all.Merge(states[w])
			top.Merge(tops[w])
		}
		got := make([]float32, dv)
		all.Result(got)
		for j := range got {
			if math.Abs(float64(got[j]-want[j])) > 2e-6*3 {
				t.Fatalf("%d workers: %v want %v", workers, got, want)
			}
		}
		if !sameScored(top.Sorted(), wantTop.Sorted()) {
			t.Fatalf("%d workers: top %v want %v", workers, top.Sorted(), wantTop.Sorted())
		}
	}
}

// TestAccumulateIsScoresThenFold: Accumulate, which scores scanRows rows
// at a time before folding them chunk by chunk, gives exactly the state of
// scoring every row first and folding the scores (AccumulateScores), with
// and without a mask, for row counts around the scan and chunk lengths.
func TestAccumulateIsScoresThenFold(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		r := newRand(t)
		sizes := []int{1, chunk - 1, chunk, chunk + 1, scanRows - 1, scanRows, scanRows + 1, 2*scanRows + chunk + 3}
		for ci := 0; ci < 60; ci++ {
			n, d, dv := sizes[ci%len(sizes)], 1+r.IntN(140), 1+r.IntN(20)
			m := Metric(r.IntN(3))
			q, keys, values := randVec(r, d, 1), randVec(r, n*d, 1), randVec(r, n*dv, 3)
			var mask []byte
			if ci%2 == 1 {
				mask = randMask(r, n)
			}
			invT := logUniform(r, 1e-2, 1e2)
			qnorm := Norm(q)
			a := NewState(dv)
			a.Accumulate(m, q, qnorm, keys, d, values, dv, mask, invT)
			sc := make([]float32, n)
			ScoreRows(sc, m, q, keys, d)
			b := NewState(dv)
			b.AccumulateScores(sc, values, dv, mask, invT)
			if a.Max != b.Max || a.Sum != b.Sum {
				t.Fatalf("case %d n=%d d=%d %v: (max, sum) = (%g, %g), scores then fold (%g, %g)", ci, n, d, m, a.Max, a.Sum, b.Max, b.Sum)
			}
			for j := range a.Acc {
				if a.Acc[j] != b.Acc[j] {
					t.Fatalf("case %d n=%d d=%d %v: Acc[%d] = %g, scores then fold %g", ci, n, d, m, j, a.Acc[j], b.Acc[j])
				}
			}
		}
	})
}
