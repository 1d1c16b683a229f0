#!/bin/bash
# Small defects, each with its check: `arm --duration` has the bounds of
# capture.duration in the client and in the daemon; a request with a key
# twice is refused; an unclosed "[" in the config is reported as such, with
# its position; malformed slabinfo lines past the first 16 are said to be
# suppressed and then counted periodically. (A permission refusal's exit
# status 3 is checked in socket_permissions.sh, which has the users.)
source "$(dirname "$0")/socket_common.bash"

command -v python3 >/dev/null || skip "python3 is needed to speak the raw protocol"

# --- The config: an unclosed "[".
printf 'interval: 10s\ncapture:\n  duration: [30s\n' > "$WORK/unclosed.yaml"
expect_exit 1 "$SLABWATCHD" --check-config -c "$WORK/unclosed.yaml"
grep -q "unclosed.yaml:4:1: capture.duration: while parsing a flow sequence: did not find expected ',' or ']'" "$WORK/err" ||
    fail "unclosed [: $(cat "$WORK/err")"
grep -q "got a list" "$WORK/err" && fail "unclosed [ reported as a list: $(cat "$WORK/err")"
echo "ok: $(cat "$WORK/err")"

# --- A slabinfo with 20 malformed lines in every sample.
make_proc_root
for i in $(seq 1 20); do echo "garbage line $i"; done >> "$WORK/proc/slabinfo"
INTERVAL=100ms write_config
start_daemon
wait_samples 2

# --- arm --duration: refused by the client...
expect_exit 2 ctl arm kmalloc-256 --duration 366d
grep -q "1s to 1h" "$WORK/err" || fail "client: $(cat "$WORK/err")"
# ...and by the daemon, for a client that does not check.
python3 - "$SOCK" <<'PY' || fail "raw protocol checks"
import json, socket, struct, sys

def ask(payload: bytes):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sys.argv[1])
    s.sendall(b"SLW\x01" + struct.pack(">I", len(payload)) + payload)
    h = b""
    while len(h) < 8:
        h += s.recv(8 - len(h))
    (n,) = struct.unpack(">I", h[4:])
    body = b""
    while len(body) < n:
        body += s.recv(n - len(body))
    s.close()
    return json.loads(body)

a = ask(json.dumps({"cmd": "arm", "args": {"cache": "kmalloc-256", "duration": 366 * 86400}}).encode())
assert a["ok"] is False and a["error"] == "bad-argument" and "capture.duration" in a["message"], a
print("ok: daemon refuses arm for 366 days:", a["message"])
a = ask(b'{"cmd":"status","cmd":"arm","args":{"cache":"kmalloc-256"}}')
assert a["ok"] is False and a["error"] == "bad-json" and "twice" in a["message"], a
a = ask(b'{"cmd":"arm","args":{"cache":"kmalloc-256","\\u0063ache":"x"}}')
assert a["ok"] is False and "twice" in a["message"], a
print("ok: a key twice is refused:", a["message"])
PY

# --- Malformed lines: 16 reported, then said suppressed, then a count
# every 60 samples (6 s at 100 ms).
for ((i = 0; i < 150; i++)); do
    grep -q "malformed lines skipped (not reported one by one) in the last 60 samples" "$WORK/daemon.log" && break
    sleep 0.1
done
reported=$(grep -c "malformed line skipped" "$WORK/daemon.log" || true)
[[ $reported -eq 16 ]] || fail "$reported malformed lines reported one by one, expected 16"
grep -q "16 malformed lines in .* reported; further ones are suppressed and counted, with a count every 60 samples" \
    "$WORK/daemon.log" || fail "no word that reports are suppressed"
grep -q "malformed lines skipped (not reported one by one) in the last 60 samples" "$WORK/daemon.log" ||
    fail "no periodic count of malformed lines"
echo "ok: $(grep -m1 "not reported one by one" "$WORK/daemon.log")"
