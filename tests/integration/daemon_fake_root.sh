#!/usr/bin/env bash
# slabwatchd against a fake /proc + /sys tree whose slabinfo this test rewrites:
# one cache leaks (a staircase of whole slabs), one churns (sawtooth), one
# jumps once (a burst), one is steady. Only the leaking cache may trip, and it
# must clear once it stops growing. No root needed.
set -u
. "$(dirname "$0")/lib/common.sh"
tmp_setup
root=$TEST_TMP
state=$root/var/lib/slabwatch   # paths.state_dir under paths.root
mkdir -p "$root/proc" "$root/sys/kernel/slab"
for c in leaky_cache churn_cache burst_cache steady_cache; do
        mkdir -p "$root/sys/kernel/slab/$c"
        echo 0 > "$root/sys/kernel/slab/$c/reclaim_account"
done
cp "$FIXTURES/linux-6.18-x86_64/meminfo" "$root/proc/meminfo"

write_slabinfo() { # step leak_objs churn_objs burst_objs
        local f=$root/proc/slabinfo.tmp
        {
                echo "slabinfo - version: 2.1"
                echo "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>"
                printf 'leaky_cache %d %d 256 64 4 : tunables 0 0 0 : slabdata %d %d 0\n' "$1" "$1" $(($1 / 64)) $(($1 / 64))
                printf 'churn_cache %d %d 512 32 4 : tunables 0 0 0 : slabdata %d %d 0\n' "$2" "$2" $(($2 / 32)) $(($2 / 32))
                printf 'burst_cache %d %d 128 32 1 : tunables 0 0 0 : slabdata %d %d 0\n' "$3" "$3" $(($3 / 32)) $(($3 / 32))
                printf 'steady_cache 4096 4096 64 64 1 : tunables 0 0 0 : slabdata 64 64 0\n'
        } > "$f"
        mv "$f" "$root/proc/slabinfo"
}

cat > "$root/slabwatch.yaml" <<YAML
interval: 200ms
history: {raw: 10m, minute: 1h, hour: 1d}
paths: {root: $root}
thresholds:
  - match: "*"
    window: 4s
    objects_per_min: 600
    significance: 3
    steady_for: 2s
    for: 1s
    min_trend: 0.6
alert: {journal: false, stderr: true, clear: 3s}
capture: {enabled: false}
YAML

"$SLABWATCHD" -c "$root/slabwatch.yaml" --check-config || fail "config rejected"

# A stand-in for systemd's notify socket, to see the sd_notify protocol.
spawn python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as out:
    while True:
        out.write(s.recv(4096).decode() + "\n")
        out.flush()' "$root/notify.sock" "$root/notify.log"
wait_for 5 test -S "$root/notify.sock" || fail "notify listener did not start"

leak=6400 churn=1024 burst=1024
write_slabinfo $leak $churn $burst
NOTIFY_SOCKET=$root/notify.sock "$SLABWATCHD" -c "$root/slabwatch.yaml" 2> "$root/stderr.log" &
daemon=$!
TEST_PIDS+=("$daemon")

# 12 s of a steady leak (one slab of 64 every 0.4 s = 9600 objects/min),
# a sawtooth churn with a 2 s period, and one burst at 3 s.
for step in $(seq 1 60); do
        [ $((step % 2)) -eq 0 ] && leak=$((leak + 64))
        if [ $(((step / 5) % 2)) -eq 0 ]; then churn=$((churn + 320)); else churn=$((churn - 320)); fi
        [ "$step" -eq 15 ] && burst=$((burst + 4096))
        write_slabinfo $leak $churn $burst
        sleep 0.2
done
kill -0 "$daemon" || fail "slabwatchd died"
# paths.root alone moved the state directory and the socket too.
[ -S "$root/run/slabwatch/slabwatch.sock" ] || fail "no socket under paths.root"
trips=$(json_events "$state/events.log" trip | sort -u)
echo "tripped: ${trips:-none}"
[ "$trips" = "leaky_cache" ] || fail "expected only leaky_cache to trip, got: ${trips:-none}"

# The leak stops: the trip clears after the clear period.
for step in $(seq 1 40); do
        write_slabinfo $leak $churn $burst
        sleep 0.2
done
cleared=$(json_events "$state/events.log" cleared | sort -u)
echo "cleared: ${cleared:-none}"
[ "$cleared" = "leaky_cache" ] || fail "expected leaky_cache to clear, got: ${cleared:-none}"

# A vanished slabinfo (e.g. permissions) must not stop the daemon.
rm "$root/proc/slabinfo"
sleep 1
kill -0 "$daemon" || fail "slabwatchd died when slabinfo vanished"
grep -q "Cannot read $root/proc/slabinfo; watching meminfo only" "$root/stderr.log" ||
        fail "the unreadable slabinfo was not reported"

# SIGHUP with a broken config: reported with its position, old config kept.
cp "$root/slabwatch.yaml" "$root/good.yaml"
printf 'interval: 200ms\nthresholds: [\n' > "$root/slabwatch.yaml"
kill -HUP "$daemon"
wait_for 5 grep -q "keeping the old configuration" "$root/stderr.log" || fail "bad reload not reported"
grep "keeping the old configuration" "$root/stderr.log"
grep -q "$root/slabwatch.yaml:[0-9]*:[0-9]*:" "$root/stderr.log" || fail "reload error lacks file:line:column"
sleep 1
kill -0 "$daemon" || fail "slabwatchd died on a bad reload"

kill -TERM "$daemon"
wait "$daemon"
rc=$?
[ $rc -eq 0 ] || fail "slabwatchd exited with $rc on SIGTERM"

# The sd_notify protocol: READY once after the first sample, WATCHDOG and
# STATUS each tick, RELOADING on SIGHUP, STOPPING on the way out.
for word in READY=1 WATCHDOG=1 STATUS= RELOADING=1 STOPPING=1; do
        grep -q "^$word" "$root/notify.log" || fail "no $word sent to NOTIFY_SOCKET"
done
grep -m1 '^STATUS=' "$root/notify.log"
echo "PASS"
