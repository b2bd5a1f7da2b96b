package exec

import (
	"context"

	"github.com/softdb/softdb/query"
)

func (s *Session) copy(ctx context.Context, n *query.Copy, res *Result) error {
	return errorf(ErrUnsupported, n.At, "COPY is not available yet")
}
