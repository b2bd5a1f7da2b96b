package softdb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/softdb/softdb"
)

// The oracles of SOFT SELECT … HEADS h and BACKWARD col = g (SPEC §10),
// through SQL on a database on disk: central finite differences of a
// float64 evaluation of L = ⟨g, blend⟩ (every pseudo-column, every
// metric, the fused and the row-by-row paths, a batch), and torch's
// autograd and a torch multi-head blend (python3-torch).

// gradTable is the data of the tests: n rows of key (d), value (dv) and
// f (FLOAT, NULL in every 7th row), and a few queries.
type gradTable struct {
	d, dv   int
	keys    [][]float32
	values  [][]float32
	f       []float64 // NaN: NULL
	queries [][]float32
}

func newGradTable(r *rand.Rand, n, d, dv, nq int) *gradTable {
	gt := &gradTable{d: d, dv: dv}
	vec := func(k int, s float64) []float32 {
		v := make([]float32, k)
		for j := range v {
			v[j] = float32(r.NormFloat64() * s)
		}
		return v
	}
	for i := 0; i < n; i++ {
		gt.keys = append(gt.keys, vec(d, 0.5))
		gt.values = append(gt.values, vec(dv, 1))
		f := r.NormFloat64()
		if i%7 == 3 {
			f = math.NaN()
		}
		gt.f = append(gt.f, f)
	}
	for i := 0; i < nq; i++ {
		gt.queries = append(gt.queries, vec(d, 0.5))
	}
	return gt
}

func (gt *gradTable) load(t *testing.T, db *softdb.DB) {
	mustExec(t, db, fmt.Sprintf("CREATE TABLE t (key VECTOR(%d), value VECTOR(%d), f FLOAT)", gt.d, gt.dv))
	mustExec(t, db, fmt.Sprintf("CREATE TABLE u (q VECTOR(%d))", gt.d))
	rows := make([][]any, len(gt.keys))
	for i := range rows {
		var f any = gt.f[i]
		if math.IsNaN(gt.f[i]) {
			f = nil
		}
		rows[i] = []any{gt.keys[i], gt.values[i], f}
	}
	insertRows(t, db, "t", 3, rows)
	qrows := make([][]any, len(gt.queries))
	for i, q := range gt.queries {
		qrows[i] = []any{q}
	}
	insertRows(t, db, "u", 1, qrows)
}

// column is the blended column as float64 rows (nil: NULL).
func (gt *gradTable) column(col string) [][]float64 {
	out := make([][]float64, len(gt.keys))
	for i := range out {
		switch {
		case col == "value":
			out[i] = wide64(gt.values[i])
		case !math.IsNaN(gt.f[i]):
			out[i] = []float64{gt.f[i]}
		}
	}
	return out
}

func wide64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// score64 is a metric's score in float64.
func score64(metric string, q, k []float64) float64 {
	var dot, qq, kk, l2 float64
	for j := range q {
		dot += q[j] * k[j]
		qq += q[j] * q[j]
		kk += k[j] * k[j]
		l2 += (q[j] - k[j]) * (q[j] - k[j])
	}
	switch metric {
	case "DOT":
		return dot
	case "COSINE":
		if qq == 0 || kk == 0 {
			return 0
		}
		return dot / math.Sqrt(qq*kk)
	}
	return -l2
}

// scoreGradMax is max_j |∂s(q, k)/∂q_j|, the size of one row's term.
func scoreGradMax(metric string, q, k []float64) float64 {
	var m float64
	s := score64(metric, q, k)
	var qq, kk float64
	for j := range q {
		qq += q[j] * q[j]
		kk += k[j] * k[j]
	}
	for j := range q {
		var x float64
		switch metric {
		case "DOT":
			x = k[j]
		case "L2":
			x = 2 * (k[j] - q[j])
		default:
			if qq > 0 && kk > 0 {
				x = k[j]/math.Sqrt(qq*kk) - s*q[j]/qq
			}
		}
		m = max(m, math.Abs(x))
	}
	return m
}

// gradRef evaluates L = Σ_heads ⟨g_h, blend_h⟩ in float64 over the rows
// whose column value is not NULL, and the sizes of the terms that the
// float32 kernels sum (the tolerances' scales).
type gradRef struct {
	metric  string
	heads   int
	keys    [][]float64
	vals    [][]float64 // nil: NULL
	g       []float64
	T       float64
	q       []float64
	present []bool
}

