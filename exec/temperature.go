package exec

import (
	"math"

	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/storage"
	"github.com/softdb/softdb/types"
)

// foldTemperature evaluates a TEMPERATURE expression: a constant of
// numbers, parameters and d (the dimension dim), finite and ≥ 0.
func foldTemperature(snap *storage.Snapshot, e query.Expr, params []types.Value, dim int) (float64, error) {
	ts := &scope{params: params, dimVar: dim, aggErr: "in TEMPERATURE", snap: snap}
	te, err := ts.bind(e)
	if err != nil {
		return 0, err
	}
	v, err := te.eval(flatRow(nil))
	if err != nil {
		if e2, ok := err.(*Error); ok && e2.Pos.Line == 0 {
			e2.Pos = e.Position()
		}
		if e2, ok := err.(*Error); ok {
			e2.Msg = "TEMPERATURE: " + e2.Msg
		}
		return 0, err
	}
	t, ok := v.AsFloat()
	if !ok {
		return 0, errorf(ErrType, e.Position(), "TEMPERATURE must be a number, got %s", kindName(v))
	}
	if math.IsNaN(t) || math.IsInf(t, 0) || t < 0 {
		return 0, errorf(ErrValue, e.Position(), "TEMPERATURE must be a finite number ≥ 0, got %s", types.FormatFloat(t))
	}
	return t, nil
}
