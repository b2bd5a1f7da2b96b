package query

import (
	"strconv"
	"strings"

	"github.com/softdb/softdb/types"
)

// Format prints n as canonical SQL on one line: keywords upper case, names
// quoted only when needed, parentheses only where precedence needs them.
// Parse(Format(s)) gives s back (positions aside) for any parsed statement.
func Format(n Node) string {
	var b strings.Builder
	formatNode(&b, n)
	return b.String()
}

func formatNode(b *strings.Builder, n Node) {
	switch n := n.(type) {
	case Expr:
		formatExpr(b, n, 0)
	case *Ident:
		b.WriteString(quoteIdent(n.Name))
	case Statement:
		formatStmt(b, n)
	}
}

// quoteIdent returns name bare when it lexes back as the same name, else
// double-quoted.
func quoteIdent(name string) string {
	bare := name != "" && !reserved[strings.ToUpper(name)]
	for i := 0; i < len(name) && bare; i++ {
		c := name[i]
		bare = c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && isDigit(c)
	}
	if bare {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func quoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func writeIdents(b *strings.Builder, ids []Ident) {
	b.WriteString("(")
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(id.Name))
	}
	b.WriteString(")")
}

func writeExprs(b *strings.Builder, es []Expr) {
	for i, e := range es {
		if i > 0 {
			b.WriteString(", ")
		}
		formatExpr(b, e, 0)
	}
}

func formatStmt(b *strings.Builder, s Statement) {
	if formatIndexStmt(b, s) {
		return
	}
	switch s := s.(type) {
	case *CreateTable:
		b.WriteString("CREATE TABLE ")
		if s.IfNotExists {
			b.WriteString("IF NOT EXISTS ")
		}
		b.WriteString(quoteIdent(s.Name.Name))
		b.WriteString(" (")
		for i, c := range s.Columns {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteIdent(c.Name.Name))
			b.WriteString(" ")
			b.WriteString(formatType(c.Type))
			if c.PrimaryKey {
				b.WriteString(" PRIMARY KEY")
			}
			if c.NotNull {
				b.WriteString(" NOT NULL")
			}
			if c.Generated != nil {
				b.WriteString(" GENERATED ALWAYS AS (")
				formatExpr(b, c.Generated, 0)
				b.WriteString(") STORED")
			}
		}
		b.WriteString(")")
	case *DropTable:
		b.WriteString("DROP TABLE ")
		if s.IfExists {
			b.WriteString("IF EXISTS ")
		}
		b.WriteString(quoteIdent(s.Name.Name))
	case *Insert:
		b.WriteString("INSERT INTO ")
		b.WriteString(quoteIdent(s.Table.Name))
		if s.Columns != nil {
			b.WriteString(" ")
			writeIdents(b, s.Columns)
		}
		b.WriteString(" VALUES ")
		for i, r := range s.Rows {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(")
			writeExprs(b, r)
			b.WriteString(")")
		}
	case *Update:
		b.WriteString("UPDATE ")
		b.WriteString(quoteIdent(s.Table.Name))
		b.WriteString(" SET ")
		for i, a := range s.Set {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteIdent(a.Column.Name))
			b.WriteString(" = ")
			formatExpr(b, a.Value, 0)
		}
		writeWhere(b, s.Where)
	case *Delete:
		b.WriteString("DELETE FROM ")
		b.WriteString(quoteIdent(s.Table.Name))
		writeWhere(b, s.Where)
	case *Select:
		formatSelect(b, s)
	case *Copy:
		b.WriteString("COPY ")
		b.WriteString(quoteIdent(s.Table.Name))
		if s.Columns != nil {
			b.WriteString(" ")
			writeIdents(b, s.Columns)
		}
		if s.To {
			b.WriteString(" TO ")
		} else {
			b.WriteString(" FROM ")
		}
		for i, p := range s.Paths {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteString(p.Value))
		}
		writeOptions(b, s.Options)
	case *ShowTables:
		b.WriteString("SHOW TABLES")
	case *ShowSetting:
		b.WriteString("SHOW ")
		b.WriteString(quoteIdent(s.Name.Name))
	case *Set:
		b.WriteString("SET ")
		b.WriteString(quoteIdent(s.Name.Name))
		b.WriteString(" = ")
		b.WriteString(quoteString(s.Value))
	case *Describe:
		b.WriteString("DESCRIBE ")
		b.WriteString(quoteIdent(s.Table.Name))
	case *Explain:
		b.WriteString("EXPLAIN ")
		if s.Analyze {
			b.WriteString("ANALYZE ")
		}
		formatStmt(b, s.Stmt)
	case *Begin:
		b.WriteString("BEGIN")
	case *Commit:
		b.WriteString("COMMIT")
	case *Rollback:
		b.WriteString("ROLLBACK")
	default:
		formatLearnStmt(b, s)
	}
}

