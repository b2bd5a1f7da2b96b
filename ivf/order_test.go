package ivf

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortByHiDesc checks the radix sort against a stable comparison
// sort with cmp.Compare (the order Bounds promises: decreasing upper
// bound, ties to the lower list) on bounds built to tie, with ±0, ±Inf,
// NaN, subnormals and values of every sign and magnitude.
func TestSortByHiDesc(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	special := []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), 5e-324, -5e-324,
		math.MaxFloat64, -math.MaxFloat64, 1, -1, 1 + 1e-16, math.Nextafter(1, 2), math.Nextafter(-1, -2)}
	var keys []uint64
	var tmp []int
	for it := 0; it < 2000; it++ {
		n := rng.IntN(300)
		hi := make([]float64, n+rng.IntN(5))
		for i := range hi {
			switch rng.IntN(4) {
			case 0:
				hi[i] = special[rng.IntN(len(special))]
			case 1:
				hi[i] = float64(rng.IntN(5) - 2) // many ties
			case 2:
				hi[i] = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20))
			default:
				hi[i] = -rng.ExpFloat64() * 100
			}
		}
		// ids: an ascending subset, as Bounds builds b.Order.
		var ids []int
		for i := range hi {
			if rng.IntN(5) > 0 {
				ids = append(ids, i)
			}
		}
		want := slices.Clone(ids)
		slices.SortStableFunc(want, func(x, y int) int { return cmp.Compare(hi[y], hi[x]) })
		got := slices.Clone(ids)
		keys, tmp = sortByHiDesc(got, hi, keys, tmp)
		if !slices.Equal(got, want) {
			t.Fatalf("case %d: got %v, want %v (hi %v)", it, got, want, hi)
		}
	}
}
