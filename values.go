package softdb

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/softdb/softdb/types"
)

// toValues converts the arguments of a call to softdb values.
// A vector argument is copied unless borrow is set (see bindArgsFor).
func toValues(args []any, borrow bool) ([]types.Value, error) {
	out := make([]types.Value, len(args))
	for i, a := range args {
		v, err := toValue(a, borrow)
		if err != nil {
			kind := ErrType
			if errors.Is(err, errNonFinite) {
				kind = ErrValue
			}
			return nil, errorf(kind, "softdb: argument $%d: %v", i+1, err)
		}
		out[i] = v
	}
	return out, nil
}

// toValue converts one argument: nil; bool (INT 0 or 1); signed and
// unsigned integers (INT); float32 and float64 (FLOAT); string and []byte
// (TEXT); []float32 and []float64, or named types of them (VECTOR; nil
// slices are NULL); a driver.Valuer, such as sql.NullString, by its Value;
// a pointer to any of these (a nil pointer is NULL).
// The caller's slices are copied, so it may reuse them at once, except a
// []float32 when borrow is set: the value then shares its memory.
func toValue(a any, borrow bool) (types.Value, error) {
	switch x := a.(type) {
	case nil:
		return types.Value{}, nil
	case types.Value:
		return x, nil
	case bool:
		if x {
			return types.IntValue(1), nil
		}
		return types.IntValue(0), nil
	case int:
		return types.IntValue(int64(x)), nil
	case int8:
		return types.IntValue(int64(x)), nil
	case int16:
		return types.IntValue(int64(x)), nil
	case int32:
		return types.IntValue(int64(x)), nil
	case int64:
		return types.IntValue(x), nil
	case uint8:
		return types.IntValue(int64(x)), nil
	case uint16:
		return types.IntValue(int64(x)), nil
	case uint32:
		return types.IntValue(int64(x)), nil
	case uint:
		if uint64(x) > 1<<63-1 {
			return types.Value{}, fmt.Errorf("%d overflows INT", x)
		}
		return types.IntValue(int64(x)), nil
	case uint64:
		if x > 1<<63-1 {
			return types.Value{}, fmt.Errorf("%d overflows INT", x)
		}
		return types.IntValue(int64(x)), nil
	case float32:
		return floatArg(float64(x))
	case float64:
		return floatArg(x)
	case string:
		return textArg(x)
	case []byte:
		if x == nil {
			return types.Value{}, nil
		}
		return textArg(string(x))
	case []float32:
		return vectorArg(x, borrow)
	case []float64:
		if x == nil {
			return types.Value{}, nil
		}
		v := make([]float32, len(x))
		for i, f := range x {
			e, err := types.CheckElement(f)
			if err != nil {
				return types.Value{}, fmt.Errorf("element %d: %v", i+1, err)
			}
			v[i] = e
		}
		return types.VectorValue(v), nil
	}
	rv := reflect.ValueOf(a)
	if rv.Kind() == reflect.Pointer && rv.IsNil() {
		return types.Value{}, nil
	}
	if rv.Kind() == reflect.Slice {
		switch rv.Type().Elem().Kind() {
		case reflect.Float32:
			return toValue(rv.Convert(reflect.TypeFor[[]float32]()).Interface(), borrow)
		case reflect.Float64:
			return toValue(rv.Convert(reflect.TypeFor[[]float64]()).Interface(), borrow)
		}
	}
	if vr, ok := a.(driver.Valuer); ok {
		dv, err := vr.Value()
		if err != nil {
			return types.Value{}, err
		}
		if _, again := dv.(driver.Valuer); !again {
			return toValue(dv, false)
		}
	}
	if rv.Kind() == reflect.Pointer {
		return toValue(rv.Elem().Interface(), borrow)
	}
	return types.Value{}, fmt.Errorf("unsupported Go type %T (use nil, bool, an integer, a float, string, []byte, []float32 or []float64)", a)
}

// floatArg refuses NaN and ±Inf: a FLOAT is finite, as vector elements
// are, so that every value can be stored and written out.
func floatArg(x float64) (types.Value, error) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return types.Value{}, fmt.Errorf("%v is not a FLOAT value (%w)", x, errNonFinite)
	}
	return types.FloatValue(x), nil
}

var errNonFinite = errors.New("NaN and infinite values are not allowed")

func vectorArg(x []float32, borrow bool) (types.Value, error) {
	if x == nil {
		return types.Value{}, nil
	}
	if borrow {
		return types.VectorValue(x[:len(x):len(x)]), nil
	}
	return types.VectorValue(slices.Clone(x)), nil
}

// toGo converts a result row to Go values sharing the row's vectors.
func toGo(r []types.Value) []any {
	out := make([]any, len(r))
	for i, v := range r {
		out[i] = goValue(v, false)
	}
	return out
}

// goValue returns v as nil, int64, float64, string or []float32; the
// vector is a copy when copyVec is set.
func goValue(v types.Value, copyVec bool) any {
	switch v.K {
	case types.Int:
		return v.I
	case types.Float:
		return v.F
	case types.Text:
		return v.S
	case types.Vector:
		if copyVec {
			return slices.Clone(v.V)
		}
		return v.V
	}
	return nil
}

// textArg is a TEXT argument: UTF-8, as in statements and in every
// import format.
func textArg(s string) (types.Value, error) {
	if i := types.InvalidUTF8(s); i >= 0 {
		return types.Value{}, fmt.Errorf("invalid UTF-8 in text at byte %d", i+1)
	}
	return types.TextValue(s), nil
}
