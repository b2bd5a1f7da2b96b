package server_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/softdb/softdb"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// softdbBinary builds cmd/softdb once for the tests that run the real
// `softdb serve` process.
func softdbBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "softdb-server-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "softdb")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/softdb/softdb/cmd/softdb").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// serveProcess is a running `softdb serve`.
type serveProcess struct {
	cmd  *exec.Cmd
	port string
	done chan error
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// startServe starts `softdb serve` on a free port and waits until it
// listens.
func startServe(t testing.TB, args ...string) *serveProcess {
	t.Helper()
	bin := softdbBinary(t)
	port := freePort(t)
	cmd := exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:" + port}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProcess{cmd: cmd, port: port, done: make(chan error, 1)}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		ok := false
		for sc.Scan() {
			if !ok && strings.Contains(sc.Text(), "serving") {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
		p.done <- cmd.Wait()
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("softdb serve did not start: %s", stderr.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("softdb serve did not start within 20s: %s", stderr.String())
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
			}
		}
	})
	return p
}

func (p *serveProcess) dsn() string {
	return "postgres://tester@127.0.0.1:" + p.port + "/softdb?sslmode=disable"
}

// need finds prog, or skips the test naming the Debian package that has
// it (.ci/packages lists it, and test.sh installs it where it may).
func need(t *testing.T, prog, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(prog)
	if err != nil {
		t.Skipf("%s is not installed (Debian %s; .ci/packages lists it): %v", prog, pkg, err)
	}
	return path
}

// TestPsql runs a psql script of every statement kind, \copy in and out,
// and an error whose caret psql draws.
func TestPsql(t *testing.T) {
	psql := need(t, "psql", "postgresql-client")
	dir := t.TempDir()
	p := startServe(t, filepath.Join(dir, "db"))
	csvPath := filepath.Join(dir, "in.csv")
	os.WriteFile(csvPath, []byte("id,key,label\n1,\"[1,0,0]\",north\n2,\"[0,1,0]\",east\n3,\"[0,0,1]\",up\n"), 0o644)
	outPath := filepath.Join(dir, "out.csv")
	script := fmt.Sprintf(`CREATE TABLE docs (id INT PRIMARY KEY, key VECTOR(3), label TEXT, w FLOAT);
\copy docs (id, key, label) from '%s' with (format csv, header true)
INSERT INTO docs VALUES (4, '[1,1,0]', 'northeast', 2.5), (5, '{0,1,1}', 'braces', NULL);
UPDATE docs SET w = 1 WHERE id <= 3;
DELETE FROM docs WHERE id = 5;
SELECT id, key, label, w FROM docs ORDER BY id;
SOFT SELECT w FROM docs MATCH [1,0,0] TEMPERATURE 0.1;
HARD SELECT label, score FROM docs MATCH [0,1,0] LIMIT 2;
SOFT SELECT label, weight FROM docs MATCH [0,0,1] TOP 1;
EXPLAIN SOFT SELECT w FROM docs MATCH [1,0,0];
SHOW TABLES;
DESCRIBE docs;
BEGIN;
INSERT INTO docs VALUES (6, [0,0,0.5], 'rolled back', 0);
ROLLBACK;
BEGIN;
INSERT INTO docs VALUES (7, [0.5,0,0], 'committed', 0);
COMMIT;
SET max_statement_memory = '1GB';
SET application_name = 'psql-test';
SHOW application_name;
SELECT version();
SELECT count(*) FROM docs;
\copy docs to '%s' with (format csv, header)
DROP TABLE docs;
`, csvPath, outPath)
	scriptPath := filepath.Join(dir, "script.sql")
	os.WriteFile(scriptPath, []byte(script), 0o644)
	out, err := exec.Command(psql, "-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", p.port, "-U", "tester", "-d", "softdb", "-f", scriptPath).CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	got := string(out)
	for _, want := range []string{
		"CREATE TABLE", "COPY 3", "INSERT 0 2", "UPDATE 3", "DELETE 1",
		"  4 | [1,1,0] | northeast | 2.5", "(4 rows)",
		"psql-test", "PostgreSQL 15", "ROLLBACK", "COMMIT", "DROP TABLE",
		"docs | ", "key    | VECTOR(3) (match column)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("psql output lacks %q:\n%s", want, got)
		}
	}
	if m := regexp.MustCompile(`(?m)^\s+5\s*$`).FindString(got); m == "" {
		t.Errorf("count(*) after the transactions is not 5:\n%s", got)
	}
	exported, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	if want := "id,key,label,w\n1,\"[1,0,0]\",north,1\n"; !strings.HasPrefix(string(exported), want) {
		t.Errorf("\\copy to:\n%s\nwant it to start with\n%s", exported, want)
	}
	// An error: SQLSTATE, message, and the caret under the position.
	out, _ = exec.Command(psql, "-X", "-h", "127.0.0.1", "-p", p.port, "-U", "tester", "-d", "softdb", "-v", "VERBOSITY=verbose", "-c", "SELECT label FROM nope").CombinedOutput()
	if !strings.Contains(string(out), "42P01") || !strings.Contains(string(out), "LINE 1: SELECT label FROM nope\n                          ^") {
		t.Errorf("psql error output:\n%s", out)
	}
	// Ctrl-C (SIGINT) in psql sends a CancelRequest: the long statement
	// ends with 57014 and psql returns promptly.
	c, err := pgx.Connect(context.Background(), p.dsn())
	if err != nil {
		t.Fatal(err)
	}
	loadRandom(t, c, "big", 20000, 32)
	c.Close(context.Background())
	cmd := exec.Command(psql, "-X", "-h", "127.0.0.1", "-p", p.port, "-U", "tester", "-d", "softdb", "-c", "SOFT SELECT count(*) FROM big MATCH (SELECT key FROM big)")
	var cout strings.Builder
	cmd.Stdout, cmd.Stderr = &cout, &cout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	sent := time.Now()
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if d := time.Since(sent); d > 2*time.Second {
		t.Errorf("psql took %v to return after Ctrl-C", d)
	}
	if !strings.Contains(cout.String(), "canceling statement due to user request") {
		t.Errorf("psql after Ctrl-C:\n%s", cout.String())
	}
	// psql's \d queries the catalog: a clear error naming SHOW TABLES.
	out, _ = exec.Command(psql, "-X", "-h", "127.0.0.1", "-p", p.port, "-U", "tester", "-d", "softdb", "-c", `\d`).CombinedOutput()
	if !strings.Contains(string(out), "SHOW TABLES") || !strings.Contains(string(out), "DESCRIBE") {
		t.Errorf("psql \\d output:\n%s", out)
	}
}

