// Package learn trains projections for the soft lookup (SPEC §10): given
// rows x and their labels (or targets), it finds W so that attention over
// the projected rows — every row looking up every other row with scores
// of x_i·A against x_j·B — classifies (or regresses) well. It knows
// nothing of SQL or storage: the executor hands it matrices and stores
// what it returns.
//
// The loss is neighbourhood components analysis (Goldberger, Roweis,
// Hinton & Salakhutdinov, "Neighbourhood Components Analysis", NIPS 2004)
// in its log form, −Σᵢ log Σ_{j: cⱼ = cᵢ} pᵢⱼ, with pᵢⱼ the leave-one-out
// softmax of row i's scores over the other rows; or, with targets, the
// squared error of the leave-one-out blend Σⱼ pᵢⱼ yⱼ. The pairwise pass
// is a self-attention batch: blocks of query rows are scored against all
// keys with attention.ScoreBatch, and the gradient is taken in the same
// pass from the same weights. The optimiser is gonum's L-BFGS.
package learn

import (
	"context"
	"math"
	"runtime"
	"sync"

	"github.com/softdb/softdb/attention"
)

// Problem is one training set.
type Problem struct {
	X []float32 // N rows of D values, row-major
	N int
	D int
	// Labels (classification): one class id per row. Nil for regression.
	Labels []int32
	// Targets (regression): N rows of DT values. Nil for classification.
	Targets []float64
	DT      int

	Out         int // dimension of the projected rows
	Metric      attention.Metric
	Temperature float64 // T > 0: weights are softmax(score / T)
	// Asymmetric: the parameters are two matrices, A (queries) then B
	// (keys), each D × Out; otherwise one matrix W = A = B.
	Asymmetric bool
	// Exact scores in float64 instead of the float32 kernels: the
	// reference path of the gradient tests.
	Exact bool

	counts map[int32]int // rows per label, set by LossGrad
	// ctx, set by Train: LossGrad stops between blocks of rows once it is
	// done (one evaluation over 20,000 rows takes seconds), leaving a
	// partial loss that Train discards.
	ctx context.Context
}

// NumParams is the length of the parameter vector: D·Out, or twice that
// when Asymmetric. Matrices are row-major, A before B.
func (p *Problem) NumParams() int {
	if p.Asymmetric {
		return 2 * p.D * p.Out
	}
	return p.D * p.Out
}

// blockRows is the number of query rows scored at once; lanes is the
// number of independent partial sums of the key gradient. Both are fixed,
// not derived from the number of CPUs, so that the sums are taken in the
// same order on every machine: training is deterministic.
const (
	blockRows = 128
	lanes     = 8
)

