// Package childtest runs a test function of the running test binary as a
// child process that holds something (an open database directory) until
// the parent lets go (the cross-process lock tests of softdb and driver),
// and reads a process's memory figures (ProcStatus).
package childtest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Child is a running helper process.
type Child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines *bufio.Scanner
}

// Start runs the test function named test of this binary in a child
// process, with env ("NAME=value") added to its environment, and waits
// until the child prints ready. A line starting with "error" from the
// child, or its exit before ready, fails t. The child is killed at the end
// of the test if still running.
func Start(t testing.TB, test, env, ready string) *Child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	c := &Child{cmd: cmd, stdin: stdin, lines: bufio.NewScanner(stdout)}
	for c.lines.Scan() {
		switch line := c.lines.Text(); {
		case line == ready:
			return c
		case strings.HasPrefix(line, "error"):
			t.Fatalf("child: %s", line)
		}
	}
	t.Fatalf("the child process exited before it printed %q", ready)
	return nil
}

// Release closes the child's stdin (Hold's signal to let go) and waits for
// it to exit; a failed exit fails t.
func (c *Child) Release(t testing.TB) {
	t.Helper()
	c.stdin.Close()
	go func() {
		for c.lines.Scan() {
		}
	}()
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
}

// Hold is the child's side: it prints ready, waits until its stdin is
// closed, then calls release. An error from release is printed as an
// "error" line and ends the process with status 1.
func Hold(ready string, release func() error) {
	fmt.Println(ready)
	io.Copy(io.Discard, os.Stdin)
	if err := release(); err != nil {
		Fail(err)
	}
}

// Fail reports err to the parent as an "error" line and exits with status 1.
func Fail(err error) {
	fmt.Println("error", err)
	os.Exit(1)
}
