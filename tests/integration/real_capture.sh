#!/usr/bin/env bash
# Real kernel, end to end: a process leaks UDP sockets at a steady rate while
# another creates and frees them as fast as it can (through socketpair(2), so
# its stack differs). slabwatchd trips on the
# cache, traces it, and the first stack of report.json is the leaking
# syscall's path; the churn's stack ranks below with ~0 outstanding. Then
# kill -TERM and kill -9 mid-capture: the kernel is restored (after a restart
# for -9).
set -u
. "$(dirname "$0")/lib/common.sh"
require_real_kernel
require_tracefs
tmp_setup

cache=$(cache_of_kind udp) || fail "cannot resolve the cache UDP sockets land in"
echo "UDP sockets land in: $cache"

write_config() { # state_dir capture_duration
        cat > "$TEST_TMP/slabwatch.yaml" <<YAML
interval: 1s
paths: {state_dir: $1}
thresholds:
  - match: "*"
    reclaimable: true
    ignore: true
  - match: "$cache"
    window: 12s
    objects_per_min: 300
    steady_for: 6s
    for: 2s
    min_trend: 0.7
  - match: "*"
    ignore: true
alert: {journal: false}
capture: {enabled: true, duration: $2, callsites_interval: 2s, cooldown: 1h}
server: {socket: $TEST_TMP/slabwatch.sock}
YAML
}

instance_exists() { ls "$TRACEFS/instances" 2>/dev/null | grep -q '^slabwatch-'; }
# Our daemon has started tracing (its log says so, and the instance is there).
capturing() { grep -q "Capturing evidence for" "$1" && instance_exists; }
capture_event() { grep -q '"event":"capture' "$1/events.log" 2>/dev/null; }

# 1. Leak + churn on the same cache, a 10 s capture.
state=$TEST_TMP/state1
write_config "$state" 10s
spawn_daemon() { # log
        "$SLABWATCHD" -c "$TEST_TMP/slabwatch.yaml" 2> >(tee "$1" >&2) &
        daemon=$!
        TEST_PIDS+=("$daemon")
}
spawn_daemon "$TEST_TMP/d1.log"
spawn "$PROGS/leaker" --kind udp --mode churn --alt --duration 120
churner=$LAST_PID
spawn "$PROGS/leaker" --kind udp --mode leak --rate 40 --count 4000 --duration 120
leaker=$LAST_PID
wait_for 60 capturing "$TEST_TMP/d1.log" || fail "no capture started within 60 s"
wait_for 60 capture_event "$state" || fail "capture did not finish within 60 s"
stop_pid "$leaker"
stop_pid "$churner"
stop_pid "$daemon"
assert_tracing_restored
report=$(newest_report "$state")
[ -n "$report" ] || fail "no report.json in $state/captures"
python3 - "$report" "$cache" <<'PY' || fail "report.json does not put the leak first"
import json, sys
r = json.load(open(sys.argv[1]))
stacks = r["stacks"]
assert stacks, "no stacks"
top = stacks[0]
frames = top["frames"]
print("top stack:", "; ".join(frames[:12]), "outstanding", top["outstanding"])
print("lost events:", r.get("lost_events"))
joined = ";".join(frames)
assert "inet_create" in joined and "__sock_create" in joined and "__sys_socket" in joined, joined
assert top["outstanding"] >= 100, top
outs = [s["outstanding"] for s in stacks]
assert outs == sorted(outs, reverse=True), "not sorted by outstanding"
# The churn's stack (allocated and freed) ranks below, netting ~0.
churn = [s for s in stacks[1:] if s["allocs"] >= 1000]
assert churn, "no churn stack found"
assert all(s["outstanding"] <= max(50, s["allocs"] // 100) for s in churn), churn[:3]
PY

# The bundle's raw.trace, re-paired offline, gives the same stacks.
raw="$(dirname "$report")/raw.trace"
[ -s "$raw" ] || fail "no raw.trace in the bundle"
python3 - "$report" <<'PY' || fail "report.json has no overhead, or not the allocations-only stack mode"
import json, sys
o = json.load(open(sys.argv[1]))["overhead"]
print("overhead:", o)
assert o["stacks"].startswith("allocations only"), o
assert 0 < o["stacks_recorded"] <= o["events"], o
PY
"$SLABWATCHCTL" stacks --json "$raw" > "$TEST_TMP/raw.json" || fail "slabwatchctl stacks raw.trace failed"
python3 - "$TEST_TMP/raw.json" "$report" <<'PY' || fail "raw.trace re-paired differs from report.json"
import json, sys
got, want = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
keys = ("frames", "outstanding", "allocs", "frees")
g = [{k: s[k] for k in keys} for s in got["stacks"]]
w = [{k: s[k] for k in keys} for s in want["stacks"]]
if got.get("truncated"):
    print("raw.trace was cut at capture.raw_trace_max: comparing the top stack's frames only")
    assert g[0]["frames"] == w[0]["frames"]
else:
    assert g == w, (g[:2], w[:2])
print("raw.trace re-paired: %d stacks, as report.json" % len(g))
PY

# 2. kill -TERM mid-capture: the daemon restores the kernel before it exits.
state=$TEST_TMP/state2
write_config "$state" 120s
spawn_daemon "$TEST_TMP/d2.log"
spawn "$PROGS/leaker" --kind udp --mode leak --rate 40 --count 4000 --duration 120
leaker=$LAST_PID
wait_for 60 capturing "$TEST_TMP/d2.log" || fail "no capture started within 60 s (TERM case)"
sleep 2
kill -TERM "$daemon"
wait "$daemon"
rc=$?
[ $rc -eq 0 ] || fail "slabwatchd exited with $rc on SIGTERM"
assert_tracing_restored
[ -n "$(newest_report "$state")" ] || fail "what was captured before SIGTERM was not written"
stop_pid "$leaker"

# 3. kill -9 mid-capture, then a restart: the new daemon removes what the
# old one left.
state=$TEST_TMP/state3
write_config "$state" 120s
spawn_daemon "$TEST_TMP/d3.log"
spawn "$PROGS/leaker" --kind udp --mode leak --rate 40 --count 4000 --duration 120
leaker=$LAST_PID
wait_for 60 capturing "$TEST_TMP/d3.log" || fail "no capture started within 60 s (KILL case)"
kill -KILL "$daemon"
wait "$daemon" 2>/dev/null
stop_pid "$leaker"
instance_exists || echo "note: the instance vanished with the process"
spawn "$SLABWATCHD" -c "$TEST_TMP/slabwatch.yaml"
daemon=$LAST_PID
instance_gone() { ! instance_exists; }
wait_for 15 instance_gone || fail "restarted slabwatchd did not remove the stale instance"
stop_pid "$daemon"
assert_tracing_restored
echo "PASS"
