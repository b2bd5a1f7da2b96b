"""SQLite beside softdb's write benchmarks: one-row INSERTs and UPDATEs
through a prepared statement (Python's sqlite3 caches the statement of a
repeated execute) inside one transaction, on disk, the vector stored as a
BLOB of 128 float32, as BenchmarkInsertPrepared and BenchmarkUpdatePrepared
store a VECTOR(128). Prints rows/s in the benchmark line format.

    /usr/bin/python3 bench/sqlite_peer.py [rows]
"""
import os
import random
import sqlite3
import struct
import sys
import tempfile
import time

D = 128
rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
rng = random.Random(1)
vec = struct.pack(f"{D}f", *[rng.uniform(-1, 1) for _ in range(D)])

with tempfile.TemporaryDirectory() as tmp:
    con = sqlite3.connect(os.path.join(tmp, "peer.db"), isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")  # softdb syncs every commit
    con.execute("CREATE TABLE t (id INTEGER, key BLOB)")
    cur = con.cursor()

    start = time.perf_counter()
    cur.execute("BEGIN")
    for i in range(rows):
        cur.execute("INSERT INTO t VALUES (?, ?)", (i, vec))
    cur.execute("COMMIT")
    dt = time.perf_counter() - start
    print(f"BenchmarkSQLiteInsertPrepared\t{rows}\t{dt / rows * 1e9:.0f} ns/op\t{rows / dt:.0f} rows/s")

    start = time.perf_counter()
    cur.execute("BEGIN")
    for _ in range(rows):
        cur.execute("UPDATE t SET key = ? WHERE rowid = ?", (vec, rng.randrange(1, rows + 1)))
    cur.execute("COMMIT")
    dt = time.perf_counter() - start
    print(f"BenchmarkSQLiteUpdatePrepared/d=128\t{rows}\t{dt / rows * 1e9:.0f} ns/op\t{rows / dt:.0f} rows/s")
    con.close()
