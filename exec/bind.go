package exec

import (
	"fmt"
	"strings"

	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
	"github.com/softdb/softdb/types"
)

// Pseudo-columns follow the table's columns in a source row's slots.
const (
	pseudoRowID = iota
	pseudoScore
	pseudoWeight
	pseudoQrow
	pseudoGradQuery // BACKWARD's pseudo-columns (backward.go)
	pseudoGradTemp
	pseudoGradKey
	pseudoGradValue
	numPseudo
)

// scope resolves names while binding an expression.
type scope struct {
	schema   *storage.Schema // nil: no FROM
	match    bool            // score, weight, qrow are available
	noScore  string          // non-empty: score/weight are rejected with this reason
	params   []types.Value
	dimVar   int       // > 0: the name d is this constant (TEMPERATURE)
	group    *groupCtx // non-nil: binding over groups (aggregates allowed)
	aggErr   string    // why aggregates are not allowed here
	errBound *float64  // the error_bound of the statement's match (indexscan.go)

	snap *storage.Snapshot // the projections project() may name; nil: none

	learn *learnPlan // HEADS, BACKWARD of the match (backward.go)
}

func (s *scope) ncols() int {
	if s.schema == nil {
		return 0
	}
	return len(s.schema.Columns)
}

// groupCtx binds expressions that are evaluated once per group: group-by
// terms and aggregates become slots of the group row.
type groupCtx struct {
	src     *scope   // the scope of the source rows, for aggregate arguments
	keys    []string // Format of each GROUP BY term
	keyType []types.Type
	aggs    []*aggSpec
}

var aggregateNames = map[string]bool{"count": true, "sum": true, "avg": true, "min": true, "max": true}

func (s *scope) bind(e query.Expr) (expr, error) {
	if s.group != nil {
		if i := indexOf(s.group.keys, query.Format(e)); i >= 0 {
			return &colE{slot: i, name: query.Format(e), t: s.group.keyType[i]}, nil
		}
	}
	switch n := e.(type) {
	case *query.ColumnRef:
		return s.bindColumn(n)
	case *query.IntLit:
		return &constE{types.IntValue(n.Value)}, nil
	case *query.FloatLit:
		return &constE{types.FloatValue(n.Value)}, nil
	case *query.StringLit:
		return &constE{types.TextValue(n.Value)}, nil
	case *query.NullLit:
		return &constE{types.Value{}}, nil
	case *query.BoolLit:
		return &constE{boolValue(n.Value)}, nil
	case *query.VectorLit:
		return &constE{types.VectorValue(n.Values)}, nil
	case *query.Param:
		if n.Index < 1 || n.Index > len(s.params) {
			return nil, errorf(ErrValue, n.At, "no value given for parameter $%d (%d given)", n.Index, len(s.params))
		}
		return &constE{s.params[n.Index-1]}, nil
	case *query.Unary:
		x, err := s.bind(n.X)
		if err != nil {
			return nil, err
		}
		return &unaryE{pos: n.At, op: strings.ToUpper(n.Op), x: x}, nil
	case *query.Binary:
		l, err := s.bind(n.L)
		if err != nil {
			return nil, err
		}
		r, err := s.bind(n.R)
		if err != nil {
			return nil, err
		}
		return &binaryE{pos: n.At, op: n.Op.String(), l: l, r: r}, nil
	case *query.IsNull:
		x, err := s.bind(n.X)
		if err != nil {
			return nil, err
		}
		return &isNullE{x: x, not: n.Not}, nil
	case *query.In:
		x, err := s.bind(n.X)
		if err != nil {
			return nil, err
		}
		list, err := s.bindList(n.List)
		if err != nil {
			return nil, err
		}
		return &inE{pos: n.At, x: x, list: list, not: n.Not}, nil
	case *query.Between:
		x, err := s.bind(n.X)
		if err != nil {
			return nil, err
		}
		lo, err := s.bind(n.Lo)
		if err != nil {
			return nil, err
		}
		hi, err := s.bind(n.Hi)
		if err != nil {
			return nil, err
		}
		var b expr = &binaryE{pos: n.At, op: "AND",
			l: &binaryE{pos: n.At, op: ">=", l: x, r: lo},
			r: &binaryE{pos: n.At, op: "<=", l: x, r: hi}}
		if n.Not {
			b = &unaryE{pos: n.At, op: "NOT", x: b}
		}
		return b, nil
	case *query.Like:
		x, err := s.bind(n.X)
		if err != nil {
			return nil, err
		}
		p, err := s.bind(n.Pattern)
		if err != nil {
			return nil, err
		}
		return &likeE{pos: n.At, x: x, pattern: p, not: n.Not}, nil
	case *query.Call:
		return s.bindCall(n)
	case *query.Subquery:
		return nil, errorf(ErrUnsupported, n.At, "a subquery is only allowed as the query of MATCH")
	}
	return nil, errorf(ErrUnsupported, e.Position(), "unsupported expression %s", query.Format(e))
}

