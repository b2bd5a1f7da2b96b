package attention

import "math"

// The backward pass of a blend. With logits ℓᵢ = sᵢ/T, weights
// wᵢ = softmax(ℓ)ᵢ = e^(ℓᵢ − LSE), the blend b = Σᵢ wᵢvᵢ and a loss
// L = ⟨g, b⟩ for a fixed g (the "upstream gradient"):
//
//	∂L/∂vᵢ = wᵢ·g                                  (b is linear in vᵢ)
//	∂L/∂ℓⱼ = Σᵢ ⟨g,vᵢ⟩·∂wᵢ/∂ℓⱼ = Σᵢ ⟨g,vᵢ⟩·wᵢ(δᵢⱼ − wⱼ)
//	       = wⱼ(⟨g,vⱼ⟩ − ⟨g,b⟩)                     (softmax Jacobian)
//	cᵢ := ∂L/∂sᵢ = wᵢ(⟨g,vᵢ⟩ − ⟨g,b⟩)/T             (ℓᵢ = sᵢ/T)
//	∂L/∂T = Σᵢ ∂L/∂ℓᵢ·∂ℓᵢ/∂T = Σᵢ T·cᵢ·(−sᵢ/T²) = −Σᵢ cᵢsᵢ/T
//
// and through the score, ∂L/∂q = Σᵢ cᵢ·∂sᵢ/∂q, ∂L/∂kᵢ = cᵢ·∂sᵢ/∂kᵢ, with
// (the score functions of Metric; each is symmetric in q and k, so
// ∂s(x,y)/∂x gives both):
//
//	DOT     s = q·k               ∂s/∂q = k
//	L2      s = −‖q−k‖²           ∂s/∂q = −2(q−k) = 2(k−q)
//	COSINE  s = q·k/(‖q‖‖k‖)      ∂s/∂q = k/(‖q‖‖k‖) − s·q/‖q‖²
//
// (quotient rule: ∂(q·k)/∂q = k and ∂‖q‖/∂q = q/‖q‖). COSINE is defined
// as 0 when q or k is the zero vector, where it is not differentiable; its
// gradient there is taken as 0 (the zero vector's score is the constant 0
// of that definition), so a zero key contributes nothing to ∂L/∂q and gets
// ∂L/∂k = 0, and a zero query gets ∂L/∂q = 0.
//
// Summed over rows, ∂L/∂q needs only three running sums, which are what a
// Grad holds:
//
//	DOT     ∂L/∂q = Σ cᵢkᵢ
//	L2      ∂L/∂q = 2(Σ cᵢkᵢ − q·Σ cᵢ)
//	COSINE  ∂L/∂q = Σ (cᵢ/‖kᵢ‖)kᵢ / ‖q‖ − q·Σ cᵢsᵢ / ‖q‖²
//
// The pass is the forward's second pass over the same rows: the forward
// State gives the maximum score and the softmax sum (its log-sum-exp), so
// every weight is e^((sᵢ − max)/T)/Sum at once, with no online rescaling,
// and partial Grads over disjoint rows simply add. ⟨g,b⟩ is subtracted
// before the weights multiply (the centred form), so the cancellation of
// Σ wᵢ⟨g,vᵢ⟩ − ⟨g,b⟩·Σ wᵢ never happens.

// Grad holds the partial sums of a backward pass over some rows (see
// above). Grads over disjoint rows of the same forward State combine with
// Merge. A Grad is not safe for concurrent use.
type Grad struct {
	Q  []float64 // Σ cᵢkᵢ (DOT, L2) or Σ (cᵢ/‖kᵢ‖)kᵢ (COSINE)
	C  float64   // Σ cᵢ
	CS float64   // Σ cᵢsᵢ

	buf []float32 // per-chunk float32 partial sums of Q
}

// NewGrad returns an empty Grad for keys of d components.
func NewGrad(d int) *Grad {
	if d <= 0 {
		panic("attention: NewGrad: dimension must be positive")
	}
	return &Grad{Q: make([]float64, d), buf: make([]float32, d, (d+7)&^7)}
}

// Merge adds o's sums into gr.
func (gr *Grad) Merge(o *Grad) {
	if len(o.Q) != len(gr.Q) {
		panic("attention: Grad.Merge: dimensions differ")
	}
	for j, x := range o.Q {
		gr.Q[j] += x
	}
	gr.C += o.C
	gr.CS += o.CS
}

