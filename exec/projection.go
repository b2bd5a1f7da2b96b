package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/softdb/softdb/formats"
	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
	"github.com/softdb/softdb/types"
)

// The learned lookup's statements (SPEC §10): projections, and TRAIN
// (train.go). Generated columns are in generated.go.

// execLearn runs the statements of this file; handled is false for any
// other statement.
func (s *Session) execLearn(ctx context.Context, stmt query.Statement, params []types.Value, res *Result) (handled bool, err error) {
	switch n := stmt.(type) {
	case *query.CreateProjection:
		p, err := newProjection(ctx, n)
		if err != nil {
			return true, err
		}
		return true, s.write(ctx, func(tx *storage.Tx) error { return projectionErr(tx.CreateProjection(*p), n.Name.At) })
	case *query.DropProjection:
		return true, s.write(ctx, func(tx *storage.Tx) error { return dropProjection(tx, n) })
	case *query.ShowProjections:
		res.Columns = []string{"name", "d_in", "d_out", "used_by"}
		res.Types = []types.Type{{Kind: types.Text}, {Kind: types.Int}, {Kind: types.Int}, {Kind: types.Text}}
		res.HasRows = true
		snap := s.snapshot()
		for _, p := range snap.Projections() {
			res.Rows = append(res.Rows, []types.Value{types.TextValue(p.Name), types.IntValue(int64(p.In)), types.IntValue(int64(p.Out)),
				types.TextValue(strings.Join(generatedUsers(snap, p.Name), ", "))})
		}
		return true, nil
	case *query.CopyProjection:
		p := s.snapshot().Projection(n.Name.Name)
		if p == nil {
			return true, errorf(ErrNotFound, n.Name.At, "projection %q does not exist", n.Name.Name)
		}
		return true, writeProjection(p, n.Path.Value)
	case *query.Train:
		return true, s.train(ctx, n, params, res)
	}
	return false, nil
}

// projectionErr positions storage's projection errors.
func projectionErr(err error, at query.Pos) error {
	var pe *storage.ProjectionError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe) && errors.Is(err, storage.ErrProjectionExists):
		return errorf(ErrValue, at, "%v", err)
	case errors.As(err, &pe):
		return errorf(ErrNotFound, at, "%v", err)
	}
	var ve *storage.ValueError
	if errors.As(err, &ve) {
		return errorf(ErrValue, at, "%v", err)
	}
	return err
}

// newProjection builds the matrix of CREATE PROJECTION: read from an npy
// file of shape (in, out), the identity (ones on the diagonal of the
// in × out matrix, zeros elsewhere), or random.
func newProjection(ctx context.Context, n *query.CreateProjection) (*storage.Projection, error) {
	p := &storage.Projection{Name: n.Name.Name, In: n.In, Out: n.Out}
	if n.In*n.Out > storage.MaxProjectionElems {
		return nil, errorf(ErrValue, n.At, "projection %q: %d -> %d has %d elements, more than the limit of %d", n.Name.Name, n.In, n.Out, n.In*n.Out, storage.MaxProjectionElems)
	}
	switch {
	case n.From != nil:
		w, err := readProjection(ctx, n.From.Value, n.In, n.Out)
		if err != nil {
			return nil, errorf(ErrValue, n.From.At, "CREATE PROJECTION %s: %v", n.Name.Name, err)
		}
		p.W = w
	case n.Init == "IDENTITY":
		p.W = make([]float32, n.In*n.Out)
		for i := range min(n.In, n.Out) {
			p.W[i*n.Out+i] = 1
		}
	default:
		p.W = randomProjection(n.In, n.Out, uint64(n.Seed))
	}
	return p, nil
}

// randomProjection draws each element from N(0, 1/in) (LeCun et al.,
// "Efficient BackProp", 1998: the projected vector keeps the scale of
// the input), from a PCG stream seeded by seed, so a seed gives the same
// matrix on every machine.
func randomProjection(in, out int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x736f667464620001)) // "softdb" + 1: a fixed second seed word
	w := make([]float32, in*out)
	sd := 1 / math.Sqrt(float64(in))
	for i := range w {
		w[i] = float32(r.NormFloat64() * sd)
	}
	return w
}

// readProjection reads an npy matrix of shape (in, out) as in rows of
// out-vectors; the formats reader names the file in its errors.
func readProjection(ctx context.Context, path string, in, out int) ([]float32, error) {
	if !strings.HasSuffix(strings.ToLower(path), ".npy") {
		return nil, fmt.Errorf("%s: a projection is read from an .npy file of shape (%d, %d)", path, in, out)
	}
	r, err := formats.OpenReaderContext(ctx, path, []formats.Column{{Name: "row", Type: types.Type{Kind: types.Vector, Dim: out}}}, formats.Options{})
	if err != nil {
		return nil, fmt.Errorf("%w (a projection %d -> %d needs shape (%d, %d))", err, in, out, in, out)
	}
	defer r.Close()
	if r.Rows() >= 0 && r.Rows() != int64(in) {
		return nil, fmt.Errorf("%s has %d rows, but a projection %d -> %d needs shape (%d, %d)", path, r.Rows(), in, out, in, out)
	}
	w := make([]float32, 0, in*out)
	row := make([]types.Value, 1)
	for {
		err := r.Next(row)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if row[0].K != types.Vector || len(w) == in*out {
			return nil, fmt.Errorf("%s: a projection %d -> %d needs shape (%d, %d)", path, in, out, in, out)
		}
		w = append(w, row[0].V...)
	}
	if len(w) != in*out {
		return nil, fmt.Errorf("%s has %d rows, but a projection %d -> %d needs shape (%d, %d)", path, len(w)/out, in, out, in, out)
	}
	return w, nil
}

