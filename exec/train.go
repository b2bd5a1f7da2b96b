package exec

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/softdb/softdb/learn"
	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
	"github.com/softdb/softdb/types"
)

// TrainProgress receives TRAIN's progress: the iteration just finished,
// the number of iterations asked for, and the loss.
type TrainProgress func(iter, total int, loss float64)

// SetTrainProgress installs a progress callback for later TRAIN statements.
func (s *Session) SetTrainProgress(p TrainProgress) { s.trainProgress = p }

// train runs TRAIN PROJECTION: it reads the training rows from the
// statement's snapshot, trains (package learn) without holding the write
// lock, then writes the new matrices and recomputes every generated
// column that uses them in one transaction. A failure or a cancel
// changes nothing.
func (s *Session) train(ctx context.Context, n *query.Train, params []types.Value, res *Result) error {
	start := time.Now()
	snap := s.snapshot()
	p, projs, err := trainProblem(snap, n, params)
	if err != nil {
		return err
	}
	w0 := make([]float64, 0, p.NumParams())
	for _, pr := range projs {
		for _, x := range pr.W {
			w0 = append(w0, float64(x))
		}
	}
	iterations := n.Iterations
	if iterations == 0 {
		iterations = learn.DefaultIterations
	}
	progress := func(iter int, loss float64) {
		if s.trainProgress != nil {
			s.trainProgress(iter, iterations, loss)
		}
	}
	r, err := learn.Train(ctx, p, w0, iterations, progress)
	if err != nil {
		var nf *learn.NonFiniteError
		switch {
		case errors.As(err, &nf):
			return errorf(ErrValue, n.At, "TRAIN PROJECTION %s: %v; nothing was changed", projNames(projs), err)
		case ctx.Err() != nil:
			return err
		}
		return errorf(ErrValue, n.At, "TRAIN PROJECTION %s ON %s: %v", projNames(projs), n.Table.Name, err)
	}
	err = s.write(ctx, func(tx *storage.Tx) error {
		var names []string
		per := p.D * p.Out
		for k, pr := range projs {
			if tx.View().Projection(pr.Name) != pr {
				return errorf(ErrTx, n.Names[k].At, "projection %q was changed by another statement while TRAIN ran; nothing was changed", pr.Name)
			}
			w := make([]float32, per)
			for i := range w {
				w[i] = float32(r.W[k*per+i])
			}
			if err := tx.SetProjection(pr.Name, w); err != nil {
				return projectionErr(err, n.Names[k].At)
			}
			names = append(names, strings.ToLower(pr.Name))
		}
		return refreshGenerated(ctx, tx, names)
	})
	if err != nil {
		return err
	}
	if n.Analyze {
		res.Columns = []string{"plan"}
		res.Types = []types.Type{{Kind: types.Text}}
		res.HasRows = true
		line := func(format string, args ...any) {
			res.Rows = append(res.Rows, []types.Value{types.TextValue(fmt.Sprintf(format, args...))})
		}
		loss := "log loss (neighbourhood components analysis)"
		if p.Labels == nil {
			loss = "squared error (soft regression)"
		}
		line("Train %s on %s (%s): %d rows, %s, %s, T = %s, L-BFGS", projNames(projs), n.Table.Name, n.Column.Name, p.N, loss, p.Metric, types.FormatFloat(p.Temperature))
		for i, l := range r.Losses {
			line("  iteration %d: loss %s", i, types.FormatFloat(l))
		}
		line("%d iterations, %d loss and gradient evaluations, %.3f s", len(r.Losses)-1, r.Evaluations, time.Since(start).Seconds())
		return nil
	}
	res.Columns = []string{"rows", "iterations", "loss_start", "loss_end"}
	res.Types = []types.Type{{Kind: types.Int}, {Kind: types.Int}, {Kind: types.Float}, {Kind: types.Float}}
	res.HasRows = true
	res.Rows = [][]types.Value{{types.IntValue(int64(p.N)), types.IntValue(int64(len(r.Losses) - 1)),
		types.FloatValue(r.Losses[0]), types.FloatValue(r.Losses[len(r.Losses)-1])}}
	return nil
}