// Query writes ∂L/∂q into dst (len(q)), for the query q the rows were
// scored with (for COSINE, q itself, not a scaled copy).
func (gr *Grad) Query(dst []float64, m Metric, q []float32) {
	if len(dst) != len(q) || len(q) != len(gr.Q) {
		panic("attention: Grad.Query: dimensions differ")
	}
	switch m {
	case Dot:
		copy(dst, gr.Q)
	case L2:
		for j, x := range q {
			dst[j] = 2 * (gr.Q[j] - float64(x)*gr.C)
		}
	case Cosine:
		var qq float64
		for _, x := range q {
			qq += float64(x) * float64(x)
		}
		if qq == 0 {
			clear(dst)
			return
		}
		qn := math.Sqrt(qq)
		for j, x := range q {
			dst[j] = gr.Q[j]/qn - float64(x)*(gr.CS/qq)
		}
	default:
		m.check()
	}
}

// Temperature returns ∂L/∂T = −Σ cᵢsᵢ / T for the forward's invT = 1/T.
func (gr *Grad) Temperature(invT float64) float64 { return -gr.CS * invT }

// AccumulateKeep is Accumulate that also writes each row's score into
// scores (n entries; a masked row's too), for Backward to reuse.
func (s *State) AccumulateKeep(m Metric, q []float32, qnorm float32, keys []float32, d int, values []float32, dv int, mask []byte, invT float64, scores []float32) {
	if len(scores) != rows(keys, d) {
		panic("attention: AccumulateKeep: scores must hold one entry per row")
	}
	s.keep = scores
	defer func() { s.keep = nil }()
	s.Accumulate(m, q, qnorm, keys, d, values, dv, mask, invT)
}

// Backward runs the backward pass of the blend of s, the forward State
// over all the rows (merged; not empty), over one block of them: keys
// (n×d), values (n×dv) and mask exactly as they were passed to
// Accumulate, with the same query, qnorm and metric. g is the upstream
// gradient (dv components) and gb = ⟨g, b⟩ for the blend b of s. The sums
// are added to gr (dimension d). scores is nil, or the rows' scores as
// AccumulateKeep wrote them: DOT and L2 then skip scoring the keys again
// (COSINE needs the keys' norms and scores them anyway).
//
// Rows are taken 64 at a time: scored with the forward's kernels,
// weighted by e^((sᵢ − max)·invT)/Sum with the forward's maximum score and
// sum, ⟨g,vᵢ⟩ by the dot-product kernel, and Σ cᵢkᵢ by the value-blending
// kernel over the keys (still in cache), in float32 within a chunk and
// float64 across chunks, as in Accumulate. A chunk whose float32 sums
// overflow (values or keys near float32's limit) is redone in float64.
func (s *State) Backward(gr *Grad, m Metric, q []float32, qnorm float32, keys []float32, d int, values []float32, dv int, mask []byte, g []float32, gb float64, scores []float32) {
	m.check()
	checkQuery(q, d)
	n := rows(keys, d)
	if len(values) != n*dv || len(g) != dv || mask != nil && len(mask) != n || scores != nil && len(scores) != n {
		panic("attention: Backward: values, g, mask or scores do not match the block")
	}
	if m == Cosine {
		scores = nil
	}
	if len(gr.Q) != d {
		panic("attention: Backward: Grad dimension differs from the keys'")
	}
	if s.Empty() {
		return
	}
	var sc, w, gv, c, kk [chunk]float32
	invSum := 1 / s.Sum
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		cn := end - start
		kc := keys[start*d : end*d]
		vc := values[start*dv : end*dv]
		mk := sub(mask, start, end)
		p := sc[:cn]
		if scores != nil {
			p = scores[start:end]
		} else {
			scoreChunk(p, kk[:], m, q, qnorm, kc, d)
		}
		wt := w[:cn]
		copy(wt, p)
		for i := range wt {
			if mk != nil && mk[i] == 0 || wt[i] > math.MaxFloat32 || wt[i] < -math.MaxFloat32 {
				wt[i] = float32(math.Inf(-1))
			}
		}
		if fastInvT(s.invT) {
			kern.expShift(wt, s.ref, float32(s.invT))
		} else {
			expShift64(wt, s.ref, s.invT)
		}
		kern.dotRows(gv[:cn], g, vc, dv)
		ck := c[:cn]
		var sumC, sumCS float64
		wide := false
		for i, wi := range wt {
			if wi == 0 {
				ck[i] = 0
				continue
			}
			ci := float64(wi) * invSum * (float64(gv[i]) - gb) * s.invT
			sumC += ci
			sumCS += ci * float64(p[i])
			if m == Cosine {
				ci = cosineKeyScale(ci, kk[i], kc[i*d:(i+1)*d])
			}
			ck[i] = float32(ci)
			if math.IsInf(float64(gv[i]), 0) || math.IsInf(float64(ck[i]), 0) || ci-ci != 0 {
				wide = true
			}
		}
		if wide {
			sumC, sumCS = s.backwardWide(gr, m, q, p, wt, kc, d, vc, dv, g, gb)
		} else {
			buf := gr.buf
			clear(buf)
			kern.axpyRows(buf, ck, kc, d)
			if !kern.allFinite(buf[:d]) {
				sumC, sumCS = s.backwardWide(gr, m, q, p, wt, kc, d, vc, dv, g, gb)
			} else {
				kern.scaleAdd(gr.Q, buf, 1, 1)
			}
		}
		gr.C += sumC
		gr.CS += sumCS
	}
}

