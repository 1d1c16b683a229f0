#!/bin/bash
# The real daemon's socket under abuse while it samples every second:
# malformed, oversized, truncated and binary requests (a clear error, the
# connection closed, the daemon unaffected), a client that never sends and
# one that never reads, 50 clients at once — and no sampling tick missed.
source "$(dirname "$0")/socket_common.bash"

command -v python3 >/dev/null || skip "python3 is needed to speak the raw protocol"

make_proc_root
IDLE_TIMEOUT=2s MAX_CLIENTS=64 write_config
start_daemon
wait_samples 2

python3 - "$SOCK" <<'PY' || fail "raw protocol checks"
import json, socket, struct, sys, threading, time

path = sys.argv[1]

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    return s

def frame(payload: bytes, version=1) -> bytes:
    return b"SLW" + bytes([version]) + struct.pack(">I", len(payload)) + payload

def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        try:
            chunk = s.recv(n - len(buf))
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        buf += chunk
    return buf

def answer(s):
    h = recv_exact(s, 8)
    if h is None:
        return None
    assert h[:3] == b"SLW" and h[3] == 1, h
    (n,) = struct.unpack(">I", h[4:])
    return json.loads(recv_exact(s, n))

def closed(s):
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True

def request(s, cmd, **args):
    body = {"cmd": cmd}
    if args:
        body["args"] = args
    s.sendall(frame(json.dumps(body).encode()))
    return answer(s)

def expect_error_and_close(data, code, what):
    s = conn()
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    a = answer(s)
    assert a is not None and a["ok"] is False and a["error"] == code, (what, a)
    assert a["message"], what
    assert closed(s), what + ": connection left open"
    s.close()
    print(f"ok: {what}: {code}: {a['message']}")

# Framing errors: answered, then closed.
expect_error_and_close(b"GET / HTTP/1.0\r\n\r\n", "bad-frame", "HTTP request")
expect_error_and_close(bytes(range(256)) * 64, "bad-frame", "binary garbage")
expect_error_and_close(b'{"cmd":"status"}\n', "bad-frame", "bare JSON line")
expect_error_and_close(frame(b"{}", version=7), "unsupported-version", "protocol version 7")
expect_error_and_close(b"SLW\x01" + struct.pack(">I", 1 << 30), "request-too-large", "1 GiB header")
expect_error_and_close(b"SLW\x01" + struct.pack(">I", 64 * 1024 + 1) + b"{" * 1000, "request-too-large",
                       "one byte over max_request")

# Truncated: half a frame, then the client shuts its side.
s = conn()
s.sendall(b"SLW\x01" + struct.pack(">I", 100) + b'{"cmd":')
s.shutdown(socket.SHUT_WR)
a = answer(s)
assert a["error"] == "truncated", a
assert closed(s)
s.close()
print("ok: truncated request")

# Errors inside an intact frame keep the connection.
s = conn()
for payload, code in [(b"{not json", "bad-json"), (b'{"cmd":"rm -rf"}', "unknown-command"),
                      (b'{"cmd":"top","args":{"n":"all"}}', "bad-argument"),
                      (b'{"cmd":"history","args":{"cache":"../../etc/passwd"}}', "bad-argument"),
                      (b'{"cmd":"status","args":{},"extra":1}', "bad-request"),
                      ("{\"cmd\":\"st\u00e4tus\"}".encode("latin-1"), "bad-json")]:
    s.sendall(frame(payload))
    a = answer(s)
    assert a["ok"] is False and a["error"] == code, (payload, a)
a = request(s, "status")
assert a["ok"] is True
s.close()
print("ok: request errors keep the connection")

# A client that never sends: closed after idle_timeout with a reason.
idle = conn()
# A client that never reads a large answer.
stalled = conn()
stalled.sendall(frame(json.dumps({"cmd": "top", "args": {"n": 16384}}).encode()))
# Meanwhile others are served.
for _ in range(20):
    s = conn()
    assert request(s, "status")["ok"] is True
    s.close()
a = answer(idle)
assert a["error"] == "timeout", a
assert closed(idle)
print("ok: idle client closed:", a["message"])

# 50 clients at once: all connected before any request is sent.
clients = [conn() for _ in range(50)]
for i, s in enumerate(clients):
    s.sendall(frame(json.dumps({"cmd": "top", "args": {"n": i + 1}}).encode()))
for i, s in reversed(list(enumerate(clients))):
    a = answer(s)
    assert a["ok"] is True and len(a["data"]["caches"]) == i + 1, (i, a)
s = conn()
st = request(s, "status")["data"]
assert st["server"]["clients"] >= 51, st["server"]
s.close()
for s in clients:
    s.close()
print("ok: 50 clients at once")

# Sustained load for a few seconds: 50 threads asking continuously.
stop = time.monotonic() + 4
errors = []
counts = [0] * 50
def worker(k):
    try:
        s = conn()
        while time.monotonic() < stop:
            a = request(s, "top" if k % 2 else "status")
            assert a["ok"] is True
            counts[k] += 1
        s.close()
    except Exception as e:  # reported below
        errors.append(repr(e))
threads = [threading.Thread(target=worker, args=(k,)) for k in range(50)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert not errors, errors[:3]
print(f"ok: {sum(counts)} requests from 50 clients in 4 s")
stalled.close()
PY

# The daemon kept sampling through all of it: no tick missed, none late by
# anything near an interval.
ctl --json status | python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]
elapsed = d["last_sample_time"] - d["start_time"]
expected = int(elapsed / d["interval_s"]) + 1
print("samples", d["samples"], "expected", expected, "jitter max", d["sample_jitter_usec"]["max"], "us")
assert d["samples"] >= expected, "a sampling tick was missed"
assert d["sample_jitter_usec"]["max"] < d["interval_s"] * 1e6 / 2, "a tick ran half an interval late"
assert d["server"]["protocol_errors"] >= 7, d["server"]
' || fail "sampling was disturbed"
kill -0 "$DAEMON_PID" || fail "daemon died"
echo "PASS"
