#!/bin/sh
# softdb through SQL and its peers on the same shapes, in one job so the
# ratios are fair on a shared host:  sh bench/run.sh [count]
# Needs python3-numpy, libopenblas0-pthread and python3-faiss (Debian).
# SOFTDB_BENCH_MNIST=1 adds the MNIST-size L2 batch (minutes).
set -e
count=${1:-10}
echo "# $(date -u) load: $(cat /proc/loadavg 2>/dev/null)"
# The read-bandwidth reference (one goroutine, and one per core).
go test -run=NONE -bench=MemRead -benchtime="${count}x" -count=1 ./attention | grep -E "^Benchmark"
go test -run=NONE -bench="Soft|Hard" -benchtime="${count}x" -count=1 -timeout=60m ./bench | grep -E "^(Benchmark|ok|FAIL)"
# Reopening a 10⁶-row table and its first query, in fresh processes.
go test -run=NONE -bench=OpenFirstQuery -benchtime=3x -count=1 -timeout=30m ./bench | grep -E "^(Benchmark|ok|FAIL)"
mnist=""
[ -n "$SOFTDB_BENCH_MNIST" ] && mnist=--mnist
OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/sql_peer.py --reps "$count" $mnist
echo "# load after: $(cat /proc/loadavg 2>/dev/null)"
