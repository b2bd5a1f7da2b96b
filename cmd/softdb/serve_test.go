package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeRefuses: flags that would expose the database or cannot work
// stop `softdb serve` before it listens, with the reason.
func TestServeRefuses(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("# users\nalice:secret\n"), 0o600)
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("no colon here\n"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "0.0.0.0:0"}, "not a loopback address"},
		{[]string{"--listen", "192.0.2.1:5433"}, "--password-file"},
		{[]string{"--listen", "nonsense"}, "HOST:PORT"},
		{[]string{"--password-file", bad}, "expected user:password"},
		{[]string{"--password-file", filepath.Join(dir, "missing")}, "no such file"},
		{[]string{"--tls-cert", pw}, "go together"},
		{[]string{"--tls-cert", pw, "--tls-key", pw}, "TLS"},
		{[]string{"--files", filepath.Join(dir, "nowhere")}, "--files"},
		{[]string{"a", "b"}, "at most one DBDIR"},
		{[]string{"--max-memory", "lots"}, "--max-memory"},
		{[]string{"--listen", "127.0.0.1:0", pw}, "Error:"}, // a file, not a database directory
	} {
		var stdout, stderr strings.Builder
		code := run(append([]string{"serve"}, tc.args...), strings.NewReader(""), &stdout, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("serve %v: exit %d, stderr %q; want an error containing %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
