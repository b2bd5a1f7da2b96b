package softdb_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/softdb/softdb"
)

// queryAll runs sql and returns every row's values.
func queryAll(t *testing.T, db *softdb.DB, sql string, args ...any) [][]any {
	t.Helper()
	rows, err := db.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		out = append(out, append([]any(nil), rows.Values()...))
	}
	return out
}

// TestL2BatchFarFromOrigin: keys far from the origin and 0.01 apart. The
// GEMM form 2q·k − ‖k‖² rounds relative to ‖k‖² ≈ 2e6, so all 20 keys
// rank alike in float32; the batch must still find the exact nearest
// neighbour (rowid 20, distance 0), as one query does.
func TestL2BatchFarFromOrigin(t *testing.T) {
	db := openTemp(t)
	mustExec(t, db, "CREATE TABLE t (key VECTOR(2), value VECTOR(1))")
	mustExec(t, db, "CREATE TABLE u (key VECTOR(2))")
	var rows [][]any
	for i := 0; i < 20; i++ {
		rows = append(rows, []any{[]float32{float32(1000.19 - 0.01*float64(i)), 1000}, []float32{float32(i + 1)}})
	}
	insertRows(t, db, "t", 2, rows)
	mustExec(t, db, "INSERT INTO u VALUES ('[1000,1000]'), ('[1000,1000]')")
	for _, sql := range []string{
		"HARD SELECT qrow, rowid FROM t MATCH (SELECT key FROM u) USING L2",
		"HARD SELECT qrow, rowid FROM t MATCH [1000,1000] USING L2",
		"SOFT SELECT qrow, rowid FROM t MATCH (SELECT key FROM u) USING L2 TEMPERATURE 1e-9 TOP 1",
	} {
		got := queryAll(t, db, sql)
		if len(got) == 0 {
			t.Fatalf("%s: no rows", sql)
		}
		for _, r := range got {
			if r[1] != int64(20) {
				t.Errorf("%s: %v, want rowid 20", sql, r)
			}
		}
	}
	// The batch blend weighs by direct-form scores: at T = 0.01 the
	// weights are e^(−‖q−k‖²/T) exactly (SPEC §4 tolerances).
	var want, wsum float64
	for i := 0; i < 20; i++ {
		dx := float64(float32(1000.19-0.01*float64(i))) - 1000
		w := math.Exp(-dx * dx / 0.01)
		want += w * float64(i+1)
		wsum += w
	}
	want /= wsum
	for _, r := range queryAll(t, db, "SOFT SELECT qrow, value FROM t MATCH (SELECT key FROM u) USING L2 TEMPERATURE 0.01") {
		v := r[1].([]float32)
		if math.Abs(float64(v[0])-want) > 1e-5*20+2e-3 {
			t.Errorf("batch blend %v, want %v", v, want)
		}
	}
}