func formatType(t types.Type) string {
	if t.Kind == types.Vector {
		return "VECTOR(" + strconv.Itoa(t.Dim) + ")"
	}
	return t.Kind.String()
}

func writeWhere(b *strings.Builder, e Expr) {
	if e != nil {
		b.WriteString(" WHERE ")
		formatExpr(b, e, 0)
	}
}

func formatSelect(b *strings.Builder, s *Select) {
	if s.Mode != Plain {
		b.WriteString(s.Mode.String())
		b.WriteString(" ")
	}
	b.WriteString("SELECT ")
	for i, it := range s.Items {
		if i > 0 {
			b.WriteString(", ")
		}
		if it.Star {
			b.WriteString("*")
			continue
		}
		formatExpr(b, it.Expr, 0)
		if it.Alias != "" {
			b.WriteString(" AS ")
			b.WriteString(quoteIdent(it.Alias))
		}
	}
	if s.From != nil {
		b.WriteString(" FROM ")
		b.WriteString(quoteIdent(s.From.Name))
	}
	if m := s.Match; m != nil {
		if m.Query != nil {
			b.WriteString(" MATCH ")
			formatExpr(b, m.Query, 0)
		}
		if m.On != nil {
			b.WriteString(" ON ")
			b.WriteString(quoteIdent(m.On.Name))
		}
		if m.Metric != MetricDefault {
			b.WriteString(" USING ")
			b.WriteString(m.Metric.String())
		}
		if m.Temperature != nil {
			b.WriteString(" TEMPERATURE ")
			formatExpr(b, m.Temperature, 0)
		}
		if m.Top != nil {
			b.WriteString(" TOP ")
			formatExpr(b, m.Top, 0)
		}
		if m.Within != nil {
			b.WriteString(" WITHIN ERROR ")
			formatExpr(b, m.Within, 0)
		}
		if m.Heads != nil {
			b.WriteString(" HEADS ")
			formatExpr(b, m.Heads, 0)
		}
		if g := m.Backward; g != nil {
			b.WriteString(" BACKWARD ")
			b.WriteString(quoteIdent(g.Column.Name))
			b.WriteString(" = ")
			formatExpr(b, g.Grad, 0)
		}
	}
	writeWhere(b, s.Where)
	if len(s.GroupBy) > 0 {
		b.WriteString(" GROUP BY ")
		writeExprs(b, s.GroupBy)
	}
	if s.Having != nil {
		b.WriteString(" HAVING ")
		formatExpr(b, s.Having, 0)
	}
	if len(s.OrderBy) > 0 {
		b.WriteString(" ORDER BY ")
		for i, o := range s.OrderBy {
			if i > 0 {
				b.WriteString(", ")
			}
			formatExpr(b, o.Expr, 0)
			if o.Desc {
				b.WriteString(" DESC")
			}
		}
	}
	if s.Limit != nil {
		b.WriteString(" LIMIT ")
		formatExpr(b, s.Limit, 0)
	}
	if s.Offset != nil {
		b.WriteString(" OFFSET ")
		formatExpr(b, s.Offset, 0)
	}
}

// Precedence levels, loosest first; they match the grammar's layers.
const (
	precOr = iota + 1
	precAnd
	precNot
	precCmp
	precConcat
	precAdd
	precMul
	precUnary
	precPrimary
)

func binaryPrec(op string) int {
	switch op {
	case "OR":
		return precOr
	case "AND":
		return precAnd
	case "||":
		return precConcat
	case "+", "-":
		return precAdd
	case "*", "/", "%":
		return precMul
	}
	return precCmp
}

func exprPrec(e Expr) int {
	switch e := e.(type) {
	case *Binary:
		return binaryPrec(e.Op.String())
	case *Unary:
		if e.Op == "NOT" {
			return precNot
		}
		return precUnary
	case *IsNull, *In, *Between, *Like:
		return precCmp
	}
	return precPrimary
}

