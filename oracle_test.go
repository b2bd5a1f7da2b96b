package softdb_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var oracleSeed = flag.Uint64("oracle.seed", 0, "seed for TestOracle (0: a new one, printed)")

// oracleCase is one random SOFT/HARD query and what the engine answered.
type oracleCase struct {
	Metric string      `json:"metric"`
	Temp   float64     `json:"temp"` // SOFT only
	Top    int         `json:"top"`  // 0: all
	Mod    int         `json:"mod"`  // mask: rowid % Mod != 0 (0: no mask)
	Hard   bool        `json:"hard"`
	Query  [][]float32 `json:"query"` // one per query (a batch when > 1)
	Got    [][]float64 `json:"got"`   // SOFT: blend per query; HARD: [rowid] per query
	Table  int         `json:"table"`
	Tol    []float64   `json:"tol"` // per query; 0: not compared
}

// reference computes, in float64 from the same float32 inputs, the SOFT
// blend or the HARD rowid, and the bound on the float32 score error that
// the comparison must allow.
func reference(keys, vals [][]float32, c *oracleCase, q []float32) (blend []float64, best int64, scoreErr float64, gapOK bool) {
	n := len(keys)
	scores := make([]float64, n)
	var maxMag float64
	qn := 0.0
	for _, x := range q {
		qn += float64(x) * float64(x)
	}
	qn = math.Sqrt(qn)
	for i, k := range keys {
		var dot, kn, l2, mag float64
		for j := range k {
			a, b := float64(q[j]), float64(k[j])
			dot += a * b
			kn += b * b
			l2 += (a - b) * (a - b)
			mag += math.Abs(a*b) + (a-b)*(a-b)
		}
		switch c.Metric {
		case "DOT":
			scores[i] = dot
		case "COSINE":
			if qn == 0 || kn == 0 {
				scores[i] = 0
			} else {
				scores[i] = dot / (qn * math.Sqrt(kn))
				mag = math.Abs(scores[i]) + 1
			}
		case "L2":
			scores[i] = -l2
		}
		maxMag = math.Max(maxMag, mag)
	}
	// Higham, Accuracy and Stability of Numerical Algorithms (2002), §3.1:
	// a float32 dot product of length d errs by at most γ_d·Σ|aᵢbᵢ|,
	// γ_d ≈ d·2⁻²⁴; a factor 4 covers norms and blocked summation.
	scoreErr = 4 * float64(len(q)+2) * math.Ldexp(1, -24) * maxMag
	idx := []int{}
	for i := 0; i < n; i++ {
		if c.Mod == 0 || (i+1)%c.Mod != 0 {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	gapOK = true
	k := c.Top
	if c.Hard {
		k = 1
	}
	if k > 0 && k < len(idx) {
		// A near-tie at the boundary may fall either way in float32.
		gapOK = scores[idx[k-1]]-scores[idx[k]] > 2*scoreErr
		idx = idx[:k]
	}
	if len(idx) == 0 {
		return nil, 0, scoreErr, gapOK
	}
	best = int64(idx[0] + 1)
	if c.Hard {
		return nil, best, scoreErr, gapOK
	}
	m := scores[idx[0]]
	dv := len(vals[0])
	blend = make([]float64, dv)
	var sum float64
	for _, i := range idx {
		w := math.Exp((scores[i] - m) / c.Temp)
		sum += w
		for j := 0; j < dv; j++ {
			blend[j] += w * float64(vals[i][j])
		}
	}
	for j := range blend {
		blend[j] /= sum
	}
	return blend, best, scoreErr, gapOK
}

// TestOracle compares hundreds of random SOFT/HARD queries run through SQL
// with a float64 reference (SPEC §4's tolerances, widened only by the
// float32 score rounding that a temperature T amplifies by 1/T), and, where
// numpy is installed, with numpy.
func TestOracle(t *testing.T) {
	seed := *oracleSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d (rerun with -oracle.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	ctx := context.Background()
	db := openTemp(t)
	tables := 6
	queriesPer := 60
	if testing.Short() {
		tables, queriesPer = 3, 40
	}
	var all []*oracleCase
	type tableData struct {
		keys, vals [][]float32
	}
	var datas []tableData
	compared, skipped := 0, 0
	for ti := 0; ti < tables; ti++ {
		n := 1 + rng.IntN(3000)
		d := []int{1, 3, 8, 64, 130}[rng.IntN(5)]
		dv := []int{1, 4, 17}[rng.IntN(3)]
		scale := math.Pow(10, rng.Float64()*4-2)
		name := fmt.Sprintf("o%d", ti)
		if _, err := db.Exec(ctx, fmt.Sprintf("CREATE TABLE %s (key VECTOR(%d), value VECTOR(%d))", name, d, dv)); err != nil {
			t.Fatal(err)
		}
		var td tableData
		var rows [][]any
		for i := 0; i < n; i++ {
			k := make([]float32, d)
			v := make([]float32, dv)
			for j := range k {
				k[j] = float32(rng.NormFloat64() * scale)
			}
			for j := range v {
				v[j] = float32(rng.NormFloat64() * 10)
			}
			td.keys, td.vals = append(td.keys, k), append(td.vals, v)
			rows = append(rows, []any{k, v})
		}
		insertRows(t, db, name, 2, rows)
		datas = append(datas, td)
		maxV := 0.0
		for _, v := range td.vals {
			for _, x := range v {
				maxV = math.Max(maxV, math.Abs(float64(x)))
			}
		}
		for qi := 0; qi < queriesPer; qi++ {
			c := &oracleCase{Table: ti, Metric: []string{"DOT", "COSINE", "L2"}[rng.IntN(3)], Hard: rng.IntN(4) == 0}
			c.Temp = math.Pow(10, rng.Float64()*9-3) // 1e-3 … 1e6
			if rng.IntN(3) == 0 {
				c.Top = 1 + rng.IntN(n)
			}
			if rng.IntN(3) == 0 {
				c.Mod = 2 + rng.IntN(5)
			}
			nq := 1
			if rng.IntN(5) == 0 {
				nq = 2 + rng.IntN(4)
			}
			for j := 0; j < nq; j++ {
				q := make([]float32, d)
				for i := range q {
					q[i] = float32(rng.NormFloat64() * scale)
				}
				c.Query = append(c.Query, q)
			}
			var sql strings.Builder
			if c.Hard {
				fmt.Fprintf(&sql, "HARD SELECT qrow, rowid FROM %s MATCH %%s USING %s", name, c.Metric)
			} else {
				fmt.Fprintf(&sql, "SOFT SELECT qrow, value FROM %s MATCH %%s USING %s TEMPERATURE %v", name, c.Metric, c.Temp)
				if c.Top > 0 {
					fmt.Fprintf(&sql, " TOP %d", c.Top)
				}
			}
			if c.Mod > 0 {
				fmt.Fprintf(&sql, " WHERE rowid %%%% %d != 0", c.Mod) // %% survives the second Sprintf
			}
			text := sql.String()
			var args []any
			if nq == 1 {
				text = fmt.Sprintf(text, "?")
				args = []any{c.Query[0]}
			} else {
				// A batch through a query table.
				qt := fmt.Sprintf("q%d_%d", ti, qi)
				if _, err := db.Exec(ctx, fmt.Sprintf("CREATE TABLE %s (key VECTOR(%d))", qt, d)); err != nil {
					t.Fatal(err)
				}
				var qrows [][]any
				for _, q := range c.Query {
					qrows = append(qrows, []any{q})
				}
				insertRows(t, db, qt, 1, qrows)
				text = fmt.Sprintf(text, "(SELECT key FROM "+qt+")")
			}
			rows, err := db.Query(ctx, text, args...)
			if err != nil {
				t.Fatalf("%s: %v", text, err)
			}
			for rows.Next() {
				var qrow any
				if c.Hard {
					var id int64
					if err := rows.Scan(&qrow, &id); err != nil {
						t.Fatal(err)
					}
					c.Got = append(c.Got, []float64{float64(id)})
				} else {
					var v []float32
					if err := rows.Scan(&qrow, &v); err != nil {
						t.Fatal(err)
					}
					g := make([]float64, len(v))
					for i, x := range v {
						g[i] = float64(x)
					}
					c.Got = append(c.Got, g)
				}
			}
			if len(c.Got) != nq {
				t.Fatalf("%s: %d result rows for %d queries", text, len(c.Got), nq)
			}
			c.Tol = make([]float64, nq)
			for j, q := range c.Query {
				want, best, scoreErr, gapOK := reference(td.keys, td.vals, c, q)
				if !gapOK {
					skipped++
					continue
				}
				compared++
				if c.Hard {
					c.Tol[j] = 1 // compared (numpy checks the rowid)
					if int64(c.Got[j][0]) != best {
						t.Errorf("%s: query %d: HARD rowid %v, want %d", text, j, c.Got[j][0], best)
					}
					continue
				}
				// SPEC §4: 1e-5·max|v|; plus the score rounding amplified by 1/T.
				tol := maxV * (1e-5 + 4*scoreErr/c.Temp)
				c.Tol[j] = tol
				for i := range want {
					if math.IsNaN(c.Got[j][i]) || math.Abs(c.Got[j][i]-want[i]) > tol {
						t.Errorf("%s: query %d comp %d: got %v want %v (tol %g)", text, j, i, c.Got[j][i], want[i], tol)
						break
					}
				}
			}
			all = append(all, c)
		}
	}
	t.Logf("%d comparisons, %d skipped for a near-tie at a top-k boundary", compared, skipped)
	if compared < len(all)/2 {
		t.Errorf("too few comparisons: %d", compared)
	}
	var tabs []map[string]any
	for _, d := range datas {
		tabs = append(tabs, map[string]any{"keys": d.keys, "values": d.vals})
	}
	checkWithNumpy(t, all, tabs)
}

// checkWithNumpy recomputes the SOFT cases (no TOP, no mask) with numpy in
// float64 and compares. It skips, saying why, when numpy is missing.
func checkWithNumpy(t *testing.T, cases []*oracleCase, tables []map[string]any) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		t.Logf("numpy cross-check skipped: %s cannot import numpy (apt-get install python3-numpy)", py)
		return
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "cases.json")
	b, _ := json.Marshal(map[string]any{"cases": cases, "tables": tables})
	if err := os.WriteFile(in, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "testdata/oracle_numpy.py", in).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy oracle: %v\n%s", err, out)
	}
	t.Logf("numpy: %s", strings.TrimSpace(string(out)))
}
