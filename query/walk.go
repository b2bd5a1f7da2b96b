package query

// Walk calls f(n) and, if it returns true, walks n's children: statements,
// expressions and names (*Ident), in the order of the node's fields. Nil
// children are skipped. Walk does not allocate beyond what f does.
func Walk(n Node, f func(Node) bool) {
	if n == nil || !f(n) {
		return
	}
	ident := func(id *Ident) {
		if id != nil {
			Walk(id, f)
		}
	}
	expr := func(e Expr) {
		if e != nil {
			Walk(e, f)
		}
	}
	exprs := func(es []Expr) {
		for _, e := range es {
			expr(e)
		}
	}
	switch n := n.(type) {
	case *CreateTable:
		ident(&n.Name)
		for i := range n.Columns {
			ident(&n.Columns[i].Name)
			expr(n.Columns[i].Generated)
		}
	case *DropTable:
		ident(&n.Name)
	case *Insert:
		ident(&n.Table)
		for i := range n.Columns {
			ident(&n.Columns[i])
		}
		for _, r := range n.Rows {
			exprs(r)
		}
	case *Update:
		ident(&n.Table)
		for i := range n.Set {
			ident(&n.Set[i].Column)
			expr(n.Set[i].Value)
		}
		expr(n.Where)
	case *Delete:
		ident(&n.Table)
		expr(n.Where)
	case *Select:
		for _, it := range n.Items {
			expr(it.Expr)
		}
		ident(n.From)
		if m := n.Match; m != nil {
			expr(m.Query)
			ident(m.On)
			expr(m.Temperature)
			expr(m.Top)
			expr(m.Within)
			expr(m.Heads)
			if g := m.Backward; g != nil {
				ident(&g.Column)
				expr(g.Grad)
			}
		}
		expr(n.Where)
		exprs(n.GroupBy)
		expr(n.Having)
		for _, o := range n.OrderBy {
			expr(o.Expr)
		}
		expr(n.Limit)
		expr(n.Offset)
	case *Copy:
		ident(&n.Table)
		for i := range n.Columns {
			ident(&n.Columns[i])
		}
		for i := range n.Paths {
			Walk(&n.Paths[i], f)
		}
	case *Describe:
		ident(&n.Table)
	case *Set:
		ident(&n.Name)
	case *Explain:
		if n.Stmt != nil {
			Walk(n.Stmt, f)
		}
	case *Unary:
		expr(n.X)
	case *Binary:
		expr(n.L)
		expr(n.R)
	case *IsNull:
		expr(n.X)
	case *In:
		expr(n.X)
		exprs(n.List)
	case *Between:
		expr(n.X)
		expr(n.Lo)
		expr(n.Hi)
	case *Like:
		expr(n.X)
		expr(n.Pattern)
	case *Call:
		exprs(n.Args)
	case *Subquery:
		if n.Select != nil {
			Walk(n.Select, f)
		}
	default:
		walkLearn(n, f)
	}
}

// Start returns where e's first token is (parentheses are not nodes, so an
// opening one is not counted). It differs from e.Position() for the
// infix nodes (Binary, IsNull, In, Between, Like), whose position is their
// operator: Start descends into the left operand instead.
func Start(e Expr) Pos {
	for {
		switch n := e.(type) {
		case *Binary:
			e = n.L
		case *IsNull:
			e = n.X
		case *In:
			e = n.X
		case *Between:
			e = n.X
		case *Like:
			e = n.X
		default:
			return e.Position()
		}
	}
}
