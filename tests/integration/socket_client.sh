#!/bin/bash
# slabwatchctl against a real slabwatchd on a fake /proc: every command in
# human and --json form (parsed by a real JSON parser), exit codes, the
# daemon not running, export → replay, reload, metrics through promtool.
source "$(dirname "$0")/socket_common.bash"

command -v python3 >/dev/null || skip "python3 is needed to parse the JSON answers"

# --- No daemon: exit 3 and a message a person can act on.
expect_exit 3 ctl status
grep -qF "slabwatchd is not running: cannot connect to $SOCK: No such file or directory" "$WORK/err" ||
    fail "unexpected message: $(cat "$WORK/err")"
SLABWATCH_SOCKET=$WORK/other.sock expect_exit 3 "$SLABWATCHCTL" top
grep -qF "cannot connect to $WORK/other.sock" "$WORK/err" || fail "SLABWATCH_SOCKET not used"
# Usage errors are 2, daemon or not.
expect_exit 2 ctl top -n 0
expect_exit 2 ctl no-such-command
expect_exit 2 ctl history
expect_exit 2 ctl top --sort name
expect_exit 0 ctl --help
expect_exit 0 ctl top --help
grep -q "Usage: slabwatchctl top" "$WORK/out" || fail "top --help"

make_proc_root
mkdir -p "$WORK/textfile"
write_config "metrics:
  textfile: $WORK/textfile/slabwatch.prom"
start_daemon
wait_samples 2
for i in 1 2 3; do
    write_slabinfo $((i * 64))
    sleep 0.4
done
wait_samples 4

# --- Every read command, human output.
for args in "status" "top" "top -n 5 --sort bytes" "top --sort objs" "history kmalloc-256" \
    "history kmalloc-256 --tier minute --all" "history kmalloc-256 --since 1h" "meminfo" "meminfo --since 5m" \
    "events" "events --since 1d -n 5" "captures" "version" "metrics"; do
    # shellcheck disable=SC2086
    expect_exit 0 ctl $args
    [[ -s $WORK/out ]] || fail "'$args' printed nothing"
done
ctl status > "$WORK/status.txt"
grep -q "^slabwatchd " "$WORK/status.txt" || fail "status: no version line"
grep -q "^verdict " "$WORK/status.txt" || fail "status: no verdict"
ctl top -n 3 --sort objs > "$WORK/top.txt"
head -1 "$WORK/top.txt" | grep -q "^CACHE *STATE *OBJS" || fail "top: no header: $(head -1 "$WORK/top.txt")"
[[ $(wc -l < "$WORK/top.txt") -eq 5 ]] || fail "top -n 3: expected header, 3 rows, footer"
# Not a terminal: no escape sequences.
if grep -q $'\033' "$WORK/top.txt"; then fail "colour codes written to a pipe"; fi
ctl --color=always top -n 1 | grep -q $'\033\[1m' || fail "--color=always gives no colour"
ctl history kmalloc-256 > "$WORK/history.txt"
grep -q "active objects" "$WORK/history.txt" || fail "history: no chart"
grep -q "^TIME *OBJS" "$WORK/history.txt" || fail "history: no table"

# --- --json: the daemon's JSON, one document, for every command.
for cmd in status top "history kmalloc-256" meminfo events captures version metrics; do
    # shellcheck disable=SC2086
    ctl --json $cmd > "$WORK/j.json" || fail "--json $cmd failed"
    python3 - "$WORK/j.json" "${cmd%% *}" <<'PY' || fail "--json $cmd: bad document"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["v"] == 1 and doc["ok"] is True, doc
assert doc["cmd"] == sys.argv[2], doc["cmd"]
assert isinstance(doc["data"], dict)
PY
done
# The growth made it into the history, and the counts are exact.
ctl --json history kmalloc-256 | python3 -c '
import json, sys
pts = json.load(sys.stdin)["data"]["points"]
assert pts[0]["active_objs"] == 809, pts[0]
assert pts[-1]["active_objs"] == 809 + 192, pts[-1]
assert all(p["bytes"] == p["num_slabs"] * 4096 for p in pts if p["bytes"] is not None)
' || fail "history values"

# --- Escaping: an odd cache name survives JSON and the metrics text.
ctl --json top -n 16384 | python3 -c '
import json, sys
names = [c["name"] for c in json.load(sys.stdin)["data"]["caches"]]
assert sys.argv[1] in names, names[:5]
assert len(names) == 236, len(names)
' "$ODD_CACHE" || fail "odd cache name not returned intact"
ctl --json history "$ODD_CACHE" | python3 -c '
import json, sys
assert json.load(sys.stdin)["data"]["cache"] == sys.argv[1]
' "$ODD_CACHE" || fail "history of the odd cache"
ctl metrics > "$WORK/metrics.prom"
grep -qF 'slabwatch_cache_active_objects{cache="we\"ird\\cache"} 10' "$WORK/metrics.prom" || fail "metrics label escaping"
grep -q '^slabwatch_samples_total ' "$WORK/metrics.prom" || fail "metrics: no samples counter"
if command -v promtool >/dev/null; then
    promtool check metrics < "$WORK/metrics.prom" || fail "promtool rejects the metrics"
