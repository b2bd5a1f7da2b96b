package query

import (
	"github.com/alecthomas/participle/v2"
	"github.com/alecthomas/participle/v2/lexer"
)

// The parse tree. It mirrors the grammar, not the AST: lower.go turns it into
// ast.go's nodes, so the grammar can change without exec noticing. Type names
// become the production names of the EBNF (first letter upper-cased).
//
// Tokens are captured whole (lexer.Token) where lowering needs the position
// or the raw text; literal conversion happens in lowering, where errors can
// be positioned and worded.

type statement struct {
	Pos      lexer.Position
	Explain  bool          `parser:"( @'EXPLAIN'"`
	Analyze  bool          `parser:"  @'ANALYZE'? )?"`
	Create   *createStmt   `parser:"(  @@"`
	Drop     *dropTable    `parser:" | @@"`
	Insert   *insertStmt   `parser:" | @@"`
	Update   *updateStmt   `parser:" | @@"`
	Delete   *deleteStmt   `parser:" | @@"`
	Select   *selectStmt   `parser:" | @@"`
	Copy     *copyStmt     `parser:" | @@"`
	Show     *showTables   `parser:" | @@"`
	Describe *describeStmt `parser:" | @@"`
	Begin    *beginStmt    `parser:" | @@"`
	Commit   *commitStmt   `parser:" | @@"`
	Rollback *rollbackStmt `parser:" | @@"`
	Set      *setStmt      `parser:" | @@"`
	Reindex  *reindexStmt  `parser:" | @@"`
	Train    *trainStmt    `parser:" | @@ )"`
}

type name struct {
	Tok lexer.Token `parser:"@(Ident | QIdent)"`
}

type createStmt struct {
	Pos        lexer.Position
	Table      *createTable      `parser:"'CREATE' ( @@"`
	Index      *createIndex      `parser:"         | @@"`
	Projection *createProjection `parser:"         | @@ )"`
}

type createTable struct {
	Pos         lexer.Position
	IfNotExists bool         `parser:"'TABLE' ( @'IF' 'NOT' 'EXISTS' )?"`
	Name        *name        `parser:"@@"`
	Elems       []*tableElem `parser:"'(' @@ ( ',' @@ )* ')'"`
}

type tableElem struct {
	Pos        lexer.Position
	PrimaryKey *name      `parser:"  'PRIMARY' 'KEY' '(' @@ ')'"`
	Column     *columnDef `parser:"| @@"`
}

type columnDef struct {
	Pos         lexer.Position
	Name        *name         `parser:"@@"`
	Type        *typeName     `parser:"@@"`
	Constraints []*constraint `parser:"@@*"`
}

type typeName struct {
	Pos       lexer.Position
	Name      lexer.Token  `parser:"@Ident"`
	Precision bool         `parser:"@'PRECISION'?"`
	Sign      string       `parser:"( '(' @( '-' | '+' )?"`
	Size      *lexer.Token `parser:"  @Int ')' )?"`
}

type constraint struct {
	Pos        lexer.Position
	PrimaryKey bool  `parser:"  @'PRIMARY' 'KEY'"`
	NotNull    bool  `parser:"| @'NOT' 'NULL'"`
	Null       bool  `parser:"| @'NULL'"`
	Generated  *expr `parser:"| 'GENERATED' 'ALWAYS' 'AS' '(' @@ ')' 'STORED'"`
}

// createIndex is CREATE INDEX (SPEC §8); options reuse COPY's form.
type createIndex struct {
	Pos         lexer.Position
	IfNotExists bool          `parser:"'INDEX' ( @'IF' 'NOT' 'EXISTS' )?"`
	Name        *name         `parser:"@@"`
	Table       *name         `parser:"'ON' @@"`
	Method      *name         `parser:"( 'USING' @@ )?"`
	Column      *name         `parser:"'(' @@ ')'"`
	Options     []*copyOption `parser:"( 'WITH' '(' @@ ( ',' @@ )* ')' )?"`
}

type reindexStmt struct {
	Pos  lexer.Position
	Name *name `parser:"'REINDEX' @@"`
}

type dropTable struct {
	Pos        lexer.Position
	Projection *dropProjection `parser:"'DROP' ( @@"`
	Index      bool            `parser:"| ( 'TABLE' | @'INDEX' )"`
	IfExists   bool            `parser:"( @'IF' 'EXISTS' )?"`
	Name       *name           `parser:"@@ )"`
}

type insertStmt struct {
	Pos     lexer.Position
	Table   *name       `parser:"'INSERT' 'INTO' @@"`
	Columns []*name     `parser:"( '(' @@ ( ',' @@ )* ')' )?"`
	Rows    *valuesList `parser:"'VALUES' @@"`
}

type updateStmt struct {
	Pos   lexer.Position
	Table *name     `parser:"'UPDATE' @@"`
	Set   []*assign `parser:"'SET' @@ ( ',' @@ )*"`
	Where *expr     `parser:"( 'WHERE' @@ )?"`
}

type assign struct {
	Column *name `parser:"@@ '='"`
	Value  *expr `parser:"@@"`
}