// TestScoreRange: inputs at the ends of float32's range.
// COSINE is scale-invariant and never overflows; DOT and L2 scores beyond
// float32's range fail with an error that names the column.
func TestScoreRange(t *testing.T) {
	db := openTemp(t)
	mustExec(t, db, "CREATE TABLE c (key VECTOR(2), value VECTOR(1))")
	mustExec(t, db, "INSERT INTO c VALUES ('[3e19,0]', '[1]'), ('[1e-23,0]', '[2]'), ('[0,1]', '[3]'), ('[2e19,0]', '[4]')")
	got := queryAll(t, db, "SOFT SELECT rowid, score FROM c MATCH [1,0] USING COSINE TEMPERATURE 1")
	scores := map[int64]float32{}
	for _, r := range got {
		scores[r[0].(int64)] = float32(r[1].(float64))
	}
	for id, want := range map[int64]float32{1: 1, 2: 1, 3: 0, 4: 1} {
		if scores[id] != want {
			t.Errorf("COSINE score of rowid %d = %v, want %v (all %v)", id, scores[id], want, scores)
		}
	}
	// [2e19,0]·[3e19,0] = 6e38 overflows float32 in the dot product.
	if r := queryAll(t, db, "HARD SELECT rowid, score FROM c MATCH [3e19,0] USING COSINE"); len(r) != 1 || r[0][0] != int64(1) || r[0][1] != 1.0 {
		t.Errorf("HARD COSINE [3e19,0]: %v, want rowid 1 score 1", r)
	}
	// A blend over them: weights e^(1/T) on rows 1, 2, 4, e^0 on row 3.
	for _, r := range queryAll(t, db, "SOFT SELECT value FROM c MATCH [3e19,0] USING COSINE TEMPERATURE 0.001") {
		if v := r[0].([]float32); math.Abs(float64(v[0])-7.0/3) > 1e-5*4 {
			t.Errorf("COSINE blend %v, want 7/3", v)
		}
	}

	// DOT and L2 whose exact scores leave float32's range: an error.
	mustExec(t, db, "CREATE TABLE big (key VECTOR(2), value VECTOR(1))")
	mustExec(t, db, "INSERT INTO big VALUES ('[2e38,2e38]', '[1]'), ('[1,1]', '[2]')")
	for _, sql := range []string{
		"SOFT SELECT value FROM big MATCH [1,1] USING DOT",
		"SOFT SELECT value FROM big MATCH [3e38,3e38] USING L2",
		"HARD SELECT rowid FROM big MATCH [1,1] USING DOT",
		"SOFT SELECT rowid, weight FROM big MATCH [1,1] USING DOT",
		"SOFT SELECT rowid, weight FROM big MATCH [1,1] USING DOT LIMIT 1", // the best rows only
		"SOFT SELECT rowid FROM big MATCH [1,1] USING DOT ORDER BY rowid",  // every row, sorted
		"SOFT SELECT value FROM big MATCH (SELECT key FROM big) USING L2",
		"HARD SELECT rowid FROM big MATCH (SELECT key FROM big) USING L2",
	} {
		_, err := db.Query(context.Background(), sql)
		if err == nil || !strings.Contains(err.Error(), "big.key") || !strings.Contains(err.Error(), "float32's range") {
			t.Errorf("%s: err = %v, want the score range error naming big.key", sql, err)
		}
	}
	// Rows that take no part (WHERE, deleted) may score beyond the range.
	for _, sql := range []string{
		"SOFT SELECT value FROM big MATCH [1,1] USING DOT WHERE rowid = 2",
		"SOFT SELECT rowid, weight FROM big MATCH [1,1] USING DOT WHERE rowid = 2",
		"HARD SELECT rowid FROM big MATCH [1,1] USING DOT WHERE rowid = 2",
		"SOFT SELECT qrow, value FROM big MATCH (SELECT key FROM big WHERE rowid = 2) USING L2 WHERE rowid = 2",
		"HARD SELECT qrow, rowid FROM big MATCH (SELECT key FROM big WHERE rowid = 2) USING L2 WHERE rowid = 2",
	} {
		got := queryAll(t, db, sql)
		if len(got) != 1 {
			t.Errorf("%s: %v, want one row", sql, got)
		}
	}
	mustExec(t, db, "DELETE FROM big WHERE rowid = 1")
	if got := queryAll(t, db, "SOFT SELECT value FROM big MATCH [1,1] USING DOT"); len(got) != 1 || got[0][0].([]float32)[0] != 2 {
		t.Errorf("after DELETE: %v, want [[2]]", got)
	}

	// A dot product whose products overflow but whose sum does not.
	mustExec(t, db, "CREATE TABLE mid (key VECTOR(2), value VECTOR(1))")
	mustExec(t, db, "INSERT INTO mid VALUES ('[2e38,-2e38]', '[1]'), ('[1,1]', '[2]')")
	for _, r := range queryAll(t, db, "SOFT SELECT rowid, score FROM mid MATCH [2,2] USING DOT") {
		if want := map[int64]float64{1: 0, 2: 4}[r[0].(int64)]; r[1] != want {
			t.Errorf("DOT score of rowid %v = %v, want %v", r[0], r[1], want)
		}
	}
}

