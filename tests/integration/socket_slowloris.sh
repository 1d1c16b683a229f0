#!/bin/bash
# Slowloris: more clients than server.max_clients, each trickling a byte
# every 0.3 s, as an unprivileged member of server.group. Each connection is
# closed once server.idle_timeout has passed without a complete request,
# however steadily its bytes arrive; while they hold every slot, root's own
# slabwatchctl still gets its answer; and sampling goes on.
source "$(dirname "$0")/socket_common.bash"

[[ $(id -u) -eq 0 ]] || skip "needs root to run the slow clients as another user"
command -v setpriv >/dev/null || skip "setpriv is not installed"
PY=/usr/bin/python3
[[ -x $PY ]] || skip "$PY is needed for the slow clients"
getent passwd nobody >/dev/null && getent group nogroup >/dev/null || skip "needs user nobody and group nogroup"

make_proc_root
GROUP=nogroup MAX_CLIENTS=4 IDLE_TIMEOUT=3s write_config
start_daemon
wait_samples 1

SLOW=12
# The slow clients, as nobody:nogroup (a reader through its primary group).
setpriv --reuid=nobody --regid=nogroup --clear-groups "$PY" - "$SOCK" "$SLOW" > "$WORK/slow.out" 2>&1 <<'PY' &
import socket, struct, sys, threading, time

path, n = sys.argv[1], int(sys.argv[2])
stop = time.monotonic() + 14
lifetimes = []
lock = threading.Lock()

def slow():
    # A valid frame, never finished: header byte by byte, then a body that
    # is 100 bytes long and never complete.
    data = b"SLW\x01" + struct.pack(">I", 100) + b'{"cmd":"status"' + b" " * 85
    while time.monotonic() < stop:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
        except OSError:
            time.sleep(0.1)
            continue
        t0 = time.monotonic()
        try:
            for b in data[:-1]:
                s.send(bytes([b]))
                time.sleep(0.3)
                if time.monotonic() > stop:
                    break
        except OSError:
            pass
        # Held to the end without being closed: its lifetime is the whole run.
        with lock:
            lifetimes.append(time.monotonic() - t0)
        s.close()
        time.sleep(0.1)     # refused (all slots taken): try again soon

threads = [threading.Thread(target=slow) for _ in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("connections", len(lifetimes))
print("longest %.1f" % max(lifetimes))
PY
SLOW_PID=$!
EXTRA_CLEANUP+=("kill $SLOW_PID 2>/dev/null")

# Let the slow clients take every slot, then ask as root, several times.
sleep 2
for i in 1 2 3 4 5; do
    expect_exit 0 ctl status
    grep -q "samples" "$WORK/out" || fail "status answer without samples: $(cat "$WORK/out")"
    sleep 1
done
samples_before=$(status_field samples)

wait "$SLOW_PID" || fail "slow clients failed: $(cat "$WORK/slow.out")"
cat "$WORK/slow.out"
longest=$(awk '/^longest/ {print $2}' "$WORK/slow.out")
# idle_timeout is 3 s; a byte every 0.3 s for 110 bytes would take 33 s.
awk -v l="$longest" 'BEGIN { exit !(l < 5) }' ||
    fail "a trickling client stayed connected for ${longest}s (idle_timeout 3s)"
samples_after=$(status_field samples)
((samples_after > samples_before)) || fail "sampling stopped under slowloris"
kill -0 "$DAEMON_PID" || fail "daemon died"
echo "ok: slow connections closed within ${longest}s, root answered, sampling went on"