func (r *gradRef) loss() float64 {
	d, dv := len(r.q), len(r.g)
	dh, dvh := d/r.heads, dv/r.heads
	var L float64
	for h := 0; h < r.heads; h++ {
		qh := r.q[h*dh : (h+1)*dh]
		mx := math.Inf(-1)
		sc := make([]float64, len(r.keys))
		for i, k := range r.keys {
			if r.vals[i] == nil {
				continue
			}
			sc[i] = score64(r.metric, qh, k[h*dh:(h+1)*dh]) / r.T
			mx = max(mx, sc[i])
		}
		var sum, acc float64
		for i := range r.keys {
			if r.vals[i] == nil {
				continue
			}
			w := math.Exp(sc[i] - mx)
			sum += w
			for j := h * dvh; j < (h+1)*dvh; j++ {
				acc += w * r.vals[i][j] * r.g[j]
			}
		}
		L += acc / sum
	}
	return L
}

// blend is the multi-head blend of the column in float64 (head h blends
// components [h·dv/heads, (h+1)·dv/heads) with its own weights).
func (r *gradRef) blend() []float64 {
	d, dv := len(r.q), len(r.g)
	dh, dvh := d/r.heads, dv/r.heads
	out := make([]float64, dv)
	for h := 0; h < r.heads; h++ {
		qh := r.q[h*dh : (h+1)*dh]
		mx := math.Inf(-1)
		for i, k := range r.keys {
			if r.vals[i] != nil {
				mx = max(mx, score64(r.metric, qh, k[h*dh:(h+1)*dh])/r.T)
			}
		}
		var sum float64
		for i, k := range r.keys {
			if r.vals[i] == nil {
				continue
			}
			w := math.Exp(score64(r.metric, qh, k[h*dh:(h+1)*dh])/r.T - mx)
			sum += w
			for j := h * dvh; j < (h+1)*dvh; j++ {
				out[j] += w * r.vals[i][j]
			}
		}
		for j := h * dvh; j < (h+1)*dvh; j++ {
			out[j] /= sum
		}
	}
	return out
}

// scales returns the tolerances' scales: Σ|cᵢ|·max|∂sᵢ/∂q| (∂L/∂q),
// Σ|cᵢsᵢ|/T (∂L/∂T), max |cᵢ|·max|∂sᵢ/∂kᵢ| (∂L/∂k), max wᵢ·max|g| (∂L/∂v),
// the largest over the heads.
func (r *gradRef) scales() (sq, sT, sk, sv float64) {
	d, dv := len(r.q), len(r.g)
	dh, dvh := d/r.heads, dv/r.heads
	for h := 0; h < r.heads; h++ {
		qh := r.q[h*dh : (h+1)*dh]
		mx := math.Inf(-1)
		sc := make([]float64, len(r.keys))
		for i, k := range r.keys {
			if r.vals[i] != nil {
				sc[i] = score64(r.metric, qh, k[h*dh:(h+1)*dh])
				mx = max(mx, sc[i]/r.T)
			}
		}
		w := make([]float64, len(r.keys))
		var sum float64
		for i := range r.keys {
			if r.vals[i] != nil {
				w[i] = math.Exp(sc[i]/r.T - mx)
				sum += w[i]
			}
		}
		var gb float64
		gv := make([]float64, len(r.keys))
		for i := range r.keys {
			if r.vals[i] == nil {
				continue
			}
			w[i] /= sum
			for j := h * dvh; j < (h+1)*dvh; j++ {
				gv[i] += r.g[j] * r.vals[i][j]
			}
			gb += w[i] * gv[i]
		}
		var hq, hT float64
		gmax := 0.0
		for _, x := range r.g {
			gmax = max(gmax, math.Abs(x))
		}
		for i, k := range r.keys {
			if r.vals[i] == nil {
				continue
			}
			c := math.Abs(w[i] * (gv[i] - gb) / r.T)
			gm := scoreGradMax(r.metric, qh, k[h*dh:(h+1)*dh])
			hq += c * gm
			hT += c * math.Abs(sc[i]) / r.T
			sk = max(sk, c*max(gm, scoreGradMax(r.metric, k[h*dh:(h+1)*dh], qh)))
			sv = max(sv, w[i]*gmax)
		}
		sq, sT = max(sq, hq), max(sT, hT)
	}
	return sq, sT, sk, sv
}

