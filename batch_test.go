package softdb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestBatchMatchesSingle: a batch (MATCH (SELECT key FROM q)) ranks its
// queries together, blocks of queries against each chunk of rows; every
// query must get exactly the rows, in the same order, as when it runs
// alone. The table spans several chunks (16,384 rows each), its small
// integer keys make many exact ties (broken by the lowest rowid, also
// across chunks), some rows are deleted or have a NULL key, the query
// table has more than one block of queries (256) and a NULL query, and
// every metric runs with and without WHERE. Each batch is checked against
// 40 of its queries run alone: both block edges, the NULL query and a
// random sample.
func TestBatchMatchesSingle(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	const n, d, nq = 40_000, 4, 300
	rng := rand.New(rand.NewPCG(5, 9))
	ivec := func() []float32 {
		v := make([]float32, d)
		for j := range v {
			v[j] = float32(rng.IntN(7) - 3)
		}
		return v
	}
	mustExec(t, db, fmt.Sprintf("CREATE TABLE t (key VECTOR(%d), value VECTOR(2))", d))
	rows := make([][]any, n)
	for i := range rows {
		var key any = ivec()
		if i%997 == 5 {
			key = nil
		}
		rows[i] = []any{key, []float32{float32(i), float32(i % 13)}}
	}
	insertRows(t, db, "t", 2, rows)
	mustExec(t, db, "DELETE FROM t WHERE rowid % 11 = 3")
	mustExec(t, db, fmt.Sprintf("CREATE TABLE q (key VECTOR(%d))", d))
	qs := make([][]any, nq)
	for i := range qs {
		var key any = ivec()
		if i == 17 {
			key = nil
		}
		qs[i] = []any{key}
	}
	insertRows(t, db, "q", 1, qs)

	// collect runs sql and returns, per qrow, the rendered result rows.
	collect := func(sql string, args ...any) map[int64][]string {
		t.Helper()
		r, err := db.Query(ctx, sql, args...)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		defer r.Close()
		out := map[int64][]string{}
		for r.Next() {
			vals := r.Values() // qrow (or rowid), then the rest
			k := int64(-1)
			if q, ok := vals[0].(int64); ok {
				k = q
			}
			out[k] = append(out[k], fmt.Sprint(vals[1:]...))
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := collect("SELECT rowid, key FROM q"); len(got) != nq {
		t.Fatalf("%d query rows", len(got))
	}
	sample := []int64{1, 18, 256, 257, nq} // rowids start at 1
	for len(sample) < 40 {
		sample = append(sample, 1+rng.Int64N(nq))
	}
	for _, metric := range []string{"DOT", "COSINE", "L2"} {
		for _, where := range []string{"", " WHERE rowid % 3 != 0"} {
			// The NULL query matches no row (HARD, row form) or blends to
			// NULL (SOFT blend).
			for _, c := range []struct {
				form   string
				groups int
			}{
				{"HARD SELECT qrow, rowid FROM t MATCH %s USING " + metric + "%s LIMIT 5", nq - 1},
				{"SOFT SELECT qrow, value FROM t MATCH %s USING " + metric + " TEMPERATURE 0.5 TOP 4%s", nq},
				// Row form, every row scored a block of queries at a time;
				// the WHERE keeps the rows to sort (per query) few.
				{"SOFT SELECT qrow, rowid, weight FROM t MATCH %s USING " + metric + " TEMPERATURE 2%s ORDER BY weight DESC, rowid LIMIT 3", nq - 1},
			} {
				form, where := c.form, where
				if strings.Contains(form, "ORDER BY") {
					if where == "" {
						continue
					}
					where = " WHERE rowid % 50 = 1"
				}
				batchSQL := fmt.Sprintf(form, "(SELECT key FROM q)", where)
				batch := collect(batchSQL)
				single := fmt.Sprintf(form, "(SELECT key FROM q WHERE rowid = ?)", where)
				for _, qrow := range sample {
					want := collect(single, qrow)[qrow]
					got := batch[qrow]
					if !slices.Equal(got, want) {
						t.Fatalf("%s\nquery row %d: batch gave %v, alone %v", batchSQL, qrow, got, want)
					}
				}
				if len(batch) != c.groups {
					t.Fatalf("%s: %d result groups, want %d", batchSQL, len(batch), c.groups)
				}
			}
		}
	}
}
