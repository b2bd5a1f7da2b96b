package exec

import (
	"fmt"
	"strings"

	"github.com/softdb/softdb/query"
	"github.com/softdb/softdb/types"
)

// planNode is the printable form of a plan: a label and children.
type planNode struct {
	label    string
	children []*planNode
}

func node(label string, children ...*planNode) *planNode {
	return &planNode{label: label, children: children}
}

// lines prints the tree, one node per line, children indented under "└─".
func (n *planNode) lines(prefix string, out []string) []string {
	out = append(out, prefix+n.label)
	child := strings.Repeat(" ", len([]rune(prefix)))
	if prefix != "" {
		child = child[:len(child)-3] + "   "
	}
	for _, c := range n.children {
		out = c.lines(child+"└─ ", out)
	}
	return out
}

func (s *Session) explainPlan(stmt query.Statement, params []types.Value) ([]string, error) {
	var root *planNode
	switch n := stmt.(type) {
	case *query.Select:
		p, err := planSelect(s.snapshot(), n, params)
		if err != nil {
			return nil, err
		}
		p.setIndexScan(s.indexScan)
		root = p.tree()
	case *query.Insert:
		root = node(fmt.Sprintf("Insert into %s (%d rows)", n.Table.Name, len(n.Rows)))
	case *query.Update:
		root = node("Update "+n.Table.Name, writeSourceNode(s.snapshot(), n.Table, n.Where, params))
	case *query.Delete:
		root = node("Delete from "+n.Table.Name, writeSourceNode(s.snapshot(), n.Table, n.Where, params))
	case *query.Explain:
		return nil, errorf(ErrValue, n.At, "EXPLAIN EXPLAIN is not supported")
	default:
		root = node(query.Format(stmt))
	}
	return root.lines("", nil), nil
}

func scanNode(table string, where query.Expr) *planNode {
	if where == nil {
		return node("Scan " + table)
	}
	return node("Filter "+query.Format(where), node("Scan "+table))
}

func (p *selectPlan) tree() *planNode {
	var src *planNode
	switch {
	case p.match != nil:
		src = p.match.tree(p)
	case p.table != nil:
		src = node("Scan " + p.table.Schema().Name)
		if p.where != nil {
			src = node("Filter "+p.where.String(), src)
		}
	default:
		src = node("Values (one row)")
	}
	return p.out.tree(src, p.match != nil && p.match.blend)
}

func (o *outputSpec) tree(src *planNode, blend bool) *planNode {
	n := src
	if o.grouped {
		var aggs []string
		for _, a := range o.group.aggs {
			aggs = append(aggs, a.text)
		}
		label := "Aggregate " + strings.Join(aggs, ", ")
		if len(o.group.keys) > 0 {
			label += " GROUP BY " + strings.Join(o.group.keys, ", ")
		}
		n = node(label, n)
		if o.having != nil {
			n = node("Having "+o.having.String(), n)
		}
	}
	if !blend {
		var items []string
		for i, it := range o.items {
			s := it.String()
			if o.names[i] != s {
				s += " AS " + o.names[i]
			}
			items = append(items, s)
		}
		n = node("Project "+strings.Join(items, ", "), n)
	}
	if len(o.order) > 0 {
		var keys []string
		for _, k := range o.order {
			s := ""
			if k.out >= 0 {
				s = o.names[k.out]
			} else {
				s = k.e.String()
			}
			if k.desc {
				s += " DESC"
			}
			keys = append(keys, s)
		}
		n = node("Sort "+strings.Join(keys, ", "), n)
	}
	if o.limit >= 0 || o.offset > 0 {
		label := "Limit"
		if o.limit >= 0 {
			label += fmt.Sprintf(" %d", o.limit)
		}
		if o.offset > 0 {
			label += fmt.Sprintf(" OFFSET %d", o.offset)
		}
		n = node(label, n)
	}
	return n
}

func (m *matchPlan) tree(p *selectPlan) *planNode {
	table := p.table.Schema().Name
	var label string
	if m.mode == query.Hard {
		label = fmt.Sprintf("HardMatch %s ON %s USING %s LIMIT %d", table, m.colName, m.metric, m.k-m.skip)
		if m.skip > 0 {
			label += fmt.Sprintf(" OFFSET %d", m.skip)
		}
	} else {
		label = fmt.Sprintf("SoftMatch %s ON %s USING %s TEMPERATURE %s = %s", table, m.colName, m.metric, m.tempSrc, types.FormatFloat(m.temp))
		if m.top > 0 {
			label += fmt.Sprintf(" TOP %d", m.top)
		}
		label += m.learn.explain()
		if m.blend {
			var items []string
			for i := range m.blendItems {
				items = append(items, p.out.names[i])
			}
			kind := "generic"
			if m.fusable() {
				kind = "fused kernel"
			}
			label += fmt.Sprintf(" → blend %s (%s)", strings.Join(items, ", "), kind)
		} else if m.rowsNeeded >= 0 {
			label += fmt.Sprintf(" → best %d rows by weight", m.rowsNeeded)
		} else {
			label += " → rows by weight"
		}
	}
	var children []*planNode
	switch {
	case m.vec != nil:
		children = append(children, node(fmt.Sprintf("Query vector (dimension %d)", len(m.vec))))
	case m.single != nil:
		children = append(children, node("Query "+m.single.String()))
	default:
		children = append(children, node("Query batch: one per row of", m.sub.tree()))
	}
	scan := node("Scan " + table)
	if p.where != nil {
		scan = node("Mask "+p.where.String(), scan)
	}
	if p.index != nil {
		scan = p.index.node(scan)
	}
	children = append(children, scan)
	return node(label, children...)
}