// fd is the central difference of r.loss in *x, h = 1e-6·max(1, |x|):
// truncation O(h²) ≈ 1e-12, rounding ε·|L|/h ≈ 1e-10 for |L| ≲ 10.
func (r *gradRef) fd(x *float64) float64 {
	h := 1e-6 * max(1, math.Abs(*x))
	x0 := *x
	*x = x0 + h
	fp := r.loss()
	*x = x0 - h
	fm := r.loss()
	*x = x0
	return (fp - fm) / (2 * h)
}

// TestBackwardFiniteDifferencesSQL checks every pseudo-column of BACKWARD
// for every metric against central finite differences of the float64
// loss: grad_query and grad_temperature by the fused kernels (one query
// and a batch) and by the row-by-row path (TOP n, every row), grad_key
// and grad_value per row, on a VECTOR and on a FLOAT column with NULLs.
//
// Tolerances (SPEC §4's, relative to the size of the summed terms):
// 2e-5 × Σ|cᵢ|·max|∂sᵢ/∂q| for grad_query, 2e-5 × Σ|cᵢsᵢ|/T for
// grad_temperature, 1e-5 × the largest row term for grad_key and
// grad_value. The scores are float32 (error ≈ d·2⁻²⁴·Σ|qⱼkⱼ| ≈ 1e-7
// here, times 1/T in the weights) and the kernels' chunk sums float32
// (64 terms, ≤ 4e-6 relative); the finite differences are good to 1e-10.
func TestBackwardFiniteDifferencesSQL(t *testing.T) {
	r := newOracleRand(t)
	gt := newGradTable(r, 300, 8, 4, 3)
	db := openTemp(t)
	gt.load(t, db)
	g := []float32{0.5, -1, 2, 0.25}
	for _, metric := range []string{"DOT", "COSINE", "L2"} {
		for _, col := range []string{"value", "f"} {
			for _, heads := range []int{1, 2} {
				if heads > 1 && col == "f" {
					continue
				}
				var gArg any = g
				gg := wide64(g)
				if col == "f" {
					gArg, gg = 0.75, []float64{0.75}
				}
				const T = 1.5
				ref := &gradRef{metric: metric, heads: heads, vals: gt.column(col), g: gg, T: T}
				for _, k := range gt.keys {
					ref.keys = append(ref.keys, wide64(k))
				}
				name := fmt.Sprintf("%s/%s/heads=%d", metric, col, heads)
				clause := fmt.Sprintf("USING %s TEMPERATURE %g HEADS %d BACKWARD %s = ?", metric, T, heads, col)
				if heads > 1 {
					// A WHERE mask too: rejected rows take no part.
					clause += " WHERE rowid % 5 != 0"
					for i := 4; i < len(ref.vals); i += 5 {
						ref.vals[i] = nil
					}
				}
				// Blend form: one query (fused), every row via TOP (row by row),
				// and the batch (fused, one result per query row).
				for qi, q := range gt.queries {
					ref.q = wide64(q)
					sq, sT, sk, sv := ref.scales()
					check := func(path string, gq []float32, gT float64) {
						for j := range ref.q {
							if fd := ref.fd(&ref.q[j]); math.Abs(float64(gq[j])-fd) > 2e-5*sq+1e-12 {
								t.Errorf("%s %s q%d: grad_query[%d] = %.8g, finite difference %.8g (tolerance %.2g)", name, path, qi, j, gq[j], fd, 2e-5*sq)
							}
						}
						fd := ref.fd(&ref.T)
						if math.Abs(gT-fd) > 2e-5*sT+1e-12 {
							t.Errorf("%s %s q%d: grad_temperature = %.8g, finite difference %.8g (tolerance %.2g)", name, path, qi, gT, fd, 2e-5*sT)
						}
					}
					got := queryAll(t, db, "SOFT SELECT grad_query, grad_temperature, "+col+" FROM t MATCH ? "+clause, q, gArg)
					check("fused", got[0][0].([]float32), got[0][1].(float64))
					// The (multi-head) blend itself, within SPEC §4's 1e-5·max|v|
					// (|v| ≲ 4 here).
					var blend []float64
					switch v := got[0][2].(type) {
					case []float32:
						blend = wide64(v)
					case float64:
						blend = []float64{v}
					}
					for j, want := range ref.blend() {
						if math.Abs(blend[j]-want) > 4e-5 {
							t.Errorf("%s q%d: blend[%d] = %.8g, float64 %.8g", name, qi, j, blend[j], want)
						}
					}
					if heads == 1 {
						got = queryAll(t, db, "SOFT SELECT grad_query, grad_temperature FROM t MATCH ? TOP 1000 "+clause, q, gArg)
						check("rows", got[0][0].([]float32), got[0][1].(float64))
					}
					batch := queryAll(t, db, "SOFT SELECT qrow, grad_query, grad_temperature FROM t MATCH (SELECT q FROM u) "+clause, gArg)
					if len(batch) != len(gt.queries) || batch[qi][0] != int64(qi+1) {
						t.Fatalf("%s batch: %d rows, row %d is qrow %v", name, len(batch), qi, batch[qi][0])
					}
					check("batch", batch[qi][1].([]float32), batch[qi][2].(float64))
					if heads > 1 || qi > 0 {
						continue
					}
					// Row form: grad_key and grad_value of every row, checked on
					// the first 12 rows (among them a NULL f).
					rows := queryAll(t, db, "SOFT SELECT rowid, grad_key, grad_value FROM t MATCH ? "+fmt.Sprintf("USING %s TEMPERATURE %g BACKWARD %s = ?", metric, T, col), q, gArg)
					if len(rows) != len(gt.keys) {
						t.Fatalf("%s row form: %d rows, want %d", name, len(rows), len(gt.keys))
					}
					for _, row := range rows {
						i := int(row[0].(int64)) - 1
						if i >= 12 {
							continue
						}
						gk := row[1].([]float32)
						for j := range ref.keys[i] {
							fd := ref.fd(&ref.keys[i][j])
							if math.Abs(float64(gk[j])-fd) > 1e-5*sk+1e-12 {
								t.Errorf("%s row %d: grad_key[%d] = %.8g, finite difference %.8g", name, i+1, j, gk[j], fd)
							}
						}
						if ref.vals[i] == nil {
							if row[2] != nil {
								t.Errorf("%s row %d: grad_value = %v for a NULL value, want NULL", name, i+1, row[2])
							}
							continue
						}
						gv := []float64{}
						switch v := row[2].(type) {
						case []float32:
							gv = wide64(v)
						case float64:
							gv = []float64{v}
						}
						for j := range ref.vals[i] {
							fd := ref.fd(&ref.vals[i][j])
							if math.Abs(gv[j]-fd) > 1e-5*sv+1e-12 {
								t.Errorf("%s row %d: grad_value[%d] = %.8g, finite difference %.8g", name, i+1, j, gv[j], fd)
							}
						}
					}
				}
			}
		}
	}
}

