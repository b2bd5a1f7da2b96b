package softdb_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/softdb/softdb"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected results of testdata/logic files")

// TestLogic runs the sqllogictest-style files of testdata/logic, each
// against a fresh on-disk database. Directives:
//
//	statement ok | statement error <regexp>   then the SQL, ended by a blank line
//	query [rowsort]                            then the SQL, "----", the rows
//
// Rows print one per line, columns joined by " | ", NULL as NULL, floats
// (and vector elements) with 6 significant digits. -rewrite regenerates
// the expected rows.
func TestLogic(t *testing.T) {
	files, _ := filepath.Glob("testdata/logic/*.test")
	if len(files) == 0 {
		t.Fatal("no testdata/logic/*.test files")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".test"), func(t *testing.T) { runLogicFile(t, f) })
	}
}

type logicRecord struct {
	kind    string // statement, query
	arg     string // ok / error regexp / rowsort
	sql     string
	want    []string
	line    int
	hasWant bool
}

func parseLogic(t *testing.T, path string) (recs []*logicRecord, raw []string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw = strings.Split(string(data), "\n")
	for i := 0; i < len(raw); i++ {
		l := raw[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		fields := strings.SplitN(l, " ", 2)
		r := &logicRecord{kind: fields[0], line: i + 1}
		if len(fields) > 1 {
			r.arg = fields[1]
		}
		if r.kind != "statement" && r.kind != "query" {
			t.Fatalf("%s:%d: unknown directive %q", path, i+1, l)
		}
		var sql []string
		for i++; i < len(raw) && strings.TrimSpace(raw[i]) != "" && raw[i] != "----"; i++ {
			sql = append(sql, raw[i])
		}
		r.sql = strings.Join(sql, "\n")
		if i < len(raw) && raw[i] == "----" {
			r.hasWant = true
			for i++; i < len(raw) && strings.TrimSpace(raw[i]) != ""; i++ {
				r.want = append(r.want, raw[i])
			}
		}
		recs = append(recs, r)
	}
	return recs, raw
}

func runLogicFile(t *testing.T, path string) {
	recs, _ := parseLogic(t, path)
	db, err := softdb.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn := db.Conn()
	defer conn.Close()
	ctx := context.Background()
	var out strings.Builder // the rewritten file
	for _, r := range recs {
		where := fmt.Sprintf("%s:%d", path, r.line)
		switch r.kind {
		case "statement":
			_, err := conn.Exec(ctx, r.sql)
			switch {
			case r.arg == "ok" && err != nil:
				t.Errorf("%s: unexpected error: %v\n%s", where, err, r.sql)
			case strings.HasPrefix(r.arg, "error"):
				pat := strings.TrimSpace(strings.TrimPrefix(r.arg, "error"))
				if err == nil {
					t.Errorf("%s: expected an error matching %q, got none\n%s", where, pat, r.sql)
				} else if !regexp.MustCompile(pat).MatchString(err.Error()) {
					t.Errorf("%s: error %q does not match %q", where, err, pat)
				}
			}
			fmt.Fprintf(&out, "statement %s\n%s\n\n", r.arg, r.sql)
		case "query":
			got, err := logicQuery(ctx, conn, r.sql, strings.Contains(r.arg, "rowsort"))
			if err != nil {
				t.Errorf("%s: %v\n%s", where, err, r.sql)
				got = r.want
			} else if !*rewrite && strings.Join(got, "\n") != strings.Join(r.want, "\n") {
				t.Errorf("%s: %s\n got:\n%s\nwant:\n%s", where, r.sql, strings.Join(got, "\n"), strings.Join(r.want, "\n"))
			}
			head := "query"
			if r.arg != "" {
				head += " " + r.arg
			}
			fmt.Fprintf(&out, "%s\n%s\n----\n", head, r.sql)
			for _, g := range got {
				out.WriteString(g + "\n")
			}
			out.WriteString("\n")
		}
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func logicQuery(ctx context.Context, conn *softdb.Conn, sql string, rowsort bool) ([]string, error) {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		vals := rows.Values()
		cells := make([]string, len(vals))
		for i, v := range vals {
			cells[i] = logicCell(v)
		}
		lines = append(lines, strings.Join(cells, " | "))
	}
	if rowsort {
		sort.Strings(lines)
	}
	return lines, rows.Err()
}

func logicCell(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', 6, 64)
	case string:
		return x
	case []float32:
		parts := make([]string, len(x))
		for i, f := range x {
			parts[i] = strconv.FormatFloat(float64(f), 'g', 6, 32)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v)
}
