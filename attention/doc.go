// Package attention holds softdb's numeric kernels: scores, softmax, the
// online-softmax state that blends value rows, and top-k selection. It knows
// nothing of SQL or storage; it works on flat float32 slices, row-major, with
// the destination first (as in gonum).
//
// # Basics
//
// A block is n rows: keys (n×d float32), values (n×dv float32) and an
// optional mask (n bytes; 0 leaves a row out). A query q (d floats) scores
// every key with a Metric (Dot, Cosine, L2; higher is better). SOFT:
//
//	s := attention.NewState(dv)
//	s.Accumulate(attention.Dot, q, attention.Norm(q), keys, d, values, dv, mask, 1/T)
//	ok := s.Result(out) // false: no row took part (SQL NULL)
//
// Accumulate reads each key and value row once: rows are taken in chunks of
// 64, scored, turned into weights relative to the running maximum, and the
// value rows summed in memory order (the online softmax of Milakov &
// Gimelshein, 2018). States over disjoint blocks (segments, goroutines,
// shards) combine exactly with Merge, in any order. AccumulateScores folds
// rows whose scores are already known (TOP k, per-column NULL masks).
// AccumulateBatch runs many queries over one block, scoring a tile of 4
// queries × up to 64 keys at a time, so the keys and values are read from
// memory once for all queries and no queries×rows score matrix is built.
//
// HARD: TopK keeps the k best (score, id) pairs, ties to the lower id;
// PushBlock scores a block into it, TopKBatch does so for many queries, and
// Merge combines TopKs over disjoint blocks. ScoreRows and Softmax expose the
// scores and weights themselves (row-form results).
//
// # Accuracy
//
// Scores are float32 dot products (error ≲ d·2⁻²⁴·Σ|qⱼkⱼ|). Everything after
// the score is stable: logits are shifted by their running maximum before
// exp, so scores of 10⁸ cannot overflow; weights and value sums of a chunk
// are float32 (≤ 64 terms) and folded into float64, so the error does not
// grow with the number of rows. Against a float64 evaluation from the same
// float32 inputs, blends are within 1e-5·max|v| when scores are exact; a
// small T magnifies float32 score rounding δ into a relative weight error of
// about e^(2δ/T)−1, which the tests add to the tolerance.
//
// # Kernels
//
// The inner loops exist as plain Go ("generic") and as Go assembly for
// AVX2+FMA ("avx2"), chosen at start-up from the CPU's features
// (golang.org/x/sys/cpu). SOFTDB_KERNEL=generic|avx2 forces one (an
// unsupported name keeps the automatic choice) and the build tag purego
// leaves only the generic one; Kernel reports the set in use. The sets
// differ only in rounding and pass the same tests.
//
// # Caveats
//
// Inputs must be finite (softdb rejects NaN and ±Inf on the way in). A score
// beyond the float32 range (components above ~1e19) is not meaningful; a
// row whose score is NaN takes no part, in SOFT and in TopK alike. With
// T → 0 (invT = +Inf) all the weight goes to the best score, split equally
// among exact ties; SQL's "lowest rowid wins" rule for HARD is TopK's.
// States and TopKs are not safe for concurrent use: give each goroutine its
// own and merge.
package attention
