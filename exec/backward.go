package exec

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/softdb/softdb/attention"
	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
	"github.com/softdb/softdb/types"
)

// learnPlan is the part of a SOFT SELECT that SPEC §10 adds to the
// match: HEADS h and BACKWARD col = g.
type learnPlan struct {
	heads int // 1: the plain blend
	grad  *gradSpec
	dim   int // the match column's dimension

	// kinds[i] says what blend item i is (blend form only).
	kinds []int
}

// The kinds of blend items of a learnPlan.
const (
	itemPlain   = iota // computed by the plain blend paths
	itemHead           // a VECTOR column blended head by head (HEADS h > 1)
	itemGradCol        // the BACKWARD column itself, blended with its gradient pass
	itemGrad           // an item of grad_query, grad_temperature and constants
)

// gradSpec is BACKWARD col = g.
type gradSpec struct {
	col  int
	name string
	t    types.Type // the column's type: VECTOR(dv), FLOAT or INT
	dv   int        // components of g: the vector's dimension, or 1
	g    []float32  // the upstream gradient, dv components
	at   query.Pos
}

// gradNames are the pseudo-columns of BACKWARD; their slots follow qrow.
var gradNames = [...]string{"grad_query", "grad_temperature", "grad_key", "grad_value"}

// planLearned binds HEADS and BACKWARD (nil, nil when neither is given).
func planLearned(s *query.Select, m *matchPlan, schema *storage.Schema, params []types.Value) (*learnPlan, error) {
	if s.Match.Heads == nil && s.Match.Backward == nil {
		return nil, nil
	}
	lp := &learnPlan{heads: 1, dim: m.dim}
	if h := s.Match.Heads; h != nil {
		n, err := constIntFrom(h, params, "HEADS", 1)
		if err != nil {
			return nil, err
		}
		if int64(m.dim)%n != 0 {
			return nil, errorf(ErrDimension, h.Position(), "HEADS %d does not divide the dimension %d of %s.%s", n, m.dim, m.table, m.colName)
		}
		lp.heads = int(n)
		if s.Match.Temperature == nil {
			// SPEC §10: the default temperature of a head is √(d/h).
			m.temp = math.Sqrt(float64(m.dim) / float64(n))
			m.tempSrc = "√(d/h)"
		}
		if m.top > 0 && n > 1 {
			return nil, errorf(ErrUnsupported, h.Position(), "HEADS with TOP is not supported: each head would rank its own best rows")
		}
	}
	if b := s.Match.Backward; b != nil {
		g, err := planGrad(b, schema, params)
		if err != nil {
			return nil, err
		}
		if m.temp == 0 || math.IsInf(1/m.temp, 0) {
			return nil, errorf(ErrValue, b.At, "BACKWARD needs TEMPERATURE > 0 (and above 1e-308): at T = 0 the blend is a step function of the scores, with no useful gradient")
		}
		if lp.heads > 1 && g.t.Kind != types.Vector {
			return nil, errorf(ErrType, b.At, "HEADS %d: BACKWARD column %s.%s is %s; heads blend VECTOR columns", lp.heads, schema.Name, g.name, g.t)
		}
		if lp.heads > 1 && g.dv%lp.heads != 0 {
			return nil, errorf(ErrDimension, b.At, "HEADS %d does not divide the dimension %d of BACKWARD column %s.%s", lp.heads, g.dv, schema.Name, g.name)
		}
		lp.grad = g
	}
	return lp, nil
}

