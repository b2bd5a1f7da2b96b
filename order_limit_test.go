package softdb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/softdb/softdb"
)

// TestSoftOrderLimit: a SOFT SELECT in row form whose ORDER BY is by
// weight or score descending (optionally ended by rowid) with a LIMIT
// keeps only the best LIMIT + OFFSET rows after weighing all of them
// (EXPLAIN says "best N rows"). Its answer must be the first rows of the
// same statement without LIMIT, which sorts every row, ties included:
// small integer keys make many equal scores.
func TestSoftOrderLimit(t *testing.T) {
	db := openTemp(t)
	mustExec(t, db, "CREATE TABLE t (key VECTOR(3), label TEXT)")
	rng := rand.New(rand.NewPCG(3, 4))
	var sb strings.Builder
	sb.WriteString("INSERT INTO t VALUES ")
	for i := 0; i < 3000; i++ {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "([%d, %d, %d], 'l%d')", rng.IntN(5)-2, rng.IntN(5)-2, rng.IntN(5)-2, rng.IntN(4))
	}
	mustExec(t, db, sb.String())
	mustExec(t, db, "DELETE FROM t WHERE rowid % 7 = 3")

	const base = "SOFT SELECT rowid, label, score, weight AS w FROM t MATCH [1, 2, -1] TEMPERATURE 0.5"
	for _, c := range []struct {
		tail string
		best bool // the plan keeps only the best rows
	}{
		{"ORDER BY weight DESC", true},
		{"ORDER BY w DESC", true},
		{"ORDER BY score DESC", true},
		{"ORDER BY weight DESC, score DESC, rowid", true},
		{"WHERE label <> 'l1' ORDER BY weight DESC", true},
		{"ORDER BY weight DESC, label", false},
		{"ORDER BY rowid", false},
		{"ORDER BY weight", false},
	} {
		sql := base + " " + c.tail
		all := queryStrings(t, db, sql)
		if len(all) < 1000 {
			t.Fatalf("%s: %d rows", sql, len(all))
		}
		for _, lim := range []struct{ limit, offset int }{{1, 0}, {7, 0}, {25, 3}, {5000, 0}} {
			q := fmt.Sprintf("%s LIMIT %d OFFSET %d", sql, lim.limit, lim.offset)
			got := queryStrings(t, db, q)
			want := all[min(lim.offset, len(all)):min(lim.offset+lim.limit, len(all))]
			if !slices.Equal(got, want) {
				t.Errorf("%s:\n got %v\nwant %v", q, got, want)
			}
			plan := strings.Join(queryStrings(t, db, "EXPLAIN "+q), "\n")
			if has := strings.Contains(plan, fmt.Sprintf("best %d rows", lim.limit+lim.offset)); has != c.best {
				t.Errorf("EXPLAIN %s: keeps only the best rows = %v, want %v\n%s", q, has, c.best, plan)
			}
		}
	}
}

// queryStrings runs sql and returns each row's values, formatted.
func queryStrings(t *testing.T, db *softdb.DB, sql string) []string {
	t.Helper()
	r, err := db.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer r.Close()
	var out []string
	for r.Next() {
		out = append(out, fmt.Sprintln(r.Values()...))
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
