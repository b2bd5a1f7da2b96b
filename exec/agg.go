package exec

import (
	"math"

	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/types"
)

// aggSpec is one aggregate of a grouped SELECT.
type aggSpec struct {
	name     string // count, sum, avg, min, max
	arg      expr   // nil for count(*)
	distinct bool
	text     string // as written, to share identical aggregates
}

func (a *aggSpec) resultType() types.Type {
	switch a.name {
	case "count":
		return types.Type{Kind: types.Int}
	case "avg":
		if a.arg != nil && a.arg.typ().Kind == types.Vector {
			return a.arg.typ()
		}
		return types.Type{Kind: types.Float}
	}
	if a.arg != nil {
		return a.arg.typ()
	}
	return types.Type{}
}

// aggState accumulates one aggregate over one group. Sums are kept in
// float64 (vectors too) and integers in int64 until they would overflow.
type aggState struct {
	spec    *aggSpec
	count   int64
	isum    int64
	fsum    float64
	intOnly bool
	vsum    []float64
	best    types.Value
	seen    map[string]bool
}

func newAggState(s *aggSpec) *aggState {
	st := &aggState{spec: s, intOnly: true}
	if s.distinct {
		st.seen = map[string]bool{}
	}
	return st
}

func (st *aggState) add(env rowEnv) error {
	if st.spec.arg == nil { // count(*)
		st.count++
		return nil
	}
	v, err := st.spec.arg.eval(env)
	if err != nil || v.IsNull() {
		return err
	}
	if st.seen != nil {
		k := v.String() + "\x00" + v.K.String()
		if st.seen[k] {
			return nil
		}
		st.seen[k] = true
	}
	st.count++
	switch st.spec.name {
	case "sum", "avg":
		switch v.K {
		case types.Int:
			if st.intOnly {
				s := st.isum + v.I
				switch {
				case (s > st.isum) == (v.I > 0):
					st.isum = s
				case st.spec.name == "sum":
					// PostgreSQL widens a bigint sum to numeric; softdb has
					// no wider type, and a FLOAT would silently lose digits.
					return errorf(ErrValue, query.Pos{}, "sum(): integer overflow (the sum leaves the range of INT)")
				default: // avg is a FLOAT anyway
					st.intOnly = false
					st.fsum = float64(st.isum) + float64(v.I)
				}
			} else {
				st.fsum += float64(v.I)
			}
		case types.Float:
			if st.intOnly {
				st.fsum = float64(st.isum)
				st.intOnly = false
			}
			st.fsum += v.F
			if math.IsInf(st.fsum, 0) {
				return errorf(ErrValue, query.Pos{}, "%s(): value out of range: overflow", st.spec.name)
			}
		case types.Vector:
			if st.vsum == nil {
				st.vsum = make([]float64, len(v.V))
			}
			if len(v.V) != len(st.vsum) {
				return errorf(ErrDimension, query.Pos{}, "%s over vectors of different dimensions (%d and %d)", st.spec.name, len(st.vsum), len(v.V))
			}
			for i, x := range v.V {
				st.vsum[i] += float64(x)
			}
		default:
			return errorf(ErrType, query.Pos{}, "%s() needs numbers or vectors, got %s", st.spec.name, kindName(v))
		}
	case "min", "max":
		if v.K == types.Vector {
			return errorf(ErrType, query.Pos{}, "%s() is not defined for vectors", st.spec.name)
		}
		if st.count == 1 {
			st.best = v
			return nil
		}
		c := orderCompare(v, st.best)
		if st.spec.name == "min" && c < 0 || st.spec.name == "max" && c > 0 {
			st.best = v
		}
	}
	return nil
}

func (st *aggState) result() (types.Value, error) {
	switch st.spec.name {
	case "count":
		return types.IntValue(st.count), nil
	case "min", "max":
		return st.best, nil
	}
	if st.count == 0 {
		return types.Value{}, nil
	}
	if st.vsum != nil {
		out := make([]float32, len(st.vsum))
		div := 1.0
		if st.spec.name == "avg" {
			div = float64(st.count)
		}
		for i, s := range st.vsum {
			out[i] = float32(s / div)
			if math.IsInf(float64(out[i]), 0) {
				return types.Value{}, errorf(ErrValue, query.Pos{}, "%s(): value out of range: element %d overflows float32", st.spec.name, i+1)
			}
		}
		return types.VectorValue(out), nil
	}
	if st.spec.name == "sum" {
		if st.intOnly {
			return types.IntValue(st.isum), nil
		}
		return types.FloatValue(st.fsum), nil
	}
	total := st.fsum
	if st.intOnly {
		total = float64(st.isum)
	}
	avg := total / float64(st.count)
	if math.IsInf(avg, 0) {
		return types.Value{}, errorf(ErrValue, query.Pos{}, "avg() overflowed")
	}
	return types.FloatValue(avg), nil
}