// TestBlendNearMaxFloat32: a blend of finite values with weights summing
// to 1 is finite, in the fused kernel as in the float64 path.
func TestBlendNearMaxFloat32(t *testing.T) {
	db := openTemp(t)
	mustExec(t, db, "CREATE TABLE t (key VECTOR(1), value VECTOR(2))")
	mustExec(t, db, "INSERT INTO t VALUES ('[1]', '[3e38,1]'), ('[1]', '[3e38,2]')")
	mustExec(t, db, "CREATE TABLE u (key VECTOR(1))")
	mustExec(t, db, "INSERT INTO u VALUES ('[1]'), ('[2]')")
	for _, sql := range []string{
		"SOFT SELECT value FROM t MATCH [1]",
		"SOFT SELECT value FROM t MATCH (SELECT key FROM u)",
		"SOFT SELECT value FROM t MATCH [1] TOP 2",
	} {
		for _, r := range queryAll(t, db, sql) {
			v := r[0].([]float32)
			if v[0] != 3e38 || math.Abs(float64(v[1])-1.5) > 1e-6 {
				t.Errorf("%s: %v, want [3e38 1.5]", sql, v)
			}
		}
	}
}

// TestTemperatureEdges: any finite T ≥ 0 works, and the fused, row-form,
// batch and TOP paths agree.
func TestTemperatureEdges(t *testing.T) {
	db := openTemp(t)
	mustExec(t, db, "CREATE TABLE t (key VECTOR(1), value VECTOR(1), f FLOAT)")
	mustExec(t, db, "INSERT INTO t VALUES ('[1]', '[10]', 10), ('[2]', '[20]', 20), ('[2]', '[30]', 30), ('[-3e38]', '[40]', 40)")
	mustExec(t, db, "CREATE TABLE u (key VECTOR(1))")
	mustExec(t, db, "INSERT INTO u VALUES ('[1]'), ('[1]')")
	cases := []struct {
		T    string
		want float64 // blend of value
	}{
		{"1e-320", 25}, // argmax, the tie split
		{"1e-300", 25},
		{"0", 20},    // HARD-like: lowest rowid among the best
		{"1e46", 25}, // 3e38/1e46 ≈ 3e-8: equal weights
		{"1e308", 25},
		{"1e37", 0}, // row 4's logit −30: computed below
	}
	for _, c := range cases {
		want := c.want
		if c.T == "1e37" {
			w := []float64{math.Exp(1 / 1e37), math.Exp(2 / 1e37), math.Exp(2 / 1e37), math.Exp(float64(float32(-3e38)) / 1e37)}
			want = (10*w[0] + 20*w[1] + 30*w[2] + 40*w[3]) / (w[0] + w[1] + w[2] + w[3])
		}
		for _, sql := range []string{
			"SOFT SELECT value FROM t MATCH [1] TEMPERATURE %s",
			"SOFT SELECT f FROM t MATCH [1] TEMPERATURE %s",
			"SOFT SELECT value, f FROM t MATCH [1] TEMPERATURE %s TOP 4",
			"SOFT SELECT qrow, value FROM t MATCH (SELECT key FROM u) TEMPERATURE %s",
			"SOFT SELECT qrow, f FROM t MATCH (SELECT key FROM u) TEMPERATURE %s",
		} {
			q := fmt.Sprintf(sql, c.T)
			got := queryAll(t, db, q)
			if len(got) == 0 {
				t.Fatalf("%s: no rows", q)
			}
			for _, r := range got {
				var x float64
				switch v := r[len(r)-1].(type) {
				case []float32:
					x = float64(v[0])
				case float64:
					x = v
				default:
					t.Fatalf("%s: %v", q, r)
				}
				if math.Abs(x-want) > 1e-5*40 {
					t.Errorf("%s: %v, want %v", q, x, want)
				}
			}
		}
		// Row form: the weights, no NaN; the LIMIT form keeps only the
		// best rows but weighs them against all of them.
		var sum float64
		all := queryAll(t, db, fmt.Sprintf("SOFT SELECT weight FROM t MATCH [1] TEMPERATURE %s", c.T))
		for _, r := range all {
			w := r[0].(float64)
			if math.IsNaN(w) {
				t.Fatalf("T=%s: NaN weight", c.T)
			}
			sum += w
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("T=%s: weights sum to %v", c.T, sum)
		}
		for i, r := range queryAll(t, db, fmt.Sprintf("SOFT SELECT weight FROM t MATCH [1] TEMPERATURE %s LIMIT 2", c.T)) {
			if w := r[0].(float64); w != all[i][0].(float64) {
				t.Errorf("T=%s LIMIT 2: weight %d is %v, without LIMIT %v", c.T, i, w, all[i][0])
			}
		}
	}
}

