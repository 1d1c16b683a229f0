#!/bin/bash
# A fake slabinfo with 20,000 caches (1.3 MB): the daemon's memory stays
# within its stated bound (ENGINE_HISTORY_BYTES_MAX, 128 MiB, for the
# history of every cache, plus the parse buffers), it says how many caches
# it does not track, and keeps sampling. Back to a normal slabinfo, it says
# every cache is tracked again; a reload to shorter spans gives memory back.
source "$(dirname "$0")/socket_common.bash"

BOUND_KIB=$(( (128 + 64) * 1024 ))   # history bound + parse buffers, code and libraries

# Under AddressSanitizer, RSS holds shadow memory and the quarantine of
# freed blocks: the figures are printed, the bound is checked by the plain
# build's run of this test.
SANITIZED=0
ldd "$SLABWATCHD" 2>/dev/null | grep -q libasan && SANITIZED=1

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$DAEMON_PID/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$DAEMON_PID/status"; }

make_proc_root
cp "$WORK/proc/slabinfo" "$WORK/slabinfo.normal"
{
    head -n 2 "$WORK/slabinfo.normal"
    awk 'BEGIN { for (i = 0; i < 20000; i++)
        printf "fake-cache-%05d %d %d 64 64 1 : tunables 0 0 0 : slabdata 1407 1407 0\n", i, 70000 + i, 90000 }'
} > "$WORK/proc/slabinfo"
INTERVAL=1s write_config
start_daemon
wait_samples 4

rss=$(rss_kib)
hwm=$(hwm_kib)
echo "20,000 caches: RSS ${rss} KiB, peak ${hwm} KiB (bound ${BOUND_KIB} KiB)"
if ((SANITIZED)); then
    echo "(AddressSanitizer build: RSS bound not checked)"
else
    ((hwm < BOUND_KIB)) || fail "peak RSS ${hwm} KiB over the bound of ${BOUND_KIB} KiB"
fi
grep -q "caches of slabinfo are not tracked: the history of all caches is bounded to 128 MiB" "$WORK/daemon.log" ||
    fail "no word about the caches left untracked"
grep -q "further ones are suppressed" "$WORK/daemon.log" || fail "no word that malformed-line reports are suppressed"

# Back to this machine's slabinfo, and spans of a tenth: memory goes back.
cp "$WORK/slabinfo.normal" "$WORK/proc/slabinfo"
wait_samples 6
for ((i = 0; i < 50; i++)); do
    grep -q "Every cache of slabinfo is tracked again" "$WORK/daemon.log" && break
    sleep 0.1
done
grep -q "Every cache of slabinfo is tracked again" "$WORK/daemon.log" || fail "untracked caches not cleared"
INTERVAL=1s write_config "history: {raw: 5m, minute: 12h, hour: 2d}"
kill -HUP "$DAEMON_PID"
n=$(status_field samples)
wait_samples $((n + 3))
after=$(rss_kib)
echo "after the reload to shorter spans: RSS ${after} KiB"
((SANITIZED || after < rss / 2)) || fail "RSS ${after} KiB not given back (was ${rss} KiB)"
kill -0 "$DAEMON_PID" || fail "daemon died"
