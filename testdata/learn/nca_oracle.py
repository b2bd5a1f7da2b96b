"""scikit-learn's NeighborhoodComponentsAnalysis on the digits split, the
oracle of softdb's TRAIN (learn_digits_test.go).

usage: nca_oracle.py DIGITS_CSV OUTDIR ITERATIONS [REPEAT]

Writes OUTDIR/x.npy (1797 x 64 float32, pixels / 16), OUTDIR/label.npy
(int64), OUTDIR/pca.npy (64 x 4 float32: the top 4 principal axes of the
training rows 0..1199, as columns) and prints one JSON line: the test
1-NN accuracy (rows 1200..1796 against 0..1199, Euclidean) from the PCA
start and after NCA fitted from that same start for ITERATIONS
iterations, sklearn's fit time in seconds (median of REPEAT fits,
default 3) and its
iteration count.
"""
import json
import sys
import time

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier, NeighborhoodComponentsAnalysis

csv, out, iters = sys.argv[1], sys.argv[2], int(sys.argv[3])
repeat = int(sys.argv[4]) if len(sys.argv) > 4 else 3
data = np.loadtxt(csv, delimiter=",", skiprows=1)
x = (data[:, :64] / 16).astype(np.float32)
y = data[:, 64].astype(np.int64)
np.save(out + "/x.npy", x)
np.save(out + "/label.npy", y)
tr, te = slice(0, 1200), slice(1200, 1797)
pca = PCA(n_components=4).fit(x[tr].astype(np.float64))
w0 = pca.components_.T.astype(np.float32)  # 64 x 4: x . w0 projects
np.save(out + "/pca.npy", w0)


def acc(w):
    knn = KNeighborsClassifier(n_neighbors=1).fit(x[tr] @ w, y[tr])
    return float((knn.predict(x[te] @ w) == y[te]).mean())


times = []
for _ in range(repeat):
    nca = NeighborhoodComponentsAnalysis(n_components=4, init=w0.T.astype(np.float64), max_iter=iters, random_state=0)
    t = time.perf_counter()
    nca.fit(x[tr].astype(np.float64), y[tr])
    times.append(time.perf_counter() - t)
print(json.dumps({
    "acc_pca": acc(w0.astype(np.float64)),
    "acc_nca": acc(nca.components_.T),
    "fit_seconds": sorted(times)[len(times) // 2],
    "n_iter": int(nca.n_iter_),
}))
