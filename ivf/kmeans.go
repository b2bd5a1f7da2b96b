package ivf

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/softdb/softdb/attention"
)

// Training parameters. FAISS's Clustering uses at most 256 training points
// per centroid and 25 iterations by default; k-means' objective changes
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
// Vassilvitskii 2007, drawn from a sub-sample of 8 rows a list) on a seeded sample of the n rows of keys (row i is
// keys[i*d:(i+1)*d]) and returns lists centroids, lists×d. The result is a
// function of (keys, d, lists, seed) only, whatever the number of cores.
// rows lists the ids of the rows to sample from (nil: all n rows).
func Train(keys []float32, d, lists int, seed uint64) []float32 {
	n := len(keys) / d
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
		copy(sample[i*d:(i+1)*d], keys[int(perm[i])*d:])
	}
	cent := seedPlusPlus(sample, d, lists, rng)
	assign := make([]int32, m)
	sums := make([]float64, lists*d)
	counts := make([]int, lists)
	for it := 0; it < trainIters; it++ {
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
	return cent
}

// assignBlock is how many rows Assign scores against the centroids at a
// time: 256 rows × up to 4096 centroids of scores is 4 MiB.
const assignBlock = 256

// Assign sets dst[i] to the centroid nearest (in L2) to row i of keys, the
// lower index among equals, for len(dst) rows. Rows are spread over the
// cores in blocks; each row's result does not depend on the split.
func Assign(dst []int32, keys []float32, d int, cent []float32) {
	n, L := len(dst), len(cent)/d
	nb := (n + assignBlock - 1) / assignBlock
	workers := min(runtime.GOMAXPROCS(0), nb)
	var wg sync.WaitGroup
	var next sync.Mutex
	b := 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			scores := make([]float32, assignBlock*L)
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
				// score beyond float32's range is −Inf and never best
				// unless all are; then centroid 0 is taken.
				_ = attention.ScoreBatch(scores, L, attention.L2, keys[lo*d:hi*d], nil, cent, d)
				for i := lo; i < hi; i++ {
					row := scores[(i-lo)*L : (i-lo+1)*L]
					best := 0
					for c := 1; c < L; c++ {
						if row[c] > row[best] {
							best = c
						}
					}
					dst[i] = int32(best)
				}
			}
		}()
	}
	wg.Wait()
}

// seedPlusPlus picks lists initial centroids by k-means++ D² sampling
// (Arthur & Vassilvitskii, "k-means++: the advantages of careful
// seeding", SODA 2007) among the first min(m, 8·lists) sample rows (the
// sample is already a random permutation). Random seeds put two
// centroids in one true cluster and one between two others often enough
// that lists came out twice as wide as the clusters; the lists' radii are
// what every bound of this package pays for.
func seedPlusPlus(sample []float32, d, lists int, rng *rand.Rand) []float32 {
	m := min(len(sample)/d, 8*lists)
	cent := make([]float32, lists*d)
	dist := make([]float64, m)
	for i := range dist {
		dist[i] = math.Inf(1)
	}
	pick := 0
	for c := 0; c < lists; c++ {
		copy(cent[c*d:(c+1)*d], sample[pick*d:(pick+1)*d])
		ctr := sample[pick*d : (pick+1)*d]
		var total float64
		for i := 0; i < m; i++ {
			row := sample[i*d : (i+1)*d]
			var s float64
			for j, x := range row {
				e := float64(x - ctr[j])
				s += e * e
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
