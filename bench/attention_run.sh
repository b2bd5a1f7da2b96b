#!/bin/sh
# Runs attention's Go benchmarks and their numpy/FAISS peers in one job, so
# that the ratios are fair on a shared host; prints medians.
#   sh bench/attention_run.sh [count]      (from the repository root)
# Needs: python3-numpy, libopenblas0-pthread, python3-faiss (Debian), and
# benchstat (go install golang.org/x/perf/cmd/benchstat@latest) for the
# summary.
set -e
count=${1:-5}
out=${TMPDIR:-/tmp}/attention-bench.$$
mkdir -p "$out"
echo "# $(date -u) load: $(cat /proc/loadavg 2>/dev/null) kernel: ${SOFTDB_KERNEL:-auto}"
go test -run=NONE -bench=. -count="$count" -timeout=60m ./attention | tee "$out/go.txt" | grep -E "^(Benchmark|ok|FAIL)" | cut -c1-160
OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/attention_peer.py --reps "$count" | tee "$out/peer.txt"
echo "# load after: $(cat /proc/loadavg 2>/dev/null)"
if command -v benchstat >/dev/null 2>&1; then
	benchstat "$out/go.txt"
else
	grep '^Benchmark' "$out/go.txt"
fi
echo "# raw results in $out"