// torchScript computes, with torch's autograd in float64, the multi-head
// blend of each case and the gradients of L = ⟨g, blend⟩ with respect to
// the query, T, every key and every value (rows with a NULL value left
// out, as SPEC §4 says). Head j scores q[j·d/h:(j+1)·d/h] against the
// same slice of the keys and blends the same slice of the values.
const torchScript = `
import json, sys
import torch
torch.set_default_dtype(torch.float64)
def score(metric, q, K):
    if metric == "DOT":
        return K @ q
    if metric == "COSINE":
        return (K @ q) / (K.norm(dim=1) * q.norm())
    return -((K - q) ** 2).sum(dim=1)
out = []
for c in json.load(open(sys.argv[1])):
    h = c["heads"]
    K = torch.tensor(c["keys"], requires_grad=True)
    V = torch.tensor(c["values"], requires_grad=True)
    T = torch.tensor(c["T"], requires_grad=True)
    g = torch.tensor(c["g"])
    keep = torch.tensor(c["present"])
    q = torch.tensor(c["q"], requires_grad=True)
    d, dv = K.shape[1], V.shape[1]
    dh, dvh = d // h, dv // h
    parts = []
    for j in range(h):
        s = score(c["metric"], q[j*dh:(j+1)*dh], K[keep][:, j*dh:(j+1)*dh])
        w = torch.softmax(s / T, dim=0)
        parts.append(w @ V[keep][:, j*dvh:(j+1)*dvh])
    b = torch.cat(parts)
    L = (g * b).sum()
    gq, gT, gK, gV = torch.autograd.grad(L, [q, T, K, V])
    out.append({"blend": b.tolist(), "q": gq.tolist(), "T": gT.item(), "K": gK.tolist(), "V": gV.tolist()})
json.dump(out, sys.stdout)
`

