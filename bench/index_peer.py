"""FAISS build times beside softdb's CREATE INDEX, on the same rows.

    /usr/bin/python3 bench/index_peer.py KEYS.npy LISTS [HNSW_ROWS]

Prints one line per index: IndexIVFFlat train + add (nlist = LISTS, FAISS's
default k-means: 25 iterations, up to 256 points per centroid) and
IndexHNSWFlat add (M = 32, efConstruction = 40, FAISS's defaults), on the
first HNSW_ROWS rows (default: all). Threads: FAISS's OpenMP default (all
cores).
"""
import sys
import time

import faiss
import numpy as np

keys = np.load(sys.argv[1]).astype(np.float32)
lists = int(sys.argv[2])
hnsw_rows = int(sys.argv[3]) if len(sys.argv) > 3 else len(keys)
n, d = keys.shape

t0 = time.perf_counter()
quant = faiss.IndexFlatL2(d)
ivf = faiss.IndexIVFFlat(quant, d, lists)
ivf.train(keys)
t1 = time.perf_counter()
ivf.add(keys)
t2 = time.perf_counter()
print(f"faiss IndexIVFFlat n={n} d={d} nlist={lists}: train {t1 - t0:.2f} s, add {t2 - t1:.2f} s, total {t2 - t0:.2f} s", flush=True)

sub = np.ascontiguousarray(keys[:hnsw_rows])
t0 = time.perf_counter()
h = faiss.IndexHNSWFlat(d, 32)
h.add(sub)
t1 = time.perf_counter()
print(f"faiss IndexHNSWFlat n={len(sub)} d={d} M=32: build {t1 - t0:.2f} s", flush=True)
