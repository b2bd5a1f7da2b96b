package exec

import (
	"context"
	"fmt"
	"time"

	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/types"
)

// explain prints a statement's plan; EXPLAIN ANALYZE runs it first and
// adds what it did.
func (s *Session) explain(ctx context.Context, n *query.Explain, params []types.Value) ([]string, error) {
	if !n.Analyze {
		return s.explainPlan(n.Stmt, params)
	}
	sel, ok := n.Stmt.(*query.Select)
	if !ok {
		return nil, errorf(ErrUnsupported, n.At, "EXPLAIN ANALYZE runs SELECT statements (HARD, SOFT or plain); use EXPLAIN for %s", stmtName(n.Stmt))
	}
	t0 := time.Now()
	p, err := planSelect(s.snapshot(), sel, params)
	if err != nil {
		return nil, err
	}
	p.memLimit = s.MemoryLimit()
	p.setIndexScan(s.indexScan)
	tPlan := time.Since(t0)
	t0 = time.Now()
	rows, err := runSelect(ctx, p)
	if err != nil {
		return nil, err
	}
	tRun := time.Since(t0)
	lines := p.tree().lines("", nil)
	lines = append(lines, fmt.Sprintf("actual: %d rows; plan %s, run %s", len(rows), tPlan, tRun))
	if p.index != nil {
		lines = append(lines, p.index.analyzeLines()...)
	} else if p.match != nil {
		why := "no index on " + p.match.colName
		if p.noIndex != "" {
			why = p.noIndex
		}
		lines = append(lines, fmt.Sprintf("scan: every row of %s scored (%s)", p.table.Schema().Name, why))
	}
	return lines, nil
}