// TestBackwardTorch checks the blend of HEADS h and every pseudo-column of
// BACKWARD against torch (autograd, float64), for every metric, with one
// head and with two; tolerances as in TestBackwardFiniteDifferencesSQL,
// and SPEC §4's 1e-5·max|v| for the blend.
func TestBackwardTorch(t *testing.T) {
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("skipped: /usr/bin/python3 not found")
	}
	if out, err := exec.Command(py, "-c", "import torch").CombinedOutput(); err != nil {
		t.Skipf("skipped: torch cannot be imported by /usr/bin/python3 (Debian package python3-torch): %v %s", err, out)
	}
	r := newOracleRand(t)
	gt := newGradTable(r, 200, 8, 4, 1)
	db := openTemp(t)
	gt.load(t, db)
	q := gt.queries[0]
	g := []float32{1, -0.5, 0.25, 2}
	type tcase struct {
		Metric  string      `json:"metric"`
		Heads   int         `json:"heads"`
		Keys    [][]float32 `json:"keys"`
		Values  [][]float32 `json:"values"`
		Present []bool      `json:"present"`
		T       float64     `json:"T"`
		G       []float32   `json:"g"`
		Q       []float32   `json:"q"`
	}
	type got struct {
		blend, gq []float32
		gT        float64
		gk, gv    map[int][]float32
		ref       *gradRef
	}
	var cases []tcase
	var gots []got
	present := make([]bool, len(gt.keys))
	for i := range present {
		present[i] = true
	}
	for _, metric := range []string{"DOT", "COSINE", "L2"} {
		for _, heads := range []int{1, 2} {
			const T = 0.8
			clause := fmt.Sprintf("USING %s TEMPERATURE %g HEADS %d BACKWARD value = ?", metric, T, heads)
			res := queryAll(t, db, "SOFT SELECT value, grad_query, grad_temperature FROM t MATCH ? "+clause, q, g)
			gg := got{blend: res[0][0].([]float32), gq: res[0][1].([]float32), gT: res[0][2].(float64), gk: map[int][]float32{}, gv: map[int][]float32{}}
			if heads == 1 {
				rows := queryAll(t, db, "SOFT SELECT rowid, grad_key, grad_value FROM t MATCH ? "+fmt.Sprintf("USING %s TEMPERATURE %g BACKWARD value = ?", metric, T), q, g)
				for _, row := range rows {
					i := int(row[0].(int64)) - 1
					gg.gk[i], gg.gv[i] = row[1].([]float32), row[2].([]float32)
				}
			}
			ref := &gradRef{metric: metric, heads: heads, vals: gt.column("value"), g: wide64(g), T: T, q: wide64(q)}
			for _, k := range gt.keys {
				ref.keys = append(ref.keys, wide64(k))
			}
			gg.ref = ref
			cases = append(cases, tcase{metric, heads, gt.keys, gt.values, present, T, g, q})
			gots = append(gots, gg)
		}
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "cases.json")
	data, _ := json.Marshal(cases)
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "torch_grad.py")
	if err := os.WriteFile(script, []byte(torchScript), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, script, in).Output()
	if err != nil {
		t.Fatalf("torch: %v", err)
	}
	var want []struct {
		Blend []float64   `json:"blend"`
		Q     []float64   `json:"q"`
		T     float64     `json:"T"`
		K     [][]float64 `json:"K"`
		V     [][]float64 `json:"V"`
	}
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatalf("torch output: %v", err)
	}
	for ci, c := range cases {
		gg, w := gots[ci], want[ci]
		name := fmt.Sprintf("%s heads=%d", c.Metric, c.Heads)
		sq, sT, sk, sv := gg.ref.scales()
		maxV := 0.0
		for _, v := range gt.values {
			for _, x := range v {
				maxV = max(maxV, math.Abs(float64(x)))
			}
		}
		for j := range w.Blend {
			if math.Abs(float64(gg.blend[j])-w.Blend[j]) > 1e-5*maxV {
				t.Errorf("%s: blend[%d] = %.8g, torch %.8g", name, j, gg.blend[j], w.Blend[j])
			}
		}
		for j := range w.Q {
			if math.Abs(float64(gg.gq[j])-w.Q[j]) > 2e-5*sq+1e-12 {
				t.Errorf("%s: grad_query[%d] = %.8g, torch %.8g (tolerance %.2g)", name, j, gg.gq[j], w.Q[j], 2e-5*sq)
			}
		}
		if math.Abs(gg.gT-w.T) > 2e-5*sT+1e-12 {
			t.Errorf("%s: grad_temperature = %.8g, torch %.8g", name, gg.gT, w.T)
		}
		if c.Heads > 1 {
			continue
		}
		if len(gg.gk) != len(gt.keys) {
			t.Fatalf("%s: %d rows in the row form, want %d", name, len(gg.gk), len(gt.keys))
		}
		for i := range gt.keys {
			for j := range w.K[i] {
				if math.Abs(float64(gg.gk[i][j])-w.K[i][j]) > 1e-5*sk+1e-12 {
					t.Errorf("%s: row %d grad_key[%d] = %.8g, torch %.8g", name, i+1, j, gg.gk[i][j], w.K[i][j])
				}
			}
			for j := range w.V[i] {
				if math.Abs(float64(gg.gv[i][j])-w.V[i][j]) > 1e-5*sv+1e-12 {
					t.Errorf("%s: row %d grad_value[%d] = %.8g, torch %.8g", name, i+1, j, gg.gv[i][j], w.V[i][j])
				}
			}
		}
	}
}

