package softdb_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestWhereSparse: where few rows of a chunk (16,384 rows) are candidates
// — a selective WHERE, NULL keys, deleted rows — the executor gathers
// their keys and scores them alone, then maps each score back to its row.
// The table spans two segments (of up to 65,536 rows) and five chunks whose
// candidates are dense (scored in place), sparse, or none at all; its
// integer keys make every score exact in float32, so HARD top-k, SOFT TOP
// blends and the row form (its best rows, and count and Σ weight·rowid
// over every candidate) are checked against a float64 brute force, for a
// batch of queries (tiles) and for queries alone, under DOT and L2 (whose
// batch ranking rescores its best rows by index).
func TestWhereSparse(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	const n, d, region = 70_000, 4, 16384
	rng := rand.New(rand.NewPCG(11, 3))
	ivec := func() []float32 {
		v := make([]float32, d)
		for j := range v {
			v[j] = float32(rng.IntN(101) - 50)
		}
		return v
	}
	vecJSON := func(v []float32) string {
		if v == nil {
			return "null"
		}
		return strings.ReplaceAll(fmt.Sprint(v), " ", ", ")
	}
	// Rows of region r (rows r·16384 …) pass WHERE tag = 1 with
	// probability pass[r]; one in live[r] is kept (and then one in 17 is
	// deleted). With the WHERE, regions 0 to 4 are dense (35% of the
	// rows), sparse (1%), sparse (20%), empty and sparse (9%); without it
	// (key has NULLs, k2 none) they are dense, dense (29%, 31%: near the
	// threshold of a quarter), dense, sparse (12%) and dense.
	pass := []float64{0.8, 0.03, 0.7, 0, 0.1}
	live := []int{2, 3, 3, 8, 1}
	type rec struct {
		key, k2 []float32 // key is NULL in one row of 13; k2 never
		value   []float32
		tag     int
		deleted bool
	}
	recs := make([]rec, n)
	var jsonl strings.Builder
	for i := range recs {
		r := &recs[i]
		if i%13 != 7 {
			r.key = ivec()
		}
		r.k2 = ivec()
		r.value = []float32{float32(i + 1), float32(i % 7)}
		if rng.Float64() < pass[i/region] {
			r.tag = 1
		}
		rowid := i + 1
		r.deleted = rowid%17 == 5 || rowid%live[i/region] != 0
		fmt.Fprintf(&jsonl, `{"key": %s, "k2": %s, "value": %s, "tag": %d}`+"\n", vecJSON(r.key), vecJSON(r.k2), vecJSON(r.value), r.tag)
	}
	file := filepath.Join(t.TempDir(), "t.jsonl")
	if err := os.WriteFile(file, []byte(jsonl.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, fmt.Sprintf("CREATE TABLE t (key VECTOR(%d), k2 VECTOR(%d), value VECTOR(2), tag INT)", d, d))
	mustExec(t, db, fmt.Sprintf("COPY t FROM '%s'", file))
	for r, l := range live {
		mustExec(t, db, fmt.Sprintf("DELETE FROM t WHERE rowid %% 17 = 5 OR rowid > %d AND rowid <= %d AND rowid %% %d != 0", r*region, (r+1)*region, l))
	}
	const nq = 4 // two tiles of queries (3 and 1)
	queries := make([][]float32, nq)
	mustExec(t, db, fmt.Sprintf("CREATE TABLE q (key VECTOR(%d))", d))
	for i := range queries {
		queries[i] = ivec()
		mustExec(t, db, "INSERT INTO q VALUES (?)", queries[i])
	}
	alone := []int{1, 3} // query rows also run one at a time
	if testing.Short() {
		alone = alone[:1]
	}

	// collect runs sql and returns its rows by qrow (the first item).
	collect := func(sql string) map[int64][][]any {
		t.Helper()
		r, err := db.Query(ctx, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		defer r.Close()
		out := map[int64][][]any{}
		for r.Next() {
			v := r.Values()
			out[v[0].(int64)] = append(out[v[0].(int64)], v[1:])
		}
		if err := r.Err(); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return out
	}
	num := func(v any) float64 {
		switch x := v.(type) {
		case int64:
			return float64(x)
		case float64:
			return x
		}
		t.Fatalf("%v (%T) is not a number", v, v)
		return 0
	}
	near := func(got, want, tol float64) bool {
		return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
	}
	softmax := func(scores []float64, temp float64) []float64 {
		w := make([]float64, len(scores))
		sum := 0.0
		for i, s := range scores {
			w[i] = math.Exp((s - scores[0]) / temp) // scores[0] is the best
			sum += w[i]
		}
		for i := range w {
			w[i] /= sum
		}
		return w
	}

	for _, metric := range []string{"DOT", "L2"} {
		score := func(q, k []float32) float64 {
			s := 0.0
			for j := range q {
				if metric == "DOT" {
					s += float64(q[j]) * float64(k[j])
				} else {
					s -= (float64(q[j]) - float64(k[j])) * (float64(q[j]) - float64(k[j]))
				}
			}
			return s
		}
		for _, c := range []struct{ col, where string }{
			{"key", " WHERE tag = 1"}, {"k2", " WHERE tag = 1"}, {"key", ""}, {"k2", ""},
		} {
			// The candidates of each query row, best first (ties: lowest
			// rowid), with their scores.
			type cands struct {
				rowids []int64
				scores []float64
			}
			ranked := map[int]cands{}
			for qr := 1; qr <= nq; qr++ {
				var idx []int
				sc := make([]float64, n)
				for i, r := range recs {
					k := r.key
					if c.col == "k2" {
						k = r.k2
					}
					if !r.deleted && k != nil && (c.where == "" || r.tag == 1) {
						idx = append(idx, i)
						sc[i] = score(queries[qr-1], k)
					}
				}
				slices.SortFunc(idx, func(a, b int) int { return cmp.Or(cmp.Compare(sc[b], sc[a]), cmp.Compare(a, b)) })
				var r cands
				for _, i := range idx {
					r.rowids = append(r.rowids, int64(i+1))
					r.scores = append(r.scores, sc[i])
				}
				ranked[qr] = r
			}
			forms := []struct {
				sql   string // %[1]s MATCH source, %[2]s column, %[3]s metric, %[4]s WHERE
				check func(qr int, got [][]any) string
			}{{
				"HARD SELECT qrow, rowid, score FROM t MATCH %[1]s ON %[2]s USING %[3]s%[4]s LIMIT 7",
				func(qr int, got [][]any) string {
					rowids, scores := ranked[qr].rowids, ranked[qr].scores
					if len(got) != 7 {
						return fmt.Sprintf("%d rows", len(got))
					}
					for i, g := range got {
						if g[0] != rowids[i] || num(g[1]) != scores[i] {
							return fmt.Sprintf("row %d: got %v, want rowid %d score %v", i, g, rowids[i], scores[i])
						}
					}
					return ""
				},
			}, {
				"SOFT SELECT qrow, value FROM t MATCH %[1]s ON %[2]s USING %[3]s TEMPERATURE 50 TOP 5%[4]s",
				func(qr int, got [][]any) string {
					rowids, scores := ranked[qr].rowids, ranked[qr].scores
					w := softmax(scores[:5], 50)
					var want [2]float64
					for i, id := range rowids[:5] {
						for j, x := range recs[id-1].value {
							want[j] += w[i] * float64(x)
						}
					}
					if len(got) != 1 {
						return fmt.Sprintf("%d rows", len(got))
					}
					v, ok := got[0][0].([]float32)
					if !ok || !near(float64(v[0]), want[0], 1e-6) || !near(float64(v[1]), want[1], 1e-6) {
						return fmt.Sprintf("got %v, want %v", got, want)
					}
					return ""
				},
			}, {
				"SOFT SELECT qrow, rowid, score, weight FROM t MATCH %[1]s ON %[2]s USING %[3]s TEMPERATURE 2000%[4]s ORDER BY weight DESC, rowid LIMIT 5",
				func(qr int, got [][]any) string {
					rowids, scores := ranked[qr].rowids, ranked[qr].scores
					w := softmax(scores, 2000)
					if len(got) != 5 {
						return fmt.Sprintf("%d rows", len(got))
					}
					for i, g := range got {
						if g[0] != rowids[i] || num(g[1]) != scores[i] || !near(num(g[2]), w[i], 1e-9) {
							return fmt.Sprintf("row %d: got %v, want rowid %d score %v weight %v", i, g, rowids[i], scores[i], w[i])
						}
					}
					return ""
				},
			}, {
				// Every candidate's weight, on its own rowid.
				"SOFT SELECT qrow, count(*), sum(weight * rowid) FROM t MATCH %[1]s ON %[2]s USING %[3]s TEMPERATURE 2000%[4]s GROUP BY qrow",
				func(qr int, got [][]any) string {
					rowids, scores := ranked[qr].rowids, ranked[qr].scores
					w := softmax(scores, 2000)
					want := 0.0
					for i, id := range rowids {
						want += w[i] * float64(id)
					}
					if len(got) != 1 || got[0][0] != int64(len(rowids)) || !near(num(got[0][1]), want, 1e-9) {
						return fmt.Sprintf("got %v, want count %d, Σ weight·rowid %v", got, len(rowids), want)
					}
					return ""
				},
			}}
			for _, f := range forms {
				run := func(src string, qrows []int) {
					t.Helper()
					sql := fmt.Sprintf(f.sql, src, c.col, metric, c.where)
					got := collect(sql)
					if len(got) != len(qrows) {
						t.Fatalf("%s: results for %d queries, want %d", sql, len(got), len(qrows))
					}
					for _, qr := range qrows {
						if msg := f.check(qr, got[int64(qr)]); msg != "" {
							t.Fatalf("%s\nquery row %d: %s", sql, qr, msg)
						}
					}
				}
				all := make([]int, nq)
				for i := range all {
					all[i] = i + 1
				}
				run("(SELECT key FROM q)", all)
				for _, qr := range alone {
					run(fmt.Sprintf("(SELECT key FROM q WHERE rowid = %d)", qr), []int{qr})
				}
			}
		}
	}
}
