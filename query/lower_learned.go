package query

// learnedClause lowers HEADS h and BACKWARD col = g, which apply to
// SOFT SELECT only: a HARD SELECT picks rows, so it has neither heads to
// blend nor a gradient.
func (l *lowerer) learnedClause(m *Match, mode SelectMode, c *clause) {
	if mode == Hard {
		what := "HEADS"
		if c.Backward != nil {
			what = "BACKWARD"
		}
		l.fail(c.Pos, "%s applies to SOFT SELECT only; HARD SELECT picks rows and has no blend to split or differentiate", what)
		return
	}
	if c.Heads != nil {
		m.Heads = l.expr(c.Heads)
		return
	}
	m.Backward = &Backward{At: pos(c.Pos), Column: l.name(c.Backward.Column), Grad: l.expr(c.Backward.Value)}
}
