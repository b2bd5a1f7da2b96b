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
	Explain  bool          `parser:"@'EXPLAIN'?"`
	Create   *createTable  `parser:"(  @@"`
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
	Set      *setStmt      `parser:" | @@ )"`
}

type name struct {
	Tok lexer.Token `parser:"@(Ident | QIdent)"`
}

type createTable struct {
	Pos         lexer.Position
	IfNotExists bool         `parser:"'CREATE' 'TABLE' ( @'IF' 'NOT' 'EXISTS' )?"`
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
	PrimaryKey bool `parser:"  @'PRIMARY' 'KEY'"`
	NotNull    bool `parser:"| @'NOT' 'NULL'"`
	Null       bool `parser:"| @'NULL'"`
}

type dropTable struct {
	Pos      lexer.Position
	IfExists bool  `parser:"'DROP' 'TABLE' ( @'IF' 'EXISTS' )?"`
	Name     *name `parser:"@@"`
}

type insertStmt struct {
	Pos     lexer.Position
	Table   *name        `parser:"'INSERT' 'INTO' @@"`
	Columns []*name      `parser:"( '(' @@ ( ',' @@ )* ')' )?"`
	Rows    []*valuesRow `parser:"'VALUES' @@ ( ',' @@ )*"`
}

type valuesRow struct {
	Values []*expr `parser:"'(' @@ ( ',' @@ )* ')'"`
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
	Mode    string        `parser:"@( 'HARD' | 'SOFT' )"`
	Items   []*selectItem `parser:"'SELECT' @@ ( ',' @@ )*"`
	From    *name         `parser:"'FROM' @@"`
	Clauses []*clause     `parser:"@@*"`
	Tail    *selectTail   `parser:"@@"`
}

type plainSelect struct {
	Pos     lexer.Position
	Items   []*selectItem `parser:"'SELECT' @@ ( ',' @@ )*"`
	From    *name         `parser:"( 'FROM' @@"`
	Clauses []*clause     `parser:"  @@* )?"`
	Tail    *selectTail   `parser:"@@"`
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
}

type selectTail struct {
	GroupBy []*expr      `parser:"( 'GROUP' 'BY' @@ ( ',' @@ )* )?"`
	Having  *expr        `parser:"( 'HAVING' @@ )?"`
	OrderBy []*orderItem `parser:"( 'ORDER' 'BY' @@ ( ',' @@ )* )?"`
	Limit   *expr        `parser:"( 'LIMIT' @@"`
	Offset  *expr        `parser:"  ( 'OFFSET' @@ )? )?"`
}

type selectItem struct {
	Pos   lexer.Position
	Star  bool  `parser:"  @'*'"`
	Expr  *expr `parser:"| @@"`
	Alias *name `parser:"  ( 'AS' @@ )?"`
}

type orderItem struct {
	Expr *expr  `parser:"@@"`
	Dir  string `parser:"@( 'ASC' | 'DESC' )?"`
}