// TestScalarBlendFused: FLOAT and INT blends (now the fused path) against
// a float64 evaluation, with NULLs renormalised per column (SPEC §4), a
// WHERE mask, and a batch; and the same blend through the row form's
// weights.
func TestScalarBlendFused(t *testing.T) {
	db := openTemp(t)
	mustExec(t, db, "CREATE TABLE t (key VECTOR(3), f FLOAT, i INT, v VECTOR(1))")
	mustExec(t, db, "CREATE TABLE u (key VECTOR(3))")
	const n = 3000
	keys := make([][]float32, n)
	fs := make([]any, n)
	is := make([]any, n)
	var rows [][]any
	for r := 0; r < n; r++ {
		keys[r] = []float32{float32(math.Sin(float64(r))), float32(math.Cos(float64(r) * 0.7)), float32(r%7) / 7}
		fs[r], is[r] = math.Sqrt(float64(r))*1e10, int64(r*r)-4_000_000
		if r%5 == 0 {
			fs[r] = nil
		}
		if r%7 == 3 {
			is[r] = nil
		}
		rows = append(rows, []any{keys[r], fs[r], is[r], []float32{float32(r)}})
	}
	insertRows(t, db, "t", 4, rows)
	queries := [][]float32{{1, 0.5, -1}, {0.2, 0.1, 3}}
	for _, q := range queries {
		mustExec(t, db, "INSERT INTO u VALUES (?)", q)
	}
	const T = 0.3
	ref := func(q []float32, col []any, where func(r int) bool) float64 {
		mx := math.Inf(-1)
		sc := make([]float64, n)
		for r := range keys {
			for j := range q {
				sc[r] += float64(q[j]) * float64(keys[r][j])
			}
			mx = math.Max(mx, float64(float32(sc[r])))
		}
		var num, den float64
		for r := range keys {
			if col[r] == nil || !where(r) {
				continue
			}
			w := math.Exp((float64(float32(sc[r])) - mx) / T)
			var x float64
			switch v := col[r].(type) {
			case float64:
				x = v
			case int64:
				x = float64(v)
			}
			num += w * x
			den += w
		}
		return num / den
	}
	all := func(int) bool { return true }
	odd := func(r int) bool { return (r+1)%2 == 1 } // rowid = r+1
	for _, c := range []struct {
		sql   string
		col   []any
		where func(int) bool
		maxV  float64
	}{
		{"SOFT SELECT qrow, f FROM t MATCH %s TEMPERATURE 0.3", fs, all, math.Sqrt(n) * 1e10},
		{"SOFT SELECT qrow, i FROM t MATCH %s TEMPERATURE 0.3", is, all, 5e6},
		{"SOFT SELECT qrow, i FROM t MATCH %s TEMPERATURE 0.3 WHERE rowid %% 2 = 1", is, odd, 5e6},
		{"SOFT SELECT qrow, v, f, i FROM t MATCH %s TEMPERATURE 0.3", is, all, 5e6},
	} {
		for _, batch := range []bool{false, true} {
			var got [][]any
			if batch {
				got = queryAll(t, db, fmt.Sprintf(c.sql, "(SELECT key FROM u)"))
			} else {
				got = queryAll(t, db, fmt.Sprintf(c.sql, "?"), queries[0])
			}
			for qi, r := range got {
				x, ok := r[len(r)-1].(float64)
				if !ok {
					t.Fatalf("%s: %v", c.sql, r)
				}
				if want := ref(queries[qi], c.col, c.where); math.Abs(x-want) > 1e-5*c.maxV {
					t.Errorf("%s (batch %v) query %d: %v, want %v", c.sql, batch, qi, x, want)
				}
			}
		}
	}
}

