package softdb_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestExternalModule is the proof that the public surface is enough: it
// builds programs in a module of their own that requires this one (through
// a replace directive), offline, and runs them. One program is the
// complete example of docs/embedding.md, checked against the output the
// document shows; the other uses the rest of the API and database/sql.
func TestExternalModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two programs (slow without a warm build cache); runs without -short")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go \S+$`).Find(gomod)
	gosum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "embedding.md"))
	if err != nil {
		t.Fatal(err)
	}
	docProgram, docOutput := firstBlock(t, string(doc), "go"), firstBlock(t, string(doc), "text")

	mod := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(mod, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/embedcheck\n\n"+string(goLine)+"\n\n"+
		"require github.com/softdb/softdb v0.0.0\n\n"+
		"replace github.com/softdb/softdb => "+root+"\n")
	write("go.sum", string(gosum))
	write("doc/main.go", docProgram)
	write("check/main.go", externalProgram)

	env := append(os.Environ(),
		"GOFLAGS=-mod=mod", // let go complete this module's go.mod
		"GOPROXY=off",      // offline: only the module cache
		"GOSUMDB=off",
		"GOWORK=off",
		"GOTOOLCHAIN=local",
	)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(gobin, args...)
		cmd.Dir = mod
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if got := run("run", "./doc"); got != docOutput {
		t.Errorf("the program of docs/embedding.md printed\n%s\nbut the document shows\n%s", got, docOutput)
	}
	if got := run("run", "./check"); got != externalOutput {
		t.Errorf("external program printed\n%s\nwant\n%s", got, externalOutput)
	}
	run("vet", "./...")
}

// firstBlock returns the first fenced code block of the given language.
func firstBlock(t *testing.T, md, lang string) string {
	t.Helper()
	start := strings.Index(md, "```"+lang+"\n")
	if start < 0 {
		t.Fatalf("no ```%s block", lang)
	}
	body := md[start+len("```"+lang+"\n"):]
	end := strings.Index(body, "```")
	if end < 0 {
		t.Fatalf("unterminated ```%s block", lang)
	}
	return body[:end]
}

// externalProgram uses the embedding API and database/sql as a user would,
// printing what it sees.
const externalProgram = `package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/softdb/softdb"
	"github.com/softdb/softdb/driver"
)

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func main() {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "softdb-external")
	check(err)
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "db")

	db, err := softdb.Open(dir, &softdb.Options{SegmentRows: 1024})
	check(err)
	_, err = db.Exec(ctx, "CREATE TABLE doc (id INT PRIMARY KEY, key VECTOR(3), body TEXT)")
	check(err)

	ins, err := db.Prepare(ctx, "INSERT INTO doc VALUES (?, ?, ?)")
	check(err)
	fmt.Println("placeholders:", ins.NumInput())
	check(db.Update(ctx, func(tx *softdb.Tx) error {
		for i, body := range []string{"cats", "dogs", "fish"} {
			key := make([]float32, 3)
			key[i] = 1
			if _, err := tx.Stmt(ins).Exec(ctx, i+1, key, body); err != nil {
				return err
			}
		}
		return nil
	}))
	ins.Close()

	rows, err := db.Query(ctx, "HARD SELECT id, body, key FROM doc MATCH $1 USING COSINE LIMIT 2", []float32{0.1, 0.8, 0.3})
	check(err)
	for _, c := range rows.ColumnTypes() {
		fmt.Print(c.Name, ":", c, " ")
	}
	fmt.Println()
	for rows.Next() {
		var id int64
		var body string
		var key []float32
		check(rows.Scan(&id, &body, &key))
		fmt.Println(id, body, key)
	}
	check(rows.Err())
	check(rows.Close())

	// Transactions: rollback, read-only, and the errors of each class.
	tx, err := db.Begin(ctx, nil)
	check(err)
	_, err = tx.Exec(ctx, "DELETE FROM doc")
	check(err)
	check(tx.Rollback())
	fmt.Println("rollback again:", errors.Is(tx.Rollback(), softdb.ErrTxDone))
	check(db.View(ctx, func(tx *softdb.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM doc").Scan(&n); err != nil {
			return err
		}
		fmt.Println("rows:", n)
		_, err := tx.Exec(ctx, "DELETE FROM doc")
		fmt.Println("write in a view:", errors.Is(err, softdb.ErrTx))
		return nil
	}))
	_, err = db.Exec(ctx, "INSERT INTO doc VALUES (1, NULL, 'dup')")
	fmt.Println("constraint:", errors.Is(err, softdb.ErrConstraint))
	_, err = db.Exec(ctx, "SELECT * FROM missing")
	fmt.Println("not found:", errors.Is(err, softdb.ErrNotFound))
	_, err = db.Exec(ctx, "INSERT INTO doc VALUES (9, [1, 2], 'x')")
	fmt.Println("dimension:", errors.Is(err, softdb.ErrDimension))
	_, err = db.Exec(ctx, "SELECT FROM")
	var se *softdb.SyntaxError
	fmt.Println("syntax:", errors.As(err, &se), se.Line, se.Col)
	_, err = softdb.Open(dir, nil)
	fmt.Println("locked:", errors.Is(err, softdb.ErrLocked))
	c := db.Conn()
	_, err = c.Exec(ctx, "BEGIN; DELETE FROM doc WHERE id = 1")
	check(err)
	fmt.Println("conn in tx:", c.InTx())
	check(c.Close())
	check(db.Close())
	_, err = db.Exec(ctx, "SELECT 1")
	fmt.Println("closed:", errors.Is(err, softdb.ErrClosed))

	// database/sql over the same directory, now free.
	sdb, err := sql.Open("softdb", dir)
	check(err)
	other, err := sql.Open("softdb", dir) // shares the engine
	check(err)
	var blend []float32
	check(sdb.QueryRow("SOFT SELECT key FROM doc MATCH ? TEMPERATURE 0", []float32{0, 0, 1}).Scan(&blend))
	fmt.Println("blend:", blend)
	stx, err := other.BeginTx(ctx, nil)
	check(err)
	_, err = stx.Exec("INSERT INTO doc VALUES (?, ?, ?)", 4, driver.Vector{1, 1, 0}, "pets")
	check(err)
	check(stx.Commit())
	var v driver.Vector
	check(sdb.QueryRow("SELECT key FROM doc WHERE id = ?", 4).Scan(&v))
	fmt.Println("vector:", v)
	_, err = sdb.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	fmt.Println("read committed refused:", err != nil)
	check(sdb.Close())
	check(other.Close())

	mem, err := softdb.Open(softdb.Memory, nil)
	check(err)
	defer mem.Close()
	mdb := sql.OpenDB(driver.NewConnector(mem))
	_, err = mdb.Exec("CREATE TABLE t (x INT)")
	check(err)
	check(mdb.Close())
	var n int
	check(mem.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n))
	fmt.Println("connector table rows:", n)
	fmt.Println("ok")
}
`

const externalOutput = `placeholders: 3
id:INT body:TEXT key:VECTOR(3) 
2 dogs [0 1 0]
3 fish [0 0 1]
rollback again: true
rows: 3
write in a view: true
constraint: true
not found: true
dimension: true
syntax: true 1 8
locked: true
conn in tx: true
closed: true
blend: [0 0 1]
vector: [1, 1, 0]
read committed refused: true
connector table rows: 0
ok
`
