package attention

import "bytes"

// tileQ is the number of queries scored together against a chunk of keys:
// the assembly micro-kernels keep up to tileQ×(a few) dot products in
// registers (3 queries at a time with AVX2, 6 with AVX-512; see
// kernel_amd64.go), and the chunk stays in L1 while every query of the
// tile reads it.
const tileQ = 6

// keyTileBytes bounds the key rows of one tile so that they stay in the
// per-core L2 cache (512 KiB on Zen 3/4) while every query tile reads them.
const keyTileBytes = 256 << 10

// AccumulateBatch is Accumulate for M queries against the same block:
// qs is M×d row-major, states[a] receives query a, qnorms[a] = ‖q_a‖ (only
// read for Cosine; may be nil otherwise). Keys are scored tile by tile
// (tileQ queries × up to chunk keys, FlashAttention-style: Dao et al. 2022),
// so no M×N score matrix is ever built and each chunk of keys and values is
// read from memory once for all queries. Scores and value sums beyond
// float32's range are handled as in Accumulate, query by query.
func AccumulateBatch(states []*State, m Metric, qs []float32, qnorms []float32, keys []float32, d int, values []float32, dv int, mask []byte, invT float64) {
	m.check()
	nq := len(states)
	if len(qs) != nq*d {
		panic("attention: AccumulateBatch: qs must hold len(states)×d floats")
	}
	if m == Cosine && len(qnorms) != nq {
		panic("attention: AccumulateBatch: Cosine needs one norm per query")
	}
	n := rows(keys, d)
	for _, s := range states {
		s.checkBlock(n, values, dv, mask)
	}
	checkInvT(invT)
	if nq == 0 {
		return
	}
	for _, s := range states {
		s.save()
	}
	nk := max(min(chunk, keyTileBytes/(4*d)), 1)
	dvp := (dv + 7) &^ 7
	pvbuf := make([]float32, tileQ*dvp)
	var tile [tileQ * chunk]float32
	var kk, p [chunk]float32
	var refs [tileQ]float32
	var sums [tileQ]float64
	var oks [tileQ]bool
	for start := 0; start < n; start += nk {
		end := min(start+nk, n)
		c := end - start
		kc := keys[start*d : end*d]
		vc := values[start*dv : end*dv]
		// The next tile's rows, in memory order, while this one is
		// computed (the tile kernels read several rows at a time).
		next := min(end+nk, n)
		kern.prefetch(keys[end*d : next*d])
		kern.prefetch(values[end*dv : next*dv])
		var mk []byte
		if mask != nil {
			mk = mask[start:end]
			if allZero(mk) {
				continue
			}
			if bytes.IndexByte(mk, 0) < 0 {
				mk = nil // every row in: no query need apply the mask
			}
		}
		if m == Cosine {
			kern.dotNormRows(p[:c], kk[:c], qs[:d], kc, d)
		}
		for a0 := 0; a0 < nq; a0 += tileQ {
			a1 := min(a0+tileQ, nq)
			// QKᵀ for the tile, then each query's weights.
			over := scoreTile(tile[:], chunk, m, qs, qnorms, a0, a1, kc, c, d, kk[:c])
			for a := a0; a < a1; a++ {
				row := tile[(a-a0)*chunk : (a-a0)*chunk+c]
				if over&(1<<(a-a0)) != 0 && overflowAt(row, mk) {
					states[a].overflow = true
				}
				refs[a-a0], sums[a-a0], oks[a-a0] = states[a].weights(row, mk, invT)
			}
			// PV for the tile: each value row is loaded once for all its queries.
			kern.pv(pvbuf, dvp, tile[:], chunk, a1-a0, vc, c, dv)
			for a := a0; a < a1; a++ {
				if oks[a-a0] {
					s := states[a]
					x, y := s.mergeSum(refs[a-a0], sums[a-a0], invT)
					kern.scaleAdd(s.Acc, pvbuf[(a-a0)*dvp:(a-a0)*dvp+dv], x, y)
				}
			}
		}
	}
	// Value sums that overflowed float32 (see State.finite): that query's
	// block again, alone, with float64 sums.
	for a, s := range states {
		if !s.finite() {
			var qnorm float32
			if m == Cosine {
				qnorm = qnorms[a]
			}
			s.restore()
			s.accumulate(m, qs[a*d:(a+1)*d], qnorm, keys, d, values, dv, mask, invT, true)
		}
	}
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
