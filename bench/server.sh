#!/bin/bash
# softdb serve under pgbench (Debian postgresql-client), peers side by side
# in one job:
#   1. a SOFT SELECT blending a FLOAT over 200,000 × 128 at 1 and at 16
#      clients: tps, p50 and p99 latency;
#   2. `SELECT 1;` with 8 clients against softdb serve and against a real
#      PostgreSQL 15 (Debian postgresql-15) started here on a temporary
#      data directory, alternating round by round; medians.
#   bash bench/server.sh [seconds per run] [rounds]     (from the repository root)
# Needs: postgresql-client, postgresql-15, python3-numpy (to write the data).
# PostgreSQL runs as the user nobody when this script runs as root
# (initdb refuses root).
set -e
secs=${1:-10}
rounds=${2:-3}
pgbin=/usr/lib/postgresql/15/bin
tmp=$(mktemp -d)
chmod 755 "$tmp"
cleanup() {
	[ -n "$softpid" ] && kill "$softpid" 2>/dev/null && wait "$softpid" 2>/dev/null
	[ -d "$tmp/pg" ] && $asuser "$pgbin/pg_ctl" -D "$tmp/pg" -m immediate stop >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
asuser=""
if [ "$(id -u)" = 0 ]; then asuser="runuser -u nobody --"; fi

echo "# $(date -u) $(nproc) cores, load: $(cat /proc/loadavg)"
go build -o "$tmp/softdb" ./cmd/softdb

# The table: 200,000 keys of 128 float32 (standard normal) and a FLOAT.
/usr/bin/python3 - "$tmp" <<'EOF'
import sys, numpy as np
rng = np.random.default_rng(7)
np.save(sys.argv[1] + "/k.npy", rng.standard_normal((200000, 128), dtype=np.float32))
np.save(sys.argv[1] + "/w.npy", rng.standard_normal(200000))
q = rng.standard_normal(128).astype(np.float32)
open(sys.argv[1] + "/soft.sql", "w").write(
    "SOFT SELECT w FROM t MATCH '[" + ",".join("%.4f" % x for x in q) + "]';\n")
EOF
"$tmp/softdb" "$tmp/db" "CREATE TABLE t (key VECTOR(128), w FLOAT); COPY t (key, w) FROM '$tmp/k.npy', '$tmp/w.npy';"
echo 'SELECT 1;' >"$tmp/one.sql"

port=$((20000 + $$ % 20000))
"$tmp/softdb" serve --listen 127.0.0.1:$port --max-connections 64 "$tmp/db" >"$tmp/serve.log" 2>&1 &
softpid=$!
for _ in $(seq 50); do grep -q serving "$tmp/serve.log" 2>/dev/null && break; sleep 0.1; done

# run NAME PORT CLIENTS SCRIPT: pgbench for $secs seconds; prints tps and
# the p50/p99 of the per-transaction latencies (pgbench -l logs).
run() {
	name=$1 p=$2 c=$3 script=$4
	rm -f "$tmp"/log.*
	out=$(cd "$tmp" && pgbench -n -h 127.0.0.1 -p "$p" -U postgres -c "$c" -j "$(( c < 2 ? 1 : 2 ))" -T "$secs" \
		-f "$script" -l --log-prefix=log postgres 2>&1) || { echo "$out"; exit 1; }
	tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
	# Log lines: client, transaction, latency µs, script, epoch s, µs.
	lat=$(cat "$tmp"/log.* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {
		p50=a[int(NR*0.50)+1]; p99=a[int(NR*0.99)+1]; printf "p50 %.2f ms  p99 %.2f ms  (%d transactions)", p50/1000, p99/1000, NR }')
	printf '%-36s %3d clients  tps %9.1f  %s\n' "$name" "$c" "$tps" "$lat"
	echo "$(echo "$name" | tr ' ' _) $c $tps" >>"$tmp/results"
}

echo "## SOFT SELECT w FROM t MATCH <128 floats>, t = 200,000 × 128 (fused blend), ${secs}s per run"
for r in $(seq "$rounds"); do
	run "softdb soft-select" $port 1 "$tmp/soft.sql"
	run "softdb soft-select" $port 16 "$tmp/soft.sql"
done

# PostgreSQL 15 on a temporary data directory.
pgport=$((port + 1))
mkdir -p "$tmp/pg" "$tmp/sock"
[ -n "$asuser" ] && chown nobody "$tmp/pg" "$tmp/sock"
$asuser "$pgbin/initdb" -D "$tmp/pg" -A trust -U postgres >/dev/null
$asuser "$pgbin/pg_ctl" -D "$tmp/pg" -l "$tmp/sock/pg.log" -w \
	-o "-p $pgport -k $tmp/sock -c listen_addresses=127.0.0.1 -c max_connections=64" start >/dev/null

echo "## SELECT 1; with 8 clients, ${secs}s per run, alternating"
for r in $(seq "$rounds"); do
	run "softdb SELECT 1" $port 8 "$tmp/one.sql"
	run "postgresql-15 SELECT 1" $pgport 8 "$tmp/one.sql"
done

echo "## medians over $rounds rounds"
med() { grep "^$1 $2 " "$tmp/results" | awk '{print $NF}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
s1=$(med softdb_soft-select 1) s16=$(med softdb_soft-select 16)
o=$(med softdb_SELECT_1 8) p=$(med postgresql-15_SELECT_1 8)
echo "soft-select tps: 1 client $s1, 16 clients $s16, ratio $(echo "$s16 $s1" | awk '{printf "%.2f", $1/$2}')"
# Paired per round (softdb's run and PostgreSQL's right after it): the
# median of the per-round ratios.
pr=$(paste -d' ' <(grep '^softdb_SELECT_1 ' "$tmp/results" | awk '{print $NF}') <(grep '^postgresql-15_SELECT_1 ' "$tmp/results" | awk '{print $NF}') |
	awk '{print $1/$2}' | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}')
echo "SELECT 1 tps, 8 clients: softdb $o, postgresql-15 $p (medians); median of the per-round ratios softdb/postgresql $pr"
echo "# load after: $(cat /proc/loadavg)"
