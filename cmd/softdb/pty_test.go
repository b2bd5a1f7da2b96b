package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// terminal is the softdb binary running on a pseudo-terminal, with
// everything it has written to the screen.
type terminal struct {
	t    *testing.T
	cmd  *exec.Cmd
	pty  *os.File
	mu   sync.Mutex
	out  []byte
	mark int // output before mark has been looked at
	done chan struct{}
}

func startTerminal(t *testing.T, bin, home string, args ...string) *terminal {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+home, "TERM=xterm", "NO_COLOR=")
	cmd.Dir = home
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 160})
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{t: t, cmd: cmd, pty: f, done: make(chan struct{})}
	go func() {
		defer close(term.done)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			term.mu.Lock()
			term.out = append(term.out, buf[:n]...)
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		f.Close()
	})
	return term
}

// type_ sends keys; what the screen shows from now on is what expect sees.
func (term *terminal) type_(keys string) {
	term.t.Helper()
	term.mu.Lock()
	term.mark = len(term.out)
	term.mu.Unlock()
	if _, err := io.WriteString(term.pty, keys); err != nil {
		term.t.Fatalf("typing %q: %v", keys, err)
	}
}

// press sends keys without moving the mark: expect still sees what the
// keys typed before caused.
func (term *terminal) press(keys string) {
	term.t.Helper()
	if _, err := io.WriteString(term.pty, keys); err != nil {
		term.t.Fatalf("pressing %q: %v", keys, err)
	}
}