// writeProjection writes p as an npy float32 matrix of shape (In, Out).
func writeProjection(p *storage.Projection, path string) error {
	w, err := formats.CreateWriter(path, []formats.Column{{Name: p.Name, Type: types.Type{Kind: types.Vector, Dim: p.Out}}}, formats.Options{Format: formats.NPY})
	if err != nil {
		return err
	}
	row := make([]types.Value, 1)
	for i := range p.In {
		row[0] = types.VectorValue(p.W[i*p.Out : (i+1)*p.Out])
		if err := w.Write(row); err != nil {
			_ = w.Abort()
			return err
		}
	}
	return w.Close()
}

func dropProjection(tx *storage.Tx, n *query.DropProjection) error {
	snap := tx.View()
	if snap.Projection(n.Name.Name) == nil {
		if n.IfExists {
			return nil
		}
		return errorf(ErrNotFound, n.Name.At, "projection %q does not exist", n.Name.Name)
	}
	if users := generatedUsers(snap, n.Name.Name); len(users) > 0 {
		return errorf(ErrConstraint, n.Name.At, "projection %q is used by the generated column %s; drop or recreate the table first", n.Name.Name, strings.Join(users, ", "))
	}
	return projectionErr(tx.DropProjection(n.Name.Name), n.Name.At)
}

// projE is project(x, W): the row vector x times the matrix W.
type projE struct {
	pos query.Pos
	x   expr
	p   *storage.Projection
}

func (e *projE) typ() types.Type { return types.Type{Kind: types.Vector, Dim: e.p.Out} }
func (e *projE) String() string  { return "project(" + e.x.String() + ", " + e.p.Name + ")" }

func (e *projE) eval(env rowEnv) (types.Value, error) {
	v, err := e.x.eval(env)
	if err != nil || v.IsNull() {
		return types.Value{}, err
	}
	if v.K != types.Vector {
		return types.Value{}, errorf(ErrType, e.pos, "project() needs a VECTOR, got %s", kindName(v))
	}
	if len(v.V) != e.p.In {
		return types.Value{}, projDimError(e.pos, len(v.V), e.p)
	}
	out := make([]float32, e.p.Out)
	Project(out, v.V, e.p.W)
	return checkVector(e.pos, out)
}

func projDimError(pos query.Pos, got int, p *storage.Projection) error {
	return errorf(ErrDimension, pos, "project(): the vector has dimension %d, but projection %s is %d -> %d (it takes dimension %d)", got, p.Name, p.In, p.Out, p.In)
}

// Project sets out = x·W for W of len(x) rows and len(out) columns
// (row-major), summing in float64 in row order.
func Project(out, x, w []float32) {
	d := len(out)
	acc := make([]float64, d)
	for i, xi := range x {
		if xi == 0 {
			continue
		}
		row := w[i*d : (i+1)*d]
		for j, wij := range row {
			acc[j] += float64(xi) * float64(wij)
		}
	}
	for j := range out {
		out[j] = float32(acc[j])
	}
}

// bindProject binds project(x, name): name is a projection of the
// statement's snapshot, written as a name or a string.
func (s *scope) bindProject(n *query.Call) (expr, error) {
	if n.Star || n.Distinct || len(n.Args) != 2 {
		return nil, errorf(ErrType, n.At, "project() takes 2 arguments, a vector and a projection name: project(x, w)")
	}
	var name string
	switch a := n.Args[1].(type) {
	case *query.ColumnRef:
		if a.Table == "" {
			name = a.Name
		}
	case *query.StringLit:
		name = a.Value
	}
	if name == "" {
		return nil, errorf(ErrType, n.Args[1].Position(), "project(): the second argument must name a projection, got %s", query.Format(n.Args[1]))
	}
	var p *storage.Projection
	if s.snap != nil {
		p = s.snap.Projection(name)
	}
	if p == nil {
		return nil, errorf(ErrNotFound, n.Args[1].Position(), "projection %q does not exist", name)
	}
	x, err := s.bind(n.Args[0])
	if err != nil {
		return nil, err
	}
	if t := x.typ(); t.Kind == types.Vector && t.Dim > 0 && t.Dim != p.In {
		return nil, projDimError(n.Args[0].Position(), t.Dim, p)
	} else if t.Kind != types.Vector && t.Kind != types.Null {
		return nil, errorf(ErrType, n.Args[0].Position(), "project() needs a VECTOR, got %s", t)
	}
	return &projE{pos: n.At, x: x, p: p}, nil
}

// projectionsIn returns the lower-case names of the projections that the
// expression e names in project() calls.
func projectionsIn(e query.Expr) []string {
	var out []string
	walk(e, func(x query.Expr) {
		c, ok := x.(*query.Call)
		if !ok || !strings.EqualFold(c.Name, "project") || len(c.Args) != 2 {
			return
		}
		switch a := c.Args[1].(type) {
		case *query.ColumnRef:
			out = append(out, strings.ToLower(a.Name))
		case *query.StringLit:
			out = append(out, strings.ToLower(a.Value))
		}
	})
	return out
}

// formatInt is strconv.Itoa for int64.
func formatInt(n int64) string { return strconv.FormatInt(n, 10) }
