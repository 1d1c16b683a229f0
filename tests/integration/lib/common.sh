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
