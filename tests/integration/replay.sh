#!/bin/bash
# `slabwatchctl replay` on the recorded 30-minute development log: with the
# built-in config it must trip the two caches the recording leaks into (UDP
# and kmalloc-256) only after the leak started, and never the caches that
# merely churn (dentry, proc_inode_cache). The same log as xz, gzip and
# through stdin must give the same output; broken input and bad arguments
# must give a clear error and the documented exit status.
set -u

: "${SLABWATCHCTL:?SLABWATCHCTL must name the slabwatchctl binary}"
: "${FIXTURES:?FIXTURES must name tests/fixtures}"

skip() {
        echo "SKIP: $*"
        exit 77
}

[ -x "$SLABWATCHCTL" ] || skip "$SLABWATCHCTL not built"
for tool in xz gzip python3; do
        command -v "$tool" >/dev/null || skip "$tool(1) not found"
done

log="$FIXTURES/recordings/dev-30m.log.xz"
# The leak in the recording starts at this sample time (epoch seconds).
leak_start=1795561035

tmp=$(mktemp -d "${TMPDIR:-/tmp}/slabwatch-replay.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0

ok() {
        echo "ok   $*"
}

not_ok() {
        echo "FAIL $*"
        failed=1
}

# expect NAME CODE ARGS...: slabwatchctl ARGS must exit CODE; its stdout and
# stderr are kept in $tmp/NAME.out and $tmp/NAME.err.
expect() {
        local name=$1 want=$2
        shift 2
        "$SLABWATCHCTL" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
        local rc=$?
        if [ "$rc" -eq "$want" ]; then
                ok "$name (exit $rc)"
                return 0
        fi
        not_ok "$name: slabwatchctl $* exited $rc, want $want"
        cat "$tmp/$name.err"
        return 1
}

# stderr_has NAME TEXT: what NAME printed on stderr must contain TEXT.
stderr_has() {
        if grep -qF -- "$2" "$tmp/$1.err"; then
                ok "$1 says \"$2\""
        else
                not_ok "$1: stderr lacks \"$2\""
                cat "$tmp/$1.err"
        fi
}

# same NAME: NAME's stdout must equal that of the replay of the .xz file.
same() {
        if cmp -s "$tmp/xz.out" "$tmp/$1.out"; then
                ok "$1 output identical to the .xz file's"
        else
                not_ok "$1 output differs from the .xz file's"
                diff "$tmp/xz.out" "$tmp/$1.out" | head -20
        fi
}

if expect xz 0 replay "$log" --json; then
        if python3 - "$tmp/xz.out" "$leak_start" <<'EOF'
import json, sys

path, leak_start = sys.argv[1], float(sys.argv[2])
events = [json.loads(line) for line in open(path)]
trips = [e for e in events if e["event"] == "trip"]
bad = []
summary = [e for e in events if e["event"] == "summary"]
if len(summary) != 1 or summary[0]["samples"] < 2:
    bad.append("want one summary line with the samples counted, got %r" % summary)
early = [e["cache"] for e in trips if e["t"] < leak_start]
if early:
    bad.append("trips before the leak started: %s" % ", ".join(early))
tripped = {e["cache"] for e in trips}
for cache in ("UDP", "kmalloc-256"):
    if cache not in tripped:
        bad.append("%s did not trip" % cache)
for cache in ("dentry", "proc_inode_cache"):
    if cache in tripped:
        bad.append("%s tripped, but it only churns" % cache)
for b in bad:
    print("  " + b)
print("  trips: " + ", ".join("%s at %.0f" % (e["cache"], e["t"]) for e in trips))
sys.exit(1 if bad else 0)
EOF
        then
                ok "trips: UDP and kmalloc-256 after $leak_start, nothing earlier, no churning cache"
        else
                not_ok "trips in the replay of $log"
        fi
fi

# The same log as gzip, as plain text, and each through stdin.
xz -dc "$log" >"$tmp/dev.log"
gzip -c "$tmp/dev.log" >"$tmp/dev.log.gz"
expect gzip 0 replay "$tmp/dev.log.gz" --json && same gzip
expect plain 0 replay "$tmp/dev.log" --json && same plain
expect stdin-gzip 0 replay --json - <"$tmp/dev.log.gz" && same stdin-gzip
expect stdin-xz 0 replay --json - <"$log" && same stdin-xz
expect stdin-pipe 0 replay --json - < <(cat "$tmp/dev.log") && same stdin-pipe

# A log appended to with `gzip >>`: two members, read as one text (the
# second half's samples repeat the first's times, so they are skipped with
# a warning and the trips are the same).
cat "$tmp/dev.log.gz" "$tmp/dev.log.gz" >"$tmp/twice.gz"
if expect gzip-members 0 replay "$tmp/twice.gz" --json; then
        stderr_has gzip-members "sample time not after the previous sample's, skipped"
        if grep -v '"event":"summary"' "$tmp/xz.out" | cmp -s - <(grep -v '"event":"summary"' "$tmp/gzip-members.out"); then
                ok "gzip-members: same events"
        else
                not_ok "gzip-members: events differ"
        fi
fi

# Broken input: a clear error and exit 1, never a crash or a quiet result.
size=$(stat -c %s "$log")
head -c $((size / 2)) "$log" >"$tmp/cut.xz"
expect truncated-xz 1 replay "$tmp/cut.xz" --json && stderr_has truncated-xz "cut.xz: corrupt or truncated compressed data"
expect truncated-xz-stdin 1 replay - <"$tmp/cut.xz" && stderr_has truncated-xz-stdin "corrupt or truncated compressed data"
head -c 100000 "$tmp/dev.log.gz" >"$tmp/cut.gz"
expect truncated-gzip 1 replay "$tmp/cut.gz" && stderr_has truncated-gzip "cut.gz: corrupt or truncated compressed data"
printf '\375' >"$tmp/magic.xz"
printf '7zXZ\0garbage' >>"$tmp/magic.xz"
expect garbage-xz 1 replay "$tmp/magic.xz" && stderr_has garbage-xz "corrupt or truncated compressed data"
expect missing 1 replay "$tmp/no/such.log" && stderr_has missing "$tmp/no/such.log"
expect empty 1 replay /dev/null && stderr_has empty "no sample found"

# Logs from small devices: busybox date has no %N ("@ 1796164986.%N"),
# serial console captures have \r\n and kernel messages in between. Both
# must replay (the kmalloc-8192 growth in them trips) with one warning each.
small="$FIXTURES/replay"
if expect busybox 0 replay "$small/busybox.log"; then
        stderr_has busybox "this date does not know %N (busybox); whole seconds used"
        grep -q "trip     kmalloc-8192" "$tmp/busybox.out" && ok "busybox: kmalloc-8192 trips" ||
                not_ok "busybox: no trip of kmalloc-8192"
        [ "$(grep -c "does not know" "$tmp/busybox.err")" -eq 1 ] && ok "busybox: warned once" ||
                not_ok "busybox: warned more than once"
fi
if expect serial-console 0 replay "$small/serial-console.log"; then
        stderr_has serial-console "kernel messages inside the samples (a serial console?) left out"
        grep -q "^60 samples" "$tmp/serial-console.out" && ok "serial-console: 60 samples" ||
                not_ok "serial-console: samples lost"
        grep -q "trip     kmalloc-8192" "$tmp/serial-console.out" && ok "serial-console: kmalloc-8192 trips" ||
                not_ok "serial-console: no trip of kmalloc-8192"
        grep -q "malformed" "$tmp/serial-console.err" && not_ok "serial-console: malformed lines" ||
                ok "serial-console: no malformed line"
fi
# A tester's cat by hand: three samples hours apart give the growth so far,
# not "no steady memory growth".
if expect few-samples 0 replay "$small/few-samples.log"; then
        grep -q "too few samples for a trend test (3; 8 are needed); growth so far" "$tmp/few-samples.out" &&
                ok "few-samples: says so" || not_ok "few-samples: no growth so far"
        grep -Eq "kmalloc-8192 +\+2100 objs +\+16.4 MiB +\+300.0 objs/h" "$tmp/few-samples.out" &&
                ok "few-samples: kmalloc-8192 rate" || not_ok "few-samples: kmalloc-8192 rate"
        grep -q "verdict at the end: not decided, too few samples" "$tmp/few-samples.out" &&
                ok "few-samples: verdict not decided" || not_ok "few-samples: verdict decided"
fi
if expect few-samples-json 0 replay --json "$small/few-samples.log"; then
        grep -q '"event":"growth_so_far".*"cache":"kmalloc-8192","delta_active_objs":2100' "$tmp/few-samples-json.out" &&
                ok "few-samples-json: growth_so_far" || not_ok "few-samples-json: no growth_so_far"
        [ "$(wc -l <"$tmp/few-samples-json.out")" -eq 2 ] && ok "few-samples-json: one object per line" ||
                not_ok "few-samples-json: not one object per line"
fi

# --labels: the score against what happened; exit 5 when it does not match.
labels=$FIXTURES/recordings/dev-30m.labels
if expect labels-match 0 replay "$log" --labels "$labels"; then
        grep -q "score against dev-30m: 2 of 2 leaking caches tripped (0 late), 0 false trips" "$tmp/labels-match.out" &&
                ok "labels-match: score line" || not_ok "labels-match: no score line"
fi
sed 's/^leak \([0-9]*\) \([0-9]*\) UDP /leak \1 \2 dentry /' "$labels" > "$tmp/wrong.labels"
if expect labels-miss 5 replay "$log" --labels "$tmp/wrong.labels"; then
        grep -q "leak of dentry (2/s): not tripped" "$tmp/labels-miss.out" && ok "labels-miss: the missed leak named" ||
                not_ok "labels-miss: the missed leak not named"
        grep -q "false trip: UDP" "$tmp/labels-miss.out" && ok "labels-miss: UDP is now a false trip" ||
                not_ok "labels-miss: UDP not counted as a false trip"
fi
if expect labels-json 0 replay --json "$log" --labels "$labels"; then
        grep -q '"event":"score","recording":"dev-30m","leaks":2,"tripped":2,"late":0,"false_trips":0' \
                "$tmp/labels-json.out" && ok "labels-json: score object" || not_ok "labels-json: no score object"
fi
printf 'recording x\nleak 5 1 UDP 2/s 1024B backwards\n' > "$tmp/bad.labels"
expect labels-bad 1 replay "$log" --labels "$tmp/bad.labels" && stderr_has labels-bad "bad.labels:2: not a labels line"
expect labels-missing 1 replay "$log" --labels "$tmp/nope.labels"

# Bad arguments: exit 2 with the usage.
expect no-log 2 replay && stderr_has no-log "Usage: slabwatchctl replay"
expect two-logs 2 replay "$log" "$log"
expect bad-option 2 replay --frobnicate "$log"
expect config-without-file 2 replay "$log" -c
expect help 0 replay --help
# Options meant for the daemon's socket, given before an offline command,
# do not matter to it and are not refused.
expect socket-before 0 --socket "$tmp/none.sock" --timeout 3 replay "$log" &&
        grep -q "2 trips" "$tmp/socket-before.out" && ok "socket-before: replayed" || not_ok "socket-before: no replay"

exit $failed