// TestOracleRangeSQL runs SOFT and HARD SELECT over tables whose keys and
// values span 1e-30 to 3e38, every metric, through the fused blend, the
// general path (TOP n, every row), one query and a batch, against a float64
// evaluation of the same float32 inputs. Tolerance: SPEC §4's 1e-5·max|v|,
// widened by e^(2δ/T) − 1 for the float32 score error δ (the dot-product
// bound (d+4)·u·Σ|qⱼkⱼ|, plus 2⁻¹⁴⁰ for products that underflow); HARD's
// row must score within 2δ of the best. Where an exact DOT or L2 score
// leaves float32's range, every statement fails with the range error.
func TestOracleRangeSQL(t *testing.T) {
	rng := newOracleRand(t)
	db := openTemp(t)
	const n, d, dv = 150, 4, 2
	scales := []float64{1e-30, 1e-12, 1, 1e12, 1e19, 1e30, 3e38}
	for ti, sk := range scales {
		sv := scales[rng.IntN(len(scales))]
		name := fmt.Sprintf("r%d", ti)
		mustExec(t, db, fmt.Sprintf("CREATE TABLE %s (key VECTOR(%d), value VECTOR(%d))", name, d, dv))
		mustExec(t, db, fmt.Sprintf("CREATE TABLE %sq (key VECTOR(%d))", name, d))
		keys := make([][]float32, n)
		vals := make([][]float32, n)
		var rows [][]any
		for i := range keys {
			keys[i], vals[i] = make([]float32, d), make([]float32, dv)
			for j := range keys[i] {
				keys[i][j] = float32((2*rng.Float64() - 1) * sk)
			}
			for j := range vals[i] {
				vals[i][j] = float32((2*rng.Float64() - 1) * sv)
			}
			rows = append(rows, []any{keys[i], vals[i]})
		}
		insertRows(t, db, name, 2, rows)
		qs := [][]float32{keys[rng.IntN(n)], keys[rng.IntN(n)]}
		for _, q := range qs {
			mustExec(t, db, fmt.Sprintf("INSERT INTO %sq VALUES (?)", name), q)
		}
		maxV := 0.0
		for _, v := range vals {
			for _, x := range v {
				maxV = math.Max(maxV, math.Abs(float64(x)))
			}
		}
		for _, metric := range []string{"DOT", "COSINE", "L2"} {
			// Reference scores per query.
			ref := make([][]float64, len(qs))
			over := false                  // some query's score leaves float32's range
			overQ := make([]bool, len(qs)) // query a's does
			delta := 0.0
			lo, hi := math.Inf(1), math.Inf(-1)
			for a, q := range qs {
				ref[a] = make([]float64, n)
				for i, k := range keys {
					var dot, qq, kk, l2, abs float64
					for j := range q {
						x, y := float64(q[j]), float64(k[j])
						dot += x * y
						qq += x * x
						kk += y * y
						l2 += (x - y) * (x - y)
						abs += math.Abs(x * y)
					}
					var s, e float64
					switch metric {
					case "DOT":
						s, e = dot, abs
					case "COSINE":
						if qq > 0 && kk > 0 {
							s = dot / math.Sqrt(qq*kk)
						}
						e = float64(d/2 + 6)
					case "L2":
						s, e = -l2, l2
					}
					ref[a][i] = s
					overQ[a] = overQ[a] || math.Abs(s) > math.MaxFloat32
					over = over || overQ[a]
					delta = math.Max(delta, float64(d+4)/(1<<24)*e+0x1p-140)
					lo, hi = math.Min(lo, s), math.Max(hi, s)
				}
			}
			T := math.Max(hi-lo, 1e-30) / (1 + 10*rng.Float64())
			if math.IsInf(T, 0) {
				T = 1
			}
			stmts := []string{
				"SOFT SELECT qrow, value FROM %[1]s MATCH ? USING %[2]s TEMPERATURE %[3]g",
				"SOFT SELECT qrow, value FROM %[1]s MATCH ? USING %[2]s TEMPERATURE %[3]g TOP %[4]d",
				"SOFT SELECT qrow, value FROM %[1]s MATCH (SELECT key FROM %[1]sq) USING %[2]s TEMPERATURE %[3]g",
				"SOFT SELECT qrow, value FROM %[1]s MATCH (SELECT key FROM %[1]sq) USING %[2]s TEMPERATURE %[3]g TOP %[4]d",
				"HARD SELECT qrow, rowid FROM %[1]s MATCH ? USING %[2]s",
				"HARD SELECT qrow, rowid FROM %[1]s MATCH (SELECT key FROM %[1]sq) USING %[2]s",
			}
			for _, st := range stmts {
				sql := fmt.Sprintf(st, name, metric, T, n)
				var args []any
				if strings.Contains(sql, "?") {
					args = []any{qs[0]}
				}
				res, err := db.Query(context.Background(), sql, args...)
				// A statement with ? matches qs[0] alone: only its scores count.
				stmtOver := over
				if args != nil {
					stmtOver = overQ[0]
				}
				if stmtOver && metric != "COSINE" {
					if err == nil || !strings.Contains(err.Error(), "float32's range") {
						t.Errorf("%s (keys ~%g): err %v, want the score range error", sql, sk, err)
					}
					if err == nil {
						res.Close()
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s (keys ~%g): %v", sql, sk, err)
				}
				a := 0
				for res.Next() {
					r := res.Values()
					switch x := r[1].(type) {
					case int64: // HARD: the row's score within 2δ of the best
						best := math.Inf(-1)
						for _, s := range ref[a] {
							best = math.Max(best, s)
						}
						if s := ref[a][x-1]; s < best-2*delta {
							t.Errorf("%s (keys ~%g) query %d: rowid %d scores %g, the best %g (δ %.3g)", sql, sk, a, x, s, best, delta)
						}
					case []float32:
						mx := math.Inf(-1)
						for _, s := range ref[a] {
							mx = math.Max(mx, s)
						}
						want := make([]float64, dv)
						var sum float64
						for i, s := range ref[a] {
							w := math.Exp((s - mx) / T)
							sum += w
							for j := range want {
								want[j] += w * float64(vals[i][j])
							}
						}
						tol := maxV * (1e-5 + math.Expm1(2*delta/T))
						for j := range want {
							if e := math.Abs(float64(x[j]) - want[j]/sum); !(e <= tol) {
								t.Errorf("%s (keys ~%g, values ~%g) query %d: component %d = %g, want %g (err %.3g > %.3g)", sql, sk, sv, a, j, x[j], want[j]/sum, e, tol)
							}
						}
					default:
						t.Fatalf("%s: %v", sql, r)
					}
					a++
				}
				res.Close()
				if a == 0 {
					t.Errorf("%s: no rows", sql)
				}
			}
		}
	}
}

func newOracleRand(t *testing.T) *rand.Rand {
	seed := *oracleSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (rerun with -oracle.seed=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, 2))
}

