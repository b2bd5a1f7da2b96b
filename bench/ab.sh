#!/bin/sh
# Compares two revisions of softdb on the SQL benchmarks, alternating the
# two builds round by round so that both see the same host (its memory
# bandwidth moves by a third from one minute to the next), and prints the
# median of each metric per revision:
#   sh bench/ab.sh REV_A REV_B [rounds] [benchmark regexp]
# e.g. sh bench/ab.sh a718d67 b49125e 8 'SoftSelect/n=2e5|HardTop10$'
# %read (each query against a read of as many bytes right after it) is the
# figure to compare: it is paired within each run.
set -e
[ $# -ge 2 ] || { sed -n 2,9p "$0"; exit 2; }
a=$1 b=$2 rounds=${3:-8} re=${4:-'SoftSelect/n=2e5|HardTop10$'}
bt=${AB_BENCHTIME:-40x} # per round; e.g. AB_BENCHTIME=1x for COPY
repo=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'git -C "$repo" worktree remove --force "$tmp/a" 2>/dev/null; git -C "$repo" worktree remove --force "$tmp/b" 2>/dev/null; rm -rf "$tmp"' EXIT
for v in a b; do
	eval rev=\$$v
	git -C "$repo" worktree add --detach -q "$tmp/$v" "$rev"
	(cd "$tmp/$v" && go test -c -o "$tmp/$v.test" ./bench)
done
echo "# A = $a, B = $b, $rounds rounds of -bench='$re' -benchtime=$bt"
for i in $(seq "$rounds"); do
	for v in a b; do
		(cd "$repo/bench" && "$tmp/$v.test" -test.run=NONE -test.bench="$re" -test.benchtime="$bt") |
			grep '^Benchmark' | sed "s/^/$v /" >>"$tmp/out"
	done
done
# Per benchmark, metric and revision: the median over rounds.
awk '{ for (i = 4; i < NF; i += 2) if ($(i + 1) !~ /^(B|allocs)\/op$/) print $2, $(i + 1), $1, $i }' "$tmp/out" |
	sort -k1,1 -k2,2 -k3,3 -k4,4g |
	awk '{ k = $1 " " $2 " " $3; n[k]++; v[k, n[k]] = $4; if (!(k in seen)) { seen[k] = 1; keys[++nk] = k } }
	END { for (j = 1; j <= nk; j++) { k = keys[j]; m = n[k]; med = (m % 2) ? v[k, (m + 1) / 2] : (v[k, m / 2] + v[k, m / 2 + 1]) / 2
		split(k, f, " "); printf "%-40s %-14s %s  median %g  (n=%d)\n", f[1], f[2], toupper(f[3]), med, m } }'