// planGrad binds BACKWARD col = g: col a VECTOR, FLOAT or INT column, g a
// constant shaped like its blend (a vector of its dimension, or a number).
func planGrad(b *query.Backward, schema *storage.Schema, params []types.Value) (*gradSpec, error) {
	i := schema.ColumnIndex(b.Column.Name)
	if i < 0 {
		return nil, errorf(ErrNotFound, b.Column.At, "BACKWARD: column %q does not exist in table %q", b.Column.Name, schema.Name)
	}
	c := schema.Columns[i]
	gs := &gradSpec{col: i, name: c.Name, t: c.Type, dv: 1, at: b.At}
	switch c.Type.Kind {
	case types.Vector:
		gs.dv = c.Type.Dim
	case types.Float, types.Int:
	default:
		return nil, errorf(ErrType, b.Column.At, "BACKWARD: column %s.%s is %s; only VECTOR, FLOAT and INT columns are blended", schema.Name, c.Name, c.Type)
	}
	sc := &scope{params: params, aggErr: "in BACKWARD"}
	e, err := sc.bind(b.Grad)
	if err != nil {
		return nil, err
	}
	v, err := e.eval(flatRow(nil))
	if err != nil {
		return nil, err
	}
	pos := b.Grad.Position()
	if v.K == types.Text && c.Type.Kind == types.Vector {
		vec, err := types.ParseVector(v.S)
		if err != nil {
			return nil, errorf(ErrValue, pos, "BACKWARD %s = g: %v", c.Name, err)
		}
		v = types.VectorValue(vec)
	}
	switch {
	case c.Type.Kind == types.Vector && v.K == types.Vector:
		if len(v.V) != gs.dv {
			return nil, errorf(ErrDimension, pos, "BACKWARD %s = g: g has dimension %d, but %s.%s is %s (dimension %d)", c.Name, len(v.V), schema.Name, c.Name, c.Type, gs.dv)
		}
		gs.g = v.V
	case c.Type.Kind != types.Vector && v.K != types.Vector && v.K != types.Null:
		f, ok := v.AsFloat()
		if !ok {
			return nil, errorf(ErrType, pos, "BACKWARD %s = g: g must be a number like %s.%s (%s), got %s", c.Name, schema.Name, c.Name, c.Type, kindName(v))
		}
		gs.g = []float32{float32(f)}
	default:
		return nil, errorf(ErrType, pos, "BACKWARD %s = g: g must be shaped like the blend of %s.%s (%s), got %s", c.Name, schema.Name, c.Name, c.Type, kindName(v))
	}
	for _, x := range gs.g {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, errorf(ErrValue, pos, "BACKWARD %s = g: g contains NaN or Inf", c.Name)
		}
	}
	return gs, nil
}

// bindGrad binds one of gradNames.
func (s *scope) bindGrad(n *query.ColumnRef, name string) (expr, error) {
	if !s.match {
		return nil, errorf(ErrNotFound, n.At, "%s is only available in SOFT SELECT … BACKWARD col = g", name)
	}
	if s.noScore != "" {
		return nil, errorf(ErrType, n.At, "%s cannot be used in %s", name, s.noScore)
	}
	lp := s.learn
	if lp == nil || lp.grad == nil {
		return nil, errorf(ErrValue, n.At, "%s needs BACKWARD col = g in the same SOFT SELECT (the gradient of L = ⟨g, blend(col)⟩)", name)
	}
	nc := len(s.schema.Columns)
	vec := types.Type{Kind: types.Vector, Dim: lp.dim}
	switch name {
	case "grad_query":
		return &colE{slot: nc + pseudoGradQuery, name: name, t: vec}, nil
	case "grad_temperature":
		return &colE{slot: nc + pseudoGradTemp, name: name, t: types.Type{Kind: types.Float}}, nil
	case "grad_key":
		return &colE{slot: nc + pseudoGradKey, name: name, t: vec}, nil
	}
	t := lp.grad.t
	if t.Kind == types.Int {
		t = types.Type{Kind: types.Float}
	}
	return &colE{slot: nc + pseudoGradValue, name: name, t: t}, nil
}

