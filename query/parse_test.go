package query

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/softdb/softdb/types"
)

func col(name string) *ColumnRef { return &ColumnRef{Name: name} }
func ident(name string) Ident    { return Ident{Name: name} }
func identp(name string) *Ident  { id := ident(name); return &id }
func intLit(v int64) *IntLit     { return &IntLit{Value: v} }

// TestParseAST checks the exact AST (positions aside) of each statement form.
func TestParseAST(t *testing.T) {
	vec := &VectorLit{Values: []float32{1, -2.5, 0.03}}
	tests := []struct {
		src  string
		want Statement
	}{
		{"CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY, key VECTOR(3) NOT NULL, value FLOAT, label TEXT)",
			&CreateTable{IfNotExists: true, Name: ident("t"), Columns: []ColumnDef{
				{Name: ident("id"), Type: types.Type{Kind: types.Int}, PrimaryKey: true},
				{Name: ident("key"), Type: types.Type{Kind: types.Vector, Dim: 3}, NotNull: true},
				{Name: ident("value"), Type: types.Type{Kind: types.Float}},
				{Name: ident("label"), Type: types.Type{Kind: types.Text}},
			}}},
		{"DROP TABLE IF EXISTS t", &DropTable{IfExists: true, Name: ident("t")}},
		{"INSERT INTO t (key, label) VALUES ([1, -2.5, 3e-2], 'a'), (?, NULL)",
			&Insert{Table: ident("t"), Columns: []Ident{ident("key"), ident("label")}, Rows: [][]Expr{
				{vec, &StringLit{Value: "a"}},
				{&Param{Index: 1}, &NullLit{}},
			}}},
		{"INSERT INTO t VALUES (1)", &Insert{Table: ident("t"), Rows: [][]Expr{{intLit(1)}}}},
		{"UPDATE t SET value = value * 2 WHERE rowid = 1",
			&Update{Table: ident("t"),
				Set:   []Assignment{{Column: ident("value"), Value: &Binary{Op: OpMul, L: col("value"), R: intLit(2)}}},
				Where: &Binary{Op: OpEq, L: col("rowid"), R: intLit(1)}}},
		{"DELETE FROM t", &Delete{Table: ident("t")}},
		{"SELECT 1", &Select{Items: []SelectItem{{Expr: intLit(1)}}}},
		{"SOFT SELECT value FROM t WHERE label = 'a' MATCH [1, -2.5, 3e-2] ON key USING COSINE TEMPERATURE √d / 2 TOP 5 LIMIT 1",
			&Select{Mode: Soft, Items: []SelectItem{{Expr: col("value")}}, From: identp("t"),
				Match: &Match{Query: vec, On: identp("key"), Metric: Cosine,
					Temperature: &Binary{Op: OpDiv, L: &Call{Name: "sqrt", Args: []Expr{col("d")}}, R: intLit(2)},
					Top:         intLit(5)},
				Where: &Binary{Op: OpEq, L: col("label"), R: &StringLit{Value: "a"}},
				Limit: intLit(1)}},
		{"HARD SELECT * FROM t MATCH $2",
			&Select{Mode: Hard, Items: []SelectItem{{Star: true}}, From: identp("t"), Match: &Match{Query: &Param{Index: 2}}}},
		{"SOFT SELECT label, SUM(weight) AS p FROM t MATCH (SELECT key FROM q WHERE rowid < 3) GROUP BY label HAVING p > 0 ORDER BY p DESC, label LIMIT 1 OFFSET 2",
			&Select{Mode: Soft,
				Items: []SelectItem{{Expr: col("label")}, {Expr: &Call{Name: "sum", Args: []Expr{col("weight")}}, Alias: "p"}},
				From:  identp("t"),
				Match: &Match{Query: &Subquery{Select: &Select{Items: []SelectItem{{Expr: col("key")}}, From: identp("q"),
					Where: &Binary{Op: OpLt, L: col("rowid"), R: intLit(3)}}}},
				GroupBy: []Expr{col("label")},
				Having:  &Binary{Op: OpGt, L: col("p"), R: intLit(0)},
				OrderBy: []OrderItem{{Expr: col("p"), Desc: true}, {Expr: col("label")}},
				Limit:   intLit(1), Offset: intLit(2)}},
		{"COPY t (key, value) FROM 'k.npy', 'v.npy' WITH (FORMAT npy, header = true)",
			&Copy{Table: ident("t"), Columns: []Ident{ident("key"), ident("value")},
				Paths:   []StringLit{{Value: "k.npy"}, {Value: "v.npy"}},
				Options: []CopyOption{{Name: "FORMAT", Value: "npy"}, {Name: "HEADER", Value: "true"}}}},
		{"COPY t TO 'o.csv'", &Copy{Table: ident("t"), To: true, Paths: []StringLit{{Value: "o.csv"}}}},
		{"SHOW TABLES", &ShowTables{}},
		{"DESCRIBE t", &Describe{Table: ident("t")}},
		{"DESC t", &Describe{Table: ident("t")}},
		{"EXPLAIN DELETE FROM t", &Explain{Stmt: &Delete{Table: ident("t")}}},
		{"BEGIN TRANSACTION", &Begin{}},
		{"COMMIT", &Commit{}},
		{"ROLLBACK", &Rollback{}},
		{"SELECT count(*), count(DISTINCT x), t.c, -5, -(5), NOT a IS NULL, x NOT BETWEEN 1 AND 2, y LIKE 'a%', z IN (1, 2)",
			&Select{Items: []SelectItem{
				{Expr: &Call{Name: "count", Star: true}},
				{Expr: &Call{Name: "count", Distinct: true, Args: []Expr{col("x")}}},
				{Expr: &ColumnRef{Table: "t", Name: "c"}},
				{Expr: intLit(-5)},
				{Expr: &Unary{Op: "-", X: intLit(5)}},
				{Expr: &Unary{Op: "NOT", X: &IsNull{X: col("a")}}},
				{Expr: &Between{X: col("x"), Lo: intLit(1), Hi: intLit(2), Not: true}},
				{Expr: &Like{X: col("y"), Pattern: &StringLit{Value: "a%"}}},
				{Expr: &In{X: col("z"), List: []Expr{intLit(1), intLit(2)}}},
			}}},
	}
	for _, tc := range tests {
		got, err := ParseOne(tc.src)
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		stripPos(got)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", tc.src, dump(got), dump(tc.want))
		}
	}
}

