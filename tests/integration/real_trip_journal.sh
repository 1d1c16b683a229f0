#!/usr/bin/env bash
# Real kernel: slabwatchd with a 1 s test config notices a real slab leak
# driven from user space (UDP sockets held open) and says so in the journal
# with the documented fields; the same objects opened and closed as fast as
# possible (churn) trip nothing.
set -u
. "$(dirname "$0")/lib/common.sh"
require_real_kernel
command -v journalctl >/dev/null || skip "journalctl is not installed"
tmp_setup
ensure_journald

cache=$(cache_of_kind udp) || fail "cannot resolve the cache UDP sockets land in"
echo "UDP sockets land in slab cache: $cache"

write_config() { # state_dir
        cat > "$TEST_TMP/slabwatch.yaml" <<YAML
interval: 1s
history: {raw: 1h, minute: 1d, hour: 7d}
paths: {state_dir: $1}
thresholds:
  - match: "*"
    reclaimable: true
    ignore: true
  - match: "*"
    window: 20s
    objects_per_min: 300
    steady_for: 8s
    for: 5s
    min_trend: 0.8
alert: {journal: true, clear: 30s}
capture: {enabled: false}
server: {socket: $TEST_TMP/slabwatch.sock}
YAML
}

# journal_trips SINCE_USEC: the SLABWATCH_CACHE of every trip since then.
journal_trips() {
        journalctl -o json --no-pager SYSLOG_IDENTIFIER=slabwatchd SLABWATCH_EVENT=trip \
                --since "@$(( $1 / 1000000 ))" 2>/dev/null | python3 -c '
import json, sys
since = int(sys.argv[1])
for line in sys.stdin:
    e = json.loads(line)
    if int(e["__REALTIME_TIMESTAMP"]) >= since:
        print(e.get("SLABWATCH_CACHE", ""))' "$1"
}

# 1. Churn: open and close UDP sockets as fast as possible for 40 s.
write_config "$TEST_TMP/state-churn"
start=$(date +%s%6N)
spawn "$SLABWATCHD" -c "$TEST_TMP/slabwatch.yaml"
daemon=$LAST_PID
spawn "$PROGS/leaker" --kind udp --mode churn --duration 40
churner=$LAST_PID
wait "$churner" || fail "churn leaker failed"
stop_pid "$daemon"
trips=$(journal_trips "$start")
echo "trips during churn: ${trips:-none}"
# Other activity on the machine may move other caches; the caches a UDP
# socket lives in must not trip.
for c in "$cache" sock_inode_cache filp; do
        echo "$trips" | grep -qx "$c" && fail "churn of UDP sockets tripped $c"
done

# 2. Leak: hold 40 new UDP sockets a second (2400/min) for up to 90 s.
write_config "$TEST_TMP/state-leak"
start=$(date +%s%6N)
spawn "$SLABWATCHD" -c "$TEST_TMP/slabwatch.yaml"
daemon=$LAST_PID
spawn "$PROGS/leaker" --kind udp --mode leak --rate 40 --count 4000 --duration 90
leaker=$LAST_PID
has_trip() { journal_trips "$start" | grep -qx "$cache"; }
wait_for 90 has_trip || fail "no trip for $cache in the journal within 90 s"
stop_pid "$leaker"
stop_pid "$daemon"

journalctl -o json --no-pager SYSLOG_IDENTIFIER=slabwatchd SLABWATCH_EVENT=trip SLABWATCH_CACHE="$cache" \
        --since "@$(( start / 1000000 ))" | tail -n 1 > "$TEST_TMP/trip.json"
python3 - "$TEST_TMP/trip.json" "$cache" <<'PY' || fail "trip entry lacks documented fields"
import json, sys
e = json.loads(open(sys.argv[1]).read())
cache = sys.argv[2]
print("journal:", e["MESSAGE"])
assert e["SYSLOG_IDENTIFIER"] == "slabwatchd"
assert e["MESSAGE_ID"] == "308cb41abe1b4dce8e095b9d16bdec4b", e["MESSAGE_ID"]
assert e["SLABWATCH_EVENT"] == "trip"
assert e["SLABWATCH_CACHE"] == cache
rate = float(e["SLABWATCH_OBJS_PER_MIN"])
assert 300 <= rate <= 10000, rate
assert float(e["SLABWATCH_BYTES_PER_HOUR"]) > 0
assert int(e["SLABWATCH_ACTIVE_OBJS"]) > 0
assert int(e["SLABWATCH_WINDOW_SEC"]) == 20
assert "SLABWATCH_VERDICT" in e
assert cache in e["MESSAGE"]
PY
echo "PASS"
