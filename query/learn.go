package query

import (
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// The statements of the learned lookup (SPEC §10): projections and TRAIN.
// Generated columns are a column constraint of CREATE TABLE.

// ---- Parse tree ----

type createProjection struct {
	Pos  lexer.Position
	Name *name        `parser:"'PROJECTION' @@"`
	In   lexer.Token  `parser:"'(' @Int '-' '>'"`
	Out  lexer.Token  `parser:"@Int ')'"`
	From *strLit      `parser:"( 'FROM' @@"`
	Init string       `parser:"| 'INIT' @( 'IDENTITY' | 'RANDOM' ) )?"`
	Seed *lexer.Token `parser:"( 'SEED' @Int )?"`
}

type dropProjection struct {
	Pos      lexer.Position
	IfExists bool  `parser:"'PROJECTION' ( @'IF' 'EXISTS' )?"`
	Name     *name `parser:"@@"`
}

type copyProjection struct {
	Pos  lexer.Position
	Name *name   `parser:"'PROJECTION' @@ 'TO'"`
	Path *strLit `parser:"@@"`
}

type trainStmt struct {
	Pos     lexer.Position
	Analyze bool           `parser:"( @'ANALYZE' 'TRAIN' | 'TRAIN' ) 'PROJECTION'"`
	Names   []*name        `parser:"@@ ( ',' @@ )*"`
	Table   *name          `parser:"'ON' @@"`
	Column  *name          `parser:"'(' @@ ')'"`
	Label   *name          `parser:"( 'LABEL' @@"`
	Target  *name          `parser:"| 'TARGET' @@ )"`
	Clauses []*trainClause `parser:"@@*"`
}

type trainClause struct {
	Pos         lexer.Position
	Using       string       `parser:"  'USING' @( 'DOT' | 'COSINE' | 'L2' )"`
	Temperature *expr        `parser:"| 'TEMPERATURE' @@"`
	Iterations  *lexer.Token `parser:"| 'ITERATIONS' @Int"`
	Where       *expr        `parser:"| 'WHERE' @@"`
}

// ---- AST ----

// CreateProjection is CREATE PROJECTION name (in -> out) [FROM 'file' |
// INIT IDENTITY | INIT RANDOM [SEED n]]. Without FROM or INIT the matrix
// is random (seed 0).
type CreateProjection struct {
	At      Pos
	Name    Ident
	In, Out int
	From    *StringLit // FROM 'file.npy'
	Init    string     // "IDENTITY", "RANDOM" or "" (FROM, or not written)
	Seed    int64
	HasSeed bool
}

// DropProjection is DROP PROJECTION [IF EXISTS] name.
type DropProjection struct {
	At       Pos
	IfExists bool
	Name     Ident
}

// ShowProjections is SHOW PROJECTIONS.
type ShowProjections struct{ At Pos }

// CopyProjection is COPY PROJECTION name TO 'file.npy'.
type CopyProjection struct {
	At   Pos
	Name Ident
	Path StringLit
}

// Train is [EXPLAIN ANALYZE] TRAIN PROJECTION w [, w2] ON t (col)
// LABEL c | TARGET c [USING metric] [TEMPERATURE expr] [ITERATIONS n]
// [WHERE cond]. With two names the first maps queries, the second keys.
type Train struct {
	At          Pos
	Analyze     bool // EXPLAIN ANALYZE: the result is the loss per iteration
	Names       []Ident
	Table       Ident
	Column      Ident
	Label       *Ident // exactly one of Label and Target is set
	Target      *Ident
	Metric      Metric
	Temperature Expr // nil: the default
	Iterations  int  // 0: the default
	Where       Expr
}

func (n *CreateProjection) Position() Pos { return n.At }
func (n *DropProjection) Position() Pos   { return n.At }
func (n *ShowProjections) Position() Pos  { return n.At }
func (n *CopyProjection) Position() Pos   { return n.At }
func (n *Train) Position() Pos            { return n.At }

func (*CreateProjection) node() {}
func (*DropProjection) node()   {}
func (*ShowProjections) node()  {}
func (*CopyProjection) node()   {}
func (*Train) node()            {}

func (*CreateProjection) stmt() {}
func (*DropProjection) stmt()   {}
func (*ShowProjections) stmt()  {}
func (*CopyProjection) stmt()   {}
func (*Train) stmt()            {}

// ---- Lowering ----

// learnStatement lowers the statements of this file; nil when s is none
// of them.
func (l *lowerer) learnStatement(s *statement) Statement {
	switch {
	case s.Create != nil && s.Create.Projection != nil:
		return l.createProjection(s.Create.Pos, s.Create.Projection)
	case s.Drop != nil && s.Drop.Projection != nil:
		d := s.Drop.Projection
		return &DropProjection{At: pos(s.Drop.Pos), IfExists: d.IfExists, Name: l.name(d.Name)}
	case s.Show != nil && s.Show.Projections:
		return &ShowProjections{At: pos(s.Show.Pos)}
	case s.Copy != nil && s.Copy.Projection != nil:
		c := s.Copy.Projection
		return &CopyProjection{At: pos(s.Copy.Pos), Name: l.name(c.Name), Path: StringLit{At: pos(c.Path.Tok.Pos), Value: unquote(c.Path.Tok.Value)}}
	case s.Train != nil:
		t := l.train(s.Train)
		t.Analyze = t.Analyze || s.Analyze // EXPLAIN ANALYZE TRAIN
		switch {
		case s.Explain && !t.Analyze:
			l.fail(s.Train.Pos, "EXPLAIN TRAIN is not supported; EXPLAIN ANALYZE TRAIN runs it and shows the loss per iteration")
		case t.Analyze && !s.Explain:
			l.fail(s.Train.Pos, "ANALYZE TRAIN: write EXPLAIN ANALYZE TRAIN")
		}
		if t.Analyze {
			t.At = pos(s.Pos)
		}
		return t
	}
	return nil
}

func (l *lowerer) intTok(t lexer.Token, what string, lo, hi int64) int64 {
	v, err := strconv.ParseInt(t.Value, 10, 64)
	if err != nil || v < lo || v > hi {
		l.fail(t.Pos, "%s must be between %d and %d, got %s", what, lo, hi, t.Value)
	}
	return v
}

func (l *lowerer) createProjection(at lexer.Position, c *createProjection) Statement {
	const maxDim = 65536 // types.MaxDim; checked again by storage
	p := &CreateProjection{At: pos(at), Name: l.name(c.Name),
		In:  int(l.intTok(c.In, "the input dimension", 1, maxDim)),
		Out: int(l.intTok(c.Out, "the output dimension", 1, maxDim)),
	}
	if c.From != nil {
		p.From = &StringLit{At: pos(c.From.Tok.Pos), Value: unquote(c.From.Tok.Value)}
	}
	p.Init = strings.ToUpper(c.Init)
	if c.Seed != nil {
		if p.Init != "RANDOM" {
			l.fail(c.Seed.Pos, "SEED goes with INIT RANDOM")
		}
		p.Seed, p.HasSeed = l.intTok(*c.Seed, "SEED", 0, 1<<62), true
	}
	return p
}

func (l *lowerer) train(t *trainStmt) *Train {
	n := &Train{At: pos(t.Pos), Analyze: t.Analyze, Names: l.names(t.Names), Table: l.name(t.Table), Column: l.name(t.Column)}
	if len(n.Names) > 2 {
		l.fail(t.Names[2].Tok.Pos, "TRAIN PROJECTION takes one projection, or two (query, key)")
	}
	if t.Label != nil {
		id := l.name(t.Label)
		n.Label = &id
	} else {
		id := l.name(t.Target)
		n.Target = &id
	}
	seen := map[string]bool{}
	for _, c := range t.Clauses {
		var word string
		switch {
		case c.Using != "":
			word = "USING"
			n.Metric = metricByName(c.Using)
		case c.Temperature != nil:
			word = "TEMPERATURE"
			n.Temperature = l.expr(c.Temperature)
		case c.Iterations != nil:
			word = "ITERATIONS"
			n.Iterations = int(l.intTok(*c.Iterations, "ITERATIONS", 1, 1_000_000))
		case c.Where != nil:
			word = "WHERE"
			n.Where = l.expr(c.Where)
		}
		if seen[word] {
			l.fail(c.Pos, "%s is given twice", word)
		}
		seen[word] = true
	}
	return n
}

func metricByName(s string) Metric {
	switch strings.ToUpper(s) {
	case "COSINE":
		return Cosine
	case "L2":
		return L2
	}
	return Dot
}

// ---- Format and Walk ----

func formatLearnStmt(b *strings.Builder, s Statement) {
	switch s := s.(type) {
	case *CreateProjection:
		b.WriteString("CREATE PROJECTION " + quoteIdent(s.Name.Name) + " (" + strconv.Itoa(s.In) + " -> " + strconv.Itoa(s.Out) + ")")
		switch {
		case s.From != nil:
			b.WriteString(" FROM " + quoteString(s.From.Value))
		case s.Init != "":
			b.WriteString(" INIT " + s.Init)
			if s.HasSeed {
				b.WriteString(" SEED " + strconv.FormatInt(s.Seed, 10))
			}
		}
	case *DropProjection:
		b.WriteString("DROP PROJECTION ")
		if s.IfExists {
			b.WriteString("IF EXISTS ")
		}
		b.WriteString(quoteIdent(s.Name.Name))
	case *ShowProjections:
		b.WriteString("SHOW PROJECTIONS")
	case *CopyProjection:
		b.WriteString("COPY PROJECTION " + quoteIdent(s.Name.Name) + " TO " + quoteString(s.Path.Value))
	case *Train:
		if s.Analyze {
			b.WriteString("EXPLAIN ANALYZE ")
		}
		b.WriteString("TRAIN PROJECTION ")
		for i, id := range s.Names {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteIdent(id.Name))
		}
		b.WriteString(" ON " + quoteIdent(s.Table.Name) + " (" + quoteIdent(s.Column.Name) + ")")
		if s.Label != nil {
			b.WriteString(" LABEL " + quoteIdent(s.Label.Name))
		} else if s.Target != nil {
			b.WriteString(" TARGET " + quoteIdent(s.Target.Name))
		}
		if s.Metric != MetricDefault {
			b.WriteString(" USING " + s.Metric.String())
		}
		if s.Temperature != nil {
			b.WriteString(" TEMPERATURE ")
			formatExpr(b, s.Temperature, 0)
		}
		if s.Iterations > 0 {
			b.WriteString(" ITERATIONS " + strconv.Itoa(s.Iterations))
		}
		if s.Where != nil {
			b.WriteString(" WHERE ")
			formatExpr(b, s.Where, 0)
		}
	}
}

func walkLearn(n Node, f func(Node) bool) {
	switch n := n.(type) {
	case *CreateProjection:
		Walk(&n.Name, f)
	case *DropProjection:
		Walk(&n.Name, f)
	case *CopyProjection:
		Walk(&n.Name, f)
	case *Train:
		for i := range n.Names {
			Walk(&n.Names[i], f)
		}
		Walk(&n.Table, f)
		Walk(&n.Column, f)
		if n.Label != nil {
			Walk(n.Label, f)
		}
		if n.Target != nil {
			Walk(n.Target, f)
		}
		if n.Temperature != nil {
			Walk(n.Temperature, f)
		}
		if n.Where != nil {
			Walk(n.Where, f)
		}
	}
}