// TestClauseOrder parses every order of the matching clauses to one AST.
func TestClauseOrder(t *testing.T) {
	clauses := []string{"MATCH [1, 2]", "ON k", "USING L2", "TEMPERATURE 0.5", "TOP 3", "WHERE label = 'a'"}
	want, err := ParseOne("SOFT SELECT v FROM t " + strings.Join(clauses, " ") + " GROUP BY v ORDER BY v LIMIT 2")
	if err != nil {
		t.Fatal(err)
	}
	stripPos(want)
	n := 0
	permute(clauses, 0, func(order []string) {
		n++
		src := "SOFT SELECT v FROM t " + strings.Join(order, " ") + " GROUP BY v ORDER BY v LIMIT 2"
		got, err := ParseOne(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if !reflect.DeepEqual(stripPos(got), want) {
			t.Fatalf("%s: got %s", src, Format(got))
		}
	})
	if n != 720 {
		t.Fatalf("tried %d orders", n)
	}
}

func permute(a []string, k int, f func([]string)) {
	if k == len(a) {
		f(a)
		return
	}
	for i := k; i < len(a); i++ {
		a[k], a[i] = a[i], a[k]
		permute(a, k+1, f)
		a[k], a[i] = a[i], a[k]
	}
}

// TestColumnNames: the product's common column names and the pseudo-columns
// are plain names everywhere a name goes.
func TestColumnNames(t *testing.T) {
	for _, name := range []string{"key", "value", "label", "score", "weight", "d", "rowid", "qrow",
		"text", "vector", "int", "float", "temperature", "top", "tables", "format", "header", "dot", "cosine", "l2", "precision"} {
		src := fmt.Sprintf("CREATE TABLE %[1]s (%[1]s INT); INSERT INTO %[1]s (%[1]s) VALUES (1); "+
			"UPDATE %[1]s SET %[1]s = %[1]s + 1 WHERE %[1]s > 0; "+
			"SOFT SELECT %[1]s, %[1]s.%[1]s AS %[1]s FROM %[1]s MATCH [1] ON %[1]s WHERE %[1]s = 1 ORDER BY %[1]s; "+
			"COPY %[1]s (%[1]s) TO 'x'; DESCRIBE %[1]s", name)
		stmts, err := Parse(src)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		sel := stmts[3].(*Select)
		if c, ok := sel.Items[0].Expr.(*ColumnRef); !ok || c.Name != name {
			t.Errorf("%s: item is %s", name, Format(sel.Items[0].Expr))
		}
	}
}

// TestErrors: every error is a *Error whose text starts with line:col.
func TestErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"SOFT SELECT v FORM t", `1:15: unexpected "FORM", expected FROM`},
		{"SELECT [1, 2, 3, 4e38]", "1:18: vector element 4e38 is out of range for float32"},
		{"SELECT a FROM t MATCH [1]", "1:17: MATCH requires HARD SELECT or SOFT SELECT"},
		{"SOFT SELECT a FROM t", "1:1: SOFT SELECT requires a MATCH clause"},
		{"SOFT SELECT a FROM t MATCH [1] TOP 1 TOP 2", "1:38: duplicate TOP clause (first at 1:32)"},
		{"SELECT 1;\n\n  SELECT 'oops", "3:10: unterminated string literal"},
		{"CREATE TABLE t (k VECTOR(70000))", "1:26: VECTOR dimension must be between 1 and 65536, got 70000"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.src)
		var qe *Error
		if !errors.As(err, &qe) {
			t.Errorf("%q: error %v (%T) is not a *Error", tc.src, err, err)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("%q:\ngot  %s\nwant %s", tc.src, err, tc.want)
		}
	}
}