func projNames(projs []*storage.Projection) string {
	names := make([]string, len(projs))
	for i, p := range projs {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// trainProblem binds TRAIN against snap and reads its rows: those where
// WHERE holds and neither the column nor the label (target) is NULL.
func trainProblem(snap *storage.Snapshot, n *query.Train, params []types.Value) (*learn.Problem, []*storage.Projection, error) {
	t, err := tableOf(snap, n.Table)
	if err != nil {
		return nil, nil, err
	}
	schema := t.Schema()
	xc := schema.ColumnIndex(n.Column.Name)
	if xc < 0 {
		return nil, nil, errorf(ErrNotFound, n.Column.At, "column %q does not exist in table %q", n.Column.Name, schema.Name)
	}
	col := schema.Columns[xc]
	if col.Type.Kind != types.Vector {
		return nil, nil, errorf(ErrType, n.Column.At, "TRAIN needs a VECTOR column, but %s.%s is %s", schema.Name, col.Name, col.Type)
	}
	var projs []*storage.Projection
	for _, id := range n.Names {
		p := snap.Projection(id.Name)
		if p == nil {
			return nil, nil, errorf(ErrNotFound, id.At, "projection %q does not exist", id.Name)
		}
		if p.In != col.Type.Dim {
			return nil, nil, errorf(ErrDimension, id.At, "projection %s is %d -> %d, but %s.%s has dimension %d", p.Name, p.In, p.Out, schema.Name, col.Name, col.Type.Dim)
		}
		if len(projs) > 0 {
			if p == projs[0] {
				return nil, nil, errorf(ErrValue, id.At, "TRAIN PROJECTION names %s twice", p.Name)
			}
			if p.Out != projs[0].Out {
				return nil, nil, errorf(ErrDimension, id.At, "the query projection %s gives dimension %d but the key projection %s gives %d: scores need both the same", projs[0].Name, projs[0].Out, p.Name, p.Out)
			}
		}
		projs = append(projs, p)
	}
	lab := n.Label
	if lab == nil {
		lab = n.Target
	}
	lc := schema.ColumnIndex(lab.Name)
	if lc < 0 {
		return nil, nil, errorf(ErrNotFound, lab.At, "column %q does not exist in table %q", lab.Name, schema.Name)
	}
	lt := schema.Columns[lc].Type
	if n.Target != nil && lt.Kind != types.Float && lt.Kind != types.Int && lt.Kind != types.Vector {
		return nil, nil, errorf(ErrType, lab.At, "TARGET needs a FLOAT, INT or VECTOR column, but %s.%s is %s", schema.Name, lab.Name, lt)
	}
	d := projs[0].Out
	p := &learn.Problem{D: col.Type.Dim, Out: d, Metric: metricOf(n.Metric), Asymmetric: len(projs) == 2}
	p.Temperature = math.Sqrt(float64(d))
	if n.Temperature != nil {
		if p.Temperature, err = foldTemperature(snap, n.Temperature, params, d); err != nil {
			return nil, nil, err
		}
		if p.Temperature == 0 {
			return nil, nil, errorf(ErrValue, n.Temperature.Position(), "TRAIN needs TEMPERATURE > 0 (at 0 the weights have no gradient)")
		}
	}
	var cond expr
	if n.Where != nil {
		sc := &scope{schema: schema, params: params, aggErr: "in WHERE", snap: snap}
		if cond, err = sc.bind(n.Where); err != nil {
			return nil, nil, err
		}
	}
	rows, err := scanRows(context.Background(), t, cond, -1)
	if err != nil {
		return nil, nil, err
	}
	classes := map[string]int32{}
	if lt.Kind == types.Vector {
		p.DT = lt.Dim
	} else {
		p.DT = 1
	}
	for i := range rows {
		r := &rows[i]
		x, y := r.seg.Value(xc, r.i), r.seg.Value(lc, r.i)
		if x.IsNull() || y.IsNull() {
			continue
		}
		p.X = append(p.X, x.V...)
		p.N++
		if n.Label != nil {
			key := y.String()
			id, ok := classes[key]
			if !ok {
				id = int32(len(classes))
				classes[key] = id
			}
			p.Labels = append(p.Labels, id)
			continue
		}
		switch y.K {
		case types.Vector:
			for _, v := range y.V {
				p.Targets = append(p.Targets, float64(v))
			}
		default:
			f, _ := y.AsFloat()
			p.Targets = append(p.Targets, f)
		}
	}
	switch {
	case p.N < 2:
		return nil, nil, errorf(ErrValue, n.At, "TRAIN needs at least 2 rows of %s with %s and %s not NULL, found %d", schema.Name, col.Name, lab.Name, p.N)
	case n.Label != nil && len(classes) < 2:
		return nil, nil, errorf(ErrValue, lab.At, "TRAIN needs at least 2 different labels, but all %d rows of %s have %s = %s", p.N, schema.Name, lab.Name, firstKey(classes))
	}
	return p, projs, nil
}

func firstKey(m map[string]int32) string {
	for k := range m {
		return k
	}
	return ""
}
