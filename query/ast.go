// Package query turns softdb SQL text into an abstract syntax tree. The
// participle grammar is private (grammar.go); what leaves this package is the
// AST below, whose nodes carry positions, and errors of the form
// "line:col: message". The package knows nothing of tables.
package query

import (
	"fmt"
	"math"

	"github.com/softdb/softdb/types"
)

// Pos is a position in the statement text; Line and Col are 1-based, Col
// counts bytes. Offset is the 0-based byte offset.
type Pos struct {
	// int32 rather than int: a statement is at most 1 MiB, and every
	// node carries a Pos, so this keeps the nodes of long expressions
	// small (TestParseAllocLinear).
	Offset, Line, Col int32
}

// MakePos returns the position at byte offset off, line and column col.
// A statement is at most MaxStatementLen bytes, so offsets within it fit;
// past the largest int32 (a script of over 2³¹ lines, a line of over
// 2 GiB) a field is held at it.
func MakePos(off, line, col int) Pos {
	return Pos{Offset: clamp32(off), Line: clamp32(line), Col: clamp32(col)}
}

func clamp32(n int) int32 { return int32(min(n, math.MaxInt32)) }

func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Error is a syntax (or lowering) error at a position.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Pos, e.Msg) }

// Node is any AST node. The interface is sealed.
type Node interface {
	Position() Pos
	node()
}

// Statement is a top-level statement.
type Statement interface {
	Node
	stmt()
}

// Expr is an expression.
type Expr interface {
	Node
	expr()
}

// ---- Statements ----

// CreateTable is CREATE TABLE [IF NOT EXISTS] name (columns).
type CreateTable struct {
	At          Pos
	IfNotExists bool
	Name        Ident
	Columns     []ColumnDef
}

// ColumnDef is one column of CREATE TABLE.
type ColumnDef struct {
	At         Pos
	Name       Ident
	Type       types.Type
	PrimaryKey bool
	NotNull    bool
	Generated  Expr // GENERATED ALWAYS AS (expr) STORED; nil: none
}

// DropTable is DROP TABLE [IF EXISTS] name.
type DropTable struct {
	At       Pos
	IfExists bool
	Name     Ident
}

// Insert is INSERT INTO t [(cols)] VALUES (…), (…).
type Insert struct {
	At      Pos
	Table   Ident
	Columns []Ident // nil: all columns in table order
	Rows    [][]Expr
}

// Update is UPDATE t SET col = expr, … [WHERE cond].
type Update struct {
	At    Pos
	Table Ident
	Set   []Assignment
	Where Expr // nil: every row
}

// Assignment is col = expr in UPDATE.
type Assignment struct {
	Column Ident
	Value  Expr
}

// Delete is DELETE FROM t [WHERE cond].
type Delete struct {
	At    Pos
	Table Ident
	Where Expr
}

// SelectMode says whether a SELECT is plain, HARD or SOFT.
type SelectMode uint8

const (
	Plain SelectMode = iota
	Hard
	Soft
)

func (m SelectMode) String() string {
	switch m {
	case Hard:
		return "HARD"
	case Soft:
		return "SOFT"
	}
	return ""
}

// Select is [HARD|SOFT] SELECT items [FROM t [MATCH …]] [WHERE] [GROUP BY]
// [HAVING] [ORDER BY] [LIMIT [OFFSET]].
type Select struct {
	At      Pos
	Mode    SelectMode
	Items   []SelectItem
	From    *Ident // nil: SELECT without FROM (one row)
	Match   *Match // non-nil only for HARD/SOFT
	Where   Expr
	GroupBy []Expr
	Having  Expr
	OrderBy []OrderItem
	Limit   Expr
	Offset  Expr
}

// SelectItem is one output item: * or an expression with an optional alias.
type SelectItem struct {
	At    Pos
	Star  bool
	Expr  Expr
	Alias string // "" when none was given
}

// Metric is the score function of MATCH … USING.
type Metric uint8

const (
	MetricDefault Metric = iota // not written: DOT
	Dot
	Cosine
	L2
)

func (m Metric) String() string {
	switch m {
	case Dot:
		return "DOT"
	case Cosine:
		return "COSINE"
	case L2:
		return "L2"
	}
	return ""
}

// Match holds the matching clauses of HARD/SOFT SELECT. They may be written
// in any order between FROM and GROUP BY; the parser collects them here.
type Match struct {
	At          Pos
	Query       Expr   // *VectorLit, *Param, *Subquery (or another expression yielding a vector)
	On          *Ident // nil: the table's match column
	Metric      Metric
	Temperature Expr // nil: default √d
	Top         Expr // nil: all rows (SOFT only)
	Within      Expr // WITHIN ERROR ε; nil: exact (SOFT only)

	Heads    Expr      // nil: one head (SOFT only)
	Backward *Backward // nil: no gradients (SOFT only)
}

// Backward is BACKWARD col = g: the gradients of L = ⟨g, blend(col)⟩.
type Backward struct {
	At     Pos
	Column Ident
	Grad   Expr
}