const psycopgScript = `
import sys, threading, time
import psycopg2, psycopg2.errors
dsn = sys.argv[1]
conn = psycopg2.connect(dsn)
cur = conn.cursor()
cur.execute("CREATE TABLE docs (id INT PRIMARY KEY, key VECTOR(3), label TEXT, w FLOAT)")
cur.execute("INSERT INTO docs VALUES (%s, %s, %s, %s)", (1, "[1,0,0]", "it's quoted", 0.5))
cur.execute("INSERT INTO docs VALUES (%s, %s, %s, %s)", (2, "[0,1,0]", "b", None))
conn.commit()
cur.execute("SOFT SELECT label FROM docs MATCH %s TOP 1", ("[0,9,0]",))
assert cur.fetchall() == [("b",)], "top match"
cur.execute("SELECT id, w FROM docs WHERE label = %s", ("it's quoted",))
assert cur.fetchall() == [(1, 0.5)], "quoted text parameter"
# A rolled-back transaction leaves nothing.
cur.execute("INSERT INTO docs VALUES (3, '[0,0,1]', 'c', 1)")
conn.rollback()
cur.execute("SELECT count(*) FROM docs")
assert cur.fetchone()[0] == 2, "rollback"
# Errors carry their SQLSTATE.
try:
    cur.execute("SELECT * FROM nope")
    raise SystemExit("no error for a missing table")
except psycopg2.errors.UndefinedTable:
    conn.rollback()
# A big table for a long statement, through COPY FROM STDIN.
import io, random
random.seed(1)
cur.execute("CREATE TABLE big (id INT, key VECTOR(32))")
buf = io.StringIO()
for i in range(20000):
    buf.write("%d\t[%s]\n" % (i, ",".join("%.3f" % random.uniform(-1, 1) for _ in range(32))))
buf.seek(0)
cur.copy_expert("COPY big FROM STDIN", buf)
conn.commit()
cur.execute("SELECT count(*) FROM big")
assert cur.fetchone()[0] == 20000, "copy"
conn.commit()
conn.autocommit = True
timer = threading.Timer(0.3, conn.cancel)
timer.start()
t0 = time.time()
try:
    cur.execute("SOFT SELECT count(*) FROM big MATCH (SELECT key FROM big)")
    raise SystemExit("the long statement was not cancelled")
except psycopg2.errors.QueryCanceled:
    pass
elapsed = time.time() - t0 - 0.3
assert elapsed < 1.0, "cancel took %.2fs" % elapsed
cur.execute("SELECT 1")
assert cur.fetchone()[0] == 1
print("OK cancel returned %.3fs after cancel()" % elapsed)
`

// TestPsycopg2: parameters, transactions, errors, COPY and cancel() of
// a long statement, from Python.
func TestPsycopg2(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import psycopg2").Run(); err != nil {
		t.Skipf("python3-psycopg2 is not installed (.ci/packages lists it): %v", err)
	}
	p := startServe(t)
	script := filepath.Join(t.TempDir(), "client.py")
	os.WriteFile(script, []byte(psycopgScript), 0o644)
	out, err := exec.Command("/usr/bin/python3", script, "host=127.0.0.1 port="+p.port+" user=tester dbname=softdb").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("psycopg2: %v\n%s", err, out)
	}
	t.Log(strings.TrimSpace(string(out)))
}

