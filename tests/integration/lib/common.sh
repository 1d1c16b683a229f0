# Shared helpers for the integration tests (sourced, not run).
# Each test: set -u, source this, call tmp_setup; cleanup runs on every exit.

: "${SLABWATCHD:?SLABWATCHD not set (run through ctest)}"

TEST_PIDS=()
TEST_TMP=""
CLEANUP_HOOKS=()

skip() {
        echo "SKIP: $*"
        exit 77
}

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

tmp_setup() {
        TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/slabwatch-it.XXXXXX")
}

# Start a background process and remember its PID for cleanup.
spawn() {
        "$@" &
        TEST_PIDS+=($!)
        LAST_PID=$!
}

# Stop a process we started: TERM, wait up to 10 s, then KILL.
stop_pid() {
        local pid=$1 i
        kill -0 "$pid" 2>/dev/null || return 0
        kill -TERM "$pid" 2>/dev/null
        for i in $(seq 100); do
                kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
                sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        return 0
}

cleanup() {
        local pid hook
        for hook in "${CLEANUP_HOOKS[@]}"; do eval "$hook"; done
        for pid in "${TEST_PIDS[@]}"; do stop_pid "$pid"; done
        [ -n "$TEST_TMP" ] && rm -rf "$TEST_TMP"
}
trap cleanup EXIT

# wait_for SECONDS COMMAND...: poll every 0.2 s until COMMAND succeeds.
wait_for() {
        local deadline=$(( $(date +%s) + $1 )); shift
        while [ "$(date +%s)" -lt "$deadline" ]; do
                "$@" && return 0
                sleep 0.2
        done
        return 1
}

# json_events FILE KIND: print the cache of every event of KIND in an events log.
json_events() {
        python3 - "$1" "$2" <<'PY'
import json, sys
path, kind = sys.argv[1], sys.argv[2]
try:
    for line in open(path):
        ev = json.loads(line)
        if ev.get("event") == kind:
            print(ev.get("cache", ""))
except FileNotFoundError:
    pass
PY
}

# Real-kernel tests: skip (exit 77) unless root with a readable slabinfo.
require_real_kernel() {
        [ "$(id -u)" -eq 0 ] || skip "needs root (reads /proc/slabinfo, mode 0400)"
        [ -r /proc/slabinfo ] || skip "/proc/slabinfo is not readable on this kernel"
        [ -d /sys/kernel/slab ] || skip "no SLUB sysfs (/sys/kernel/slab)"
        command -v python3 >/dev/null || skip "python3 is not installed"
}

# Make sure a journald is listening; start one by hand if none runs (PID 1
# is not always systemd) and stop it at the end. Sets JOURNAL_STARTED_PID.
ensure_journald() {
        JOURNAL_STARTED_PID=""
        if [ -S /run/systemd/journal/socket ] && journal_alive; then
                return 0
        fi
        local j
        for j in /lib/systemd/systemd-journald /usr/lib/systemd/systemd-journald; do
                [ -x "$j" ] && break
        done
        [ -x "$j" ] || skip "no systemd-journald to start"
        spawn "$j"
        JOURNAL_STARTED_PID=$LAST_PID
        wait_for 10 journal_alive || skip "systemd-journald did not come up"
}

# journald answers if a message we send shows up.
journal_alive() {
        local tag="slabwatch-probe-$$-$RANDOM"
        echo ping | systemd-cat -t "$tag" 2>/dev/null || return 1
        local i
        for i in $(seq 10); do
                journalctl -q -o cat -t "$tag" 2>/dev/null | grep -q ping && return 0
                sleep 0.1
        done
        return 1
}

# The cache a leaker kind lands in, as /proc/slabinfo names it (SLUB merges).
cache_of_kind() {
        "$PROGS/leaker" --kind "$1" --print-cache
}

TRACEFS=/sys/kernel/tracing

# Real-kernel capture tests: tracefs must be there or mountable.
require_tracefs() {
        if [ ! -d "$TRACEFS/events" ]; then
                grep -qw tracefs /proc/filesystems || skip "kernel has no tracefs"
        fi
        TRACEFS_WAS_MOUNTED=0
        [ -d "$TRACEFS/events" ] && TRACEFS_WAS_MOUNTED=1
        TRACING_ON_BEFORE=$(cat "$TRACEFS/tracing_on" 2>/dev/null || echo "")
        SET_EVENT_BEFORE=$(cat "$TRACEFS/set_event" 2>/dev/null || echo "")
        CLEANUP_HOOKS+=("remove_our_instances")
}

# Remove instances a failed test left behind (the daemon should have).
remove_our_instances() {
        local d
        for d in "$TRACEFS"/instances/slabwatch-*; do
                [ -d "$d" ] || continue
                echo 0 > "$d/events/enable" 2>/dev/null
                rmdir "$d" 2>/dev/null
        done
}

# The kernel's tracing state is as it was before the test.
assert_tracing_restored() {
        local left
        left=$(ls "$TRACEFS/instances" 2>/dev/null | grep '^slabwatch-' || true)
        [ -z "$left" ] || fail "tracefs instances left behind: $left"
        if [ "$TRACEFS_WAS_MOUNTED" = 1 ]; then
                [ "$(cat "$TRACEFS/set_event")" = "$SET_EVENT_BEFORE" ] || fail "top-level set_event changed"
                [ "$(cat "$TRACEFS/tracing_on")" = "$TRACING_ON_BEFORE" ] || fail "tracing_on changed"
        else
                [ ! -d "$TRACEFS/events" ] || fail "tracefs was not mounted before, but is now"
        fi
}

# The newest capture bundle's report.json under STATE_DIR, or "".
newest_report() {
        ls -t "$1"/captures/*/report.json 2>/dev/null | head -n 1
}