// LossGrad returns the loss at the parameters w and, when grad is not
// nil, stores the gradient ∂loss/∂w in it (len NumParams()).
func (p *Problem) LossGrad(w, grad []float64) float64 {
	n, d := p.N, p.Out
	a := w[:p.D*d]
	b := a
	if p.Asymmetric {
		b = w[p.D*d : 2*p.D*d]
	}
	q := p.project(a)
	k := q
	if p.Asymmetric {
		k = p.project(b)
	}
	// Cosine works on unit vectors; the gradient is mapped back at the end.
	var qn, kn []float64
	qs, ks := q, k
	if p.Metric == attention.Cosine {
		qs, qn = normalise(q, n, d)
		ks, kn = qs, qn
		if p.Asymmetric {
			ks, kn = normalise(k, n, d)
		}
	}
	q32, k32 := toFloat32(qs), toFloat32(ks)
	if !p.Asymmetric {
		k32 = q32
	}
	var qnorm32 []float32
	if p.Metric == attention.Cosine {
		qnorm32 = make([]float32, n)
		for i := range qnorm32 {
			qnorm32[i] = attention.Norm(q32[i*d : (i+1)*d])
		}
	}

	if p.Labels != nil && p.counts == nil {
		p.counts = map[int32]int{}
		for _, c := range p.Labels {
			p.counts[c]++
		}
	}
	dq := make([]float64, n*d) // ∂loss/∂(query side), rows owned by their block
	type lane struct {
		dk     []float64 // ∂loss/∂(key side), partial
		colsum []float64 // Σᵢ gᵢⱼ, for L2
		loss   float64
	}
	ls := make([]lane, lanes)
	nblocks := (n + blockRows - 1) / blockRows
	per := (nblocks + lanes - 1) / lanes
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for l := range lanes {
		b0, b1 := l*per, min((l+1)*per, nblocks)
		if b0 >= b1 {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(ln *lane) {
			defer func() { <-sem; wg.Done() }()
			ln.dk = make([]float64, n*d)
			ln.colsum = make([]float64, n)
			ldd := (n + 7) &^ 7 // whole vectors of 8 for the exp kernel
			s32 := make([]float32, blockRows*ldd)
			g := make([]float64, n)
			for blk := b0; blk < b1; blk++ {
				if p.ctx != nil && p.ctx.Err() != nil {
					return
				}
				r0, r1 := blk*blockRows, min((blk+1)*blockRows, n)
				if !p.Exact {
					var qnb []float32
					if qnorm32 != nil {
						qnb = qnorm32[r0:r1]
					}
					// Scores of finite rows stay in float32's range for any
					// sensible data; should one overflow it comes back ±Inf
					// and the loss turns non-finite, which stops training.
					_ = attention.ScoreBatch(s32, ldd, p.Metric, q32[r0*d:r1*d], qnb, k32, d)
				}
				for i := r0; i < r1; i++ {
					srow := s32[(i-r0)*ldd : (i-r0)*ldd+n : (i-r0+1)*ldd]
					loss, ca, cb, fast := p.row(i, qs, ks, srow, g)
					ln.loss += loss
					// g = ∂loss/∂score(i, ·); fold it into the gradients.
					qi := qs[i*d : (i+1)*d]
					dqi := dq[i*d : (i+1)*d]
					var rowsum float64
					if fast {
						ci := p.Labels[i]
						for j, e := range srow {
							if e == 0 {
								continue
							}
							gij := float64(e) * ca
							if p.Labels[j] == ci {
								gij -= float64(e) * cb
							}
							kj := ks[j*d : (j+1)*d]
							dkj := ln.dk[j*d : (j+1)*d]
							for c := range d {
								dqi[c] += gij * kj[c]
								dkj[c] += gij * qi[c]
							}
							rowsum += gij
							ln.colsum[j] += gij
						}
					}
					for j, gij := range g {
						if fast {
							break
						}
						if gij == 0 {
							continue
						}
						kj := ks[j*d : (j+1)*d]
						dkj := ln.dk[j*d : (j+1)*d]
						for c := range d {
							dqi[c] += gij * kj[c]
							dkj[c] += gij * qi[c]
						}
						rowsum += gij
						ln.colsum[j] += gij
					}
					if p.Metric == attention.L2 {
						// score = −‖q−k‖²: ∂/∂q = −2(q−k), ∂/∂k = 2(q−k).
						for c := range d {
							dqi[c] = -2 * (qi[c]*rowsum - dqi[c])
						}
					}
				}
			}
		}(&ls[l])
	}
	wg.Wait()
	loss := 0.0
	dk := make([]float64, n*d)
	colsum := make([]float64, n)
	for _, ln := range ls {
		loss += ln.loss
		for i, v := range ln.dk {
			dk[i] += v
		}
		for i, v := range ln.colsum {
			colsum[i] += v
		}
	}
	if grad == nil {
		return loss
	}
	switch p.Metric {
	case attention.L2:
		for j := range n {
			for c := range d {
				dk[j*d+c] = 2 * (dk[j*d+c] - colsum[j]*ks[j*d+c])
			}
		}
	case attention.Cosine:
		unnormalise(dq, qs, qn, n, d)
		unnormalise(dk, ks, kn, n, d)
	}
	clear(grad)
	if p.Asymmetric {
		p.backProject(grad[:p.D*d], dq)
		p.backProject(grad[p.D*d:], dk)
	} else {
		for i := range dq {
			dq[i] += dk[i]
		}
		p.backProject(grad, dq)
	}
	return loss
}

// row computes row i's leave-one-out weights from its scores (s32, or
// exact ones from qs, ks), returns its loss and sets g[j] = ∂loss/∂sᵢⱼ.
//
// On the kernel path of classification it may instead return fast with
// g untouched: then ∂loss/∂sᵢⱼ = e_j·(a − [same label] b) with e_j the
// row's exponentials left in s32, so that the caller folds the gradient
// in the same pass that reads them.
func (p *Problem) row(i int, qs, ks []float64, s32 []float32, g []float64) (loss, a, b float64, fast bool) {
	n, d := p.N, p.Out
	invT := 1 / p.Temperature
	var ci int32
	if p.Labels != nil {
		ci = p.Labels[i]
		if p.counts[ci] < 2 {
			// No other row shares the label: the row cannot be
			// classified, and it contributes nothing.
			clear(g)
			return 0, 0, 0, false
		}
	}
	// Weights: stable softmax, max subtracted; the diagonal is left out.
	// e_j = exp(ℓ_j − m) goes in g, z is their sum, m the largest logit.
	var m, z float64
	if p.Exact {
		m = math.Inf(-1)
		for j := range n {
			if j != i {
				g[j] = score64(p.Metric, qs[i*d:(i+1)*d], ks[j*d:(j+1)*d]) * invT
				m = max(m, g[j])
			}
		}
		for j := range n {
			if j == i {
				g[j] = 0
				continue
			}
			g[j] = math.Exp(g[j] - m)
			z += g[j]
		}
	} else {
		s32[i] = float32(math.Inf(-1))
		ms := attention.Max(s32)
		z = attention.ExpShift(s32, ms, float32(invT))
		m = float64(ms) * invT
		if p.Labels != nil {
			var zSame, zOther float64
			for j, e := range s32 {
				if p.Labels[j] == ci {
					zSame += float64(e)
				} else {
					zOther += float64(e)
				}
			}
			if zSame >= 1e-290 {
				z = zSame + zOther
				return math.Log1p(zOther / zSame), invT / z, invT / zSame, true
			}
		}
		for j, e := range s32 {
			g[j] = float64(e)
		}
	}
	var zSame, zOther float64
	if p.Labels != nil {
		for j, c := range p.Labels {
			if c == ci {
				zSame += g[j]
			} else {
				zOther += g[j]
			}
		}
	}
	if p.Labels != nil {
		// −log Pᵢ with Pᵢ = Σ_{same label} pᵢⱼ = zSame/z;
		// ∂/∂ℓᵢⱼ = pᵢⱼ − [same] pᵢⱼ/Pᵢ = e_j/z − [same] e_j/zSame.
		if zSame < 1e-290 {
			// The same-label weights underflow next to the best row: take
			// their log-sum-exp around their own max, so that the loss
			// stays finite (and large). Their share of the gradient is
			// then below 1e-290 of the rest, which is to say zero.
			logit := func(j int) float64 {
				return score64(p.Metric, qs[i*d:(i+1)*d], ks[j*d:(j+1)*d]) * invT
			}
			mSame := math.Inf(-1)
			for j, c := range p.Labels {
				if j != i && c == ci {
					mSame = max(mSame, logit(j))
				}
			}
			var zs float64
			for j, c := range p.Labels {
				if j != i && c == ci {
					zs += math.Exp(logit(j) - mSame)
				}
			}
			loss = m + math.Log(z) - (mSame + math.Log(zs))
			for j := range n {
				g[j] /= z
			}
		} else {
			// log(z/zSame) = log(1 + zOther/zSame): never below 0, and
			// exact where the row is already well classified.
			loss = math.Log1p(zOther / zSame)
			for j := range n {
				if g[j] == 0 {
					continue
				}
				if p.Labels[j] == ci {
					g[j] = g[j]/z - g[j]/zSame
				} else {
					g[j] /= z
				}
			}
		}
	} else {
		for j := range n {
			g[j] /= z // pᵢⱼ
		}
		// ŷᵢ = Σ pᵢⱼ yⱼ; loss ‖ŷᵢ − yᵢ‖²; ∂/∂ℓᵢⱼ = pᵢⱼ ⟨2(ŷᵢ − yᵢ), yⱼ − ŷᵢ⟩.
		dt := p.DT
		yhat := make([]float64, dt)
		for j := range n {
			if g[j] != 0 {
				yj := p.Targets[j*dt : (j+1)*dt]
				for c := range dt {
					yhat[c] += g[j] * yj[c]
				}
			}
		}
		r := make([]float64, dt)
		var ry float64
		for c := range dt {
			r[c] = 2 * (yhat[c] - p.Targets[i*dt+c])
			loss += r[c] * r[c] / 4
			ry += r[c] * yhat[c]
		}
		for j := range n {
			if g[j] == 0 {
				continue
			}
			yj := p.Targets[j*dt : (j+1)*dt]
			var dot float64
			for c := range dt {
				dot += r[c] * yj[c]
			}
			g[j] *= dot - ry
		}
	}
	for j := range n {
		g[j] *= invT
	}
	return loss, 0, 0, false
}

// project returns X·M (N × Out) for a D × Out matrix M.
func (p *Problem) project(m []float64) []float64 {
	n, d, out := p.N, p.D, p.Out
	y := make([]float64, n*out)
	for i := range n {
		xi := p.X[i*d : (i+1)*d]
		yi := y[i*out : (i+1)*out]
		for k, x := range xi {
			if x == 0 {
				continue
			}
			row := m[k*out : (k+1)*out]
			for c, v := range row {
				yi[c] += float64(x) * v
			}
		}
	}
	return y
}

// backProject adds Xᵀ·G (D × Out) to dst for G of N × Out.
func (p *Problem) backProject(dst, g []float64) {
	n, d, out := p.N, p.D, p.Out
	for i := range n {
		xi := p.X[i*d : (i+1)*d]
		gi := g[i*out : (i+1)*out]
		for k, x := range xi {
			if x == 0 {
				continue
			}
			row := dst[k*out : (k+1)*out]
			for c, v := range gi {
				row[c] += float64(x) * v
			}
		}
	}
}

// normalise returns the rows of v scaled to unit length and their norms
// (a zero row stays zero, norm 0).
func normalise(v []float64, n, d int) ([]float64, []float64) {
	out := make([]float64, len(v))
	norms := make([]float64, n)
	for i := range n {
		var s float64
		for _, x := range v[i*d : (i+1)*d] {
			s += x * x
		}
		norms[i] = math.Sqrt(s)
		if norms[i] > 0 {
			for c := range d {
				out[i*d+c] = v[i*d+c] / norms[i]
			}
		}
	}
	return out, norms
}

// unnormalise maps gradients with respect to unit rows u = v/‖v‖ to
// gradients with respect to v: (g − (g·u)u)/‖v‖.
func unnormalise(g, u, norms []float64, n, d int) {
	for i := range n {
		gi, ui := g[i*d:(i+1)*d], u[i*d:(i+1)*d]
		if norms[i] == 0 {
			clear(gi)
			continue
		}
		var dot float64
		for c := range d {
			dot += gi[c] * ui[c]
		}
		for c := range d {
			gi[c] = (gi[c] - dot*ui[c]) / norms[i]
		}
	}
}

// score64 is the score in float64 (unit rows for Cosine).
func score64(m attention.Metric, q, k []float64) float64 {
	var s float64
	if m == attention.L2 {
		for c := range q {
			t := q[c] - k[c]
			s -= t * t
		}
		return s
	}
	for c := range q {
		s += q[c] * k[c]
	}
	return s
}

func toFloat32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