// OrderItem is one ORDER BY term.
type OrderItem struct {
	Expr Expr
	Desc bool
}

// Copy is COPY t [(cols)] FROM|TO 'path' [, 'path' …] [WITH (opt value, …)].
type Copy struct {
	At      Pos
	Table   Ident
	Columns []Ident
	To      bool // false: FROM (import), true: TO (export)
	Paths   []StringLit
	Options []CopyOption
}

// CopyOption is one WITH option: FORMAT csv, HEADER true, DELIMITER ','.
// Name is upper-cased; Value is the option's text (an identifier, a
// string literal's contents, or a number/boolean as written).
type CopyOption struct {
	At    Pos
	Name  string
	Value string
}

// ShowTables is SHOW TABLES.
type ShowTables struct{ At Pos }

// ShowSetting is SHOW name: the value of a setting SET changes.
type ShowSetting struct {
	At   Pos
	Name Ident
}

// Set is SET name = value (or TO value): a setting of the session. Name
// is as written; Value is a string literal's contents, or a number or word
// as written.
type Set struct {
	At      Pos
	Name    Ident
	Value   string
	ValueAt Pos
}

// Describe is DESCRIBE t.
type Describe struct {
	At    Pos
	Table Ident
}

// Explain is EXPLAIN <statement>.
type Explain struct {
	At      Pos
	Analyze bool // EXPLAIN ANALYZE: run the statement and report what it did
	Stmt    Statement
}

// Begin, Commit and Rollback control explicit transactions.
type Begin struct{ At Pos }
type Commit struct{ At Pos }
type Rollback struct{ At Pos }

// ---- Expressions ----

// Ident is a name (table, column, alias), case preserved as written.
// Names are compared case-insensitively by the executor.
type Ident struct {
	At   Pos
	Name string
}

// ColumnRef names a column, optionally qualified: [table.]name. The
// pseudo-columns rowid, score, weight, qrow and the temperature variable d
// are ColumnRefs too; the executor resolves them.
type ColumnRef struct {
	At    Pos
	Table string // "" when unqualified
	Name  string
}

// IntLit is an integer literal.
type IntLit struct {
	At    Pos
	Value int64
}

// FloatLit is a decimal or exponent literal.
type FloatLit struct {
	At    Pos
	Value float64
	Text  string // as written, for Format
}

// StringLit is a single-quoted string (” escapes a quote).
type StringLit struct {
	At    Pos
	Value string
}

// NullLit is NULL.
type NullLit struct{ At Pos }

// BoolLit is TRUE or FALSE (the executor treats them as INT 1 and 0).
type BoolLit struct {
	At    Pos
	Value bool
}

// VectorLit is [x, y, …]. Elements are signed numeric literals, already
// checked to be finite float32 values.
type VectorLit struct {
	At     Pos
	Values []float32
}

// Param is a placeholder: ? (numbered left to right from 1) or $n.
type Param struct {
	At    Pos
	Index int // 1-based
}

// Unary is a prefix operator: "-", "+", "NOT".
type Unary struct {
	At Pos
	Op string
	X  Expr
}

// Binary is an infix operator: "+", "-", "*", "/", "%", "||", "=", "!=",
// "<", "<=", ">", ">=", "AND", "OR". "<>" is lowered to "!=".
type Binary struct {
	L, R Expr
	At   Pos
	Op   BinOp
}

// BinOp is the operator of a Binary, one byte rather than a string: a
// long 1 + 1 + … is mostly Binary nodes.
type BinOp uint8

// The binary operators.
const (
	OpOr BinOp = iota + 1 // the zero BinOp is none
	OpAnd
	OpConcat
	OpAdd
	OpSub
	OpMul
	OpDiv
	OpMod
	OpEq
	OpNe
	OpLt
	OpLe
	OpGt
	OpGe
)

var binOpNames = [...]string{
	OpOr: "OR", OpAnd: "AND", OpConcat: "||", OpAdd: "+", OpSub: "-", OpMul: "*", OpDiv: "/", OpMod: "%",
	OpEq: "=", OpNe: "!=", OpLt: "<", OpLe: "<=", OpGt: ">", OpGe: ">=",
}

// String returns the operator as written in SQL ("!=" for <>).
func (o BinOp) String() string {
	if int(o) < len(binOpNames) && o != 0 {
		return binOpNames[o]
	}
	return "?"
}

// binOpOf returns the operator written s ("<>" is "!="; keywords in
// upper case).
func binOpOf(s string) BinOp {
	if s == "<>" {
		return OpNe
	}
	for i, name := range binOpNames {
		if name == s && i != 0 {
			return BinOp(i)
		}
	}
	panic("query: unknown binary operator " + s)
}

// IsNull is X IS [NOT] NULL.
type IsNull struct {
	At  Pos
	X   Expr
	Not bool
}

// In is X [NOT] IN (list).
type In struct {
	At   Pos
	X    Expr
	List []Expr
	Not  bool
}