// TestBackwardManyChunks: 40,000 rows, three chunks of the executor's
// parallel scan and many of the kernels', so the partial gradients of
// chunks are merged; grad_query and grad_temperature against finite
// differences, with one head and two, for every metric.
func TestBackwardManyChunks(t *testing.T) {
	r := newOracleRand(t)
	gt := newGradTable(r, 40_000, 4, 2, 1)
	db := openTemp(t)
	gt.load(t, db)
	g := []float32{1, -2}
	q := gt.queries[0]
	for _, metric := range []string{"DOT", "COSINE", "L2"} {
		for _, heads := range []int{1, 2} {
			const T = 0.7
			ref := &gradRef{metric: metric, heads: heads, vals: gt.column("value"), g: wide64(g), T: T, q: wide64(q)}
			for _, k := range gt.keys {
				ref.keys = append(ref.keys, wide64(k))
			}
			sq, sT, _, _ := ref.scales()
			got := queryAll(t, db, fmt.Sprintf("SOFT SELECT grad_query, grad_temperature FROM t MATCH ? USING %s TEMPERATURE %g HEADS %d BACKWARD value = ?", metric, T, heads), q, g)
			gq, gT := got[0][0].([]float32), got[0][1].(float64)
			for j := range ref.q {
				if fd := ref.fd(&ref.q[j]); math.Abs(float64(gq[j])-fd) > 2e-5*sq+1e-12 {
					t.Errorf("%s heads=%d: grad_query[%d] = %.8g, finite difference %.8g (tolerance %.2g)", metric, heads, j, gq[j], fd, 2e-5*sq)
				}
			}
			if fd := ref.fd(&ref.T); math.Abs(gT-fd) > 2e-5*sT+1e-12 {
				t.Errorf("%s heads=%d: grad_temperature = %.8g, finite difference %.8g", metric, heads, gT, fd)
			}
		}
	}
}

// TestBackwardOverflow: a gradient past float32's range (values and g
// near 3e38 make ⟨g, v⟩ about 1e77) is an error naming the gradient, in
// the blend form (grad_query) and the row form (grad_key), with and
// without HEADS, rather than a component clamped to ±MaxFloat32.
func TestBackwardOverflow(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	if _, err := db.Exec(ctx, "CREATE TABLE t (k VECTOR(2), v VECTOR(2)); INSERT INTO t VALUES ([1, 0], [3e38, 3e38]), ([0, 1], [-3e38, -3e38])"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ q, want string }{
		{"SOFT SELECT v, grad_query FROM t MATCH [1, 0] BACKWARD v = [3e38, 3e38]", "grad_query overflows float32"},
		{"SOFT SELECT v, grad_query FROM t MATCH [1, 0] HEADS 2 BACKWARD v = [3e38, 3e38]", "grad_query overflows float32"},
		{"SOFT SELECT rowid, grad_key FROM t MATCH [1, 0] BACKWARD v = [3e38, 3e38]", "grad_key overflows float32"},
	} {
		rows, err := db.Query(ctx, c.q)
		for err == nil && rows.Next() {
		}
		if err == nil {
			err = rows.Err()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.q, err, c.want)
		}
	}
	// In range the gradient comes back: g = [0.1, 0.1] gives ⟨g, v⟩ =
	// ±6e37, computed in float64 though the float32 product would not fit.
	var gq []float32
	if err := db.QueryRow(ctx, "SOFT SELECT grad_query FROM t MATCH [1, 0] BACKWARD v = [0.1, 0.1]").Scan(&gq); err != nil {
		t.Fatal(err)
	}
	if len(gq) != 2 || !(gq[0] > 1e36) || gq[1] != -gq[0] {
		t.Errorf("grad_query = %v, want [x, -x] with x about 1e37", gq)
	}
}
