package exec

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/types"
)

// rowEnv gives an expression the values of the row it is evaluated on.
type rowEnv interface {
	get(slot int) types.Value
}

// flatRow is a row whose slots are already materialised.
type flatRow []types.Value

func (r flatRow) get(slot int) types.Value { return r[slot] }

// expr is a bound expression: names resolved to slots, static type known.
type expr interface {
	eval(env rowEnv) (types.Value, error)
	typ() types.Type // Kind Null when unknown until run time
	String() string  // for EXPLAIN
}

type constE struct{ v types.Value }

func (e *constE) eval(rowEnv) (types.Value, error) { return e.v, nil }
func (e *constE) typ() types.Type {
	if e.v.K == types.Vector {
		return types.Type{Kind: types.Vector, Dim: len(e.v.V)}
	}
	return types.Type{Kind: e.v.K}
}
func (e *constE) String() string {
	if e.v.K == types.Text {
		return "'" + strings.ReplaceAll(e.v.S, "'", "''") + "'"
	}
	if e.v.K == types.Vector && len(e.v.V) > 4 {
		return fmt.Sprintf("[%d-dim vector]", len(e.v.V))
	}
	return e.v.String()
}

type colE struct {
	slot int
	name string
	t    types.Type
}

func (e *colE) eval(env rowEnv) (types.Value, error) { return env.get(e.slot), nil }
func (e *colE) typ() types.Type                      { return e.t }
func (e *colE) String() string                       { return e.name }

type unaryE struct {
	pos query.Pos
	op  string
	x   expr
}

func (e *unaryE) typ() types.Type {
	if e.op == "NOT" {
		return types.Type{Kind: types.Int}
	}
	return e.x.typ()
}
func (e *unaryE) String() string {
	if e.op == "NOT" {
		return "NOT " + e.x.String()
	}
	return e.op + e.x.String()
}
func (e *unaryE) eval(env rowEnv) (types.Value, error) {
	v, err := e.x.eval(env)
	if err != nil || v.IsNull() {
		return v, err
	}
	switch e.op {
	case "+":
		if v.K == types.Int || v.K == types.Float || v.K == types.Vector {
			return v, nil
		}
	case "-":
		switch v.K {
		case types.Int:
			if v.I == math.MinInt64 {
				return v, errorf(ErrValue, e.pos, "integer overflow")
			}
			return types.IntValue(-v.I), nil
		case types.Float:
			return types.FloatValue(-v.F), nil
		case types.Vector:
			out := make([]float32, len(v.V))
			for i, x := range v.V {
				out[i] = -x
			}
			return types.VectorValue(out), nil
		}
	case "NOT":
		b, null, err := truth(v, e.pos)
		if err != nil || null {
			return types.Value{}, err
		}
		return boolValue(!b), nil
	}
	return v, errorf(ErrType, e.pos, "operator %s cannot be applied to %s", e.op, kindName(v))
}

type binaryE struct {
	pos  query.Pos
	op   string
	l, r expr
}

func (e *binaryE) String() string { return "(" + e.l.String() + " " + e.op + " " + e.r.String() + ")" }
func (e *binaryE) typ() types.Type {
	switch e.op {
	case "+", "-", "*", "/", "%":
		lt, rt := e.l.typ(), e.r.typ()
		if lt.Kind == types.Vector {
			return lt
		}
		if rt.Kind == types.Vector {
			return rt
		}
		if lt.Kind == types.Float || rt.Kind == types.Float {
			return types.Type{Kind: types.Float}
		}
		if lt.Kind == types.Int && rt.Kind == types.Int {
			return lt
		}
		return types.Type{}
	case "||":
		return types.Type{Kind: types.Text}
	}
	return types.Type{Kind: types.Int}
}

