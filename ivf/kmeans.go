package ivf

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/softdb/softdb/attention"
)

// Training parameters. FAISS's Clustering uses at most 256 training points
// per centroid, warns below 39 (ClusteringParameters' max_ and
// min_points_per_centroid, faiss/Clustering.cpp) and runs 25 iterations
// by default; k-means' objective changes
// little after the first few Lloyd iterations on a sample, and the bounds
// of this package do not depend on the clustering being good (only on each
// list's members), so softdb trains on fewer points for a bounded build
// time: 64 points per list, 8 iterations.
const (
	samplePerList = 64
	trainIters    = 8
)

// DefaultLists is the number of lists for a table of n rows: n/1000 up to
// 10⁶ rows and √n beyond, the rule pgvector's documentation recommends
// for ivfflat, at least 1.
func DefaultLists(n int) int {
	l := n / 1000
	if n > 1_000_000 {
		l = int(math.Sqrt(float64(n)))
	}
	return max(1, min(l, MaxLists))
}

// MaxLists bounds the number of lists of one index.
const MaxLists = 1 << 16

// Train runs k-means (Lloyd's algorithm from k-means++ seeds, Arthur &
// Vassilvitskii 2007, drawn from a sub-sample of 8 rows a list) on a
// seeded sample of the n rows of keys (row i is keys[i*d:(i+1)*d]) and
// returns lists centroids, lists×d. The result is a function of (keys, d,
// lists, seed) and the kernel set only, whatever the number of cores.
func Train(keys []float32, d, lists int, seed uint64) []float32 {
	cent, _ := TrainRows(context.Background(), len(keys)/d, func(i int) []float32 { return keys[i*d : (i+1)*d] }, d, lists, seed)
	return cent
}

// TrainRows is Train over n rows that row returns (row i, d values), so
// that the rows need not be copied into one array: only the sample is.
// It stops with ctx's error between iterations once ctx is done.
func TrainRows(ctx context.Context, n int, row func(i int) []float32, d, lists int, seed uint64) ([]float32, error) {
	if lists < 1 || n < 1 {
		panic("ivf: Train needs at least one row and one list")
	}
	lists = min(lists, n)
	rng := rand.New(rand.NewPCG(seed, 0x5eed1df))
	// The sample: a seeded partial Fisher–Yates shuffle.
	m := min(n, samplePerList*lists)
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	for i := 0; i < m; i++ {
		j := i + rng.IntN(n-i)
		perm[i], perm[j] = perm[j], perm[i]
	}
	sample := make([]float32, m*d)
	for i := 0; i < m; i++ {
		copy(sample[i*d:(i+1)*d], row(int(perm[i])))
	}
	cent := seedPlusPlus(sample, d, lists, rng)
	assign := make([]int32, m)
	sums := make([]float64, lists*d)
	counts := make([]int, lists)
	for it := 0; it < trainIters; it++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		Assign(assign, sample, d, cent)
		clear(sums)
		clear(counts)
		for i, a := range assign {
			counts[a]++
			row := sample[i*d : (i+1)*d]
			s := sums[int(a)*d : int(a+1)*d]
			for j, x := range row {
				s[j] += float64(x)
			}
		}
		for c := 0; c < lists; c++ {
			dst := cent[c*d : (c+1)*d]
			if counts[c] == 0 {
				// An empty cluster takes a random sample row (FAISS splits
				// the largest; either keeps k lists).
				copy(dst, sample[rng.IntN(m)*d:])
				continue
			}
			inv := 1 / float64(counts[c])
			for j := range dst {
				dst[j] = float32(sums[c*d+j] * inv)
			}
		}
	}
	return cent, nil
}

// assignBlock is how many rows Assign scores against the centroids at a
// time: 256 rows × up to 4096 centroids of scores is 4 MiB.
const assignBlock = 256

