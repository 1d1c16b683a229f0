#!/bin/bash
# FIFOs, devices and symlinks to them where slabwatch expects a regular
# file: slabinfo, the config at --check-config, on SIGHUP and on `reload`,
# and the offline inputs of slabwatchctl. Each gets a clear error within
# seconds, never a hang, and the daemon keeps sampling and answering.
source "$(dirname "$0")/socket_common.bash"

command -v mkfifo >/dev/null || skip "mkfifo is not installed"
command -v timeout >/dev/null || skip "timeout is not installed"

# within SECONDS WANT_RC command...: run it bounded; a hang is a failure.
within() {
    local secs=$1 want=$2 rc=0
    shift 2
    timeout "$secs" "$@" > "$WORK/out" 2> "$WORK/err" || rc=$?
    [[ $rc -eq 124 ]] && fail "'$*' hung (killed after ${secs}s)"
    if [[ $want == nonzero ]]; then
        [[ $rc -ne 0 ]] || fail "'$*' succeeded, expected an error"
    elif [[ $rc -ne $want ]]; then
        cat "$WORK/out" "$WORK/err"
        fail "'$*' exited $rc, expected $want"
    fi
    return 0
}

make_proc_root
INTERVAL=200ms write_config
mkfifo "$WORK/fifo"

# --- --check-config on a FIFO and on a symlink to /dev/zero.
within 10 nonzero "$SLABWATCHD" --check-config -c "$WORK/fifo"
grep -q "not a regular file" "$WORK/err" || fail "--check-config FIFO: $(cat "$WORK/err")"
ln -s /dev/zero "$WORK/zero.yaml"
within 10 nonzero "$SLABWATCHD" --check-config -c "$WORK/zero.yaml"
grep -q "not a regular file" "$WORK/err" || fail "--check-config /dev/zero: $(cat "$WORK/err")"
echo "ok: --check-config refuses a FIFO and /dev/zero: $(head -n1 "$WORK/err")"

start_daemon
wait_samples 2

# --- slabinfo becomes a FIFO, then /dev/zero, then a file again.
samples_advance() {     # samples_advance WHAT: two more samples within 10 s
    local n0 n i
    n0=$(timeout 5 "$SLABWATCHCTL" --socket "$SOCK" --json status | python3 -c '
import json, sys; print(int(json.load(sys.stdin)["data"]["samples"]))') || fail "$1: status did not answer"
    for ((i = 0; i < 50; i++)); do
        n=$(timeout 5 "$SLABWATCHCTL" --socket "$SOCK" --json status | python3 -c '
import json, sys; print(int(json.load(sys.stdin)["data"]["samples"]))') || fail "$1: status did not answer"
        ((n >= n0 + 2)) && return 0
        sleep 0.2
    done
    fail "$1: sampling stopped ($n0 -> $n)"
}
cp "$WORK/proc/slabinfo" "$WORK/slabinfo.saved"
rm "$WORK/proc/slabinfo"
mkfifo "$WORK/proc/slabinfo"
samples_advance "slabinfo FIFO"
grep -q "slabinfo.*not a regular file" "$WORK/daemon.log" || fail "no clear error for a FIFO slabinfo"
rm "$WORK/proc/slabinfo"
ln -s /dev/zero "$WORK/proc/slabinfo"
samples_advance "slabinfo -> /dev/zero"
rm "$WORK/proc/slabinfo"
cp "$WORK/slabinfo.saved" "$WORK/proc/slabinfo"
samples_advance "slabinfo restored"
for ((i = 0; i < 50; i++)); do
    grep -q "slabinfo is readable again" "$WORK/daemon.log" && break
    sleep 0.1
done
grep -q "slabinfo is readable again" "$WORK/daemon.log" || fail "slabinfo not noticed as readable again"
echo "ok: slabinfo as a FIFO and as /dev/zero: $(grep -m1 'slabinfo.*not a regular file' "$WORK/daemon.log")"

# --- The config becomes a FIFO: SIGHUP and `reload` refuse it, the old
# config stays, sampling goes on.
mv "$WORK/slabwatch.yaml" "$WORK/slabwatch.yaml.saved"
mkfifo "$WORK/slabwatch.yaml"
kill -HUP "$DAEMON_PID"
samples_advance "config FIFO on SIGHUP"
grep -q "slabwatch.yaml.*not a regular file" "$WORK/daemon.log" || fail "SIGHUP: no clear error for a FIFO config"
within 10 nonzero "$SLABWATCHCTL" --socket "$SOCK" reload
grep -q "not a regular file" "$WORK/err" "$WORK/out" || fail "reload FIFO: $(cat "$WORK/out" "$WORK/err")"
samples_advance "config FIFO on reload"
rm "$WORK/slabwatch.yaml"
mv "$WORK/slabwatch.yaml.saved" "$WORK/slabwatch.yaml"
echo "ok: SIGHUP and reload refuse a FIFO config, the daemon samples on"

# --- slabwatchctl's offline inputs.
for cmd in "diff $WORK/fifo $WORK/slabinfo.saved" "replay $WORK/fifo" "stacks $WORK/fifo" "diff /dev/zero $WORK/slabinfo.saved"; do
    # shellcheck disable=SC2086
    within 10 nonzero "$SLABWATCHCTL" $cmd
    grep -q "not a regular file" "$WORK/err" || fail "slabwatchctl $cmd: $(cat "$WORK/err")"
done
echo "ok: slabwatchctl diff, replay and stacks refuse a FIFO and /dev/zero: $(head -n1 "$WORK/err")"
kill -0 "$DAEMON_PID" || fail "daemon died"