func (s *scope) bindList(list []query.Expr) ([]expr, error) {
	out := make([]expr, len(list))
	for i, x := range list {
		b, err := s.bind(x)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (s *scope) bindColumn(n *query.ColumnRef) (expr, error) {
	name := strings.ToLower(n.Name)
	if s.dimVar > 0 && name == "d" && n.Table == "" {
		return &constE{types.IntValue(int64(s.dimVar))}, nil
	}
	if s.group != nil {
		return nil, errorf(ErrType, n.At, "column %q must appear in the GROUP BY clause or be used in an aggregate function", n.Name)
	}
	if s.schema == nil {
		if s.dimVar > 0 {
			return nil, errorf(ErrNotFound, n.At, "unknown name %q in TEMPERATURE (only numbers and d, the dimension, are allowed)", n.Name)
		}
		return nil, errorf(ErrNotFound, n.At, "column %q does not exist (the statement has no FROM)", n.Name)
	}
	if n.Table != "" && !strings.EqualFold(n.Table, s.schema.Name) {
		return nil, errorf(ErrNotFound, n.At, "table %q is not in this statement (only %q is)", n.Table, s.schema.Name)
	}
	nc := len(s.schema.Columns)
	if i := s.schema.ColumnIndex(n.Name); i >= 0 {
		c := s.schema.Columns[i]
		return &colE{slot: i, name: c.Name, t: c.Type}, nil
	}
	switch name {
	case "error_bound":
		return s.bindErrorBound(n)
	case "rowid":
		return &colE{slot: nc + pseudoRowID, name: "rowid", t: types.Type{Kind: types.Int}}, nil
	case "score", "weight", "qrow":
		if !s.match {
			return nil, errorf(ErrNotFound, n.At, "%s is only available in HARD SELECT and SOFT SELECT", name)
		}
		if s.noScore != "" && name != "qrow" {
			return nil, errorf(ErrType, n.At, "%s cannot be used in %s", name, s.noScore)
		}
		if name == "qrow" {
			if s.noScore != "" {
				return nil, errorf(ErrType, n.At, "qrow cannot be used in %s", s.noScore)
			}
			return &colE{slot: nc + pseudoQrow, name: "qrow", t: types.Type{Kind: types.Int}}, nil
		}
		if name == "score" {
			return &colE{slot: nc + pseudoScore, name: "score", t: types.Type{Kind: types.Float}}, nil
		}
		return &colE{slot: nc + pseudoWeight, name: "weight", t: types.Type{Kind: types.Float}}, nil
	case "grad_query", "grad_temperature", "grad_key", "grad_value":
		return s.bindGrad(n, name)
	}
	return nil, errorf(ErrNotFound, n.At, "column %q does not exist in table %q", n.Name, s.schema.Name)
}

func (s *scope) bindCall(n *query.Call) (expr, error) {
	name := strings.ToLower(n.Name)
	if aggregateNames[name] {
		if s.group == nil {
			why := s.aggErr
			if why == "" {
				why = "here"
			}
			return nil, errorf(ErrType, n.At, "aggregate %s() is not allowed %s", name, why)
		}
		spec := &aggSpec{name: name, distinct: n.Distinct, text: query.Format(n)}
		if n.Star {
			if name != "count" {
				return nil, errorf(ErrType, n.At, "%s(*) is not valid; only count(*) is", name)
			}
		} else {
			if len(n.Args) != 1 {
				return nil, errorf(ErrType, n.At, "%s() takes exactly one argument, got %d", name, len(n.Args))
			}
			arg, err := s.group.src.bind(n.Args[0])
			if err != nil {
				return nil, err
			}
			spec.arg = arg
		}
		// Reuse an identical aggregate (SELECT sum(x) … ORDER BY sum(x)).
		for i, a := range s.group.aggs {
			if a.text == spec.text {
				return &colE{slot: len(s.group.keys) + i, name: spec.text, t: a.resultType()}, nil
			}
		}
		s.group.aggs = append(s.group.aggs, spec)
		return &colE{slot: len(s.group.keys) + len(s.group.aggs) - 1, name: spec.text, t: spec.resultType()}, nil
	}
	if name == "project" {
		return s.bindProject(n) // projection.go
	}
	f, ok := scalarFuncs[name]
	if !ok {
		return nil, errorf(ErrNotFound, n.At, "unknown function %s()", n.Name)
	}
	if n.Star || n.Distinct {
		return nil, errorf(ErrType, n.At, "%s() does not take * or DISTINCT", name)
	}
	if len(n.Args) < f.minArgs || (f.maxArgs >= 0 && len(n.Args) > f.maxArgs) {
		want := fmt.Sprint(f.minArgs)
		if f.maxArgs != f.minArgs {
			want = fmt.Sprintf("%d to %d", f.minArgs, f.maxArgs)
			if f.maxArgs < 0 {
				want = fmt.Sprintf("at least %d", f.minArgs)
			}
		}
		return nil, errorf(ErrType, n.At, "%s() takes %s arguments, got %d", name, want, len(n.Args))
	}
	args, err := s.bindList(n.Args)
	if err != nil {
		return nil, err
	}
	return &callE{pos: n.At, name: name, f: f, args: args}, nil
}

// hasAggregate reports whether e contains an aggregate call (outside a
// subquery).
func hasAggregate(e query.Expr) bool {
	found := false
	walk(e, func(x query.Expr) {
		if c, ok := x.(*query.Call); ok && aggregateNames[strings.ToLower(c.Name)] {
			found = true
		}
	})
	return found
}

// mentions reports whether e names one of the given (lower-case) columns.
func mentions(e query.Expr, names ...string) bool {
	found := false
	walk(e, func(x query.Expr) {
		if c, ok := x.(*query.ColumnRef); ok {
			for _, n := range names {
				if strings.EqualFold(c.Name, n) {
					found = true
				}
			}
		}
	})
	return found
}

// walk calls f on e and every sub-expression, not descending into
// subqueries (their names belong to another scope).
func walk(e query.Expr, f func(query.Expr)) {
	if e == nil {
		return
	}
	query.Walk(e, func(n query.Node) bool {
		if _, sub := n.(*query.Subquery); sub {
			return false
		}
		if x, ok := n.(query.Expr); ok {
			f(x)
		}
		return true
	})
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