else
    echo "note: promtool not installed; the metrics text is checked by test_metrics only"
fi
ctl metrics --openmetrics | tail -1 | grep -qx '# EOF' || fail "OpenMetrics text does not end in # EOF"
# The node_exporter textfile: the same families, replaced whole every tick.
[[ -f $WORK/textfile/slabwatch.prom ]] || fail "metrics.textfile not written"
[[ ! -e $WORK/textfile/slabwatch.prom.tmp ]] || fail "temporary textfile left behind"
grep -q '^slabwatch_cache_bytes{cache="kmalloc-256"} ' "$WORK/textfile/slabwatch.prom" || fail "textfile content"
if command -v promtool >/dev/null; then
    promtool check metrics < "$WORK/textfile/slabwatch.prom" || fail "promtool rejects the textfile"
fi

# --- Errors from the daemon: exit 1 with its message.
expect_exit 1 ctl history no-such-cache
grep -q "no cache \"no-such-cache\"" "$WORK/err" || fail "history of a missing cache: $(cat "$WORK/err")"
expect_exit 1 ctl --json history no-such-cache
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] is False and d["error"] == "not-found"' \
    "$WORK/out" || fail "--json error document"
expect_exit 1 ctl capture no-such-capture
grep -q 'no capture "no-such-capture"' "$WORK/err" || fail "capture of a missing id: $(cat "$WORK/err")"
expect_exit 2 ctl arm 'a/b'
expect_exit 1 ctl disarm kmalloc-256
grep -q "no capture of kmalloc-256 is running" "$WORK/err" || fail "disarm without a capture: $(cat "$WORK/err")"

# --- Capture on demand. This fake tree offers no capture method, so the
# capture ends at once, but it still leaves a bundle with its report.
expect_exit 0 ctl arm kmalloc-256 --duration 5s
grep -q "^capturing kmalloc-256 for 5s" "$WORK/out" || fail "arm: $(cat "$WORK/out")"
id=""
for ((i = 0; i < 100; i++)); do
    id=$(ctl --json captures | python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]
assert d["available"] is True
print(d["bundles"][0]["id"] if d["bundles"] else "")')
    [[ -n $id ]] && break
    sleep 0.1
done
[[ -n $id ]] || fail "no capture bundle after arm"
expect_exit 0 ctl captures
grep -qF "$id" "$WORK/out" || fail "captures does not list $id"
expect_exit 0 ctl capture "$id"
[[ -s $WORK/out ]] || fail "capture $id printed nothing"
ctl --json capture "$id" | python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]
assert d["id"] == sys.argv[1] and isinstance(d["report"], dict), d.keys()
' "$id" || fail "capture --json"

# --- Export, then replay what was exported.
expect_exit 0 ctl history --export -o "$WORK/export.log"
n_marks=$(grep -c '^@ ' "$WORK/export.log")
samples=$(status_field samples)
((n_marks >= 4 && n_marks <= samples)) || fail "export has $n_marks samples, daemon $samples"
grep -q '^MemTotal: ' "$WORK/export.log" || fail "export: no meminfo"
grep -q '^slabinfo - version: 2.1' "$WORK/export.log" || fail "export: no slabinfo header"
awk '$1 == "kmalloc-256" { last = $2 } END { exit !(last == 1001) }' "$WORK/export.log" ||
    fail "export: kmalloc-256 does not end at 1001 objects"
expect_exit 0 "$SLABWATCHCTL" replay "$WORK/export.log"
ctl history --export kmalloc-256 > "$WORK/one.log"
[[ $(awk '!/^#/ && / : tunables / { print $1 }' "$WORK/one.log" | sort -u) == kmalloc-256 ]] ||
    fail "export of one cache has other caches"

# --- Reload: a good file is applied, a bad one refused with its position.
INTERVAL=2s write_config
expect_exit 0 ctl reload
for ((i = 0; i < 50; i++)); do
    [[ $(status_field interval_s) == 2 ]] && break
    sleep 0.1
done
[[ $(status_field interval_s) == 2 ]] || fail "reload did not apply interval 2s"
wait_for_socket
echo "interval: [" > "$WORK/slabwatch.yaml"
expect_exit 1 ctl reload
grep -q "slabwatch.yaml:[0-9]*:[0-9]*:" "$WORK/err" || fail "bad config not reported with its position: $(cat "$WORK/err")"
expect_exit 0 ctl status

echo "PASS"
