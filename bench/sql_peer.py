#!/usr/bin/python3
"""Peers for bench/sql_test.go on the same shapes: numpy (+OpenBLAS) with
preallocated buffers, and FAISS flat indexes. Medians of wall time.

    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/sql_peer.py [--reps 10] [--threads 2]

--threads 2 by default: softdb's executor uses every core, so the BLAS
peers get them too.
"""
import argparse
import os
import time

ap = argparse.ArgumentParser()
ap.add_argument("--reps", type=int, default=10)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--mnist", action="store_true", help="also the 10,000 × 60,000 × 784 L2 batch")
args = ap.parse_args()
for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ[v] = str(args.threads)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

try:
    import faiss  # noqa: E402
    faiss.omp_set_num_threads(args.threads)
except ImportError:
    faiss = None

rng = np.random.default_rng(1)


def median_ms(f, reps):
    f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2] * 1e3


def report(name, ms, nbytes=None, flops=None):
    extra = ""
    if nbytes:
        extra += "  %6.2f GB/s" % (nbytes / ms / 1e6)
    if flops:
        extra += "  %6.2f GFLOP/s" % (flops / ms / 1e6)
    print("%-44s %10.3f ms%s" % (name, ms, extra), flush=True)


print("# numpy %s, faiss %s, threads %d" % (np.__version__, faiss.__version__ if faiss else "missing", args.threads))
d = 128
T = np.float32(np.sqrt(d))

for n, label in ((200_000, "2e5"), (100_000, "1e5")):
    K = rng.standard_normal((n, d), np.float32)
    V = rng.standard_normal((n, d), np.float32)
    q = rng.standard_normal(d, np.float32)
    s = np.empty(n, np.float32)
    out = np.empty(d, np.float32)

    def soft():
        np.dot(K, q, out=s)
        np.subtract(s, s.max(), out=s)
        np.divide(s, T, out=s)
        np.exp(s, out=s)
        np.divide(s, s.sum(), out=s)
        np.dot(s, V, out=out)

    report("numpy SoftSelect/n=%s/d=128" % label, median_ms(soft, args.reps), nbytes=n * 2 * d * 4)

m, n = 512, 200_000
K = rng.standard_normal((n, d), np.float32)
V = rng.standard_normal((n, d), np.float32)
Q = rng.standard_normal((m, d), np.float32)
S = np.empty((m, n), np.float32)
mx = np.empty((m, 1), np.float32)
out = np.empty((m, d), np.float32)


def batch():
    np.dot(Q, K.T, out=S)
    np.max(S, axis=1, keepdims=True, out=mx)
    np.subtract(S, mx, out=S)
    np.divide(S, T, out=S)
    np.exp(S, out=S)
    np.sum(S, axis=1, keepdims=True, out=mx)
    np.divide(S, mx, out=S)
    np.dot(S, V, out=out)


report("numpy SoftBatch/m=512/n=2e5/d=128", median_ms(batch, max(3, args.reps // 3)), flops=4.0 * m * n * d)
del S

n = 100_000
K = rng.standard_normal((n, d), np.float32)
q = rng.standard_normal((1, d), np.float32)
if faiss:
    index = faiss.IndexFlatIP(d)
    index.add(K)
    report("faiss IndexFlatIP HardTop10/n=1e5/d=128", median_ms(lambda: index.search(q, 10), args.reps), nbytes=n * d * 4)
    if args.mnist:
        K = rng.standard_normal((60_000, 784), np.float32)
        Q = rng.standard_normal((10_000, 784), np.float32)
        index = faiss.IndexFlatL2(784)
        index.add(K)
        report("faiss IndexFlatL2 HardL2Batch (MNIST size)", median_ms(lambda: index.search(Q, 1), 1))