// Assign sets dst[i] to the centroid nearest (in L2) to row i of keys, the
// lower index among equals (as float64 distances rank them), for len(dst)
// rows. Rows are spread over the cores in blocks; each row's result does
// not depend on the split, nor on the kernel that computed it.
//
// With AVX2 and FMA it ranks centroids by the GEMM form of the distance,
// ‖x−c‖² = ‖x‖² − 2(x·c − ‖c‖²/2), as FAISS's exhaustive L2 search does,
// on an outer-product register tile (gemm_amd64.s: one multiply-add a
// component, where attention's L2 tile needs a subtraction too and
// reduces across lanes). Otherwise it uses attention's L2 tiles, whose
// ‖x−c‖² in float32 is within a relative γ = (d+2)·2⁻²⁴ of the exact
// value (Higham, "Accuracy and Stability of Numerical Algorithms", §3.1:
// a difference, a square and a sum of d terms, all non-negative). Either
// way, when the second-best score is within twice its error bound of the
// best (a possible tie: rare, mostly duplicate or equidistant centroids),
// every centroid that close is ranked again by its float64 distance.
func Assign(dst []int32, keys []float32, d int, cent []float32) {
	if haveGEMM && !assignGEMM(dst, keys, d, cent) {
		return
	}
	assignL2(dst, keys, d, cent)
}

// assignL2 is Assign on attention's L2 tiles.
func assignL2(dst []int32, keys []float32, d int, cent []float32) {
	n, L := len(dst), len(cent)/d
	nb := (n + assignBlock - 1) / assignBlock
	workers := min(runtime.GOMAXPROCS(0), nb)
	tol := 1 + 4*float64(d+2)/(1<<24)
	var wg sync.WaitGroup
	var next sync.Mutex
	b := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scores := make([]float32, assignBlock*L)
			var cand []int
			for {
				next.Lock()
				blk := b
				b++
				next.Unlock()
				if blk >= nb {
					return
				}
				lo, hi := blk*assignBlock, min((blk+1)*assignBlock, n)
				// Rows are the queries, centroids the keys: −‖x−c‖². A
				// score beyond float32's range (−Inf) leaves the row to
				// the float64 ranking.
				_ = attention.ScoreBatch(scores, L, attention.L2, keys[lo*d:hi*d], nil, cent, d)
				for i := lo; i < hi; i++ {
					row := scores[(i-lo)*L : (i-lo+1)*L]
					best, second := 0, float32(math.Inf(-1))
					for c := 1; c < L; c++ {
						switch s := row[c]; {
						case s > row[best]:
							best, second = c, row[best]
						case s > second:
							second = s
						}
					}
					k := keys[i*d : (i+1)*d]
					bd := -float64(row[best])
					if math.IsInf(bd, 0) || math.IsNaN(bd) {
						dst[i] = exactNearest(k, cent, d, nil)
						continue
					}
					lim := bd * tol
					if -float64(second) > lim {
						dst[i] = int32(best)
						continue
					}
					cand = cand[:0]
					for c, s := range row {
						if -float64(s) <= lim {
							cand = append(cand, c)
						}
					}
					dst[i] = exactNearest(k, cent, d, cand)
				}
			}
		}()
	}
	wg.Wait()
}

// gemmRows is how many rows a GEMM block holds (the tile's).
const gemmRows = 6

