#!/usr/bin/env bash
# Real kernel: (1) a tracefs instance of the name slabwatchd would use
# exists already (another daemon or tool tracing the cache): the capture's
# alert names the instance instead of advising a boot option; (2) SIGHUP
# with unchanged capture settings during a capture keeps it tracing (its
# instance stays), and the kernel is restored at the end.
set -u
. "$(dirname "$0")/lib/common.sh"
require_real_kernel
require_tracefs
tmp_setup

cache=$(cache_of_kind udp) || fail "cannot resolve the cache UDP sockets land in"
state=$TEST_TMP/state
write_config() { # interval
        cat > "$TEST_TMP/slabwatch.yaml" <<YAML
interval: $1
paths: {state_dir: $state}
thresholds:
  - match: "*"
    ignore: true
alert: {journal: false}
capture: {enabled: true, duration: 60s, callsites_interval: 2s, cooldown: 1h}
server: {socket: $TEST_TMP/slabwatch.sock}
YAML
}
ctl() { "$SLABWATCHCTL" --socket "$TEST_TMP/slabwatch.sock" "$@"; }
event_message() { # kind: the message of the last event of that kind
        python3 - "$state/events.log" "$1" <<'PY'
import json, sys
try:
    evs = [json.loads(l) for l in open(sys.argv[1])]
except FileNotFoundError:
    sys.exit(1)
evs = [e for e in evs if e.get("event") == sys.argv[2]]
if not evs:
    sys.exit(1)
print(evs[-1]["message"])
PY
}

# The test mounts tracefs itself when it is not (to make the instance).
mounted_here=0
if [ ! -d "$TRACEFS/events" ]; then
        mount -t tracefs nodev "$TRACEFS" || skip "cannot mount tracefs"
        mounted_here=1
        CLEANUP_HOOKS+=("[ \$mounted_here = 1 ] && umount $TRACEFS")
fi
name=slabwatch-$(printf '%s' "$cache" | tr -c 'A-Za-z0-9._-' '_')
write_config 1s
"$SLABWATCHD" -c "$TEST_TMP/slabwatch.yaml" 2> >(tee "$TEST_TMP/d.log" >&2) &
daemon=$!
TEST_PIDS+=("$daemon")
wait_for 15 test -S "$TEST_TMP/slabwatch.sock" || fail "no socket"

# 1. The instance is taken (after the start, whose recovery removes ours).
mkdir "$TRACEFS/instances/$name" || fail "cannot create $TRACEFS/instances/$name"
CLEANUP_HOOKS+=("rmdir $TRACEFS/instances/$name 2>/dev/null")
ctl arm "$cache" --duration 5s || fail "arm failed"
wait_for 20 event_message capture-failed > /dev/null || fail "no capture-failed alert"
msg=$(event_message capture-failed)
echo "alert: $msg"
case $msg in
*"instances/$name exists already"*) ;;
*) fail "the alert does not name the busy instance: $msg" ;;
esac
case $msg in *slab_debug*) fail "the alert advises a boot option for a busy instance: $msg" ;; esac
rmdir "$TRACEFS/instances/$name" || fail "cannot remove $TRACEFS/instances/$name"

# 2. SIGHUP with the same capture settings: the capture keeps tracing.
ctl arm "$cache" --duration 10m || fail "second arm failed"
wait_for 15 test -d "$TRACEFS/instances/$name" || fail "the second capture did not start tracing"
write_config 2s
kill -HUP "$daemon"
wait_for 10 grep -q "Reloaded" "$TEST_TMP/d.log" || fail "no reload"
grep -q "go on across the reload" "$TEST_TMP/d.log" || fail "the reload did not keep the capture"
sleep 1
[ -d "$TRACEFS/instances/$name" ] || fail "the reload removed the capture's instance"
ctl captures | grep -q running || fail "the capture is not running after the reload"
stop_pid "$daemon"
[ -d "$TRACEFS/instances/$name" ] && fail "instance left after SIGTERM"
if [ $mounted_here = 1 ]; then umount "$TRACEFS" && mounted_here=0; fi
assert_tracing_restored
echo "PASS"
