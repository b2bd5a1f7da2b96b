package attention

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// numpyScript computes, independently of the Go reference, the float64 SOFT
// blend and the top-5 ids (ties to the lower id via a stable sort) for each
// case written by TestNumpy.
const numpyScript = `
import json, sys
import numpy as np
out = []
for c in json.load(open(sys.argv[1])):
    d, n, dv = c["d"], c["n"], c["dv"]
    q = np.fromfile(c["q"], dtype="<f4").astype(np.float64)
    K = np.fromfile(c["k"], dtype="<f4").reshape(n, d).astype(np.float64)
    V = np.fromfile(c["v"], dtype="<f4").reshape(n, dv).astype(np.float64)
    if c["metric"] == 0:
        s = K @ q
    elif c["metric"] == 1:
        kn = np.linalg.norm(K, axis=1); qn = np.linalg.norm(q)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where((kn == 0) | (qn == 0), 0.0, (K @ q) / (kn * qn))
    else:
        s = -((K - q) ** 2).sum(axis=1)
    x = (s - s.max()) / c["T"]
    w = np.exp(x); w /= w.sum()
    top = np.argsort(-s, kind="stable")[:5]
    out.append({"blend": (w @ V).tolist(), "top": top.tolist()})
json.dump(out, sys.stdout)
`

// TestNumpy cross-checks Accumulate and PushBlock against numpy, an
// implementation that shares no code with this package or its tests.
func TestNumpy(t *testing.T) {
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("skipped: /usr/bin/python3 not found")
	}
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		t.Skip("skipped: numpy missing for /usr/bin/python3 (apt-get install python3-numpy)")
	}
	r := newRand(t)
	dir := t.TempDir()
	type pyCase struct {
		Metric  int     `json:"metric"`
		N       int     `json:"n"`
		D       int     `json:"d"`
		DV      int     `json:"dv"`
		T       float64 `json:"T"`
		Q       string  `json:"q"`
		K       string  `json:"k"`
		V       string  `json:"v"`
		q, k, v []float32
	}
	write := func(name string, v []float32) string {
		var buf bytes.Buffer
		binary.Write(&buf, binary.LittleEndian, v)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var cases []pyCase
	ncases := 40
	if testing.Short() {
		ncases = 12
	}
	for ci := 0; ci < ncases; ci++ {
		c := pyCase{Metric: r.IntN(3), N: 1 + r.IntN(5000), D: 1 + r.IntN(130), DV: 1 + r.IntN(9), T: logUniform(r, 1e-2, 1e4)}
		c.q, c.k, c.v = randVec(r, c.D, 1), randVec(r, c.N*c.D, 1), randVec(r, c.N*c.DV, 5)
		c.Q, c.K, c.V = write(name(ci, "q"), c.q), write(name(ci, "k"), c.k), write(name(ci, "v"), c.v)
		cases = append(cases, c)
	}
	spec, _ := json.Marshal(cases)
	specPath := filepath.Join(dir, "cases.json")
	os.WriteFile(specPath, spec, 0o644)
	script := filepath.Join(dir, "check.py")
	os.WriteFile(script, []byte(numpyScript), 0o644)
	outb, err := exec.Command(py, script, specPath).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("numpy script: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("numpy script: %v", err)
	}
	var res []struct {
		Blend []float64
		Top   []int64
	}
	if err := json.Unmarshal(outb, &res); err != nil {
		t.Fatal(err)
	}
	forEachKernel(t, func(t *testing.T) {
		for i, c := range cases {
			m := Metric(c.Metric)
			got, _ := softOne(m, c.q, c.k, c.D, c.v, c.DV, nil, c.T)
			tol := blendTol(scoreErrBound(m, c.q, c.k, c.D), c.T, maxAbs32(c.v))
			for j := range got {
				if e := math.Abs(float64(got[j]) - res[i].Blend[j]); e > tol {
					t.Fatalf("case %d (%v n=%d d=%d T=%g): blend[%d] = %g, numpy %g", i, m, c.N, c.D, c.T, j, got[j], res[i].Blend[j])
				}
			}
			tk := NewTopK(5)
			tk.PushBlock(m, c.q, Norm(c.q), c.k, c.D, nil, nil)
			top := tk.Sorted()
			// Rank 1 must agree; later ranks may swap on float32 near-ties.
			if top[0].ID != res[i].Top[0] {
				a := refScore(m, c.q, c.k[top[0].ID*int64(c.D):][:c.D])
				b := refScore(m, c.q, c.k[res[i].Top[0]*int64(c.D):][:c.D])
				if math.Abs(a-b) > scoreErrBound(m, c.q, c.k, c.D) {
					t.Fatalf("case %d: top id %d, numpy %d", i, top[0].ID, res[i].Top[0])
				}
			}
		}
	})
}

func name(i int, what string) string {
	return what + string(rune('a'+i/26)) + string(rune('a'+i%26)) + ".f32"
}
