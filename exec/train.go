package exec

import (
	"context"

	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/types"
)

// train runs TRAIN PROJECTION.
func (s *Session) train(ctx context.Context, n *query.Train, params []types.Value, res *Result) error {
	return errorf(ErrUnsupported, n.At, "TRAIN is not available yet")
}
