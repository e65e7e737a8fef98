#!/usr/bin/env bash
# Release-mode load run: the all-in-one shard on CPU 0, N bots on CPU 1, for D seconds, on
# loopback. Then (if ../shared/baseline/lightyear-bare exists) bare lightyear's run C on the
# same machine, right after, as the peer baseline. Writes benches/runs/*.json and prints a
# summary. Usage: bash benches/load.sh [BOTS] [SECONDS] [SCENARIO]
# Env: SKIP_BUILD=1 uses the existing release binaries; SKIP_BASELINE=1 skips the peer run;
# FARM_PLOTS=N starts every farm with N plots (a copy of assets/data, shard and bots alike;
# at most 48 with the shipped expansions); RELOAD_EVERY=S edits the shard's copy of the content
# every S seconds from 20 s in (a comment appended to economy.ron: a new version, validated
# and swapped in; the summary reports the frames that applied them, for P9).
set -euo pipefail
cd "$(dirname "$0")/.."
BOTS=${1:-200}
DUR=${2:-60}
SCENARIO=${3:-farming}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/harvest-target}"
REL="$CARGO_TARGET_DIR/release"
RUNS=benches/runs
mkdir -p "$RUNS"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
NAME="load-$SCENARIO-${BOTS}x${DUR}s${FARM_PLOTS:+-plots$FARM_PLOTS}${RELOAD_EVERY:+-reload}-$STAMP"

if [ -z "${SKIP_BUILD:-}" ]; then
  echo "== building (release)"
  cargo build --release -p harvest_server
  cargo build --release -p harvest_client --no-default-features --bin harvest-bots
fi

DATA=$(mktemp -d)
CONTENT=assets/data
if [ -n "${FARM_PLOTS:-}${RELOAD_EVERY:-}" ]; then
  CONTENT="$DATA/content"
  mkdir -p "$CONTENT" && cp assets/data/*.ron "$CONTENT/"
  if [ -n "${FARM_PLOTS:-}" ]; then
    sed -i -E "s/(id: \"meadow\".*farm_plots: )[0-9]+/\1$FARM_PLOTS/" "$CONTENT/zones.ron"
    grep -q "farm_plots: $FARM_PLOTS" "$CONTENT/zones.ron" || { echo "could not set FARM_PLOTS"; exit 1; }
  fi
fi
HTTP=127.0.0.1:18080
UDP=127.0.0.1:15000
echo "== shard (CPU 0), data in $DATA"
# Every bot logs in from 127.0.0.1: lift the per-IP limits for the run.
HARVEST_LOGIN_PER_IP_PER_MINUTE=1000000 HARVEST_REGISTER_PER_IP_PER_MINUTE=1000000 \
HARVEST_PLAY_PER_IP_PER_MINUTE=1000000 HARVEST_READS_PER_IP_PER_MINUTE=1000000 HARVEST_LOG_FORMAT=json \
  timeout $((DUR + 60)) taskset -c 0 "$REL/harvest-server" --http-bind $HTTP --udp-bind $UDP --data-dir "$DATA" --content-dir "$CONTENT" \
  > "$RUNS/$NAME.server.out" 2> "$RUNS/$NAME.server.log" &
SPID=$!
for _ in $(seq 1 100); do grep -q "shard   (UDP)" "$RUNS/$NAME.server.out" 2>/dev/null && break; sleep 0.1; done

if [ -n "${RELOAD_EVERY:-}" ]; then
  ( sleep 20; i=0; while sleep "$RELOAD_EVERY"; do i=$((i + 1)); echo "// load-run edit $i" >> "$CONTENT/economy.ron"; done ) &
  RPID=$!
fi
echo "== $BOTS bots for ${DUR}s (CPU 1)"
timeout $((DUR + 60)) taskset -c 1 "$REL/harvest-bots" --sidecar-url "http://$HTTP" --bots "$BOTS" --duration "$DUR" \
  --scenario "$SCENARIO" --report "$RUNS/$NAME.bots.json" --user-prefix "load$STAMP" --password bot-password \
  --content-dir "$CONTENT" > /dev/null
[ -n "${RPID:-}" ] && kill "$RPID" 2>/dev/null || true

echo "== stopping the shard (SIGTERM)"
kill -TERM $SPID
set +e; wait $SPID; RC=$?; set -e
echo "shard exit code: $RC" | tee "$RUNS/$NAME.exit"
rm -rf "$DATA"

BASE=""
if [ -z "${SKIP_BASELINE:-}" ] && [ -d ../shared/baseline/lightyear-bare ]; then
  echo "== baseline: bare lightyear run C (1000 entities / 100 moving, 200 clients)"
  B=$(mktemp -d)
  cp -r ../shared/baseline/lightyear-bare/. "$B/" && chmod -R u+w "$B"
  (cd "$B" && CARGO_TARGET_DIR="$CARGO_TARGET_DIR/lightyear-bare" cargo build --release -q \
     && CARGO_TARGET_DIR="$CARGO_TARGET_DIR/lightyear-bare" ./run.sh C "k=1000 move=0.1 expect=200 warmup=5 dur=30 wait=20" "m=200 t=1 hz=30 dur=58" > /dev/null 2>&1 || true)
  if [ -f "$B/runs/C.json" ]; then
    (cd "$B" && python3 summarize.py C) > "$RUNS/$NAME.baseline-C.txt" || true
    cp "$B/runs/C.json" "$RUNS/$NAME.baseline-C.json"
    BASE="$RUNS/$NAME.baseline-C.json"
  fi
  rm -rf "$B"
fi

python3 benches/summarize_load.py "$RUNS/$NAME" "$BASE" | tee "$RUNS/$NAME.summary.json"
