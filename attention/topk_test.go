package attention

import (
	"math"
	"sort"
	"testing"
)

func bruteTop(k int, sc []float32, ids []int64) []Scored {
	all := make([]Scored, 0, len(sc))
	for i, s := range sc {
		if s == s {
			all = append(all, Scored{s, ids[i]})
		}
	}
	sort.Slice(all, func(i, j int) bool { return better(all[i], all[j]) })
	return all[:min(k, len(all))]
}

func sameScored(a, b []Scored) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTopKTies: with many equal scores pushed in random order, the lowest ids
// win and come first.
func TestTopKTies(t *testing.T) {
	r := newRand(t)
	ids := r.Perm(100)
	tk := NewTopK(5)
	for _, id := range ids {
		tk.Push(1, int64(id))
	}
	tk.Push(0.5, -1)
	tk.Push(float32(math.NaN()), -2)
	want := []Scored{{1, 0}, {1, 1}, {1, 2}, {1, 3}, {1, 4}}
	if got := tk.Sorted(); !sameScored(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	tk.Push(2, 99)
	if got := tk.Sorted(); got[0] != (Scored{2, 99}) || got[4] != (Scored{1, 3}) {
		t.Fatalf("after a better push: %v", got)
	}
	if NewTopK(0).Push(1, 1); NewTopK(0).Len() != 0 {
		t.Fatal("k=0 kept something")
	}
}

// TestTopKRandom: random scores with duplicates, split into parts pushed into
// separate heaps and merged in random order, equal a sort.
func TestTopKRandom(t *testing.T) {
	r := newRand(t)
	for ci := 0; ci < 300; ci++ {
		n, k := r.IntN(2000), r.IntN(30)
		sc := make([]float32, n)
		ids := make([]int64, n)
		for i := range sc {
			sc[i] = float32(r.IntN(50))
			ids[i] = int64(r.IntN(1 << 40))
		}
		want := bruteTop(k, sc, ids)
		parts := []*TopK{NewTopK(k)}
		for i := range sc {
			if r.IntN(100) == 0 {
				parts = append(parts, NewTopK(k))
			}
			parts[len(parts)-1].Push(sc[i], ids[i])
		}
		r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		all := NewTopK(k)
		for _, p := range parts {
			all.Merge(p)
		}
		if got := all.Sorted(); !sameScored(got, want) {
			t.Fatalf("case %d: got %v want %v", ci, got, want)
		}
	}
}

// TestPushBlock: the fused block path and the batch path equal scoring every
// row and sorting, for every metric, with masks and explicit ids. Integer
// inputs make the scores exact, so every path must agree exactly.
func TestPushBlock(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		r := newRand(t)
		cases := 120
		if testing.Short() {
			cases = 40
		}
		for ci := 0; ci < cases; ci++ {
			m := Metric(r.IntN(3))
			n, d, k := r.IntN(3000), 1+r.IntN(140), 1+r.IntN(20)
			lim := 1 + r.IntN(3)
			keys := randInts(r, n*d, lim)
			mask := randMask(r, n)
			var ids []int64
			all := make([]int64, n)
			for i := range all {
				all[i] = int64(i)
			}
			if r.IntN(2) == 0 {
				ids = make([]int64, n)
				for i := range ids {
					ids[i] = 1000 + 2*int64(i)
				}
				copy(all, ids)
			}
			nq := 1 + r.IntN(6)
			qs := randInts(r, nq*d, lim)
			norms := make([]float32, nq)
			tops := make([]*TopK, nq)
			for a := range tops {
				norms[a] = Norm(qs[a*d : (a+1)*d])
				tops[a] = NewTopK(k)
			}
			TopKBatch(tops, m, qs, norms, keys, d, ids, mask)
			for a := 0; a < nq; a++ {
				q := qs[a*d : (a+1)*d]
				sc := make([]float32, n)
				ScoreRows(sc, m, q, keys, d)
				if mask != nil {
					for i := range sc {
						if mask[i] == 0 {
							sc[i] = float32(math.NaN())
						}
					}
				}
				want := bruteTop(k, sc, all)
				one := NewTopK(k)
				one.PushBlock(m, q, norms[a], keys, d, ids, mask)
				if got := one.Sorted(); !sameScored(got, want) {
					t.Fatalf("case %d %v PushBlock: got %v want %v", ci, m, got, want)
				}
				if got := tops[a].Sorted(); !sameScored(got, want) {
					t.Fatalf("case %d %v TopKBatch query %d: got %v want %v", ci, m, a, got, want)
				}
			}
		}
	})
}

// TestTopKBatchL2Float: on float data the GEMM-form ranking of TopKBatch,
// after exact rescoring, gives PushBlock's answer.
func TestTopKBatchL2Float(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		r := newRand(t)
		for ci := 0; ci < 30; ci++ {
			n, d, k, nq := 1+r.IntN(4000), 1+r.IntN(100), 1+r.IntN(10), 1+r.IntN(7)
			keys := randVec(r, n*d, 10)
			for i := 1; i < n; i += 7 { // exact duplicates
				copy(keys[i*d:(i+1)*d], keys[(i-1)*d:i*d])
			}
			qs := randVec(r, nq*d, 10)
			copy(qs[:d], keys[:d]) // a query equal to a key: distance 0
			tops := make([]*TopK, nq)
			for a := range tops {
				tops[a] = NewTopK(k)
			}
			TopKBatch(tops, L2, qs, nil, keys, d, nil, nil)
			for a := range tops {
				one := NewTopK(k)
				one.PushBlock(L2, qs[a*d:(a+1)*d], 0, keys, d, nil, nil)
				if got, want := tops[a].Sorted(), one.Sorted(); !sameScored(got, want) {
					t.Fatalf("case %d n=%d d=%d query %d: got %v want %v", ci, n, d, a, got, want)
				}
			}
		}
	})
}
