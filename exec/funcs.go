package exec

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/softdb/softdb/attention"
	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/types"
)

// scalarFunc is a built-in function of fixed arity (minArgs..maxArgs; -1 = any).
type scalarFunc struct {
	minArgs, maxArgs int
	result           func(args []types.Type) types.Type
	fn               func(pos query.Pos, args []types.Value) (types.Value, error)
}

var floatResult = func([]types.Type) types.Type { return types.Type{Kind: types.Float} }
var intResult = func([]types.Type) types.Type { return types.Type{Kind: types.Int} }
var textResult = func([]types.Type) types.Type { return types.Type{Kind: types.Text} }
var firstResult = func(a []types.Type) types.Type {
	if len(a) > 0 {
		return a[0]
	}
	return types.Type{}
}

var scalarFuncs map[string]*scalarFunc

func init() {
	scalarFuncs = map[string]*scalarFunc{
		"sqrt": {1, 1, floatResult, mathFunc(func(x float64) (float64, string) {
			if x < 0 {
				return 0, "sqrt of a negative number"
			}
			return math.Sqrt(x), ""
		})},
		"exp": {1, 1, floatResult, mathFunc(func(x float64) (float64, string) {
			if y := math.Exp(x); !math.IsInf(y, 0) {
				return y, ""
			}
			return 0, "value out of range: overflow in exp(" + types.FormatFloat(x) + ")"
		})},
		"ln": {1, 1, floatResult, mathFunc(func(x float64) (float64, string) {
			if x <= 0 {
				return 0, "logarithm of a non-positive number"
			}
			return math.Log(x), ""
		})},
		"floor": {1, 1, floatResult, mathFunc(func(x float64) (float64, string) { return math.Floor(x), "" })},
		"ceil":  {1, 1, floatResult, mathFunc(func(x float64) (float64, string) { return math.Ceil(x), "" })},
		"abs":   {1, 1, firstResult, fnAbs},
		"round": {1, 2, floatResult, fnRound},
		"power": {2, 2, floatResult, fnPower},
		"lower": {1, 1, textResult, textFunc(strings.ToLower)},
		"upper": {1, 1, textResult, textFunc(strings.ToUpper)},
		"length": {1, 1, intResult, func(pos query.Pos, a []types.Value) (types.Value, error) {
			switch a[0].K {
			case types.Text:
				return types.IntValue(int64(utf8.RuneCountInString(a[0].S))), nil
			case types.Vector:
				return types.IntValue(int64(len(a[0].V))), nil
			}
			return types.Value{}, errorf(ErrType, pos, "length needs TEXT or VECTOR, got %s", kindName(a[0]))
		}},
		"coalesce":        {1, -1, firstResult, nil}, // evaluated lazily by callE
		"vector_dims":     {1, 1, intResult, fnDims},
		"vector_norm":     {1, 1, floatResult, fnNorm},
		"inner_product":   {2, 2, floatResult, vecPair(func(a, b []float32) float64 { return dot64(a, b) })},
		"l2_distance":     {2, 2, floatResult, vecPair(func(a, b []float32) float64 { return math.Sqrt(l2sq64(a, b)) })},
		"cosine_distance": {2, 2, floatResult, fnCosineDistance},
	}
	scalarFuncs["pow"] = scalarFuncs["power"]
	scalarFuncs["dim"] = scalarFuncs["vector_dims"]
	scalarFuncs["norm"] = scalarFuncs["vector_norm"]
	scalarFuncs["dot"] = scalarFuncs["inner_product"]
}

type callE struct {
	pos  query.Pos
	name string
	f    *scalarFunc
	args []expr
}

func (e *callE) typ() types.Type {
	ts := make([]types.Type, len(e.args))
	for i, a := range e.args {
		ts[i] = a.typ()
	}
	return e.f.result(ts)
}

func (e *callE) String() string {
	parts := make([]string, len(e.args))
	for i, a := range e.args {
		parts[i] = a.String()
	}
	return e.name + "(" + strings.Join(parts, ", ") + ")"
}

func (e *callE) eval(env rowEnv) (types.Value, error) {
	if e.name == "coalesce" {
		for _, a := range e.args {
			v, err := a.eval(env)
			if err != nil || !v.IsNull() {
				return v, err
			}
		}
		return types.Value{}, nil
	}
	vals := make([]types.Value, len(e.args))
	for i, a := range e.args {
		v, err := a.eval(env)
		if err != nil {
			return v, err
		}
		if v.IsNull() {
			return types.Value{}, nil
		}
		vals[i] = v
	}
	v, err := e.f.fn(e.pos, vals)
	if err == nil && v.K == types.Float && (math.IsInf(v.F, 0) || math.IsNaN(v.F)) {
		return finite(e.pos, v.F, e.name+"()") // a function must not make what storage refuses
	}
	return v, err
}

func mathFunc(f func(float64) (float64, string)) func(query.Pos, []types.Value) (types.Value, error) {
	return func(pos query.Pos, a []types.Value) (types.Value, error) {
		x, ok := a[0].AsFloat()
		if !ok {
			return types.Value{}, errorf(ErrType, pos, "expected a number, got %s", kindName(a[0]))
		}
		y, msg := f(x)
		if msg != "" {
			return types.Value{}, errorf(ErrValue, pos, "%s", msg)
		}
		return types.FloatValue(y), nil
	}
}

