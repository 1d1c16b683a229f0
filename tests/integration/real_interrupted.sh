#!/usr/bin/env bash
# Real kernel: kill -9 in the middle of a capture of a real leak (UDP
# sockets held open). The capture's checkpoints (capture.checkpoint: 2s)
# are in its temporary bundle directory; the restarted daemon restores the
# kernel, finishes the last checkpoint as a bundle of status "interrupted"
# whose top stack is the leaking syscall's path, and sends the capture
# alert for it. slabwatchctl shows the status.
set -u
. "$(dirname "$0")/lib/common.sh"
require_real_kernel
require_tracefs
tmp_setup

cache=$(cache_of_kind udp) || fail "cannot resolve the cache UDP sockets land in"
echo "UDP sockets land in: $cache"
state=$TEST_TMP/state
cat > "$TEST_TMP/slabwatch.yaml" <<YAML
interval: 1s
paths: {state_dir: $state}
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
capture: {enabled: true, duration: 120s, callsites_interval: 2s, checkpoint: 2s, cooldown: 1h}
server: {socket: $TEST_TMP/slabwatch.sock}
YAML

instance_exists() { ls "$TRACEFS/instances" 2>/dev/null | grep -q '^slabwatch-'; }
capturing() { grep -q "Capturing evidence for" "$1" && instance_exists; }
# A checkpoint whose top stack holds some of the leak's objects.
checkpoint_with_leak() {
        local f
        for f in "$state"/captures/.tmp-*/report.json; do
                [ -f "$f" ] || continue
                python3 - "$f" <<'PY' && return 0
import json, sys
r = json.load(open(sys.argv[1]))
s = r.get("stacks") or []
sys.exit(0 if r.get("status") == "interrupted" and s and s[0]["outstanding"] >= 40 else 1)
PY
        done
        return 1
}

"$SLABWATCHD" ${SLABWATCHD_VERBOSE:-} -c "$TEST_TMP/slabwatch.yaml" 2> >(tee "$TEST_TMP/d1.log" >&2) &
daemon=$!
TEST_PIDS+=("$daemon")
spawn "$PROGS/leaker" --kind udp --mode leak --rate 40 --count 4000 --duration 120
leaker=$LAST_PID
wait_for 60 capturing "$TEST_TMP/d1.log" || fail "no capture started within 60 s"
wait_for 30 checkpoint_with_leak || fail "no checkpoint holding the leak within 30 s"
ls "$state"/captures/ | grep -qv '^\.tmp-' && fail "a bundle is visible before the capture ended"
kill -KILL "$daemon"
wait "$daemon" 2>/dev/null
stop_pid "$leaker"

"$SLABWATCHD" -c "$TEST_TMP/slabwatch.yaml" 2> >(tee "$TEST_TMP/d2.log" >&2) &
daemon=$!
TEST_PIDS+=("$daemon")
recovered() { [ -n "$(newest_report "$state")" ] && grep -q "stop_reason.: *.interrupted" "$state/events.log" 2>/dev/null; }
wait_for 20 recovered || fail "the restarted daemon did not finish the checkpoint"
instance_gone() { ! instance_exists; }
wait_for 15 instance_gone || fail "restarted slabwatchd did not remove the stale instance"
ls -d "$state"/captures/.tmp-* 2>/dev/null && fail "a temporary bundle directory is left"
report=$(newest_report "$state")
python3 - "$report" "$state/events.log" <<'PY' || fail "the interrupted bundle does not hold the leak"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "interrupted", r["status"]
top = r["stacks"][0]
joined = ";".join(top["frames"])
print("interrupted bundle:", r["id"], "top stack:", "; ".join(top["frames"][:10]), "outstanding", top["outstanding"])
assert "inet_create" in joined and "__sys_socket" in joined, joined
assert top["outstanding"] >= 40, top
assert r["attribution"]["traced_allocs"] >= top["allocs"], r["attribution"]
txt = open(sys.argv[1].replace("report.json", "report.txt")).read()
assert "interrupted" in txt.splitlines()[1], txt[:300]
alerts = [json.loads(l) for l in open(sys.argv[2])]
ours = [a for a in alerts if a.get("event") == "capture" and a.get("stop_reason") == "interrupted"]
assert ours and ours[-1].get("capture_id") == r["id"], ours
PY
out=$("$SLABWATCHCTL" --socket "$TEST_TMP/slabwatch.sock" captures 2>&1) || fail "slabwatchctl captures failed: $out"
echo "$out"
echo "$out" | grep -q "interrupted" || fail "slabwatchctl captures does not say interrupted"
stop_pid "$daemon"
assert_tracing_restored
echo "PASS"