// Between is X [NOT] BETWEEN Lo AND Hi.
type Between struct {
	At     Pos
	X      Expr
	Lo, Hi Expr
	Not    bool
}

// Like is X [NOT] LIKE Pattern.
type Like struct {
	At      Pos
	X       Expr
	Pattern Expr
	Not     bool
}

// Call is a function call: name(args), count(*), count(DISTINCT x).
// Name is lower-cased. The prefix operator √x is lowered to sqrt(x).
type Call struct {
	At       Pos
	Name     string
	Args     []Expr
	Star     bool
	Distinct bool
}

// Subquery is (SELECT …) used as an expression (MATCH's batch form).
type Subquery struct {
	At     Pos
	Select *Select
}

// A node's position is where its text starts, except that Binary, IsNull,
// In, Between and Like are at their operator (NOT for NOT IN, NOT BETWEEN and
// NOT LIKE; IS for IS [NOT] NULL), where an operand error is best shown, and
// Match is at its MATCH keyword. The sqrt Call lowered from √x is at the √.

func (n *CreateTable) Position() Pos { return n.At }
func (n *DropTable) Position() Pos   { return n.At }
func (n *Insert) Position() Pos      { return n.At }
func (n *Update) Position() Pos      { return n.At }
func (n *Delete) Position() Pos      { return n.At }
func (n *Select) Position() Pos      { return n.At }
func (n *Copy) Position() Pos        { return n.At }
func (n *ShowTables) Position() Pos  { return n.At }
func (n *ShowSetting) Position() Pos { return n.At }
func (n *Describe) Position() Pos    { return n.At }
func (n *Set) Position() Pos         { return n.At }
func (n *Explain) Position() Pos     { return n.At }
func (n *Begin) Position() Pos       { return n.At }
func (n *Commit) Position() Pos      { return n.At }
func (n *Rollback) Position() Pos    { return n.At }

func (n *Ident) Position() Pos     { return n.At }
func (n *ColumnRef) Position() Pos { return n.At }
func (n *IntLit) Position() Pos    { return n.At }
func (n *FloatLit) Position() Pos  { return n.At }
func (n *StringLit) Position() Pos { return n.At }
func (n *NullLit) Position() Pos   { return n.At }
func (n *BoolLit) Position() Pos   { return n.At }
func (n *VectorLit) Position() Pos { return n.At }
func (n *Param) Position() Pos     { return n.At }
func (n *Unary) Position() Pos     { return n.At }
func (n *Binary) Position() Pos    { return n.At }
func (n *IsNull) Position() Pos    { return n.At }
func (n *In) Position() Pos        { return n.At }
func (n *Between) Position() Pos   { return n.At }
func (n *Like) Position() Pos      { return n.At }
func (n *Call) Position() Pos      { return n.At }
func (n *Subquery) Position() Pos  { return n.At }

func (*CreateTable) node() {}
func (*DropTable) node()   {}
func (*Insert) node()      {}
func (*Update) node()      {}
func (*Delete) node()      {}
func (*Select) node()      {}
func (*Copy) node()        {}
func (*ShowTables) node()  {}
func (*ShowSetting) node() {}
func (*Describe) node()    {}
func (*Set) node()         {}
func (*Explain) node()     {}
func (*Begin) node()       {}
func (*Commit) node()      {}
func (*Rollback) node()    {}
func (*Ident) node()       {}
func (*ColumnRef) node()   {}
func (*IntLit) node()      {}
func (*FloatLit) node()    {}
func (*StringLit) node()   {}
func (*NullLit) node()     {}
func (*BoolLit) node()     {}
func (*VectorLit) node()   {}
func (*Param) node()       {}
func (*Unary) node()       {}
func (*Binary) node()      {}
func (*IsNull) node()      {}
func (*In) node()          {}
func (*Between) node()     {}
func (*Like) node()        {}
func (*Call) node()        {}
func (*Subquery) node()    {}

func (*CreateTable) stmt() {}
func (*DropTable) stmt()   {}
func (*Insert) stmt()      {}
func (*Update) stmt()      {}
func (*Delete) stmt()      {}
func (*Select) stmt()      {}
func (*Copy) stmt()        {}
func (*ShowTables) stmt()  {}
func (*ShowSetting) stmt() {}
func (*Describe) stmt()    {}
func (*Set) stmt()         {}
func (*Explain) stmt()     {}
func (*Begin) stmt()       {}
func (*Commit) stmt()      {}
func (*Rollback) stmt()    {}

func (*ColumnRef) expr() {}
func (*IntLit) expr()    {}
func (*FloatLit) expr()  {}
func (*StringLit) expr() {}
func (*NullLit) expr()   {}
func (*BoolLit) expr()   {}
func (*VectorLit) expr() {}
func (*Param) expr()     {}
func (*Unary) expr()     {}
func (*Binary) expr()    {}
func (*IsNull) expr()    {}
func (*In) expr()        {}
func (*Between) expr()   {}
func (*Like) expr()      {}
func (*Call) expr()      {}
func (*Subquery) expr()  {}
