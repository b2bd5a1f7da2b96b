package learn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/optimize"
)

// DefaultIterations is the number of L-BFGS iterations when none is
// given: scikit-learn's NeighborhoodComponentsAnalysis default (max_iter=50).
const DefaultIterations = 50

// Result is the outcome of Train.
type Result struct {
	W []float64 // the parameters (A, then B when asymmetric)
	// Losses[0] is the loss at the start, Losses[k] after iteration k.
	Losses      []float64
	Evaluations int // loss and gradient evaluations
}

// NonFiniteError reports a loss or gradient that became NaN or ±Inf.
type NonFiniteError struct {
	Iteration int // the iteration during which it appeared (0: the start)
	Loss      float64
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("training stopped at iteration %d: the loss or its gradient became %v (try a larger TEMPERATURE or smaller input values)", e.Iteration, e.Loss)
}

// Check validates the problem before training.
func (p *Problem) Check() error {
	switch {
	case p.N < 2:
		return fmt.Errorf("training needs at least 2 rows, got %d", p.N)
	case p.Temperature <= 0 || math.IsNaN(p.Temperature) || math.IsInf(p.Temperature, 0):
		return fmt.Errorf("the temperature must be a finite number > 0, got %v", p.Temperature)
	case p.Labels == nil && p.Targets == nil:
		return errors.New("training needs labels or targets")
	}
	if p.Labels != nil {
		distinct := false
		for _, c := range p.Labels[1:] {
			distinct = distinct || c != p.Labels[0]
		}
		if !distinct {
			return fmt.Errorf("all %d rows have the same label: there is nothing to tell apart", p.N)
		}
		// A row whose label no other row has contributes nothing to the
		// loss (see row); when that is every row, the loss is 0 whatever
		// the projection.
		seen := make(map[int32]bool, len(p.Labels))
		shared := false
		for _, c := range p.Labels {
			shared = shared || seen[c]
			seen[c] = true
		}
		if !shared {
			return fmt.Errorf("no two of the %d rows share a label: there is nothing to pull together", p.N)
		}
	}
	return nil
}

// Train minimises the loss from w0 with L-BFGS (gonum) for at most
// iterations major iterations. progress, if not nil, is called after each
// iteration with its number and loss. Cancelling ctx stops training with
// ctx's error. The result is deterministic for a given problem and start.
func Train(ctx context.Context, p *Problem, w0 []float64, iterations int, progress func(iter int, loss float64)) (*Result, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	if len(w0) != p.NumParams() {
		return nil, fmt.Errorf("the start has %d parameters, want %d", len(w0), p.NumParams())
	}
	if iterations <= 0 {
		iterations = DefaultIterations
	}
	// Func and Grad are asked at the same points; the loss and gradient
	// are computed together and kept for the last point.
	var (
		lastX    []float64
		lastF    float64
		lastG    = make([]float64, p.NumParams())
		evals    int
		iter     int
		badLoss  = math.NaN()
		nonFinit bool
		started  bool
	)
	eval := func(x []float64) {
		if lastX != nil && slices.Equal(x, lastX) {
			return
		}
		lastX = append(lastX[:0], x...)
		lastF = p.LossGrad(x, lastG)
		evals++
		if !finite(lastF) || !allFinite(lastG) {
			nonFinit = true
			badLoss = lastF
		}
	}
	res := &Result{}
	rec := &recorder{ctx: ctx, fn: func(loc *optimize.Location, op optimize.Operation) error {
		if nonFinit {
			return &NonFiniteError{Iteration: iter + 1, Loss: badLoss}
		}
		if op == optimize.MajorIteration {
			if !started {
				// gonum's first major iteration is the starting point.
				started = true
				return nil
			}
			iter++
			res.Losses = append(res.Losses, loc.F)
			if progress != nil {
				progress(iter, loc.F)
			}
		}
		return nil
	}}
	p.ctx = ctx
	defer func() { p.ctx = nil }()
	f0 := func() float64 { eval(w0); return lastF }()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if nonFinit {
		return nil, &NonFiniteError{Iteration: 0, Loss: badLoss}
	}
	g0 := slices.Clone(lastG)
	res.Losses = append(res.Losses, f0)
	if progress != nil {
		progress(0, f0)
	}
	problem := optimize.Problem{
		Func: func(x []float64) float64 {
			eval(x)
			if nonFinit {
				return math.Inf(1) // the line search backs off; the recorder stops the run
			}
			return lastF
		},
		Grad: func(grad, x []float64) {
			eval(x)
			copy(grad, lastG)
		},
	}
	settings := &optimize.Settings{
		InitValues:      &optimize.Location{F: f0, Gradient: g0},
		MajorIterations: iterations + 1, // the start counts as one
		Converger:       optimize.NeverTerminate{},
		Recorder:        rec,
	}
	out, err := optimize.Minimize(problem, slices.Clone(w0), settings, &optimize.LBFGS{})
	if nonFinit {
		return nil, &NonFiniteError{Iteration: iter + 1, Loss: badLoss}
	}
	if err != nil && out == nil {
		return nil, err
	}
	if cerr := ctx.Err(); cerr != nil {
		return nil, cerr
	}
	var ferr *NonFiniteError
	if errors.As(err, &ferr) {
		return nil, err
	}
	// Other statuses (a line search that cannot improve, a zero gradient)
	// end training early at the best point found: not an error.
	res.W = out.X
	res.Evaluations = evals
	if len(res.Losses) == 0 || res.Losses[len(res.Losses)-1] != out.F {
		res.Losses = append(res.Losses, out.F)
	}
	return res, nil
}

// recorder passes gonum's progress to fn and stops the run when ctx ends.
type recorder struct {
	ctx context.Context
	fn  func(*optimize.Location, optimize.Operation) error
}

func (r *recorder) Init() error { return r.ctx.Err() }

func (r *recorder) Record(loc *optimize.Location, op optimize.Operation, _ *optimize.Stats) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	return r.fn(loc, op)
}

func finite(x float64) bool { return x-x == 0 }

func allFinite(v []float64) bool {
	for _, x := range v {
		if x-x != 0 {
			return false
		}
	}
	return true
}