type deleteStmt struct {
	Pos   lexer.Position
	Table *name `parser:"'DELETE' 'FROM' @@"`
	Where *expr `parser:"( 'WHERE' @@ )?"`
}

// selectStmt splits HARD/SOFT from plain SELECT so that the former can
// require FROM in the grammar (and say "expected FROM" when it is missing).
type selectStmt struct {
	Attn  *attnSelect  `parser:"  @@"`
	Plain *plainSelect `parser:"| @@"`
}

type attnSelect struct {
	Pos     lexer.Position
	Mode    string       `parser:"@( 'HARD' | 'SOFT' )"`
	Items   *selectItems `parser:"'SELECT' @@"`
	From    *name        `parser:"'FROM' @@"`
	Clauses []*clause    `parser:"@@*"`
	Tail    *selectTail  `parser:"@@"`
}

type plainSelect struct {
	Pos     lexer.Position
	Items   *selectItems `parser:"'SELECT' @@"`
	From    *name        `parser:"( 'FROM' @@"`
	Clauses []*clause    `parser:"  @@* )?"`
	Tail    *selectTail  `parser:"@@"`
}

// clause is one of the clauses that may come in any order after FROM.
// Repeats and misuse in a plain SELECT are reported when lowering.
type clause struct {
	Pos         lexer.Position
	Match       *expr  `parser:"  'MATCH' @@"`
	On          *name  `parser:"| 'ON' @@"`
	Using       string `parser:"| 'USING' @( 'DOT' | 'COSINE' | 'L2' )"`
	Temperature *expr  `parser:"| 'TEMPERATURE' @@"`
	Top         *expr  `parser:"| 'TOP' @@"`
	Where       *expr  `parser:"| 'WHERE' @@"`
	Within      *expr  `parser:"| 'WITHIN' 'ERROR' @@"`

	Heads    *expr   `parser:"| 'HEADS' @@"`
	Backward *assign `parser:"| 'BACKWARD' @@"`
}

type selectTail struct {
	GroupBy *exprList   `parser:"( 'GROUP' 'BY' @@ )?"`
	Having  *expr       `parser:"( 'HAVING' @@ )?"`
	OrderBy *orderItems `parser:"( 'ORDER' 'BY' @@ )?"`
	Limit   *expr       `parser:"( 'LIMIT' @@"`
	Offset  *expr       `parser:"  ( 'OFFSET' @@ )? )?"`
}

// Select items, GROUP BY and ORDER BY lists are parsed by hand
// (selectItems, exprList, orderItems in exprparse.go).

type copyStmt struct {
	Pos        lexer.Position
	Projection *copyProjection `parser:"'COPY' ( @@"`
	Table      *name           `parser:"| @@"`
	Columns    []*name         `parser:"( '(' @@ ( ',' @@ )* ')' )?"`
	Dir        string          `parser:"@( 'FROM' | 'TO' )"`
	Paths      []*strLit       `parser:"@@ ( ',' @@ )*"`
	Options    []*copyOption   `parser:"( 'WITH' '(' @@ ( ',' @@ )* ')' )? )"`
}

type strLit struct {
	Tok lexer.Token `parser:"@String"`
}

type copyOption struct {
	Pos   lexer.Position
	Name  lexer.Token  `parser:"@( Ident | Keyword )"`
	Value *lexer.Token `parser:"( '='? @( Ident | QIdent | Keyword | String | Int | Float ) )?"`
}

type showTables struct {
	Pos         lexer.Position
	Show        bool  `parser:"@'SHOW' ( 'TABLES'"`
	Indexes     bool  `parser:"| @'INDEXES'"`
	Projections bool  `parser:"| @'PROJECTIONS'"`
	Setting     *name `parser:"| @@ )"`
}

type setStmt struct {
	Pos   lexer.Position
	Name  *name       `parser:"'SET' @@ ( '=' | 'TO' )"`
	Value lexer.Token `parser:"@( String | Int | Float | Ident | Keyword )"`
}

type describeStmt struct {
	Pos   lexer.Position
	Table *name `parser:"( 'DESCRIBE' | 'DESC' ) @@"`
}

type beginStmt struct {
	Pos   lexer.Position
	Begin bool `parser:"@'BEGIN' 'TRANSACTION'?"`
}

type commitStmt struct {
	Pos    lexer.Position
	Commit bool `parser:"@'COMMIT' 'TRANSACTION'?"`
}

type rollbackStmt struct {
	Pos      lexer.Position
	Rollback bool `parser:"@'ROLLBACK' 'TRANSACTION'?"`
}

// Expressions (type expr) are parsed by hand: see exprparse.go.

// parser is built once; participle parsers are safe for concurrent use.
var parser = participle.MustBuild[statement](parserOptions...)

var parserOptions = []participle.Option{
	participle.Lexer(lexDef{}),
	participle.CaseInsensitive("Keyword", "Ident"),
	// No backtracking over consumed tokens: every choice in the grammar is
	// decided by its first token, and a branch that fails part-way reports
	// its own error (", expected an expression") instead of an earlier one.
	participle.UseLookahead(0),
}