// formatExpr writes e, in parentheses when it binds looser than min.
func formatExpr(b *strings.Builder, e Expr, min int) {
	if e == nil {
		b.WriteString("NULL")
		return
	}
	if exprPrec(e) < min {
		b.WriteString("(")
		formatExpr(b, e, 0)
		b.WriteString(")")
		return
	}
	switch e := e.(type) {
	case *Binary:
		p := binaryPrec(e.Op.String())
		left, right := p, p+1
		if p == precCmp {
			// Comparisons do not chain: both sides sit one level tighter.
			left = precConcat
		}
		formatExpr(b, e.L, left)
		b.WriteString(" ")
		b.WriteString(e.Op.String())
		b.WriteString(" ")
		formatExpr(b, e.R, right)
	case *Unary:
		if e.Op == "NOT" {
			b.WriteString("NOT ")
			formatExpr(b, e.X, precNot)
			return
		}
		b.WriteString(e.Op)
		// A minus before a literal would fold into it on reparse, and a sign
		// before a sign could read as a comment: parenthesize both.
		var inner strings.Builder
		formatExpr(&inner, e.X, precUnary)
		s := inner.String()
		_, isInt := e.X.(*IntLit)
		_, isFloat := e.X.(*FloatLit)
		if isInt || isFloat || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
			b.WriteString("(")
			b.WriteString(s)
			b.WriteString(")")
		} else {
			b.WriteString(s)
		}
	case *IsNull:
		formatExpr(b, e.X, precConcat)
		if e.Not {
			b.WriteString(" IS NOT NULL")
		} else {
			b.WriteString(" IS NULL")
		}
	case *In:
		formatExpr(b, e.X, precConcat)
		if e.Not {
			b.WriteString(" NOT")
		}
		b.WriteString(" IN (")
		if len(e.List) == 1 {
			if sq, ok := e.List[0].(*Subquery); ok {
				formatSelect(b, sq.Select)
				b.WriteString(")")
				return
			}
		}
		writeExprs(b, e.List)
		b.WriteString(")")
	case *Between:
		formatExpr(b, e.X, precConcat)
		if e.Not {
			b.WriteString(" NOT")
		}
		b.WriteString(" BETWEEN ")
		formatExpr(b, e.Lo, precConcat)
		b.WriteString(" AND ")
		formatExpr(b, e.Hi, precConcat)
	case *Like:
		formatExpr(b, e.X, precConcat)
		if e.Not {
			b.WriteString(" NOT")
		}
		b.WriteString(" LIKE ")
		formatExpr(b, e.Pattern, precConcat)
	case *Call:
		b.WriteString(quoteIdent(e.Name))
		b.WriteString("(")
		if e.Star {
			b.WriteString("*")
		} else {
			if e.Distinct {
				b.WriteString("DISTINCT ")
			}
			writeExprs(b, e.Args)
		}
		b.WriteString(")")
	case *Subquery:
		b.WriteString("(")
		formatSelect(b, e.Select)
		b.WriteString(")")
	case *ColumnRef:
		if e.Table != "" {
			b.WriteString(quoteIdent(e.Table))
			b.WriteString(".")
		}
		b.WriteString(quoteIdent(e.Name))
	case *IntLit:
		b.WriteString(strconv.FormatInt(e.Value, 10))
	case *FloatLit:
		b.WriteString(floatText(e))
	case *StringLit:
		b.WriteString(quoteString(e.Value))
	case *NullLit:
		b.WriteString("NULL")
	case *BoolLit:
		if e.Value {
			b.WriteString("TRUE")
		} else {
			b.WriteString("FALSE")
		}
	case *VectorLit:
		b.WriteString(types.FormatVector(e.Values))
	case *Param:
		b.WriteString("$")
		b.WriteString(strconv.Itoa(e.Index))
	}
}

// floatText is the literal as written, or for a constructed FloatLit the
// shortest text that reads back as a float (never as an INT).
func floatText(f *FloatLit) string {
	if f.Text != "" {
		return f.Text
	}
	s := strconv.FormatFloat(f.Value, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEnN") {
		s += ".0"
	}
	return s
}

// writeOptions prints WITH (name value, …) of COPY and CREATE INDEX.
func writeOptions(b *strings.Builder, opts []CopyOption) {
	if len(opts) > 0 {
		b.WriteString(" WITH (")
		for i, o := range opts {
			if i > 0 {
				b.WriteString(", ")
			}
			// Values print as strings: the AST does not keep how they
			// were written, and a string reads back as the same text.
			// Option names are words (keywords included), never quoted.
			b.WriteString(o.Name)
			b.WriteString(" ")
			b.WriteString(quoteString(o.Value))
		}
		b.WriteString(")")
	}
}
