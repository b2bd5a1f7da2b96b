package ivf

import "math"

// descKey maps a bound to a uint64 whose ascending order is the bound's
// descending order as cmp.Compare sees it: −0 and +0 equal, NaN below
// every number (so last). Finite and infinite x map through their IEEE
// bits, made order-preserving (flip all bits of negatives, the sign bit
// of the rest; Knuth, TAOCP vol. 3, §5.2.5's key transformation), then
// complemented for the descending order.
func descKey(x float64) uint64 {
	if x != x {
		return math.MaxUint64
	}
	if x == 0 {
		x = 0 // −0 as +0
	}
	b := math.Float64bits(x)
	if b>>63 != 0 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return ^b
}

// sortByHiDesc orders ids (ascending on entry) by decreasing hi[id],
// ties keeping their ascending order: the order of a stable sort with
// cmp.Compare(hi[y], hi[x]). It is a least-significant-digit radix sort
// on descKey, a byte a pass (Knuth, TAOCP vol. 3, §5.2.5), stable, so
// ties stay in list order; passes whose byte is the same for every key
// are skipped. keys and tmp are scratch (grown as needed) and returned.
func sortByHiDesc(ids []int, hi []float64, keys []uint64, tmp []int) ([]uint64, []int) {
	n := len(ids)
	if n == 0 {
		return keys, tmp
	}
	keys = growTo(keys, 2*n)
	tmp = growTo(tmp, n)
	k, k2 := keys[:n], keys[n:2*n]
	for i, id := range ids {
		k[i] = descKey(hi[id])
	}
	src, dst := ids, tmp[:n]
	var count [256]int
	for shift := uint(0); shift < 64; shift += 8 {
		count = [256]int{}
		for _, x := range k {
			count[byte(x>>shift)]++
		}
		if count[byte(k[0]>>shift)] == n {
			continue // every key has this byte: the pass would not move anything
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for i, x := range k {
			j := count[byte(x>>shift)]
			count[byte(x>>shift)]++
			dst[j], k2[j] = src[i], x
		}
		src, dst = dst, src
		k, k2 = k2, k
	}
	if &src[0] != &ids[0] {
		copy(ids, src)
	}
	return keys, tmp
}
