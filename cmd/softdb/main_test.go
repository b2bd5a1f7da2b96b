package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/softdb/softdb"
)

var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// buildSoftdb compiles the command once per test binary.
func buildSoftdb(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		if build.dir, build.err = os.MkdirTemp("", "softdb-test-"); build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "softdb")
		if out, err := exec.Command("go", "build", "-o", build.bin, ".").CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func TestScriptModeFormats(t *testing.T) {
	script := `CREATE TABLE t (key VECTOR(2), value VECTOR(1), label TEXT);
INSERT INTO t VALUES ([1, 0], [10], 'a'), ([0, 1], [20], NULL);
SOFT SELECT value FROM t MATCH [1, 0] TEMPERATURE 1;
SELECT label, key FROM t;
`
	out, errOut, code := runCLI(t, script, "--format", "jsonl")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := `{"value":[12.689415]}
{"label":"a","key":[1,0]}
{"label":null,"key":[0,1]}
`
	if out != want {
		t.Errorf("jsonl output:\n%s\nwant:\n%s", out, want)
	}
	out, _, _ = runCLI(t, script, "--format", "csv")
	if !strings.Contains(out, "label,key\na,\"[1, 0]\"\n,\"[0, 1]\"\n") {
		t.Errorf("csv output:\n%s", out)
	}
	out, _, _ = runCLI(t, script, "--format", "json")
	if !strings.Contains(out, `[{"label":"a","key":[1,0]},`+"\n"+`{"label":null,"key":[0,1]}]`) {
		t.Errorf("json output:\n%s", out)
	}
	out, _, _ = runCLI(t, script)
	if !strings.Contains(out, "[12.689415]") || !strings.Contains(out, "NULL") {
		t.Errorf("table output:\n%s", out)
	}
}

