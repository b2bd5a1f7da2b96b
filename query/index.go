package query

import "strings"

// CreateIndex is CREATE INDEX [IF NOT EXISTS] name ON t [USING method]
// (col) [WITH (opt = value, …)] (SPEC §8). Method is "" when not given;
// options are as written (names upper-cased, as COPY's).
type CreateIndex struct {
	At          Pos
	IfNotExists bool
	Name        Ident
	Table       Ident
	Method      *Ident
	Column      Ident
	Options     []CopyOption
}

// DropIndex is DROP INDEX [IF EXISTS] name.
type DropIndex struct {
	At       Pos
	IfExists bool
	Name     Ident
}

// Reindex is REINDEX name: the index is trained again on the current rows.
type Reindex struct {
	At   Pos
	Name Ident
}

// ShowIndexes is SHOW INDEXES.
type ShowIndexes struct{ At Pos }

func (n *CreateIndex) Position() Pos { return n.At }
func (n *DropIndex) Position() Pos   { return n.At }
func (n *Reindex) Position() Pos     { return n.At }
func (n *ShowIndexes) Position() Pos { return n.At }
func (*CreateIndex) node()           {}
func (*DropIndex) node()             {}
func (*Reindex) node()               {}
func (*ShowIndexes) node()           {}
func (*CreateIndex) stmt()           {}
func (*DropIndex) stmt()             {}
func (*Reindex) stmt()               {}
func (*ShowIndexes) stmt()           {}

func (l *lowerer) createIndex(c *createIndex) Statement {
	ci := &CreateIndex{At: pos(c.Pos), IfNotExists: c.IfNotExists, Name: l.name(c.Name), Table: l.name(c.Table), Column: l.name(c.Column)}
	if c.Method != nil {
		m := l.name(c.Method)
		ci.Method = &m
	}
	ci.Options = l.options(c.Options)
	return ci
}

// options lowers WITH options (COPY, CREATE INDEX).
func (l *lowerer) options(opts []*copyOption) []CopyOption {
	var out []CopyOption
	for _, o := range opts {
		opt := CopyOption{At: pos(o.Pos), Name: strings.ToUpper(o.Name.Value), Value: "TRUE"}
		// As in PostgreSQL, an option given twice is an error, not the
		// last one winning.
		for _, prev := range out {
			if prev.Name == opt.Name {
				l.fail(o.Pos, "option %s is given twice (first at %s)", strings.ToLower(opt.Name), prev.At)
			}
		}
		if v := o.Value; v != nil {
			opt.Value = v.Value
			if v.Type == tokString || v.Type == tokQIdent {
				opt.Value = unquote(v.Value)
			}
		}
		out = append(out, opt)
	}
	return out
}

// formatIndexStmt prints the index statements; it reports false for
// other statements.
func formatIndexStmt(b *strings.Builder, st Statement) bool {
	switch s := st.(type) {
	case *CreateIndex:
		b.WriteString("CREATE INDEX ")
		if s.IfNotExists {
			b.WriteString("IF NOT EXISTS ")
		}
		b.WriteString(quoteIdent(s.Name.Name) + " ON " + quoteIdent(s.Table.Name))
		if s.Method != nil {
			b.WriteString(" USING " + quoteIdent(s.Method.Name))
		}
		b.WriteString(" (" + quoteIdent(s.Column.Name) + ")")
		writeOptions(b, s.Options)
	case *DropIndex:
		b.WriteString("DROP INDEX ")
		if s.IfExists {
			b.WriteString("IF EXISTS ")
		}
		b.WriteString(quoteIdent(s.Name.Name))
	case *Reindex:
		b.WriteString("REINDEX " + quoteIdent(s.Name.Name))
	case *ShowIndexes:
		b.WriteString("SHOW INDEXES")
	default:
		return false
	}
	return true
}