// TestParseAt: every error of a text parsed at a position in a script —
// lexing, parsing, lowering, the end of input — names the script's line and
// column, as the whole script parsed at once does.
func TestParseAt(t *testing.T) {
	prefix := "SELECT 1;\n-- two\n\n  SELECT 2; "
	at := Pos{Offset: int32(len(prefix)), Line: 4, Col: 13}
	for _, src := range []string{
		"SOFT SELECT v FORM t",
		"SELECT [1, 2, 3, 4e38]",
		"SELECT [1,\n 4e38]",
		"SELECT a FROM t\n  MATCH [1]",
		"SELECT 'oops",
		"SELECT 1 /* open",
		"SELECT #",
		"SELECT\n",
		"SELECT 1 +",
	} {
		_, want := Parse(prefix + src)
		_, got := ParseAt(src, at)
		if want == nil || got == nil || got.Error() != want.Error() {
			t.Errorf("ParseAt(%q): %v, want %v", src, got, want)
		}
	}
	stmts, err := ParseAt("SELECT x,\n  y FROM t;", at)
	if err != nil {
		t.Fatal(err)
	}
	sel := stmts[0].(*Select)
	if p := sel.Position(); p != at {
		t.Errorf("statement at %+v, want %+v", p, at)
	}
	if p := sel.Items[1].Expr.Position(); p != (Pos{Offset: at.Offset + 12, Line: 5, Col: 3}) {
		t.Errorf("second item at %+v", p)
	}
}

func TestParseOne(t *testing.T) {
	if _, err := ParseOne("SELECT 1;"); err != nil {
		t.Error(err)
	}
	if _, err := ParseOne("  -- nothing\n"); err == nil || err.Error() != "2:1: no statement" {
		t.Errorf("empty: %v", err)
	}
	if _, err := ParseOne("SELECT 1; SELECT 2"); err == nil || err.Error() != "1:11: expected one statement, found more" {
		t.Errorf("two: %v", err)
	}
}

