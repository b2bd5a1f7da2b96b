#!/bin/sh
# COPY … FROM csv, jsonl (and npy, for reference) through SQL, and DuckDB
# loading the same csv and jsonl files into an on-disk table, alternating
# round by round in one job so that both see the same host; prints every
# run, then each metric's median:
#   sh bench/copy_text.sh [rounds]
# Needs node and npm: DuckDB (@duckdb/node-api) is installed on first use
# into $SOFTDB_DUCKDB_DIR (/tmp/softdb-duckdb). The input files are kept
# in $SOFTDB_BENCH_KV_DIR (/tmp/softdb-bench-kv) and reused.
set -e
rounds=${1:-5}
repo=$(git rev-parse --show-toplevel)
duck=${SOFTDB_DUCKDB_DIR:-/tmp/softdb-duckdb}
kv=${SOFTDB_BENCH_KV_DIR:-/tmp/softdb-bench-kv}
if [ ! -d "$duck/node_modules/@duckdb/node-api" ]; then
	mkdir -p "$duck"
	(cd "$duck" && npm i --silent @duckdb/node-api@1.5.6-r.1)
fi
cp "$repo/bench/duckdb_copy.mjs" "$duck/"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$repo" && go test -c -o "$tmp/bench.test" ./bench)
echo "# $(date -u) $(git -C "$repo" rev-parse --short HEAD), load: $(cat /proc/loadavg)"
for i in $(seq "$rounds"); do
	(cd "$repo/bench" && SOFTDB_BENCH_KV_DIR=$kv "$tmp/bench.test" -test.run=NONE -test.bench=CopyKV -test.benchtime=1x) |
		grep '^Benchmark' | tee -a "$tmp/out"
	for f in csv jsonl; do
		node "$duck/duckdb_copy.mjs" "$kv/kv_200000_128.$f" 200000 128 1 | tee -a "$tmp/out"
	done
done
echo "# load after: $(cat /proc/loadavg)"
# Per benchmark and metric: the median over rounds.
awk '{ for (i = 3; i < NF; i += 2) if ($(i + 1) !~ /^(B|allocs)\/op$/) print $1, $(i + 1), $i }' "$tmp/out" |
	sort -k1,1 -k2,2 -k3,3g |
	awk '{ k = $1 " " $2; n[k]++; v[k, n[k]] = $3; if (!(k in seen)) { seen[k] = 1; keys[++nk] = k } }
	END { for (j = 1; j <= nk; j++) { k = keys[j]; m = n[k]; med = (m % 2) ? v[k, (m + 1) / 2] : (v[k, m / 2] + v[k, m / 2 + 1]) / 2
		split(k, f, " "); printf "%-44s %-12s median %g  (n=%d)\n", f[1], f[2], med, m } }'