// TestExtremeScales: FLOAT values near float64's limit blend as in the
// general path, and COSINE queries of any norm score exactly.
func TestExtremeScales(t *testing.T) {
	db := openTemp(t)
	mustExec(t, db, "CREATE TABLE t (key VECTOR(2), f FLOAT)")
	mustExec(t, db, "INSERT INTO t VALUES ('[1,0]', 1.5e308), ('[1,0]', 1.7e308), ('[0,1]', 1)")
	for _, sql := range []string{
		"SOFT SELECT f FROM t MATCH [1,0] TEMPERATURE 1e-3",
		"SOFT SELECT f FROM t MATCH [1,0] TEMPERATURE 1e-3 TOP 3",
	} {
		got := queryAll(t, db, sql)
		if x := got[0][0].(float64); math.Abs(x-1.6e308) > 1e-5*1.7e308 {
			t.Errorf("%s: %v, want 1.6e308", sql, x)
		}
	}
	for _, q := range []string{"[1e-30,0]", "[3e38,0]", "[1e-44,0]"} {
		got := queryAll(t, db, "HARD SELECT rowid, score FROM t MATCH "+q+" USING COSINE")
		if got[0][0] != int64(1) || got[0][1] != 1.0 {
			t.Errorf("COSINE %s: %v, want rowid 1 score 1", q, got)
		}
	}
}
