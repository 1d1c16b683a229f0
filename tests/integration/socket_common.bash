# Shared by tests/integration/socket_*.sh: a daemon on a fake root (its
# /proc, state directory and socket all under paths.root in a temporary
# directory), and helpers. Sourced, not run.

set -euo pipefail

: "${SLABWATCHD:?set SLABWATCHD to the slabwatchd binary}"
: "${SLABWATCHCTL:?set SLABWATCHCTL to the slabwatchctl binary}"
: "${FIXTURES:?set FIXTURES to tests/fixtures}"

# Short: a sockaddr_un path holds 107 bytes.
WORK=$(mktemp -d /tmp/slabwatch-sock.XXXXXX)
# Unprivileged test users must reach the socket inside.
chmod 755 "$WORK"
# Where server.socket lies under paths.root.
SOCK=$WORK/run/slabwatch/slabwatch.sock
STATE=$WORK/var/lib/slabwatch
DAEMON_PID=""
EXTRA_CLEANUP=()

cleanup() {
    local rc=$?
    for c in "${EXTRA_CLEANUP[@]}"; do
        eval "$c" || true
    done
    stop_daemon || true
    if [[ $rc -ne 0 && $rc -ne 77 && -f $WORK/daemon.log ]]; then
        echo "--- daemon log ---"
        tail -n 50 "$WORK/daemon.log"
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

skip() {
    echo "SKIP: $*"
    exit 77
}

# A /proc with this machine's recorded meminfo and slabinfo, plus a cache
# whose name needs escaping in JSON and in the metrics text.
ODD_CACHE='we"ird\cache'
make_proc_root() {
    mkdir -p "$WORK/proc" "$WORK/sys"
    cp "$FIXTURES/linux-6.18-x86_64/meminfo" "$WORK/proc/meminfo"
    write_slabinfo 0
}

# Rewrite the fake slabinfo with kmalloc-256 grown by $1 objects.
write_slabinfo() {
    local extra=$1
    awk -v extra="$extra" -v odd="$ODD_CACHE" '
        $1 == "kmalloc-256" {
            printf "kmalloc-256 %d %d 256 16 1 : tunables 0 0 0 : slabdata %d %d 0\n",
                809 + extra, 896 + extra, 56 + int(extra / 16), 56 + int(extra / 16)
            next
        }
        { print }
        END { printf "%s 10 16 256 16 1 : tunables 0 0 0 : slabdata 1 1 0\n", odd }
    ' "$FIXTURES/linux-6.18-x86_64/slabinfo" > "$WORK/proc/slabinfo.new"
    mv "$WORK/proc/slabinfo.new" "$WORK/proc/slabinfo"
}

# write_config [extra YAML appended at the top level]
write_config() {
    cat > "$WORK/slabwatch.yaml" <<YAML
interval: ${INTERVAL:-1s}
paths:
  root: $WORK
alert:
  journal: false
capture:
  enabled: false
  mount_tracefs: false
server:
  group: "${GROUP:-}"
  max_clients: ${MAX_CLIENTS:-64}
  idle_timeout: ${IDLE_TIMEOUT:-30s}
${1:-}
YAML
}

wait_for_socket() {
    local i
    for ((i = 0; i < 200; i++)); do
        [[ -S $SOCK ]] && return 0
        if [[ -n $DAEMON_PID ]] && ! kill -0 "$DAEMON_PID" 2>/dev/null; then
            fail "slabwatchd exited before its socket appeared"
        fi
        sleep 0.05
    done
    fail "no socket at $SOCK after 10 s"
}

start_daemon() {
    "$SLABWATCHD" -c "$WORK/slabwatch.yaml" > "$WORK/daemon.log" 2>&1 &
    DAEMON_PID=$!
    wait_for_socket
}

# SIGTERM, up to 10 s to finish, then SIGKILL: a hung daemon fails the
# test instead of hanging it.
stop_daemon() {
    local i
    if [[ -n $DAEMON_PID ]]; then
        kill "$DAEMON_PID" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            kill -0 "$DAEMON_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$DAEMON_PID" 2>/dev/null || true
        wait "$DAEMON_PID" 2>/dev/null || true
        DAEMON_PID=""
    fi
}

ctl() {
    "$SLABWATCHCTL" --socket "$SOCK" "$@"
}

# A field of the daemon's status, through the real client and a real JSON
# parser: status_field samples
status_field() {
    # Whole-valued numbers print without ".0", whatever their JSON type.
    ctl --json status | python3 -c '
import json, sys
v = json.load(sys.stdin)["data"][sys.argv[1]]
print(int(v) if isinstance(v, float) and v.is_integer() else v)' "$1"
}

# Wait until the daemon has taken at least $1 samples (bounded).
wait_samples() {
    local want=$1 i n
    for ((i = 0; i < 300; i++)); do
        n=$(status_field samples 2>/dev/null || echo 0)
        ((n >= want)) && return 0
        sleep 0.1
    done
    fail "fewer than $want samples after 30 s"
}

# expect_exit CODE command...: run it, demand that exit status.
expect_exit() {
    local want=$1 rc=0
    shift
    "$@" > "$WORK/out" 2> "$WORK/err" || rc=$?
    if [[ $rc -ne $want ]]; then
        echo "stdout:"; cat "$WORK/out"; echo "stderr:"; cat "$WORK/err"
        fail "'$*' exited $rc, expected $want"
    fi
}