// TestParamNumbering: ? is numbered per statement, left to right, including
// inside subqueries.
func TestParamNumbering(t *testing.T) {
	stmts, err := Parse("SOFT SELECT v FROM t WHERE a = ? MATCH (SELECT k FROM q WHERE b = ?) LIMIT ?; SELECT ?")
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, s := range stmts {
		Walk(s, func(n Node) bool {
			if p, ok := n.(*Param); ok {
				got = append(got, p.Index)
			}
			return true
		})
	}
	// Walk visits Match before Where; the indexes follow the text.
	if want := []int{2, 1, 3, 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestLimits(t *testing.T) {
	deep := strings.Repeat("(", MaxDepth) + "1" + strings.Repeat(")", MaxDepth)
	if _, err := Parse("SELECT " + deep); err == nil {
		// MaxDepth parentheses plus nothing else fit exactly.
	} else if !strings.Contains(err.Error(), "nested too deeply") {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
	for _, src := range []string{
		"SELECT " + strings.Repeat("(", 100000) + "1",
		"SELECT " + strings.Repeat("- ", 100000) + "1",
		"SELECT " + strings.Repeat("NOT ", 100000) + "1",
		"SELECT " + strings.Repeat("√", 100000) + "1",
		"SELECT " + strings.Repeat("(SELECT ", 100000),
		"SELECT a FROM t WHERE " + strings.Repeat("a IN (", 50000),
	} {
		_, err := Parse(src)
		if err == nil || !strings.Contains(err.Error(), "nested too deeply") {
			t.Errorf("%.30s…: %v", src, err)
		}
	}
	long := "SELECT '" + strings.Repeat("x", MaxStatementLen) + "'"
	if _, err := Parse(long); err == nil || !strings.HasPrefix(err.Error(), "1:1: statement is too long") {
		t.Errorf("long statement: %v", err)
	}
	// Long chains are repetition, not nesting.
	chain := "SELECT 1" + strings.Repeat(" + 1", 20000)
	if _, err := Parse(chain); err != nil {
		t.Errorf("long chain: %v", err)
	}
	// A vector of the maximum dimension parses; one more element does not.
	v := "[" + strings.TrimSuffix(strings.Repeat("1,", types.MaxDim), ",") + "]"
	st, err := ParseOne("SELECT " + v)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(st.(*Select).Items[0].Expr.(*VectorLit).Values); n != types.MaxDim {
		t.Errorf("got %d elements", n)
	}
	if _, err := ParseOne("SELECT [1, " + v[1:]); err == nil || !strings.Contains(err.Error(), "more than 65536 elements") {
		t.Errorf("oversized vector: %v", err)
	}
}

func TestStatementEnd(t *testing.T) {
	tests := []struct {
		src  string
		want int
	}{
		{"SELECT 1;", 9},
		{"SELECT 1; SELECT 2;", 9},
		{"SELECT 1", -1},
		{"", -1},
		{"SELECT ';'", -1},
		{"SELECT ';';", 11},
		{"SELECT 'it''s;';", 16},
		{`SELECT "a;b";`, 13},
		{`SELECT "a"";b";`, 15},
		{"SELECT 1 -- ;\n;", 15},
		{"SELECT 1 -- ;", -1},
		{"SELECT 1 /* ; */;", 17},
		{"SELECT 1 /* ;", -1},
		{"SELECT 'open", -1},
		{"SELECT [1, 2;", 13},
		{"SELECT 1 - 2;", 13},
		{"SELECT 1 / 2;", 13},
	}
	for _, tc := range tests {
		if got := StatementEnd(tc.src); got != tc.want {
			t.Errorf("StatementEnd(%q) = %d, want %d", tc.src, got, tc.want)
		}
	}
}

// TestStatementEndAgreesWithParse: splitting with StatementEnd and parsing
// each piece gives what Parse gives for the whole script.
func TestStatementEndAgreesWithParse(t *testing.T) {
	src := "SELECT ';' AS a; -- c;\nINSERT INTO t VALUES ('x;y', [1, 2]); /* ; */ SHOW TABLES;SELECT \"q;\" FROM t"
	whole, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	var pieces []string
	rest := src
	for {
		i := StatementEnd(rest)
		if i < 0 {
			break
		}
		pieces = append(pieces, rest[:i])
		rest = rest[i:]
	}
	pieces = append(pieces, rest)
	var split []Statement
	for _, p := range pieces {
		ss, err := Parse(p)
		if err != nil {
			t.Fatalf("%q: %v", p, err)
		}
		split = append(split, ss...)
	}
	if formatAll(whole) != formatAll(split) {
		t.Errorf("whole:\n%s\nsplit:\n%s", formatAll(whole), formatAll(split))
	}
}

var ebnfWord = regexp.MustCompile(`"([A-Za-z][A-Za-z0-9]*)"`)

// TestKeywords: every word of the grammar is offered for completion.
func TestKeywords(t *testing.T) {
	kw := map[string]bool{}
	for _, k := range Keywords() {
		kw[k] = true
	}
	for _, m := range ebnfWord.FindAllStringSubmatch(EBNF(), -1) {
		if !kw[m[1]] {
			t.Errorf("grammar word %s missing from Keywords()", m[1])
		}
	}
	for k := range reserved {
		if !kw[k] {
			t.Errorf("reserved word %s missing from Keywords()", k)
		}
	}
}

// TestConcurrentParse runs parses in parallel (meaningful under -race).
func TestConcurrentParse(t *testing.T) {
	srcs := []string{benchSoftSelect, "SELECT 1 +", "CREATE TABLE t (k VECTOR(3))", "COPY t FROM 'x'"}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				src := srcs[(g+i)%len(srcs)]
				s1, e1 := Parse(src)
				if e1 == nil && formatAll(s1) == "" {
					t.Error("empty format")
				}
			}
		}()
	}
	wg.Wait()
}

