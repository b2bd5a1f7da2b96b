#!/usr/bin/python3
"""Peers for attention/'s benchmarks: numpy (+OpenBLAS) and FAISS on the same
shapes as `go test -bench . ./attention`, buffers preallocated, medians.

Run with the Debian interpreter (it has python3-numpy and python3-faiss):

    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/attention_peer.py [--threads 1] [--reps 10]

--threads sets the BLAS and OpenMP thread count (default 1: the Go kernels
are single-threaded; the executor adds goroutines on top).
"""
import argparse
import os
import sys

from peerlib import load, median_ms, report, soft_batch, soft_select

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--reps", type=int, default=10)
ap.add_argument("--only", default="", help="substring filter on case names")
args = ap.parse_args()
np, faiss = load(args.threads)


def blas_info():
    """Names the BLAS numpy really runs: Debian's numpy links libblas.so.3,
    which update-alternatives points at OpenBLAS once libopenblas0 is in."""
    try:
        from threadpoolctl import threadpool_info
        return ", ".join("%s %s" % (i.get("internal_api"), i.get("version")) for i in threadpool_info())
    except ImportError:
        try:
            return os.path.realpath("/etc/alternatives/libblas.so.3-x86_64-linux-gnu")
        except OSError:
            return "unknown (install python3-threadpoolctl)"


rng = np.random.default_rng(1)


def block(n, d, dv):
    K = rng.uniform(-0.1, 0.1, (n, d)).astype(np.float32)
    V = rng.uniform(-1, 1, (n, dv)).astype(np.float32) if dv else None
    return K, V


def want(name):
    return args.only in name


print("# numpy %s, BLAS: %s, faiss %s, threads %d, reps %d" % (
    np.__version__, blas_info(), faiss.__version__ if faiss else "missing", args.threads, args.reps))

invT = np.float32(1 / 11.3)

# One SOFT query: scores, max-subtracted softmax, blend (three passes).
for n, d in ((100_000, 128), (1_000_000, 128), (100_000, 768)):
    name = "Accumulate/n=%s/d=%d" % ("1e5" if n == 100_000 else "1e6", d)
    if not want(name):
        continue
    K, V = block(n, d, d)
    q = rng.uniform(-1, 1, d).astype(np.float32)
    soft = soft_select(np, K, V, q, invT)
    report("numpy " + name, median_ms(soft, args.reps), nbytes=n * 2 * d * 4, flops=4.0 * n * d)
    del K, V

# Batch SOFT: softmax(Q Kᵀ/T) V with a preallocated score matrix.
name = "AccumulateBatch/m=512/n=1e5/d=128"
if want(name):
    m, n, d = 512, 100_000, 128
    K, V = block(n, d, d)
    Q = rng.uniform(-1, 1, (m, d)).astype(np.float32)
    batch = soft_batch(np, Q, K, V, invT)
    report("numpy " + name, median_ms(batch, max(3, args.reps // 3)), flops=4.0 * m * n * d)
    del K, V, batch

# Top-10, one query.
name = "TopK/dot/k=10/n=1e5/d=128"
if want(name):
    n, d = 100_000, 128
    K, _ = block(n, d, 0)
    q = rng.uniform(-1, 1, d).astype(np.float32)
    s = np.empty(n, np.float32)

    def top_np():
        np.dot(K, q, out=s)
        idx = np.argpartition(-s, 10)[:10]
        return idx[np.argsort(-s[idx], kind="stable")]

    report("numpy " + name, median_ms(top_np, args.reps), nbytes=n * d * 4)
    if faiss:
        for metric, index in (("dot", faiss.IndexFlatIP(d)), ("l2", faiss.IndexFlatL2(d))):
            index.add(K)
            qq = q.reshape(1, d)
            report("faiss %s TopK/%s/k=10/n=1e5/d=128" % (type(index).__name__, metric),
                   median_ms(lambda: index.search(qq, 10), args.reps), nbytes=n * d * 4)
    del K

# Batch top-k (GEMM-shaped): a tenth of MNIST 1-NN, and 512 dot queries.
if faiss:
    for name, metric, k, m, n, d in (
        ("TopKBatch/l2/k=1/m=1000/n=6e4/d=784", "l2", 1, 1000, 60_000, 784),
        ("TopKBatch/dot/k=10/m=512/n=1e5/d=128", "dot", 10, 512, 100_000, 128),
    ):
        if not want(name):
            continue
        K, _ = block(n, d, 0)
        Q = rng.uniform(-1, 1, (m, d)).astype(np.float32)
        index = faiss.IndexFlatL2(d) if metric == "l2" else faiss.IndexFlatIP(d)
        index.add(K)
        report("faiss %s %s" % (type(index).__name__, name),
               median_ms(lambda: index.search(Q, k), max(3, args.reps // 3)), flops=2.0 * m * n * d)
        del K, index
else:
    print("# faiss missing: apt-get install python3-faiss", file=sys.stderr)
