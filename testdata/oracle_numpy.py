"""Independent oracle for TestOracle: recomputes SOFT blends and HARD rowids
with numpy in float64 from the same float32 inputs and checks the engine's
answers within the tolerance the Go test states per query."""
import json
import sys

import numpy as np

doc = json.load(open(sys.argv[1]))
tables = [(np.array(t["keys"], np.float32).astype(np.float64),
           np.array(t["values"], np.float32).astype(np.float64)) for t in doc["tables"]]
checked = failed = 0
for c in doc["cases"]:
    K, V = tables[c["table"]]
    ids = np.arange(1, len(K) + 1)
    keep = np.ones(len(K), bool) if c["mod"] == 0 else (ids % c["mod"] != 0)
    for q, got, tol in zip(c["query"], c["got"], c["tol"]):
        if tol == 0 and not c["hard"]:
            continue  # a near-tie the Go side did not compare either
        q = np.array(q, np.float32).astype(np.float64)
        if c["metric"] == "DOT":
            s = K @ q
        elif c["metric"] == "L2":
            s = -((K - q) ** 2).sum(axis=1)
        else:
            kn = np.linalg.norm(K, axis=1)
            qn = np.linalg.norm(q)
            with np.errstate(invalid="ignore", divide="ignore"):
                s = np.where((kn == 0) | (qn == 0), 0.0, (K @ q) / (kn * qn))
        s = np.where(keep, s, -np.inf)
        order = np.lexsort((ids, -s))  # best first, ties to the lowest rowid
        k = 1 if c["hard"] else (c["top"] or len(K))
        top = order[:k]
        top = top[np.isfinite(s[top])]
        if c["hard"]:
            if tol != 0 and int(got[0]) != ids[top[0]]:
                failed += 1
                print("HARD mismatch", c["metric"], got[0], ids[top[0]])
            checked += 1
            continue
        z = s[top] / c["temp"]
        w = np.exp(z - z.max())
        w /= w.sum()
        ref = w @ V[top]
        err = np.abs(np.array(got) - ref).max()
        checked += 1
        if not err <= tol:
            failed += 1
            print("SOFT mismatch", c["metric"], c["temp"], err, tol)
print(f"{checked} queries checked against numpy, {failed} disagree")
sys.exit(1 if failed else 0)
