package learn

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/softdb/softdb/attention"
)

// randomProblem is a small problem with random rows, labels (or targets)
// and a random start.
func randomProblem(seed uint64, n, d, out int, m attention.Metric, regression, asym bool) (*Problem, []float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	p := &Problem{N: n, D: d, Out: out, Metric: m, Temperature: 0.7, Asymmetric: asym, Exact: true}
	p.X = make([]float32, n*d)
	for i := range p.X {
		p.X[i] = float32(r.NormFloat64())
	}
	if regression {
		p.DT = 2
		p.Targets = make([]float64, n*p.DT)
		for i := range p.Targets {
			p.Targets[i] = r.NormFloat64()
		}
	} else {
		p.Labels = make([]int32, n)
		for i := range p.Labels {
			p.Labels[i] = int32(r.IntN(3))
		}
	}
	w := make([]float64, p.NumParams())
	for i := range w {
		w[i] = r.NormFloat64() / math.Sqrt(float64(d))
	}
	return p, w
}

// TestGradientFiniteDifferences checks the analytic gradient against
// central finite differences of the loss, in float64 (Exact), for every
// metric, classification and regression, one matrix and two. Central
// differences with step h have error O(h²·f”') ≈ 1e-8 here; the
// tolerance, 1e-5 relative to the gradient's largest entry, leaves room
// for rounding (≈ 1e-16/h = 1e-11 of the loss).
func TestGradientFiniteDifferences(t *testing.T) {
	const h, tol = 1e-5, 1e-5
	for _, m := range []attention.Metric{attention.Dot, attention.Cosine, attention.L2} {
		for _, regression := range []bool{false, true} {
			for _, asym := range []bool{false, true} {
				p, w := randomProblem(uint64(m)*4+3, 23, 5, 3, m, regression, asym)
				grad := make([]float64, len(w))
				p.LossGrad(w, grad)
				scale := 0.0
				for _, g := range grad {
					scale = max(scale, math.Abs(g))
				}
				if scale == 0 {
					t.Fatalf("%v regression=%v asym=%v: zero gradient", m, regression, asym)
				}
				worst := 0.0
				for i := range w {
					wp := append([]float64(nil), w...)
					wm := append([]float64(nil), w...)
					wp[i] += h
					wm[i] -= h
					fd := (p.LossGrad(wp, nil) - p.LossGrad(wm, nil)) / (2 * h)
					worst = max(worst, math.Abs(fd-grad[i])/scale)
				}
				if worst > tol {
					t.Errorf("%v regression=%v asym=%v: gradient differs from finite differences by %.2g of its largest entry (tolerance %g)", m, regression, asym, worst, tol)
				}
			}
		}
	}
}

// TestKernelPathMatchesExact: the float32 kernel scores give the loss
// and gradient of the float64 path to float32 accuracy (scores rounded
// to 2⁻²⁴ relative; 1e-4 relative leaves room for their sum over rows).
func TestKernelPathMatchesExact(t *testing.T) {
	for _, m := range []attention.Metric{attention.Dot, attention.Cosine, attention.L2} {
		p, w := randomProblem(11, 300, 8, 4, m, false, true)
		g64 := make([]float64, len(w))
		f64 := p.LossGrad(w, g64)
		p.Exact = false
		g32 := make([]float64, len(w))
		f32 := p.LossGrad(w, g32)
		if math.Abs(f32-f64) > 1e-4*math.Abs(f64) {
			t.Errorf("%v: loss %v with the kernels, %v exact", m, f32, f64)
		}
		scale := 0.0
		for _, g := range g64 {
			scale = max(scale, math.Abs(g))
		}
		for i := range g64 {
			if math.Abs(g32[i]-g64[i]) > 1e-4*scale {
				t.Errorf("%v: gradient %d is %v with the kernels, %v exact", m, i, g32[i], g64[i])
				break
			}
		}
	}
}

// TestTrainDeterministicAndImproves: training lowers the loss, and two
// runs from the same start give the same bits.
func TestTrainDeterministicAndImproves(t *testing.T) {
	p, w := randomProblem(5, 200, 10, 3, attention.L2, false, false)
	p.Exact = false
	a, err := Train(context.Background(), p, w, 15, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Train(context.Background(), p, w, 15, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Losses[len(a.Losses)-1] >= a.Losses[0] {
		t.Errorf("loss went from %v to %v", a.Losses[0], a.Losses[len(a.Losses)-1])
	}
	for i := range a.W {
		if a.W[i] != b.W[i] {
			t.Fatalf("two runs differ at parameter %d: %v vs %v", i, a.W[i], b.W[i])
		}
	}
}

func TestTrainErrors(t *testing.T) {
	p, w := randomProblem(5, 20, 4, 2, attention.Dot, false, false)
	for i := range p.Labels {
		p.Labels[i] = 7
	}
	if _, err := Train(context.Background(), p, w, 5, nil); err == nil {
		t.Error("one label: no error")
	}
	p, w = randomProblem(5, 1, 4, 2, attention.Dot, false, false)
	if _, err := Train(context.Background(), p, w, 5, nil); err == nil {
		t.Error("one row: no error")
	}
	p, w = randomProblem(5, 20, 4, 2, attention.Dot, false, false)
	for i := range p.Labels {
		p.Labels[i] = int32(i) // every label unique: the loss is 0 for any W
	}
	if _, err := Train(context.Background(), p, w, 5, nil); err == nil || !strings.Contains(err.Error(), "no two of the 20 rows share a label") {
		t.Errorf("unique labels: error %v", err)
	}
	p, w = randomProblem(5, 20, 4, 2, attention.Dot, false, false)
	p.Temperature = 5e-324 // 1/T overflows: logits are ±Inf
	var nf *NonFiniteError
	if _, err := Train(context.Background(), p, w, 5, nil); !errors.As(err, &nf) {
		t.Errorf("overflowing logits: error %v, want a NonFiniteError", err)
	}
	p, w = randomProblem(5, 20, 4, 2, attention.Dot, false, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, p, w, 5, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error %v", err)
	}
}