func TestScriptErrorStopsWithLine(t *testing.T) {
	script := "CREATE TABLE t (a INT);\nINSERT INTO t VALUES (1);\n\nSELECT nope\n  FROM t;\nINSERT INTO t VALUES (2);\n"
	dir := t.TempDir()
	_, errOut, code := runCLI(t, script, dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.HasPrefix(errOut, "Error: ") || !strings.Contains(errOut, "line 4") || !strings.Contains(errOut, `column "nope" does not exist`) {
		t.Errorf("stderr = %q", errOut)
	}
	// The statement after the error did not run.
	out, _, _ := runCLI(t, "", "--format", "csv", dir, "SELECT count(*) FROM t")
	if out != "count(*)\n1\n" {
		t.Errorf("after the failed script: %q", out)
	}
	_, errOut, code = runCLI(t, "", dir, "SELEC 1")
	if code != 1 || !strings.Contains(errOut, "1:1") {
		t.Errorf("syntax error: exit %d, %q", code, errOut)
	}
}

// TestPipeAnswersEachStatement drives the real binary through a pipe: each
// answer must arrive before the next statement is sent (SPEC §6).
func TestPipeAnswersEachStatement(t *testing.T) {
	bin := buildSoftdb(t)
	cmd := exec.Command(bin, "--format", "jsonl")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	r := bufio.NewReader(stdout)
	fmt.Fprintln(stdin, "CREATE TABLE t (key VECTOR(2));")
	for i := 0; i < 3; i++ {
		fmt.Fprintf(stdin, "INSERT INTO t VALUES ([%d, 1]); SELECT count(*) AS n FROM t;\n", i)
		line, err := readLineTimeout(r, 10*time.Second)
		if err != nil {
			t.Fatalf("statement %d: no answer before the next was sent: %v", i, err)
		}
		if want := fmt.Sprintf(`{"n":%d}`, i+1); strings.TrimSpace(line) != want {
			t.Fatalf("got %q, want %q", line, want)
		}
	}
	stdin.Close()
	cmd.Wait()
}

// TestPipeAnswersWithoutNewline: a statement written to the pipe without a
// newline is answered at its ";" (SPEC §6); a program that writes it and
// waits for the answer must not deadlock. So is a statement cut across
// writes, and one after a "-" that could have started a comment.
func TestPipeAnswersWithoutNewline(t *testing.T) {
	bin := buildSoftdb(t)
	cmd := exec.Command(bin, "--format", "csv")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	r := bufio.NewReader(stdout)
	for i, writes := range [][]string{
		{"SELECT 5 AS e;"},
		{"SELECT 6 ", "AS e", ";"},
		{"  SELECT 7 - 0 AS e;"},
		{"SELECT 8 AS e; SEL", "ECT 9 AS e;"},
	} {
		for _, w := range writes {
			io.WriteString(stdin, w)
			time.Sleep(10 * time.Millisecond)
		}
		for j := 0; j < strings.Count(strings.Join(writes, ""), ";"); j++ {
			for _, want := range []string{"e", fmt.Sprint(5 + i + j)} {
				line, err := readLineTimeout(r, 10*time.Second)
				if err != nil {
					t.Fatalf("%q: no answer: %v", writes, err)
				}
				if strings.TrimSpace(line) != want {
					t.Fatalf("%q: got %q, want %q", writes, line, want)
				}
			}
		}
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
}

func readLineTimeout(r *bufio.Reader, d time.Duration) (string, error) {
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := r.ReadString('\n')
		ch <- res{s, err}
	}()
	select {
	case x := <-ch:
		return x.s, x.err
	case <-time.After(d):
		return "", fmt.Errorf("timeout after %v", d)
	}
}

// TestKillNine: every INSERT acknowledged by the softdb process survives a
// SIGKILL at a random moment; a transaction killed before COMMIT leaves
// nothing. Rounds print their seed.
func TestKillNine(t *testing.T) {
	bin := buildSoftdb(t)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	dir := t.TempDir()
	rounds := 4
	if testing.Short() {
		rounds = 2
	}
	acked := map[int]bool{}
	var groups [][]int // ids written in one transaction: all or none may survive
	next := 0
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(bin, "--format", "jsonl", dir)
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(stdout)
		send := func(sql string) error {
			if _, err := io.WriteString(stdin, sql+"\n"); err != nil {
				return err
			}
			_, err := readLineTimeout(r, 10*time.Second)
			return err
		}
		if round == 0 {
			if err := send("CREATE TABLE t (id INT PRIMARY KEY, key VECTOR(4)); SELECT 1 AS ok;"); err != nil {
				t.Fatal(err)
			}
		}
		// Open a transaction that is never committed: it must vanish.
		if err := send(fmt.Sprintf("BEGIN; INSERT INTO t VALUES (%d, [9, 9, 9, 9]); SELECT 1 AS ok;", -1-round)); err != nil {
			t.Fatal(err)
		}
		if err := send("ROLLBACK; SELECT 1 AS ok;"); err != nil {
			t.Fatal(err)
		}
		n := 20 + rng.IntN(60)
		killAt := time.Duration(rng.IntN(40)) * time.Millisecond
		done := make(chan struct{})
		go func() {
			for i := 0; i < n; i++ {
				if i%3 == 2 {
					// Three inserts in BEGIN … COMMIT: the kill may land inside.
					a, b, c := next, next+1, next+2
					next += 3
					groups = append(groups, []int{a, b, c})
					if send(fmt.Sprintf("BEGIN; INSERT INTO t VALUES (%d, [%d, 1, 2, 3]); INSERT INTO t VALUES (%d, [%d, 1, 2, 3]); SELECT 1 AS ok;", a, a, b, b)) != nil ||
						send(fmt.Sprintf("INSERT INTO t VALUES (%d, [%d, 1, 2, 3]); COMMIT; SELECT 1 AS ack;", c, c)) != nil {
						break
					}
					acked[a], acked[b], acked[c] = true, true, true
					continue
				}
				id := next
				next++ // ids are never retried: an unacknowledged insert may have committed
				err := send(fmt.Sprintf("INSERT INTO t VALUES (%d, [%d, 1, 2, 3]); SELECT %d AS ack;", id, id, id))
				if err != nil {
					break
				}
				acked[id] = true
			}
			close(done)
		}()
		time.Sleep(killAt)
		// A transaction in flight when the kill lands.
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		cmd.Wait()
	}
	db, err := softdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(context.Background(), "SELECT id, key FROM t ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for rows.Next() {
		var id int
		var key []float32
		if err := rows.Scan(&id, &key); err != nil {
			t.Fatal(err)
		}
		if id < 0 {
			t.Errorf("row %d of a rolled-back transaction is visible", id)
		}
		if len(key) != 4 || key[0] != float32(id) || key[3] != 3 {
			t.Errorf("row %d is damaged: %v", id, key)
		}
		seen[id] = true
	}
	for id := range acked {
		if !seen[id] {
			t.Errorf("acknowledged row %d is lost", id)
		}
	}
	for _, g := range groups {
		if seen[g[0]] != seen[g[1]] || seen[g[1]] != seen[g[2]] {
			t.Errorf("transaction %v is partly visible: %v %v %v", g, seen[g[0]], seen[g[1]], seen[g[2]])
		}
	}
	t.Logf("%d acknowledged rows, all present; %d rows in total", len(acked), len(seen))
}
