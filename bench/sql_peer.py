#!/usr/bin/python3
"""Peers for bench/sql_test.go on the same shapes: numpy (+OpenBLAS) with
preallocated buffers, and FAISS flat indexes. Medians of wall time.

    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/sql_peer.py [--reps 10] [--threads 2]

--threads 2 by default: softdb's executor uses every core, so the BLAS
peers get them too.
"""
import argparse

import peerlib
from peerlib import load, soft_batch, soft_select

ap = argparse.ArgumentParser()
ap.add_argument("--reps", type=int, default=10)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--mnist", action="store_true", help="also the 10,000 × 60,000 × 784 L2 batch")
args = ap.parse_args()
np, faiss = load(args.threads)
rng = np.random.default_rng(1)


def median_ms(f, reps):
    return peerlib.median_ms(f, reps)[0]  # wall time: softdb uses both cores


def report(name, ms, nbytes=None, flops=None):
    peerlib.report(name, (ms, None), nbytes, flops, cpu=False)


print("# numpy %s, faiss %s, threads %d" % (np.__version__, faiss.__version__ if faiss else "missing", args.threads))
d = 128
T = np.float32(np.sqrt(d))

for n, dd, label in ((200_000, d, "2e5"), (100_000, d, "1e5"), (1_000_000, d, "1e6"), (100_000, 768, "1e5")):
    K = rng.standard_normal((n, dd), np.float32)
    V = rng.standard_normal((n, dd), np.float32)
    q = rng.standard_normal(dd, np.float32)
    soft = soft_select(np, K, V, q, np.float32(1 / np.sqrt(dd)))
    report("numpy SoftSelect/n=%s/d=%d" % (label, dd), median_ms(soft, args.reps), nbytes=n * 2 * dd * 4)
    del K, V, soft

m, n = 512, 200_000
K = rng.standard_normal((n, d), np.float32)
V = rng.standard_normal((n, d), np.float32)
Q = rng.standard_normal((m, d), np.float32)
batch = soft_batch(np, Q, K, V, np.float32(1 / T))
report("numpy SoftBatch/m=512/n=2e5/d=128", median_ms(batch, max(3, args.reps // 3)), flops=4.0 * m * n * d)
del batch

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