// cosineKeyScale returns c/‖k‖ (0 for a zero key), from the kernel's
// float32 ‖k‖² where it is faithful and in float64 otherwise.
func cosineKeyScale(c float64, kk float32, k []float32) float64 {
	var norm float64
	if kk >= 0x1p-100 && kk <= 0x1p100 {
		norm = math.Sqrt(float64(kk))
	} else {
		var ss float64
		for _, x := range k {
			ss += float64(x) * float64(x)
		}
		norm = math.Sqrt(ss)
	}
	if norm == 0 {
		return 0
	}
	return c / norm
}

// backwardWide redoes one chunk in float64 (scores p and weights wt are
// the chunk's, already computed) and returns its Σ cᵢ and Σ cᵢsᵢ.
func (s *State) backwardWide(gr *Grad, m Metric, q []float32, p, wt []float32, keys []float32, d int, values []float32, dv int, g []float32, gb float64) (sumC, sumCS float64) {
	invSum := 1 / s.Sum
	for i, wi := range wt {
		if wi == 0 {
			continue
		}
		var gvi float64
		for j, x := range values[i*dv : (i+1)*dv] {
			gvi += float64(g[j]) * float64(x)
		}
		ci := float64(wi) * invSum * (gvi - gb) * s.invT
		sumC += ci
		sumCS += ci * float64(p[i])
		k := keys[i*d : (i+1)*d]
		if m == Cosine {
			ci = cosineKeyScale(ci, -1, k)
		}
		for j, x := range k {
			gr.Q[j] += ci * float64(x)
		}
	}
	return sumC, sumCS
}

// ScoreGrad adds c·∂s(x, y)/∂x to dst (len(x)) in float64, for the score s
// of metric m; every score is symmetric, so with x = k and y = q it is
// c·∂s/∂k (a row's ∂L/∂kᵢ for c = ∂L/∂sᵢ). COSINE's gradient is 0 where x
// or y is the zero vector (see the derivation above).
func ScoreGrad(dst []float64, m Metric, c float64, x, y []float32) {
	if len(dst) != len(x) || len(y) != len(x) {
		panic("attention: ScoreGrad: dimensions differ")
	}
	switch m {
	case Dot:
		for j, v := range y {
			dst[j] += c * float64(v)
		}
	case L2:
		for j, v := range y {
			dst[j] += c * 2 * (float64(v) - float64(x[j]))
		}
	case Cosine:
		xy, xx, yy := dotNorms64(x, y)
		if xx == 0 || yy == 0 {
			return
		}
		nx, ny := math.Sqrt(xx), math.Sqrt(yy)
		sc := xy / (nx * ny)
		for j, v := range x {
			dst[j] += c * (float64(y[j])/(nx*ny) - sc*float64(v)/xx)
		}
	default:
		m.check()
	}
}