var escapes = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r`)

// screen is the text written since the last keys were typed, without
// terminal escape sequences.
func (term *terminal) screen() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return escapes.ReplaceAllString(string(term.out[term.mark:]), "")
}

// expect waits until the screen shows each of wants, in order.
func (term *terminal) expect(wants ...string) string {
	term.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := term.screen()
		rest, ok := s, true
		for _, w := range wants {
			i := strings.Index(rest, w)
			if i < 0 {
				ok = false
				break
			}
			rest = rest[i+len(w):]
		}
		if ok {
			return s
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("the screen does not show %q; it shows:\n%s", wants, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTerminal drives the REPL on a real (pseudo-)terminal: multi-line
// statements, SOFT SELECT with its bar chart, Tab, Up, errors, Ctrl-C and
// the history file.
func TestTerminal(t *testing.T) {
	bin := buildSoftdb(t)
	home := t.TempDir()
	term := startTerminal(t, bin, home)
	term.expect("in-memory database", ".demo", "softdb> ")

	term.type_("CREATE TABLE memory (key VECTOR(2),\r")
	term.expect("   ...> ")
	term.type_("  value VECTOR(2), label TEXT);\r")
	term.expect("CREATE TABLE\n", "softdb> ")
	term.type_("INSERT INTO memory VALUES ([1, 0], [10, 0], 'east'), ([0, 1], [0, 10], 'north'),\r")
	term.expect("   ...> ")
	term.type_("  ([1, 1], [5, 5], 'north-east');\r")
	term.expect("INSERT 3\n", "softdb> ")

	term.type_("SOFT SELECT label, weight FROM memory MATCH [0.9, 0.2] TEMPERATURE 0.5;\r")
	term.expect("label", "weight", "bar",
		"north-east | ", "0.5447753996869446 | ██████████▉",
		"east", "0.3651738361715439 | ███████▎",
		"north", "0.09005076414151163 | █▊", "softdb> ")

	// Tab completes the table name; the statement then runs.
	term.type_("SELECT count(*) AS n FROM mem\t")
	term.expect("FROM memory ")
	term.type_(";\r")
	term.expect(" n\n---\n 3\n", "softdb> ")

	// Up recalls the last statement; Enter runs it again.
	term.type_("\x1b[A")
	term.expect("SELECT count(*) AS n FROM memory ;")
	term.type_("\r")
	term.expect(" n\n---\n 3\n", "softdb> ")

	// An error is shown and the prompt comes back.
	term.type_("SELECT nope FROM memory;\r")
	term.expect(`Error: column "nope" does not exist in table "memory"`, "LINE 1: SELECT nope FROM memory;", "^", "softdb> ")

	// Ctrl-C clears a partly typed statement.
	term.type_("SELECT 1 AS one\r")
	term.expect("   ...> ")
	term.type_("\x03")
	term.expect("softdb> ")
	term.type_("SELECT 2 AS two;\r")
	term.expect("two\n-----\n   2\n", "softdb> ")

	// Ctrl-C cancels a running statement and the session goes on.
	rng := rand.New(rand.NewPCG(1, 2))
	for _, f := range []struct {
		name string
		rows int
	}{{"big.csv", 30000}, {"q.csv", 2000}} {
		var csv strings.Builder
		csv.WriteString("key\n")
		for i := 0; i < f.rows; i++ {
			fmt.Fprintf(&csv, "\"[%.2f, %.2f, %.2f, %.2f]\"\n", rng.Float64(), rng.Float64(), rng.Float64(), rng.Float64())
		}
		if err := os.WriteFile(filepath.Join(home, f.name), []byte(csv.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	term.type_("CREATE TABLE big (key VECTOR(4)); CREATE TABLE q (key VECTOR(4));\r")
	term.expect("softdb> ")
	term.type_(".import big.csv big\r")
	term.expect("Imported 30,000 rows into big.", "softdb> ")
	term.type_(".import q.csv q\r")
	term.expect("Imported 2,000 rows into q.", "softdb> ")
	// Tab after FROM lists the tables.
	term.type_("SELECT count(*) AS n FROM \t")
	term.expect("big", "memory", "q")
	term.type_("q;\r")
	term.expect("2000", "softdb> ")
	// 2,000 queries, each summing 30,000 weights: minutes of work.
	term.type_("SOFT SELECT SUM(weight) AS p FROM big MATCH (SELECT key FROM q);\r")
	// Ctrl-C reaches the statement only once the terminal has left raw
	// mode, so press it until the statement stops.
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	for !strings.Contains(term.screen(), "Error: cancelled") {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("Ctrl-C did not stop the statement; the screen shows:\n%s", term.screen())
		}
		term.press("\x03")
		time.Sleep(500 * time.Millisecond)
	}
	term.expect("Error: cancelled", "softdb> ")
	term.type_("SELECT count(*) AS n FROM big;\r")
	term.expect("30000", "softdb> ")

	term.type_(".quit\r")
	select {
	case <-term.done:
	case <-time.After(20 * time.Second):
		t.Fatal(".quit did not end the shell")
	}
	if err := term.cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}

	hist, err := os.ReadFile(filepath.Join(home, historyFile))
	if err != nil {
		t.Fatalf("no history file: %v", err)
	}
	for _, want := range []string{
		"CREATE TABLE memory (key VECTOR(2), value VECTOR(2), label TEXT);\n", // one entry for two lines
		"SELECT count(*) AS n FROM memory ;\n",
		".import big.csv big\n",
	} {
		if !strings.Contains(string(hist), want) {
			t.Errorf("history lacks %q:\n%s", want, hist)
		}
	}
	if fi, err := os.Stat(filepath.Join(home, historyFile)); err == nil && fi.Mode().Perm() != 0o600 {
		t.Errorf("history file mode %v, want 0600", fi.Mode().Perm())
	}

	// The next session recalls the last one's statements.
	term = startTerminal(t, bin, home)
	term.expect("softdb> ")
	term.type_("\x1b[A")
	term.expect(".quit")
	term.type_("\r")
	select {
	case <-term.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the recalled .quit did not end the shell")
	}
}

// TestTerminalDemo: `softdb --demo` greets with the demo tables and queries
// that work as printed.
func TestTerminalDemo(t *testing.T) {
	bin := buildSoftdb(t)
	term := startTerminal(t, bin, t.TempDir(), "--demo")
	term.expect("in-memory database", "digits", "Try:", "SOFT SELECT", "softdb> ")
	term.type_("SOFT SELECT label, SUM(weight) AS p FROM digits\r")
	term.expect("   ...> ")
	term.type_("  MATCH (SELECT key FROM digits WHERE rowid = 1) TEMPERATURE 0.05\r")
	term.expect("   ...> ")
	term.type_("  GROUP BY label ORDER BY p DESC LIMIT 3;\r")
	term.expect(" label |", "     0 |   0.88", "█", "softdb> ")
	term.type_("SELECT key FROM digits LIMIT 1;\r")
	term.expect("(64)", "softdb> ")
	term.type_("\x04") // Ctrl-D
	select {
	case <-term.done:
	case <-time.After(20 * time.Second):
		t.Fatal("Ctrl-D did not end the shell")
	}
}