func textFunc(f func(string) string) func(query.Pos, []types.Value) (types.Value, error) {
	return func(pos query.Pos, a []types.Value) (types.Value, error) {
		if a[0].K != types.Text {
			return types.Value{}, errorf(ErrType, pos, "expected TEXT, got %s", kindName(a[0]))
		}
		return types.TextValue(f(a[0].S)), nil
	}
}

func fnAbs(pos query.Pos, a []types.Value) (types.Value, error) {
	switch a[0].K {
	case types.Int:
		if a[0].I == math.MinInt64 {
			return types.Value{}, errorf(ErrValue, pos, "integer overflow")
		}
		if a[0].I < 0 {
			return types.IntValue(-a[0].I), nil
		}
		return a[0], nil
	case types.Float:
		return types.FloatValue(math.Abs(a[0].F)), nil
	}
	return types.Value{}, errorf(ErrType, pos, "abs needs a number, got %s", kindName(a[0]))
}

func fnRound(pos query.Pos, a []types.Value) (types.Value, error) {
	x, ok := a[0].AsFloat()
	if !ok {
		return types.Value{}, errorf(ErrType, pos, "round needs a number, got %s", kindName(a[0]))
	}
	digits := int64(0)
	if len(a) == 2 {
		if a[1].K != types.Int {
			return types.Value{}, errorf(ErrType, pos, "round's second argument must be an integer")
		}
		digits = a[1].I
	}
	// A float64 has at most 17 significant digits and magnitudes within
	// 10^±308: rounding beyond either leaves x as it is (or makes 0), and
	// 10^digits itself would overflow into Inf/Inf = NaN.
	switch {
	case digits > 330:
		return types.FloatValue(x), nil
	case digits < -330:
		return types.FloatValue(math.Copysign(0, x)), nil
	}
	p := math.Pow(10, float64(max(digits, 0)))
	q := math.Pow(10, float64(max(-digits, 0)))
	y := x * p / q
	if math.IsInf(y, 0) || math.Abs(y) >= 1<<53 {
		return types.FloatValue(x), nil // already integral at that scale
	}
	return finite(pos, math.Round(y)*q/p, "round("+types.FormatFloat(x)+", "+strconv.FormatInt(digits, 10)+")")
}

func fnPower(pos query.Pos, a []types.Value) (types.Value, error) {
	x, ok1 := a[0].AsFloat()
	y, ok2 := a[1].AsFloat()
	if !ok1 || !ok2 {
		return types.Value{}, errorf(ErrType, pos, "power needs numbers")
	}
	switch {
	case x == 0 && y < 0:
		return types.Value{}, errorf(ErrValue, pos, "zero raised to a negative power is undefined")
	case x < 0 && y != math.Trunc(y):
		return types.Value{}, errorf(ErrValue, pos, "a negative number raised to a non-integer power is undefined")
	}
	return finite(pos, math.Pow(x, y), "power("+types.FormatFloat(x)+", "+types.FormatFloat(y)+")")
}

func fnDims(pos query.Pos, a []types.Value) (types.Value, error) {
	if a[0].K != types.Vector {
		return types.Value{}, errorf(ErrType, pos, "vector_dims needs a VECTOR, got %s", kindName(a[0]))
	}
	return types.IntValue(int64(len(a[0].V))), nil
}

func fnNorm(pos query.Pos, a []types.Value) (types.Value, error) {
	if a[0].K != types.Vector {
		return types.Value{}, errorf(ErrType, pos, "vector_norm needs a VECTOR, got %s", kindName(a[0]))
	}
	return types.FloatValue(math.Sqrt(dot64(a[0].V, a[0].V))), nil
}

func vecPair(f func(a, b []float32) float64) func(query.Pos, []types.Value) (types.Value, error) {
	return func(pos query.Pos, a []types.Value) (types.Value, error) {
		if a[0].K != types.Vector || a[1].K != types.Vector {
			return types.Value{}, errorf(ErrType, pos, "expected two VECTORs, got %s and %s", kindName(a[0]), kindName(a[1]))
		}
		if len(a[0].V) != len(a[1].V) {
			return types.Value{}, errorf(ErrDimension, pos, "vector dimensions differ: %d and %d", len(a[0].V), len(a[1].V))
		}
		return types.FloatValue(f(a[0].V, a[1].V)), nil
	}
}

func dot64(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func l2sq64(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return s
}

// fnCosineDistance is 1 − cos(a, b); pgvector returns NaN for a zero
// vector, which softdb, whose FLOATs are finite, reports as an error.
func fnCosineDistance(pos query.Pos, a []types.Value) (types.Value, error) {
	v, err := vecPair(cosineDistance)(pos, a)
	if err == nil && math.IsNaN(v.F) {
		return v, errorf(ErrValue, pos, "cosine_distance is undefined for a zero vector")
	}
	return v, err
}

func cosineDistance(a, b []float32) float64 {
	na, nb := math.Sqrt(dot64(a, a)), math.Sqrt(dot64(b, b))
	if na == 0 || nb == 0 {
		return math.NaN()
	}
	return 1 - dot64(a, b)/(na*nb)
}

// metricOf maps the AST metric to the kernel's.
func metricOf(m query.Metric) attention.Metric {
	switch m {
	case query.Cosine:
		return attention.Cosine
	case query.L2:
		return attention.L2
	}
	return attention.Dot
}
