package attention

import "math"

// Softmax sets dst[i] = e^(scores[i]·invT) / Σ_j e^(scores[j]·invT), computed
// in float64 after subtracting the largest score, so huge scores cannot
// overflow (Goodfellow, Bengio & Courville, Deep Learning, §4.1). invT is 1/T
// and must be positive; +Inf (T → 0) splits the weight equally among the rows
// that share the largest score. NaN scores get weight 0. It panics unless
// len(dst) == len(scores).
func Softmax(dst []float64, scores []float32, invT float64) {
	if len(dst) != len(scores) {
		panic("attention: Softmax: len(dst) != len(scores)")
	}
	if !(invT > 0) {
		panic("attention: Softmax: invT must be positive")
	}
	mx := math.Inf(-1)
	for _, s := range scores {
		if float64(s) > mx {
			mx = float64(s)
		}
	}
	if math.IsInf(mx, -1) {
		// No finite score (all NaN or −Inf, or empty): no weight anywhere.
		clear(dst)
		return
	}
	var sum float64
	for i, s := range scores {
		var w float64
		if float64(s) == mx {
			w = 1 // also when invT or the score is infinite, where x·invT is NaN
		} else if s < float32(mx) {
			w = gap(s, float32(mx), invT)
		}
		dst[i] = w
		sum += w
	}
	for i := range dst {
		dst[i] /= sum
	}
}

// Weight returns the unnormalised softmax weight e^((score−best)·invT) of
// a score against the best one, computed in float64 from the float32
// scores so that neither the difference nor the logit can overflow: 1 when
// score == best (also for invT = +Inf, T → 0, and for a subnormal T whose
// 1/T is +Inf), 0 for a NaN score. invT must be positive.
func Weight(score, best float32, invT float64) float64 {
	switch {
	case score == best:
		return 1
	case score < best:
		return gap(score, best, invT)
	}
	return 0
}
