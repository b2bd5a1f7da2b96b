package attention

// chunk is the number of rows scored, weighted and blended at a time. Its
// scores live on the stack, and its float32 partial sums stay accurate: a
// sum of 64 products errs by at most 64·2⁻²⁴ ≈ 3.8e-6 relative before it is
// folded into float64 (Higham, Accuracy and Stability of Numerical
// Algorithms, 2nd ed., §4.2).
const chunk = 64

// ScoreRows sets dst[i] = score(q, keys[i*d:(i+1)*d]) for i < len(dst).
// It panics unless len(q) == d and keys holds at least len(dst) rows.
func ScoreRows(dst []float32, m Metric, q, keys []float32, d int) {
	m.check()
	checkQuery(q, d)
	if len(keys) < len(dst)*d {
		panic("attention: ScoreRows: keys shorter than len(dst) rows")
	}
	var qnorm float32
	if m == Cosine {
		qnorm = Norm(q)
	}
	var kk [chunk]float32
	for start := 0; start < len(dst); start += chunk {
		end := min(start+chunk, len(dst))
		scoreChunk(dst[start:end], kk[:], m, q, qnorm, keys[start*d:end*d], d)
	}
}

// scoreChunk scores len(dst) ≤ chunk rows; kk is scratch of length ≥ len(dst).
func scoreChunk(dst, kk []float32, m Metric, q []float32, qnorm float32, keys []float32, d int) {
	switch m {
	case Dot:
		kern.dotRows(dst, q, keys, d)
	case Cosine:
		kern.dotNormRows(dst, kk, q, keys, d)
		for i, s := range dst {
			dst[i] = cosine(s, kk[i], qnorm)
		}
	case L2:
		kern.l2Rows(dst, q, keys, d)
		for i, s := range dst {
			dst[i] = -s
		}
	}
}

func checkQuery(q []float32, d int) {
	if d <= 0 {
		panic("attention: dimension must be positive")
	}
	if len(q) != d {
		panic("attention: query length differs from the key dimension")
	}
}

// rows returns the number of rows in keys and panics on a ragged slice.
func rows(keys []float32, d int) int {
	if d <= 0 || len(keys)%d != 0 {
		panic("attention: keys length is not a multiple of d")
	}
	return len(keys) / d
}

// ScoreBatch is ScoreRows for many queries: dst[a*ldd+i] = score(q_a, k_i)
// for a < len(qs)/d and i < n, with keys n×d. qnorms[a] = ‖q_a‖ is read for
// Cosine only (may be nil otherwise). Keys are scored in register tiles
// (tileQ queries × up to chunk keys), so each key row is read from memory
// once for all queries; every score is bit-identical to ScoreRows'. It
// panics on shape mismatches.
func ScoreBatch(dst []float32, ldd int, m Metric, qs []float32, qnorms []float32, keys []float32, d int) {
	m.check()
	if d <= 0 || len(qs)%d != 0 {
		panic("attention: ScoreBatch: qs is not a whole number of queries")
	}
	nq, n := len(qs)/d, rows(keys, d)
	if m == Cosine && len(qnorms) != nq {
		panic("attention: ScoreBatch: Cosine needs one norm per query")
	}
	if nq == 0 || n == 0 {
		return
	}
	if ldd < n || len(dst) < (nq-1)*ldd+n {
		panic("attention: ScoreBatch: dst too short")
	}
	if nq == 1 {
		ScoreRows(dst[:n], m, qs, keys, d) // one query: keys in memory order
		return
	}
	nk := max(min(chunk, keyTileBytes/(4*d)), 1)
	var kk, p [chunk]float32
	for start := 0; start < n; start += nk {
		end := min(start+nk, n)
		c := end - start
		kc := keys[start*d : end*d]
		if m == Cosine {
			kern.dotNormRows(p[:c], kk[:c], qs[:d], kc, d)
		}
		for a0 := 0; a0 < nq; a0 += tileQ {
			scoreTile(dst[a0*ldd+start:], ldd, m, qs, qnorms, a0, min(a0+tileQ, nq), kc, c, d, kk[:c], false)
		}
	}
}

// scoreTile writes the scores of queries a0 ≤ a < a1 (≤ tileQ of them)
// against the c keys kc into dst[(a−a0)·ldd + i]: exactly ScoreRows'
// scores. kk holds the keys' squared norms (read for Cosine, and for L2
// when rankL2).
//
// With rankL2, L2 rows get 2q·k − ‖k‖² instead: the same order as
// −‖q−k‖² (‖q‖² is common to the row) from the faster dot-product tile,
// but rounded differently, so TopKBatch rescores its best rows exactly.
func scoreTile(dst []float32, ldd int, m Metric, qs, qnorms []float32, a0, a1 int, kc []float32, c, d int, kk []float32, rankL2 bool) {
	if m == L2 && !rankL2 {
		kern.l2Tile(dst, ldd, qs[a0*d:a1*d], a1-a0, kc, c, d)
	} else {
		kern.dotTile(dst, ldd, qs[a0*d:a1*d], a1-a0, kc, c, d)
	}
	for a := a0; a < a1; a++ {
		row := dst[(a-a0)*ldd : (a-a0)*ldd+c]
		switch m {
		case Cosine:
			for i, x := range row {
				row[i] = cosine(x, kk[i], qnorms[a])
			}
		case L2:
			if rankL2 {
				for i, x := range row {
					row[i] = 2*x - kk[i]
				}
				continue
			}
			for i, x := range row {
				row[i] = -x
			}
		}
	}
}