type copyStmt struct {
	Pos     lexer.Position
	Table   *name         `parser:"'COPY' @@"`
	Columns []*name       `parser:"( '(' @@ ( ',' @@ )* ')' )?"`
	Dir     string        `parser:"@( 'FROM' | 'TO' )"`
	Paths   []*strLit     `parser:"@@ ( ',' @@ )*"`
	Options []*copyOption `parser:"( 'WITH' '(' @@ ( ',' @@ )* ')' )?"`
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
	Pos  lexer.Position
	Show bool `parser:"@'SHOW' 'TABLES'"`
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

// Expressions, loosest first. Operator chains are repetitions, not
// recursion, so only parentheses and prefix operators deepen the parser's
// stack; parseTokens bounds both before participle runs.

type expr struct {
	L *andExpr `parser:"@@"`
	R []*orRHS `parser:"@@*"`
}

type orRHS struct {
	Pos lexer.Position
	X   *andExpr `parser:"'OR' @@"`
}

type andExpr struct {
	L *notExpr  `parser:"@@"`
	R []*andRHS `parser:"@@*"`
}

type andRHS struct {
	Pos lexer.Position
	X   *notExpr `parser:"'AND' @@"`
}

type notExpr struct {
	Nots []*notOp `parser:"@@*"`
	X    *cmpExpr `parser:"@@"`
}

type notOp struct {
	Pos lexer.Position
	Not bool `parser:"@'NOT'"`
}

type cmpExpr struct {
	L    *concatExpr `parser:"@@"`
	Tail *cmpTail    `parser:"@@?"`
}

type cmpTail struct {
	Pos        lexer.Position
	Op         string       `parser:"  @( '=' | '!=' | '<>' | '<=' | '>=' | '<' | '>' )"`
	R          *concatExpr  `parser:"  @@"`
	Is         bool         `parser:"| @'IS'"`
	IsNot      bool         `parser:"  @'NOT'? 'NULL'"`
	In         *inTail      `parser:"| @@"`
	Between    *betweenTail `parser:"| @@"`
	Like       *likeTail    `parser:"| @@"`
	NotIn      *inTail      `parser:"| 'NOT' ( @@"`
	NotBetween *betweenTail `parser:"  | @@"`
	NotLike    *likeTail    `parser:"  | @@ )"`
}

type inTail struct {
	Pos  lexer.Position
	Open lexer.Token `parser:"'IN' @'('"`
	Sub  *selectStmt `parser:"( @@"`
	List []*expr     `parser:"  | @@ ( ',' @@ )* ) ')'"`
}

type betweenTail struct {
	Lo *concatExpr `parser:"'BETWEEN' @@"`
	Hi *concatExpr `parser:"'AND' @@"`
}

type likeTail struct {
	Pattern *concatExpr `parser:"'LIKE' @@"`
}

type concatExpr struct {
	L *addExpr     `parser:"@@"`
	R []*concatRHS `parser:"@@*"`
}

type concatRHS struct {
	Pos lexer.Position
	Op  string   `parser:"@'||'"`
	X   *addExpr `parser:"@@"`
}

type addExpr struct {
	L *mulExpr  `parser:"@@"`
	R []*addRHS `parser:"@@*"`
}

type addRHS struct {
	Pos lexer.Position
	Op  string   `parser:"@( '+' | '-' )"`
	X   *mulExpr `parser:"@@"`
}

type mulExpr struct {
	L *unaryExpr `parser:"@@"`
	R []*mulRHS  `parser:"@@*"`
}

type mulRHS struct {
	Pos lexer.Position
	Op  string     `parser:"@( '*' | '/' | '%' )"`
	X   *unaryExpr `parser:"@@"`
}

type unaryExpr struct {
	Ops []*unaryOp `parser:"@@*"`
	X   *primary   `parser:"@@"`
}

type unaryOp struct {
	Pos lexer.Position
	Op  string `parser:"@( '-' | '+' | '√' )"`
}

type primary struct {
	Pos    lexer.Position
	Number *lexer.Token `parser:"  @( Int | Float )"`
	String *lexer.Token `parser:"| @String"`
	Vector *lexer.Token `parser:"| @Vector"`
	Param  *lexer.Token `parser:"| @Param"`
	Null   bool         `parser:"| @'NULL'"`
	Bool   string       `parser:"| @( 'TRUE' | 'FALSE' )"`
	Ref    *ref         `parser:"| @@"`
	Paren  *paren       `parser:"| @@"`
}

// ref is a column reference or, followed by "(", a function call.
type ref struct {
	Pos  lexer.Position
	Name lexer.Token  `parser:"@( Ident | QIdent )"`
	Call *callArgs    `parser:"(  @@"`
	Col  *lexer.Token `parser:" | '.' @( Ident | QIdent ) )?"`
}

type callArgs struct {
	Star     bool    `parser:"'(' (  @'*'"`
	Distinct bool    `parser:"    | @'DISTINCT'?"`
	Args     []*expr `parser:"      @@ ( ',' @@ )* )? ')'"`
}

type paren struct {
	Pos    lexer.Position
	Select *selectStmt `parser:"'(' (  @@"`
	Expr   *expr       `parser:"    | @@ ) ')'"`
}

// parser is built once; participle parsers are safe for concurrent use.
var parser = participle.MustBuild[statement](
	participle.Lexer(lexDef{}),
	participle.CaseInsensitive("Keyword", "Ident"),
	// No backtracking over consumed tokens: every choice in the grammar is
	// decided by its first token, and a branch that fails part-way reports
	// its own error (", expected an expression") instead of an earlier one.
	participle.UseLookahead(0),
)