func (e *binaryE) eval(env rowEnv) (types.Value, error) {
	switch e.op {
	case "AND", "OR":
		return e.logic(env)
	}
	l, err := e.l.eval(env)
	if err != nil {
		return l, err
	}
	r, err := e.r.eval(env)
	if err != nil {
		return r, err
	}
	if l.IsNull() || r.IsNull() {
		return types.Value{}, nil
	}
	switch e.op {
	case "+", "-", "*", "/", "%":
		return arith(e.pos, e.op, l, r)
	case "||":
		return types.TextValue(l.String() + r.String()), nil
	}
	c, err := compare(e.pos, l, r, e.op == "=" || e.op == "!=")
	if err != nil {
		return types.Value{}, err
	}
	switch e.op {
	case "=":
		return boolValue(c == 0), nil
	case "!=":
		return boolValue(c != 0), nil
	case "<":
		return boolValue(c < 0), nil
	case "<=":
		return boolValue(c <= 0), nil
	case ">":
		return boolValue(c > 0), nil
	case ">=":
		return boolValue(c >= 0), nil
	}
	return types.Value{}, errorf(ErrUnsupported, e.pos, "unknown operator %s", e.op)
}

// logic is SQL's three-valued AND/OR.
func (e *binaryE) logic(env rowEnv) (types.Value, error) {
	l, err := e.l.eval(env)
	if err != nil {
		return l, err
	}
	lb, lnull, err := truth(l, e.pos)
	if err != nil {
		return l, err
	}
	if !lnull && (e.op == "AND" && !lb || e.op == "OR" && lb) {
		return boolValue(lb), nil
	}
	r, err := e.r.eval(env)
	if err != nil {
		return r, err
	}
	rb, rnull, err := truth(r, e.pos)
	if err != nil {
		return r, err
	}
	if !rnull && (e.op == "AND" && !rb || e.op == "OR" && rb) {
		return boolValue(rb), nil
	}
	if lnull || rnull {
		return types.Value{}, nil
	}
	return boolValue(rb), nil
}

type isNullE struct {
	x   expr
	not bool
}

func (e *isNullE) typ() types.Type { return types.Type{Kind: types.Int} }
func (e *isNullE) String() string {
	if e.not {
		return e.x.String() + " IS NOT NULL"
	}
	return e.x.String() + " IS NULL"
}
func (e *isNullE) eval(env rowEnv) (types.Value, error) {
	v, err := e.x.eval(env)
	if err != nil {
		return v, err
	}
	return boolValue(v.IsNull() != e.not), nil
}

type inE struct {
	pos  query.Pos
	x    expr
	list []expr
	not  bool
}

func (e *inE) typ() types.Type { return types.Type{Kind: types.Int} }
func (e *inE) String() string {
	parts := make([]string, len(e.list))
	for i, x := range e.list {
		parts[i] = x.String()
	}
	op := " IN ("
	if e.not {
		op = " NOT IN ("
	}
	return e.x.String() + op + strings.Join(parts, ", ") + ")"
}
func (e *inE) eval(env rowEnv) (types.Value, error) {
	v, err := e.x.eval(env)
	if err != nil || v.IsNull() {
		return types.Value{}, err
	}
	sawNull := false
	for _, item := range e.list {
		w, err := item.eval(env)
		if err != nil {
			return w, err
		}
		if w.IsNull() {
			sawNull = true
			continue
		}
		c, err := compare(e.pos, v, w, true)
		if err != nil {
			return w, err
		}
		if c == 0 {
			return boolValue(!e.not), nil
		}
	}
	if sawNull {
		return types.Value{}, nil
	}
	return boolValue(e.not), nil
}

type likeE struct {
	pos        query.Pos
	x, pattern expr
	not        bool
}

func (e *likeE) typ() types.Type { return types.Type{Kind: types.Int} }
func (e *likeE) String() string {
	if e.not {
		return e.x.String() + " NOT LIKE " + e.pattern.String()
	}
	return e.x.String() + " LIKE " + e.pattern.String()
}
func (e *likeE) eval(env rowEnv) (types.Value, error) {
	v, err := e.x.eval(env)
	if err != nil || v.IsNull() {
		return types.Value{}, err
	}
	p, err := e.pattern.eval(env)
	if err != nil || p.IsNull() {
		return types.Value{}, err
	}
	if v.K != types.Text || p.K != types.Text {
		return types.Value{}, errorf(ErrType, e.pos, "LIKE needs TEXT operands, got %s and %s", kindName(v), kindName(p))
	}
	return boolValue(likeMatch(v.S, p.S) != e.not), nil
}

