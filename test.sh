#!/usr/bin/env bash
# Runs softdb's test suite on a fresh machine: installs the independent
# oracles and peers listed in .ci/packages when they are missing and this
# user may install them, then vets and tests everything under -race.
set -euo pipefail
cd "$(dirname "$0")"

# The independent oracles and peers the tests use are Debian packages listed
# in .ci/packages (one per line, with why). Missing ones are installed when
# this user may; a test whose oracle is still missing skips and says why.
missing=()
while read -r pkg _; do
  case $pkg in ''|'#'*) continue ;; esac
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done < .ci/packages
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing the test oracles and peers: ${missing[*]}…"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
      || echo "could not install ${missing[*]}: the tests that need them will skip"
  else
    echo "missing ${missing[*]} (not root): the tests that need them will skip"
  fi
fi

go vet ./...
go test -race -short -count=1 ./...
# The pure-Go kernels must stay correct too: run the attention tests and the
# SQL oracle once more with the SIMD paths switched off.
SOFTDB_KERNEL=generic go test -short -count=1 ./attention .
# The race detector's shadow memory would swamp the resident-set target
# (≤ 1.3 × the raw vector bytes after a reopen and a first query): it is
# checked once without -race.
go test -short -count=1 -run='^TestOpenFirstQueryMemory$' ./bench

# Each fuzz target runs briefly on top of its committed seed corpus (the
# seeds themselves already ran as unit tests above). FUZZTIME=0 skips this.
fuzztime=${FUZZTIME:-10s}
if [ "$fuzztime" != 0 ]; then
  for target in types:FuzzParseVector query:FuzzParse formats:FuzzParseF32 formats:FuzzCSV \
                formats:FuzzJSONL formats:FuzzNPY formats:FuzzFvecs formats:FuzzParquet storage:FuzzDecodeRecord storage:FuzzDecodeIndex \
                formats:FuzzParallelCSV formats:FuzzParallelJSONL formats:FuzzVectorText server:FuzzWire server:FuzzCopyBinary; do
    pkg=${target%%:*} fn=${target##*:}
    log=$(mktemp)
    # A failing input is saved under testdata/fuzz and fails every later
    # run; a failure that saved nothing (the fuzzing engine's own hiccup on
    # a loaded host) gets one more try before it counts.
    if ! go test -run='^$' -fuzz="^${fn}\$" -fuzztime="$fuzztime" "./$pkg" >"$log" 2>&1; then
      tail -n 15 "$log"
      if [ -n "$(git status --porcelain -- "$pkg/testdata/fuzz/$fn" 2>/dev/null)" ] \
         || ! go test -run='^$' -fuzz="^${fn}\$" -fuzztime="$fuzztime" "./$pkg" >"$log" 2>&1; then
        echo "fuzzing $fn found a failure:"; tail -n 30 "$log"; go test -run="^${fn}\$" "./$pkg"; rm -f "$log"; exit 1
      fi
      echo "fuzzing $fn: the engine failed once without a failing input; the retry passed"
    fi
    rm -f "$log"
  done
  echo "fuzz targets ran $fuzztime each without a failure"
fi