// check validates the forms (SPEC §10: grad_query and grad_temperature
// in the blend form, grad_key and grad_value in the row form; HEADS in
// the blend form) once the planner has chosen one, and classifies the
// blend items.
func (lp *learnPlan) check(m *matchPlan, s *query.Select) error {
	if !m.blend {
		if lp.heads > 1 {
			return errorf(ErrUnsupported, s.Match.Heads.Position(), "HEADS needs the blend form (every item a VECTOR column); this SOFT SELECT is in the row form (%s), which HEADS does not support", rowFormReason(s))
		}
		for _, it := range s.Items {
			if n := mentionsName(it.Expr, "grad_query", "grad_temperature"); n != "" {
				return errorf(ErrValue, it.At, "%s is one value per query: it exists in the blend form only, and this SOFT SELECT is in the row form (%s); select grad_key or grad_value per row", n, rowFormReason(s))
			}
		}
		m.rowsNeeded = -1 // the blend and ⟨g, b⟩ need every row
		return nil
	}
	lp.kinds = make([]int, len(m.blendItems))
	for i, it := range s.Items {
		if n := mentionsName(it.Expr, "grad_key", "grad_value"); n != "" {
			return errorf(ErrValue, it.At, "%s is one value per row: it exists in the row form only, and this SOFT SELECT is in the blend form; select rowid, score or weight too to get the rows", n)
		}
		b := m.blendItems[i]
		if n := mentionsName(it.Expr, "grad_query", "grad_temperature"); n != "" {
			if !b.constant {
				return errorf(ErrUnsupported, it.At, "%s is one value per query and cannot be combined with the rows' columns in one item", n)
			}
			lp.kinds[i] = itemGrad
			continue
		}
		c, _ := b.e.(*colE)
		switch {
		case lp.heads > 1 && b.vecCol >= 0:
			if b.t.Dim%lp.heads != 0 {
				return errorf(ErrDimension, it.At, "HEADS %d does not divide the dimension %d of %s.%s", lp.heads, b.t.Dim, m.table, c.name)
			}
			lp.kinds[i] = itemHead
		case lp.heads > 1 && !b.constant:
			return errorf(ErrUnsupported, it.At, "HEADS %d blends VECTOR columns head by head; %s is not a VECTOR column", lp.heads, query.Format(it.Expr))
		case lp.grad != nil && b.vecCol >= 0 && b.vecCol == lp.grad.col:
			lp.kinds[i] = itemGradCol // its blend comes from the gradient's forward pass
		}
	}
	if lp.heads > 1 && !m.fusable() {
		return errorf(ErrUnsupported, s.Match.Heads.Position(), "HEADS needs TEMPERATURE > 0")
	}
	return nil
}

// explain is the EXPLAIN text of HEADS and BACKWARD ("" for nil).
func (lp *learnPlan) explain() string {
	if lp == nil {
		return ""
	}
	s := ""
	if lp.heads > 1 {
		s = fmt.Sprintf(" HEADS %d", lp.heads)
	}
	if lp.grad != nil {
		s += fmt.Sprintf(" BACKWARD %s (L = ⟨g, blend⟩)", lp.grad.name)
	}
	return s
}

// rowFormReason says why a SOFT SELECT is in the row form.
func rowFormReason(s *query.Select) string {
	for _, it := range s.Items {
		if it.Star {
			return "it selects *"
		}
		if n := mentionsName(it.Expr, "score", "weight", "rowid"); n != "" {
			return "it selects " + n
		}
	}
	if len(s.GroupBy) > 0 {
		return "it has GROUP BY"
	}
	return "it selects an aggregate or a non-numeric item"
}

// mentionsName returns the first of names that e mentions, or "".
func mentionsName(e query.Expr, names ...string) string {
	found := ""
	walk(e, func(x query.Expr) {
		if c, ok := x.(*query.ColumnRef); ok && found == "" {
			for _, n := range names {
				if strings.EqualFold(c.Name, n) {
					found = n
				}
			}
		}
	})
	return found
}

// rowGrad holds the gradient pseudo-columns of one source row.
type rowGrad struct {
	key, value types.Value
}

// gradValue returns the value of pseudo-column slot p (an offset past
// the table's columns) of r beyond the core ones.
func (r *srcRow) gradValue(p int) types.Value {
	if r.grad == nil {
		return types.Value{}
	}
	switch p {
	case pseudoGradKey:
		return r.grad.key
	case pseudoGradValue:
		return r.grad.value
	}
	return types.Value{}
}

// finishRows is runOne's last step when HEADS or BACKWARD is given and
// the rows themselves were scored (the row form, and the blend form with
// TOP or blended expressions): the gradients are computed from the rows'
// float64 weights, then the rows go to the blend or the output pipeline.
func (lp *learnPlan) finishRows(ctx context.Context, m *matchPlan, p *selectPlan, rows []srcRow, q queryVec) ([][]types.Value, error) {
	var gq []float64
	var gT float64
	ok := false
	if lp.grad != nil && q.v != nil {
		var err error
		if gq, gT, ok, err = lp.rowGrads(m, rows, q.v); err != nil {
			return nil, err
		}
	}
	if !m.blend {
		return finish(ctx, p.out, rows)
	}
	res, err := m.blendRows(ctx, rows, q)
	if err != nil {
		return nil, err
	}
	if !ok {
		gq = nil
	}
	if err := lp.gradItems(m, res, q.qrow, gq, gT); err != nil {
		return nil, err
	}
	return [][]types.Value{res}, nil
}

