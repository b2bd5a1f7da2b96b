"""What bench/attention_peer.py and bench/sql_peer.py share: thread setup
before numpy loads, timing, reporting, and the numpy computations that
softdb is compared with (buffers preallocated, as a careful user would)."""
import os
import time


def load(threads):
    """Sets the BLAS/OpenMP thread count, then imports numpy and FAISS
    (None when python3-faiss is missing); the settings only take effect
    before the import."""
    for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[v] = str(threads)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import numpy
    try:
        import faiss
        faiss.omp_set_num_threads(threads)
    except ImportError:
        faiss = None
    return numpy, faiss


def median_ms(f, reps):
    """Median wall and process-CPU milliseconds per call of f, after one
    warm-up call (page faults, caches)."""
    f()
    ts, cs = [], []
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        f()
        ts.append(time.perf_counter() - t)
        cs.append(time.process_time() - c)
    ts.sort()
    cs.sort()
    return ts[len(ts) // 2] * 1e3, cs[len(cs) // 2] * 1e3


def report(name, times, nbytes=None, flops=None, cpu=True):
    """Prints one result line: wall ms (and CPU ms), GB/s, GFLOP/s."""
    ms, cpu_ms = times
    extra = ""
    if nbytes:
        extra += "  %6.2f GB/s" % (nbytes / ms / 1e6)
    if flops:
        extra += "  %6.2f GFLOP/s" % (flops / ms / 1e6)
    if cpu:
        print("%-56s %10.3f ms  cpu %10.3f ms%s" % (name, ms, cpu_ms, extra), flush=True)
    else:
        print("%-44s %10.3f ms%s" % (name, ms, extra), flush=True)


def soft_select(np, K, V, q, invT):
    """One SOFT query in numpy: scores, max-subtracted softmax, blend."""
    s = np.empty(K.shape[0], np.float32)
    out = np.empty(V.shape[1], np.float32)

    def run():
        np.dot(K, q, out=s)
        np.subtract(s, s.max(), out=s)
        np.multiply(s, invT, out=s)
        np.exp(s, out=s)
        np.divide(s, s.sum(), out=s)
        np.dot(s, V, out=out)
    return run


def soft_batch(np, Q, K, V, invT):
    """softmax(Q Kᵀ/T) V in numpy with a preallocated score matrix."""
    S = np.empty((Q.shape[0], K.shape[0]), np.float32)
    mx = np.empty((Q.shape[0], 1), np.float32)
    out = np.empty((Q.shape[0], V.shape[1]), np.float32)

    def run():
        np.dot(Q, K.T, out=S)
        np.max(S, axis=1, keepdims=True, out=mx)
        np.subtract(S, mx, out=S)
        np.multiply(S, invT, out=S)
        np.exp(S, out=S)
        np.sum(S, axis=1, keepdims=True, out=mx)
        np.divide(S, mx, out=S)
        np.dot(S, V, out=out)
    return run
