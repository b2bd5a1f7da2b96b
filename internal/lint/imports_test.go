// Package lint holds tests that keep the architecture honest: imports
// point down the layers (STYLE.md), and pebble stays inside storage.
package lint

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/softdb/softdb"

// allowed lists, for each package of the module, the module packages it
// may import. Lower layers never import upper ones.
var allowed = map[string][]string{
	"types":      {},
	"attention":  {},
	"ivf":        {"attention"},
	"query":      {"types"},
	"storage":    {"types"},
	"formats":    {"types"},
	"learn":      {"attention"},
	"exec":       {"types", "query", "storage", "attention", "formats", "learn", "ivf"},
	"":           {"types", "query", "storage", "exec"}, // the root package: the embedding API
	"driver":     {"", "types"},
	"server":     {"", "types", "query"}, // the PostgreSQL wire protocol over the embedding API
	"cmd/softdb": {"", "types", "query", "formats", "server"},
	"bench":      {"", "types", "formats"}, // benchmarks through the public API
}

func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], module), "/")
		rules, known := allowed[pkg]
		if !known {
			if strings.HasPrefix(pkg, "internal/") || strings.HasPrefix(pkg, "examples/") || strings.Contains(pkg, "/internal/") {
				continue
			}
			t.Errorf("package %q has no rule in internal/lint: add one", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			if strings.Contains(imp, "cockroachdb/pebble") && pkg != "storage" {
				t.Errorf("%s imports %s: pebble must stay inside storage", fields[0], imp)
			}
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
			if strings.HasPrefix(dep, "internal/") || strings.Contains(dep, "/internal/") {
				continue
			}
			ok := false
			for _, a := range rules {
				ok = ok || a == dep
			}
			if !ok {
				t.Errorf("%s imports %s: not allowed (imports point down: cmd → softdb → exec → query/storage/attention/formats → types)", fields[0], imp)
			}
		}
	}
}