// gradItems evaluates the blend items that name grad_query or
// grad_temperature into res, for a query whose ∂L/∂q is gq (nil: no row
// took part, both are NULL) and ∂L/∂T is gT.
func (lp *learnPlan) gradItems(m *matchPlan, res []types.Value, qrow types.Value, gq []float64, gT float64) error {
	env := flatRow(qrowEnv(m.ncols, qrow))
	if gq != nil {
		v, err := narrow(gq, "grad_query", lp.grad.at)
		if err != nil {
			return err
		}
		env[m.ncols+pseudoGradQuery] = types.VectorValue(v)
		env[m.ncols+pseudoGradTemp] = types.FloatValue(gT)
	}
	for i, k := range lp.kinds {
		if k != itemGrad {
			continue
		}
		v, err := m.blendItems[i].e.eval(env)
		if err != nil {
			return err
		}
		res[i] = v
	}
	return nil
}

// rowGrads computes, in float64 from the rows' weights and float32
// scores, every row's ∂L/∂kᵢ and ∂L/∂vᵢ (set on the rows) and returns
// ∂L/∂q and ∂L/∂T (see attention/backward.go for the derivation). Rows
// whose column value is NULL take no part in the blend (SPEC §4: the
// weights are renormalised over the others): their ∂L/∂vᵢ is NULL and
// their ∂L/∂kᵢ the zero vector. ok is false when no row takes part.
func (lp *learnPlan) rowGrads(m *matchPlan, rows []srcRow, q []float32) (gq []float64, gT float64, ok bool, err error) {
	gs := lp.grad
	vals := make([][]float64, len(rows))
	var wsum float64
	for i := range rows {
		v := rows[i].seg.Value(gs.col, rows[i].i)
		switch v.K {
		case types.Vector:
			vals[i] = make([]float64, len(v.V))
			for j, x := range v.V {
				vals[i][j] = float64(x)
			}
		case types.Null:
			continue
		default:
			f, _ := v.AsFloat()
			vals[i] = []float64{f}
		}
		wsum += rows[i].weight
	}
	d := m.dim
	for i := range rows {
		rows[i].grad = &rowGrad{key: types.VectorValue(make([]float32, d))}
	}
	if !(wsum > 0) {
		return nil, 0, false, nil
	}
	var gb float64
	for i := range rows {
		for j, x := range vals[i] {
			gb += rows[i].weight / wsum * x * float64(gs.g[j])
		}
	}
	invT := 1 / m.temp
	gq = make([]float64, d)
	gk := make([]float64, d)
	for i := range rows {
		r := &rows[i]
		if vals[i] == nil {
			continue
		}
		w := r.weight / wsum
		var gv float64
		for j, x := range vals[i] {
			gv += x * float64(gs.g[j])
		}
		c := w * (gv - gb) * invT
		k := r.seg.Value(m.col, r.i).V
		attention.ScoreGrad(gq, m.metric, c, q, k)
		gT -= c * float64(r.score) * invT
		clear(gk)
		attention.ScoreGrad(gk, m.metric, c, k, q)
		key, err := narrow(gk, "grad_key", gs.at)
		if err != nil {
			return nil, 0, false, err
		}
		r.grad.key = types.VectorValue(key)
		if gs.t.Kind == types.Vector {
			gvv := make([]float32, gs.dv)
			for j, x := range gs.g {
				gvv[j] = float32(w * float64(x))
			}
			r.grad.value = types.VectorValue(gvv)
		} else {
			r.grad.value = types.FloatValue(w * float64(gs.g[0]))
		}
	}
	return gq, gT, true, nil
}

// narrow rounds the float64 gradient v to float32. A component past
// float32's range is an error, as for vector arithmetic: clamping it
// would return a wrong gradient without a word.
func narrow(v []float64, name string, at query.Pos) ([]float32, error) {
	out := make([]float32, len(v))
	for j, x := range v {
		out[j] = float32(x)
		if math.IsInf(float64(out[j]), 0) || math.IsNaN(x) {
			return nil, errorf(ErrValue, at, "%s overflows float32: component %d is %g (scale g or the values down)", name, j+1, x)
		}
	}
	return out, nil
}