// TestPgbench runs a short pgbench of a SOFT SELECT with 4 clients.
func TestPgbench(t *testing.T) {
	pgbench := need(t, "pgbench", "postgresql-client")
	p := startServe(t)
	c, err := pgx.Connect(context.Background(), p.dsn())
	if err != nil {
		t.Fatal(err)
	}
	loadRandom(t, c, "t", 2000, 16)
	c.Close(context.Background())
	script := filepath.Join(t.TempDir(), "soft.sql")
	os.WriteFile(script, []byte("SOFT SELECT count(*) FROM t MATCH '[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]';\n"), 0o644)
	for _, mode := range []string{"simple", "extended", "prepared"} {
		out, err := exec.Command(pgbench, "-n", "-M", mode, "-h", "127.0.0.1", "-p", p.port, "-U", "tester", "-c", "4", "-t", "50", "-f", script, "softdb").CombinedOutput()
		if err != nil {
			t.Fatalf("pgbench -M %s: %v\n%s", mode, err, out)
		}
		m := regexp.MustCompile(`number of transactions actually processed: (\d+)`).FindSubmatch(out)
		if m == nil || string(m[1]) != "200" {
			t.Errorf("pgbench -M %s:\n%s", mode, out)
		}
	}
}

// serveOnDisk starts softdb serve on a fresh directory and runs ddl
// through a connection it returns.
func serveOnDisk(t *testing.T, ddl string) (*serveProcess, string, *pgx.Conn) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "db")
	p := startServe(t, dir)
	c, err := pgx.Connect(context.Background(), p.dsn())
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, c, ddl)
	return p, dir, c
}

// TestKill9 kills the server process under write load: every insert it
// acknowledged is there after a restart.
func TestKill9(t *testing.T) {
	p, dir, c := serveOnDisk(t, "CREATE TABLE t (id INT, writer INT)")
	ctx := context.Background()
	c.Close(ctx)
	var acked [4][]int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range acked {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := pgx.Connect(ctx, p.dsn())
			if err != nil {
				return
			}
			defer c.Close(ctx)
			for i := int64(0); !stop.Load(); i++ {
				if _, err := c.Exec(ctx, "INSERT INTO t VALUES ($1, $2)", i, w); err != nil {
					return
				}
				acked[w] = append(acked[w], i)
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
	stop.Store(true)
	wg.Wait()
	db, err := softdb.Open(dir, nil)
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer db.Close()
	total := 0
	for w, ids := range acked {
		total += len(ids)
		rows, err := db.Query(ctx, "SELECT id FROM t WHERE writer = ?", w)
		if err != nil {
			t.Fatal(err)
		}
		have := map[int64]bool{}
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			have[id] = true
		}
		for _, id := range ids {
			if !have[id] {
				t.Errorf("writer %d: acknowledged insert %d lost", w, id)
			}
		}
	}
	if total == 0 {
		t.Fatal("no insert was acknowledged before the kill")
	}
	t.Logf("%d acknowledged inserts, all present after kill -9", total)
}

// TestSIGTERM: the process drains and exits 0; the database reopens.
func TestSIGTERM(t *testing.T) {
	p, dir, c := serveOnDisk(t, "CREATE TABLE t (id INT)")
	ctx := context.Background()
	mustExec(t, c, "BEGIN")
	mustExec(t, c, "INSERT INTO t VALUES (1)")
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("softdb serve did not exit within 10s of SIGTERM")
	}
	t.Logf("exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	if _, err := c.Exec(ctx, "COMMIT"); err == nil {
		t.Error("COMMIT after shutdown succeeded")
	}
	db, err := softdb.Open(dir, nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 0 {
		t.Errorf("rows = %d, %v; the open transaction must have rolled back", n, err)
	}
}

// TestJDBC runs a Java program through PostgreSQL's JDBC driver: batched
// prepared inserts, transactions, a statement run past the driver's
// prepareThreshold (named statements, binary results), SQLSTATEs.
func TestJDBC(t *testing.T) {
	java := need(t, "java", "openjdk-17-jdk-headless")
	const jar = "/usr/share/java/postgresql.jar"
	if _, err := os.Stat(jar); err != nil {
		t.Skipf("PostgreSQL's JDBC driver is not installed (Debian libpostgresql-jdbc-java; .ci/packages lists it): %v", err)
	}
	src, err := filepath.Abs("testdata/JdbcClient.java")
	if err != nil {
		t.Fatal(err)
	}
	p := startServe(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, java, "-cp", jar, src,
		"jdbc:postgresql://127.0.0.1:"+p.port+"/softdb?user=tester").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("JDBC client: %v\n%s", err, out)
	}
}