func TestFormatConstructed(t *testing.T) {
	// Nodes built by hand (as the executor might) still format to SQL.
	tests := []struct {
		n    Node
		want string
	}{
		{&FloatLit{Value: 2}, "2.0"},
		{&FloatLit{Value: 1e300}, "1e+300"},
		{&Unary{Op: "-", X: &IntLit{Value: -3}}, "-(-3)"},
		{&Binary{Op: OpSub, L: col("a"), R: &Binary{Op: OpSub, L: col("b"), R: col("c")}}, "a - (b - c)"},
		{&Binary{Op: OpAnd, L: &Binary{Op: OpOr, L: col("a"), R: col("b")}, R: col("c")}, "(a OR b) AND c"},
		{&ColumnRef{Table: "my t", Name: "Select"}, `"my t"."Select"`},
		{&Ident{Name: "x"}, "x"},
	}
	for _, tc := range tests {
		if got := Format(tc.n); got != tc.want {
			t.Errorf("Format(%s) = %s, want %s", dump(tc.n), got, tc.want)
		}
	}
}

const benchSoftSelect = "SOFT SELECT label, SUM(weight) AS p FROM docs " +
	"MATCH [0.12, -0.5, 0.33, 1.5e-2, 0.9, -0.07, 0.41, 0.0] USING COSINE TEMPERATURE √d / 2 TOP 10 " +
	"WHERE lang = 'en' AND rowid > 100 GROUP BY label ORDER BY p DESC LIMIT 3"

func BenchmarkParseSoftSelect(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(benchSoftSelect); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseInsertVector(b *testing.B) {
	for _, dim := range []int{8, 768} {
		b.Run(fmt.Sprintf("dim=%d", dim), func(b *testing.B) {
			var sb strings.Builder
			sb.WriteString("INSERT INTO t (id, key) VALUES (1, [")
			for i := 0; i < dim; i++ {
				if i > 0 {
					sb.WriteString(", ")
				}
				fmt.Fprintf(&sb, "%g", float32(i)*0.001-0.3)
			}
			sb.WriteString("])")
			src := sb.String()
			b.ReportAllocs()
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if _, err := Parse(src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestStart(t *testing.T) {
	st, err := ParseOne("SELECT (a + 1) * 2 IS NULL, x NOT IN (1), -y BETWEEN 1 AND 2")
	if err != nil {
		t.Fatal(err)
	}
	items := st.(*Select).Items
	for i, want := range []int32{9, 29, 43} {
		if got := Start(items[i].Expr).Col; got != want {
			t.Errorf("item %d: Start at col %d, want %d", i, got, want)
		}
	}
}

func TestByteOrderMark(t *testing.T) {
	st, err := ParseOne("\uFEFFSELECT x")
	if err != nil {
		t.Fatal(err)
	}
	if p := st.Position(); p.Offset != 3 || p.Col != 1 {
		t.Errorf("position after BOM: %+v", p)
	}
}