// likeMatch implements SQL LIKE (case-sensitive, as in PostgreSQL): %
// any run, _ one character. It is the classic wildcard matcher: literals
// and _ advance both sides, a % records where to resume, and a mismatch
// resumes after the last % with one more character of s consumed by it.
// Only the last % ever needs revisiting (whatever an earlier % could
// absorb, the last one can absorb too), so the time is O(len(s)·len(p))
// at worst and no input backtracks exponentially.
func likeMatch(s, p string) bool {
	si, pi := 0, 0
	star, resume := -1, 0 // pattern index after the last %, and where s resumes
	for si < len(s) {
		if pi < len(p) {
			switch p[pi] {
			case '%':
				pi++
				star, resume = pi, si
				continue
			case '_':
				_, n := utf8.DecodeRuneInString(s[si:])
				si += n
				pi++
				continue
			default:
				_, n := utf8.DecodeRuneInString(p[pi:])
				if strings.HasPrefix(s[si:], p[pi:pi+n]) {
					si += n
					pi += n
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		_, n := utf8.DecodeRuneInString(s[resume:])
		resume += n
		si, pi = resume, star
	}
	for pi < len(p) && p[pi] == '%' {
		pi++
	}
	return pi == len(p)
}

// ---- value helpers ----

func boolValue(b bool) types.Value {
	if b {
		return types.IntValue(1)
	}
	return types.IntValue(0)
}

// truth interprets v as a condition: numbers are true when non-zero.
func truth(v types.Value, pos query.Pos) (b, null bool, err error) {
	switch v.K {
	case types.Null:
		return false, true, nil
	case types.Int:
		return v.I != 0, false, nil
	case types.Float:
		return v.F != 0, false, nil
	}
	return false, false, errorf(ErrType, pos, "a condition must be a boolean or number, got %s", kindName(v))
}

func kindName(v types.Value) string {
	if v.K == types.Vector {
		return fmt.Sprintf("VECTOR(%d)", len(v.V))
	}
	return v.K.String()
}

func arith(pos query.Pos, op string, l, r types.Value) (types.Value, error) {
	if l.K == types.Vector || r.K == types.Vector {
		return vectorArith(pos, op, l, r)
	}
	if l.K == types.Int && r.K == types.Int {
		a, b := l.I, r.I
		switch op {
		case "+":
			s := a + b
			if (s > a) != (b > 0) {
				return types.Value{}, errorf(ErrValue, pos, "integer overflow in %d + %d", a, b)
			}
			return types.IntValue(s), nil
		case "-":
			s := a - b
			if (s < a) != (b > 0) {
				return types.Value{}, errorf(ErrValue, pos, "integer overflow in %d - %d", a, b)
			}
			return types.IntValue(s), nil
		case "*":
			if a != 0 && b != 0 {
				p := a * b
				if p/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
					return types.Value{}, errorf(ErrValue, pos, "integer overflow in %d * %d", a, b)
				}
				return types.IntValue(p), nil
			}
			return types.IntValue(0), nil
		case "/", "%":
			if b == 0 {
				return types.Value{}, errorf(ErrValue, pos, "division by zero")
			}
			if a == math.MinInt64 && b == -1 {
				return types.Value{}, errorf(ErrValue, pos, "integer overflow in %d %s %d", a, op, b)
			}
			if op == "/" {
				return types.IntValue(a / b), nil
			}
			return types.IntValue(a % b), nil
		}
	}
	a, ok1 := l.AsFloat()
	b, ok2 := r.AsFloat()
	if !ok1 || !ok2 {
		return types.Value{}, errorf(ErrType, pos, "operator %s cannot be applied to %s and %s", op, kindName(l), kindName(r))
	}
	var f float64
	switch op {
	case "+":
		f = a + b
	case "-":
		f = a - b
	case "*":
		f = a * b
	case "/", "%":
		if b == 0 {
			return types.Value{}, errorf(ErrValue, pos, "division by zero")
		}
		if f = a / b; op == "%" {
			f = math.Mod(a, b)
		}
	default:
		return types.Value{}, errorf(ErrUnsupported, pos, "unknown operator %s", op)
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return types.Value{}, errorf(ErrValue, pos, "value out of range: overflow in %s %s %s", types.FormatFloat(a), op, types.FormatFloat(b))
	}
	return types.FloatValue(f), nil
}

// finite returns the FLOAT value f, or an error naming what produced it
// when f is NaN or infinite: a FLOAT is always finite, as in storage, so
// that every value can be written out and read back.
func finite(pos query.Pos, f float64, what string) (types.Value, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return types.Value{}, errorf(ErrValue, pos, "value out of range: %s is not a finite number", what)
	}
	return types.FloatValue(f), nil
}

// vectorArith: vector ± vector elementwise; vector * / number; number * vector.
func vectorArith(pos query.Pos, op string, l, r types.Value) (types.Value, error) {
	if l.K == types.Vector && r.K == types.Vector {
		if len(l.V) != len(r.V) {
			return types.Value{}, errorf(ErrDimension, pos, "vector dimensions differ: %d and %d", len(l.V), len(r.V))
		}
		out := make([]float32, len(l.V))
		switch op {
		case "+":
			for i := range out {
				out[i] = l.V[i] + r.V[i]
			}
		case "-":
			for i := range out {
				out[i] = l.V[i] - r.V[i]
			}
		case "*":
			for i := range out {
				out[i] = l.V[i] * r.V[i]
			}
		default:
			return types.Value{}, errorf(ErrType, pos, "operator %s cannot be applied to two vectors", op)
		}
		return checkVector(pos, out)
	}
	vec, num, numFirst := l, r, false
	if r.K == types.Vector {
		vec, num, numFirst = r, l, true
	}
	s, ok := num.AsFloat()
	if !ok {
		return types.Value{}, errorf(ErrType, pos, "operator %s cannot be applied to %s and %s", op, kindName(l), kindName(r))
	}
	out := make([]float32, len(vec.V))
	switch {
	case op == "*":
		for i, x := range vec.V {
			out[i] = float32(float64(x) * s)
		}
	case op == "/" && !numFirst:
		if s == 0 {
			return types.Value{}, errorf(ErrValue, pos, "division by zero")
		}
		for i, x := range vec.V {
			out[i] = float32(float64(x) / s)
		}
	default:
		return types.Value{}, errorf(ErrType, pos, "operator %s cannot be applied to %s and %s", op, kindName(l), kindName(r))
	}
	return checkVector(pos, out)
}

func checkVector(pos query.Pos, v []float32) (types.Value, error) {
	for _, x := range v {
		if math.IsInf(float64(x), 0) || math.IsNaN(float64(x)) {
			return types.Value{}, errorf(ErrValue, pos, "vector arithmetic overflowed float32")
		}
	}
	return types.VectorValue(v), nil
}

// compare orders two non-NULL values; vectors support only equality.
func compare(pos query.Pos, l, r types.Value, equality bool) (int, error) {
	if a, ok := l.AsFloat(); ok {
		if l.K == types.Int && r.K == types.Int {
			return cmp3(l.I, r.I), nil
		}
		if b, ok := r.AsFloat(); ok {
			return cmp3(a, b), nil
		}
	}
	if l.K == types.Text && r.K == types.Text {
		return strings.Compare(l.S, r.S), nil
	}
	if l.K == types.Vector && r.K == types.Vector && equality {
		if len(l.V) != len(r.V) {
			return 1, nil
		}
		for i := range l.V {
			if l.V[i] != r.V[i] {
				return 1, nil
			}
		}
		return 0, nil
	}
	return 0, errorf(ErrType, pos, "cannot compare %s with %s", kindName(l), kindName(r))
}

func cmp3[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// orderCompare is the total order of ORDER BY: NULLs first (as SQLite),
// numbers before text before vectors.
func orderCompare(a, b types.Value) int {
	ra, rb := orderRank(a), orderRank(b)
	if ra != rb {
		return cmp3(int64(ra), int64(rb))
	}
	switch ra {
	case 0:
		return 0
	case 1:
		c, _ := compare(query.Pos{}, a, b, false)
		return c
	case 2:
		return strings.Compare(a.S, b.S)
	}
	return strings.Compare(a.String(), b.String())
}

func orderRank(v types.Value) int {
	switch v.K {
	case types.Null:
		return 0
	case types.Int, types.Float:
		return 1
	case types.Text:
		return 2
	}
	return 3
}
