#!/usr/bin/env bash
# Release-mode handoff run (P8): the sidecar on PostgreSQL with NATS, two shards hosting
# different zones (zone-a: meadow and arena; zone-b: riverside), and N `travel` bots that farm
# and travel between meadow and riverside every few seconds, for D seconds, on loopback. Each
# journey is a handoff: save + release on one shard, ticket, reconnect, load on the other.
# Writes benches/runs/zones-*.{bots.json,summary.json,*.log} and prints the summary:
# the bots' handoff p50/p99 (travel request → state from the new shard), the shards' own
# start→ticket histogram from /metrics, and the audit of every holding against its ledger.
# Usage: bash benches/zones.sh [BOTS] [SECONDS]
# Env: SKIP_BUILD=1 uses the existing release binaries; DATABASE_URL (default: a fresh
# database on postgres://postgres@127.0.0.1:5432); NATS_URL (default nats://127.0.0.1:4222);
# BOT_HZ, the bots' frame rate (default 60, a windowed client's display rate: each frame a
# client waits for is part of the measured journey).
set -euo pipefail
cd "$(dirname "$0")/.."
BOTS=${1:-40}
DUR=${2:-60}
BOT_HZ=${BOT_HZ:-60}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/harvest-target}"
REL="$CARGO_TARGET_DIR/release"
RUNS=benches/runs
mkdir -p "$RUNS"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
NAME="zones-travel-${BOTS}x${DUR}s-${BOT_HZ}hz-$STAMP"
NATS_URL=${NATS_URL:-nats://127.0.0.1:4222}

if [ -z "${SKIP_BUILD:-}" ]; then
  echo "== building (release)"
  cargo build --release -p harvest_server -p harvest_sidecar
  cargo build --release -p harvest_client --no-default-features --bin harvest-bots
fi
if [ -z "${DATABASE_URL:-}" ]; then
  DB="harvest_zones_$STAMP"
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE \"${DB,,}\"" 
  DATABASE_URL="postgres://postgres@127.0.0.1:5432/${DB,,}"
fi
DATA=$(mktemp -d)
export HARVEST_NETCODE_KEY=$(openssl rand -hex 32) HARVEST_SERVICE_SECRET=$(openssl rand -hex 32)
export HARVEST_JWT_SECRET=$(openssl rand -hex 32) HARVEST_LOG_FORMAT=json HARVEST_NATS_URL=$NATS_URL
HTTP=127.0.0.1:18080; INTERNAL=127.0.0.1:18081
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT

echo "== sidecar (PostgreSQL, NATS)"
# Every bot logs in from 127.0.0.1: lift the per-IP limits for the run.
HARVEST_LOGIN_PER_IP_PER_MINUTE=1000000 HARVEST_REGISTER_PER_IP_PER_MINUTE=1000000 \
HARVEST_PLAY_PER_IP_PER_MINUTE=1000000 HARVEST_READS_PER_IP_PER_MINUTE=1000000 \
  "$REL/harvest-sidecar" --bind $HTTP --internal-bind $INTERNAL --database-url "$DATABASE_URL" \
  --data-dir "$DATA" 2> "$RUNS/$NAME.sidecar.log" &
pids+=($!)
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/18080) 2>/dev/null && break; sleep 0.1; done
echo "== shards zone-a (meadow, arena) and zone-b (riverside)"
"$REL/harvest-server" --sidecar-url "http://$INTERNAL" --shard-id zone-a --zones meadow,arena \
  --udp-bind 127.0.0.1:15000 --admin-bind 127.0.0.1:19090 --data-dir "$DATA" 2> "$RUNS/$NAME.zone-a.log" > /dev/null &
pids+=($!)
"$REL/harvest-server" --sidecar-url "http://$INTERNAL" --shard-id zone-b --zones riverside \
  --udp-bind 127.0.0.1:15001 --admin-bind 127.0.0.1:19091 --data-dir "$DATA" 2> "$RUNS/$NAME.zone-b.log" > /dev/null &
pids+=($!)
for port in 19090 19091; do
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break; sleep 0.2; done
done
sleep 3  # both heartbeats have taken their zones
echo "== $BOTS travel bots at ${BOT_HZ} Hz for ${DUR}s"
"$REL/harvest-bots" --sidecar-url "http://$HTTP" --bots "$BOTS" --duration "$DUR" --scenario travel --hz "$BOT_HZ" \
  --report "$RUNS/$NAME.bots.json" --user-prefix "zones$STAMP" --password bot-password > /dev/null
curl -sf http://127.0.0.1:19090/metrics > "$RUNS/$NAME.zone-a.metrics"
curl -sf http://127.0.0.1:19091/metrics > "$RUNS/$NAME.zone-b.metrics"
echo "== draining the shards (SIGTERM), then the audit"
for p in "${pids[@]:1}"; do kill -TERM "$p"; done
for p in "${pids[@]:1}"; do wait "$p" || echo "a shard exited $?"; done
"$REL/harvest-sidecar" audit --database-url "$DATABASE_URL" --json > "$RUNS/$NAME.audit.json" && AUDIT=clean || AUDIT=FAILED
python3 - "$RUNS/$NAME" "$AUDIT" "$BOT_HZ" <<'PY' | tee "$RUNS/$NAME.summary.json"
import json, re, sys
base, audit, bot_hz = sys.argv[1], sys.argv[2], int(sys.argv[3])
bots = json.load(open(base + ".bots.json"))
def hist(path):
    # harvest_shard_handoff_seconds histogram → (count, p50, p99) from its buckets
    b = []
    for line in open(path):
        m = re.match(r'harvest_shard_handoff_seconds_bucket\{le="([^"]+)"\} (\d+)', line)
        if m: b.append((float(m.group(1)) if m.group(1) != "+Inf" else float("inf"), int(m.group(2))))
    n = b[-1][1] if b else 0
    q = lambda p: next((le for le, c in b if c >= p * n), None) if n else None
    ahead = next((int(float(l.split()[-1])) for l in open(path)
                  if l.startswith("harvest_shard_players_loaded_ahead_total")), None)
    return {"handoffs": n, "ticket_s_p50_le": q(0.5), "ticket_s_p99_le": q(0.99),
            "players_loaded_ahead": ahead}
print(json.dumps({
    "bots": bots["bots"], "bot_hz": bot_hz, "ever_connected": bots["ever_connected"], "duration_s": bots["duration_s"],
    "handoffs": bots["handoffs"], "handoff_ms_p50": bots["handoff_ms_p50"], "handoff_ms_p99": bots["handoff_ms_p99"],
    "room_changes": bots["room_changes"], "reconnects": bots["reconnects"],
    "actions_accepted": bots["actions_accepted"], "actions_rejected": bots["actions_rejected"],
    "errors": bots["errors"][:5],
    "shard_a": hist(base + ".zone-a.metrics"), "shard_b": hist(base + ".zone-b.metrics"),
    "audit": audit,
}, indent=2))
PY