// assignGEMM is Assign on the GEMM tile. It returns true, having done
// nothing, when the centroids' norms are too large for float32 sums.
func assignGEMM(dst []int32, keys []float32, d int, cent []float32) (fallback bool) {
	n, L := len(dst), len(cent)/d
	if n == 0 {
		return false
	}
	// Pack the centroids in blocks of 16, component-major, with
	// negh[c] = −‖c‖²/2; padding centroids never win (−MaxFloat32).
	Lp := (L + 15) / 16 * 16
	cp := make([]float32, Lp*d)
	negh := make([]float32, Lp)
	var cmax float64
	for c := 0; c < Lp; c++ {
		if c >= L {
			negh[c] = -math.MaxFloat32
			continue
		}
		row := cent[c*d : (c+1)*d]
		blk, lane := c/16, c%16
		var s float64
		for j, x := range row {
			cp[blk*16*d+j*16+lane] = x
			s += float64(x) * float64(x)
		}
		negh[c] = -float32(s / 2)
		cmax = max(cmax, math.Sqrt(s))
	}
	if cmax*cmax > 1e30 {
		return true
	}
	const u = 1.0 / (1 << 24)
	gamma := float64(d+3) * u
	nb := (n + gemmRows - 1) / gemmRows
	// Blocks of rows go to the workers in runs of 64 blocks.
	const run = 64
	nr := (nb + run - 1) / run
	workers := min(runtime.GOMAXPROCS(0), nr)
	var wg sync.WaitGroup
	var next sync.Mutex
	r := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]float32, gemmRows*Lp)
			pad := make([]float32, gemmRows*d)
			var cand []int
			for {
				next.Lock()
				rr := r
				r++
				next.Unlock()
				if rr >= nr {
					return
				}
				for blk := rr * run; blk < min((rr+1)*run, nb); blk++ {
					lo, hi := blk*gemmRows, min((blk+1)*gemmRows, n)
					x := keys[lo*d:]
					if hi-lo < gemmRows {
						clear(pad)
						copy(pad, keys[lo*d:hi*d])
						x = pad
					}
					for c := 0; c < Lp; c += 16 {
						tile6x16(out[c:], Lp, x, d, cp[c*d:(c+16)*d], negh[c:c+16], d)
					}
					for i := lo; i < hi; i++ {
						row := out[(i-lo)*Lp : (i-lo)*Lp+L]
						k := keys[i*d : (i+1)*d]
						// Each score x·c − ‖c‖²/2 is off by at most
						// γ·(‖x‖‖c‖ + ‖c‖²/2) plus the rounding of ‖c‖²/2
						// (Higham §3.1, Cauchy–Schwarz): e bounds it.
						var kk float64
						for _, v := range k {
							kk += float64(v) * float64(v)
						}
						kn := math.Sqrt(kk)
						e := gamma*(kn*cmax+cmax*cmax/2) + u*cmax*cmax
						bs := float64(attention.Max(row))
						if math.IsInf(bs, 0) || math.IsNaN(bs) || kn*cmax > 1e30 {
							dst[i] = exactNearest(k, cent, d, nil)
							continue
						}
						// The candidates: every score within 2e of the
						// best (lim rounded down to float32).
						lim := float32(bs - 2*e)
						if float64(lim) > bs-2*e {
							lim = math.Nextafter32(lim, float32(math.Inf(-1)))
						}
						cand = cand[:0]
						for c, s := range row {
							if s >= lim {
								cand = append(cand, c)
							}
						}
						if len(cand) == 1 {
							dst[i] = int32(cand[0])
							continue
						}
						dst[i] = exactNearest(k, cent, d, cand)
					}
				}
			}
		}()
	}
	wg.Wait()
	return false
}

// exactNearest returns the centroid among cand (nil: all) nearest to k in
// float64, the lower index among equals.
func exactNearest(k, cent []float32, d int, cand []int) int32 {
	best, bd := -1, math.Inf(1)
	try := func(c int) {
		var s float64
		for j, x := range cent[c*d : (c+1)*d] {
			e := float64(k[j]) - float64(x)
			s += e * e
		}
		if s < bd || s == bd && c < best || best < 0 {
			best, bd = c, s
		}
	}
	if cand == nil {
		for c := 0; c < len(cent)/d; c++ {
			try(c)
		}
	} else {
		for _, c := range cand {
			try(c)
		}
	}
	return int32(best)
}

// seedPlusPlus picks lists initial centroids by k-means++ D² sampling
// (Arthur & Vassilvitskii, "k-means++: the advantages of careful
// seeding", SODA 2007) among the first min(m, 8·lists) sample rows (the
// sample is already a random permutation). Distances come from the float32
// L2 kernel (the picks may differ between kernel sets; any seeding gives
// valid bounds). Random seeds put two
// centroids in one true cluster and one between two others often enough
// that lists came out twice as wide as the clusters; the lists' radii are
// what every bound of this package pays for.
func seedPlusPlus(sample []float32, d, lists int, rng *rand.Rand) []float32 {
	m := min(len(sample)/d, 8*lists)
	cent := make([]float32, lists*d)
	dist := make([]float64, m)
	sc := make([]float32, m)
	for i := range dist {
		dist[i] = math.Inf(1)
	}
	pick := 0
	for c := 0; c < lists; c++ {
		copy(cent[c*d:(c+1)*d], sample[pick*d:(pick+1)*d])
		ctr := sample[pick*d : (pick+1)*d]
		// D² on the L2 kernel (−‖k−c‖² in float32); beyond float32's
		// range, in float64.
		exact := attention.ScoreRows(sc, attention.L2, ctr, sample[:m*d], d) != nil
		var total float64
		for i := 0; i < m; i++ {
			s := -float64(sc[i])
			if exact {
				s = 0
				for j, x := range sample[i*d : (i+1)*d] {
					e := float64(x) - float64(ctr[j])
					s += e * e
				}
			}
			dist[i] = min(dist[i], s)
			total += dist[i]
		}
		if total == 0 {
			pick = rng.IntN(m)
			continue
		}
		r := rng.Float64() * total
		pick = m - 1
		for i, x := range dist {
			if r < x {
				pick = i
				break
			}
			r -= x
		}
	}
	return cent
}
