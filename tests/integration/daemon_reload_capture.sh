#!/bin/bash
# SIGHUP during a capture, on a fake 6.1 root whose kmalloc-256 has
# debugfs alloc_traces (so an armed capture runs its full duration): a
# reload that leaves paths and capture settings alone keeps the capture
# running; one that changes the capture settings cuts it short, says so in
# the log, and the bundle says so (stop reason "reload", a warning).
source "$(dirname "$0")/socket_common.bash"

command -v python3 >/dev/null || skip "python3 is needed to read the bundle"

make_proc_root
mkdir -p "$WORK/proc/sys/kernel" "$WORK/sys/kernel/slab/kmalloc-256" "$WORK/sys/kernel/debug/slab/kmalloc-256"
echo "6.1.0-18-amd64" > "$WORK/proc/sys/kernel/osrelease"
echo 1 > "$WORK/sys/kernel/slab/kmalloc-256/store_user"
echo 256 > "$WORK/sys/kernel/slab/kmalloc-256/slab_size"
echo 0 > "$WORK/sys/kernel/slab/kmalloc-256/trace"
printf '    120 leaky_fn+0x1c/0x80 age=10/20/30 pid=1 cpus=0 nodes=0\n\n' \
    > "$WORK/sys/kernel/debug/slab/kmalloc-256/alloc_traces"
printf '     10 kfree+0x7c/0x2a0 age=10/20/30 pid=1 cpus=0 nodes=0\n\n' \
    > "$WORK/sys/kernel/debug/slab/kmalloc-256/free_traces"
INTERVAL=200ms write_config
start_daemon
wait_samples 1

running() { ctl --json captures | python3 -c '
import json, sys
d = json.load(sys.stdin)
d = d.get("data", d)
sys.exit(0 if any(c["cache"] == "kmalloc-256" for c in d["running"]) else 1)'; }

ctl arm kmalloc-256 --duration 10m > /dev/null || fail "arm failed"
running || fail "the armed capture is not running"

# 1. The same paths and capture settings (the interval changes): it goes on.
INTERVAL=300ms write_config
kill -HUP "$DAEMON_PID"
for ((i = 0; i < 100; i++)); do grep -q "Reloaded" "$WORK/daemon.log" && break; sleep 0.1; done
grep -q "Reloaded" "$WORK/daemon.log" || fail "no reload"
grep -q "go on across the reload" "$WORK/daemon.log" || fail "the log does not say the capture goes on"
running || fail "a reload that changed no capture setting stopped the capture"
[[ -z $(ls "$STATE/captures" 2>/dev/null | grep -v '^\.tmp-') ]] || fail "a bundle was written by the first reload"
echo "ok: the capture runs on across a reload"

# 2. A capture setting changes: cut short, and said so.
sed -i 's/^  mount_tracefs: false$/  mount_tracefs: false\n  cooldown: 2h/' "$WORK/slabwatch.yaml"
grep -q "cooldown: 2h" "$WORK/slabwatch.yaml" || fail "config not rewritten"
kill -HUP "$DAEMON_PID"
for ((i = 0; i < 100; i++)); do ls "$STATE"/captures/*/report.json > /dev/null 2>&1 && break; sleep 0.1; done
grep -q "running capture(s) cut short" "$WORK/daemon.log" || fail "the log does not say the capture was cut short"
running && fail "the capture still runs after a reload that changed capture settings"
python3 - "$STATE"/captures/*/report.json <<'PY' || fail "the bundle does not say it was cut short"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["stop_reason"] == "reload", r["stop_reason"]
w = [x for x in r["warnings"] if "cut short" in x and "reload" in x]
assert w, r["warnings"]
print("ok:", w[0])
PY
grep -q "cut short" "$STATE"/captures/*/report.txt || fail "report.txt does not say it was cut short"
kill -0 "$DAEMON_PID" || fail "slabwatchd died"
echo "PASS"
