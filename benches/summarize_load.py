#!/usr/bin/env python3
"""Join a load run's bot report with the shard's `tick stats` log lines (and the baseline's
result, when given) into one JSON summary: P1, P2 and P4 figures and ratios."""
import json, sys

prefix, base = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "")
bots = json.load(open(prefix + ".bots.json"))
stats, reloads = [], []
for line in open(prefix + ".server.log"):
    try:
        ev = json.loads(line)
    except ValueError:
        continue
    fields = ev.get("fields", ev)
    if fields.get("message") == "tick stats":
        stats.append(fields)
    elif fields.get("message") == "content reloaded":
        reloads.append(fields)
# Steady state: windows with (nearly) every bot connected, minus the first (login storm)
# and the last (bots leaving) of them.
full = [s for s in stats if s.get("players", 0) >= 0.95 * bots["bots"]] or stats
steady = full[1:-1] or full
out = {
    "ccu": bots["connected"],
    "shard_tick_p50_ms": max((s["tick_p50_ms"] for s in steady), default=None),
    "shard_tick_p99_ms": max((s["tick_p99_ms"] for s in steady), default=None),
    "shard_tick_max_ms": max((s["tick_max_ms"] for s in steady), default=None),
    "shard_cpu_percent": sum(s["cpu_percent"] for s in steady) / max(len(steady), 1),
    "shard_rss_mb": max((s["rss_mb"] for s in steady), default=None),
    "stats_windows": len(steady),
    # P9: content swapped in during the run, how long each waited (validated) for its frame
    # boundary, and the longest frame that applied one, against the 50 ms tick.
    "content_reloads": len(reloads),
    "content_reload_wait_max_ms": max((r.get("waited_ms", 0) for r in reloads), default=None),
    "content_reload_tick_max_ms": max((s.get("reload_tick_max_ms", 0) for s in stats), default=None),
    # Duels (the `duel` scenario): live at once in the steady windows, recorded over the run,
    # and what each duelist was sent (every bot is a duelist). P2 for duels: <= 1 KB/s.
    "duels_live_max": max((s.get("duels_live", 0) for s in steady), default=None),
    "duels_recorded": max((s.get("duels_recorded", 0) for s in stats), default=None),
    "duels_completed": bots.get("duels_completed"),
    "duel_actions_rejected": bots.get("duel_actions_rejected"),
    "bytes_per_duelist_per_s": bots.get("bytes_in_per_client_per_s") if bots.get("scenario") == "duel" else None,
    "bots": bots,
}
if base:
    b = json.load(open(base))
    tick = b.get("tick_ms", {})
    out["baseline_C"] = {
        "clients": b.get("connected_at_start"),
        "server_cpu_percent": b.get("cpu_pct"),
        "tick_p50_ms": tick.get("p50"),
        "tick_p99_ms": tick.get("p99"),
        "tick_max_ms": tick.get("max"),
        "rss_mb": b.get("rss_mb"),
        "bytes_per_entity_update": b.get("bytes_per_entity_update"),
        "per_client": b.get("per_client"),
    }
    if b.get("cpu_pct"):
        out["cpu_ratio_vs_baseline_C"] = out["shard_cpu_percent"] / b["cpu_pct"]
    if tick.get("p99"):
        out["tick_p99_ratio_vs_baseline_C"] = (out["shard_tick_p99_ms"] or 0) / tick["p99"]
print(json.dumps(out, indent=2))
