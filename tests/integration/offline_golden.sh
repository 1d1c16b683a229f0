#!/bin/bash
# Golden tests of the offline subcommands: `slabwatchctl diff` and
# `slabwatchctl stacks` on the fixtures, compared byte for byte with
# tests/golden/. Run with SLABWATCH_GOLDEN_UPDATE=1 to rewrite the golden
# files after an intended change (then review the diff before committing).
set -u

: "${SLABWATCHCTL:?SLABWATCHCTL must name the slabwatchctl binary}"
: "${FIXTURES:?FIXTURES must name tests/fixtures}"
: "${SRCDIR:?SRCDIR must name the source tree}"

golden="$SRCDIR/tests/golden"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/slabwatch-golden.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0

# check NAME ARGS...: run slabwatchctl ARGS in the fixtures directory (so
# file names in the output are relative) and compare stdout with golden/NAME.
check() {
        local name=$1
        shift
        (cd "$FIXTURES" && "$SLABWATCHCTL" "$@") >"$tmp/$name" 2>"$tmp/$name.stderr"
        local rc=$?
        if [ "$rc" -ne 0 ]; then
                echo "FAIL $name: slabwatchctl $* exited $rc"
                cat "$tmp/$name.stderr"
                failed=1
                return
        fi
        if [ -n "${SLABWATCH_GOLDEN_UPDATE:-}" ]; then
                cp "$tmp/$name" "$golden/$name"
                echo "updated $name"
                return
        fi
        if diff -u "$golden/$name" "$tmp/$name"; then
                echo "ok   $name"
        else
                echo "FAIL $name: output differs from tests/golden/$name (- expected, + got)"
                failed=1
        fi
}

# same_as NAME GOLDEN: stdout of a command given on stdin-style input must
# equal golden/GOLDEN with "FILE" replaced by "<stdin>".
same_as() {
        local name=$1 want=$2 file=$3
        sed "s|$file|<stdin>|g" "$golden/$want" >"$tmp/$name.want"
        if diff -u "$tmp/$name.want" "$tmp/$name"; then
                echo "ok   $name"
        else
                echo "FAIL $name: differs from $want read as a file"
                failed=1
        fi
}

# expect_exit CODE NAME ARGS...: slabwatchctl must exit CODE.
expect_exit() {
        local want=$1 name=$2
        shift 2
        (cd "$FIXTURES" && "$SLABWATCHCTL" "$@") >"$tmp/$name" 2>"$tmp/$name.stderr"
        local rc=$?
        if [ "$rc" -eq "$want" ]; then
                echo "ok   $name (exit $rc)"
        else
                echo "FAIL $name: slabwatchctl $* exited $rc, want $want"
                cat "$tmp/$name.stderr"
                failed=1
        fi
}

seed=seed-3.18-mips
mixed=(stacks/x86-6.18-journal-skb-leak.txt stacks/slub-trace-4.4-x86_64.txt "$seed/call_traces.txt")

# diff: the seed device's slabinfo against a later one where kmalloc-8192 grew.
check diff-seed.txt diff "$seed/slabinfo" slabdiff/seed-later.slabinfo \
        --meminfo "$seed/meminfo" slabdiff/seed-later.meminfo
check diff-seed-all.txt diff -a "$seed/slabinfo" slabdiff/seed-later.slabinfo
check diff-seed-snapshots.txt diff -n 3 slabdiff/seed.snapshot slabdiff/seed-later.snapshot
check diff-seed-snapshots.json diff --json slabdiff/seed.snapshot slabdiff/seed-later.snapshot
check diff-meminfo.txt diff "$seed/meminfo" slabdiff/seed-later.meminfo
# diff on real pastes: a grep without the header, vendor columns after
# slabdata, slabinfo 1.1 of 2.4 kernels, two different machines.
p=slabdiff-pastes
check diff-grep.txt diff $p/grep-kmalloc-before.txt $p/grep-kmalloc-after.txt
check diff-vendor-columns.txt diff -n 3 $p/vendor-columns-before.slabinfo $p/vendor-columns-after.slabinfo
check diff-slabinfo-1.1.txt diff $p/slabinfo-1.1-before.txt $p/slabinfo-1.1-after.txt
check diff-other-machine.txt diff -n 3 slabdiff/seed.snapshot $p/other-machine.snapshot
check diff-other-machine.json diff --json -n 1 slabdiff/seed.snapshot $p/other-machine.snapshot
expect_exit 1 diff-all-rejected diff $p/all-rejected.slabinfo "$seed/slabinfo"
if grep -q "every slabinfo line was rejected" "$tmp/diff-all-rejected.stderr"; then
        echo "ok   diff-all-rejected message"
else
        echo "FAIL diff-all-rejected message"; cat "$tmp/diff-all-rejected.stderr"; failed=1
fi

# stacks: the seed's three dumps, every view.
check stacks-seed.txt stacks "$seed/call_traces.txt"
check stacks-seed-tree.txt stacks --tree "$seed/call_traces.txt"
check stacks-seed-folded.txt stacks --folded "$seed/call_traces.txt"
check stacks-seed-from-alloc_skb.txt stacks --tree --from __alloc_skb "$seed/call_traces.txt"
check stacks-seed.json stacks --json "$seed/call_traces.txt"
check stacks-seed-keep-noise.txt stacks --keep-noise -n 1 "$seed/call_traces.txt"

# stacks: several formats at once.
check stacks-mixed-from-alloc_skb.txt stacks --from __alloc_skb "${mixed[@]}"
check stacks-mixed-tree-from-alloc_skb.txt stacks --tree --from __alloc_skb "${mixed[@]}"
check stacks-mixed-folded.txt stacks --folded "${mixed[@]}"
check stacks-hung_task.txt stacks stacks/linux-6.18-x86_64-hung_task.dmesg
check stacks-hung_task-tree.txt stacks --tree stacks/linux-6.18-x86_64-hung_task.kmsg
check stacks-hung_task-unreliable.txt stacks --keep-unreliable -n 1 stacks/linux-6.18-x86_64-hung_task-raw.dmesg
check stacks-tracefs.txt stacks linux-6.18-x86_64/tracefs-inode_cache-pipes.txt
check stacks-tracefs-tree.txt stacks --tree linux-6.18-x86_64/tracefs-inode_cache-pipes.txt
check stacks-alloc_traces.txt stacks --noise kmalloc_reserve callsites/alloc_traces-6.1
check stacks-alloc_traces-from.json stacks --json --tree --from __alloc_skb callsites/alloc_traces-6.1

# The reports people paste (tests/fixtures/reports/), each format on its own
# and all of them together, allocation and free stacks ranked apart.
check stacks-kmemleak.txt stacks reports/kmemleak-6.6-x86_64.txt reports/kmemleak-4.19-arm-hashed.txt \
        reports/kmemleak-5.10-arm64-dmesg.txt
check stacks-kmemleak-tree-from.txt stacks --tree --from 'leaky_*' reports/kmemleak-6.6-x86_64.txt
check stacks-kmemleak-folded.txt stacks --folded reports/kmemleak-6.6-x86_64.txt reports/kmemleak-4.19-arm-hashed.txt
check stacks-kasan-syzbot.txt stacks reports/kasan-syzbot-6.8-x86_64.txt
check stacks-decode_stacktrace.txt stacks reports/x86-6.1-decode_stacktrace.txt
check stacks-arm.txt stacks reports/arm-5.10-unwind.dmesg reports/arm-3.4-backtrace.dmesg
check stacks-slub-objects.txt stacks reports/slub-objects-remaining-6.1.txt reports/slub-info-3.10-arm.txt
check stacks-slub-objects-tree.txt stacks --tree reports/slub-objects-remaining-6.1.txt
check stacks-page_owner.txt stacks reports/page_owner-6.1.txt reports/page_owner_sort-6.1.txt
check stacks-reports.json stacks --json -n 2 reports/kmemleak-6.6-x86_64.txt reports/kasan-syzbot-6.8-x86_64.txt \
        reports/slub-objects-remaining-6.1.txt reports/page_owner_sort-6.1.txt
check stacks-reports-folded.txt stacks --folded reports/kasan-syzbot-6.8-x86_64.txt \
        reports/slub-objects-remaining-6.1.txt
# Malformed: wrapped, interleaved, dropped messages, truncated; the same
# boot's log pasted twice with an overlap; a kmemleak file read twice.
check stacks-malformed.txt stacks malformed/x86-6.6-wrapped-interleaved.dmesg
check stacks-overlap.txt stacks malformed/x86-6.6-boot1.dmesg malformed/x86-6.6-boot1-later.dmesg
check stacks-kmemleak-twice.txt stacks reports/kmemleak-6.6-x86_64.txt reports/kmemleak-6.6-x86_64.txt
check stacks-kmemleak-console-too.txt stacks reports/kmemleak-6.6-x86_64.txt reports/kmemleak-6.6-x86_64-console.dmesg
if grep -q "malformed/x86-6.6-wrapped-interleaved.dmesg:8: line inside a stack not understood" \
        "$tmp/stacks-malformed.txt.stderr"; then
        echo "ok   malformed message"
else
        echo "FAIL malformed message"; cat "$tmp/stacks-malformed.txt.stderr"; failed=1
fi

# Nothing found is not success: exit 4, and the formats looked for are named.
expect_exit 4 no-stack stacks malformed/nothing.log
if grep -q "no stack found in 3 lines. Looked for: .*kmemleak" "$tmp/no-stack.stderr" && [ ! -s "$tmp/no-stack" ] ||
        grep -q "^0 stacks" "$tmp/no-stack"; then
        echo "ok   no-stack message"
else
        echo "FAIL no-stack message"; cat "$tmp/no-stack.stderr"; failed=1
fi
expect_exit 4 no-stack-json stacks --json malformed/nothing.log
if grep -q '"formats_looked_for":' "$tmp/no-stack-json"; then
        echo "ok   no-stack json"
else
        echo "FAIL no-stack json"; cat "$tmp/no-stack-json"; failed=1
fi
# --json is one document on one line.
if [ "$(wc -l <"$golden/stacks-reports.json")" -eq 1 ]; then
        echo "ok   json one line"
else
        echo "FAIL json one line"; failed=1
fi

# The same input through stdin, gzip and xz.
(cd "$FIXTURES" && "$SLABWATCHCTL" stacks - <"$seed/call_traces.txt") >"$tmp/stdin" 2>&1
same_as stdin stacks-seed.txt "$seed/call_traces.txt"
if command -v gzip >/dev/null; then
        gzip -c "$FIXTURES/$seed/call_traces.txt" >"$tmp/call_traces.txt.gz"
        cat "$tmp/call_traces.txt.gz" "$tmp/call_traces.txt.gz" >"$tmp/twice.gz"
        "$SLABWATCHCTL" stacks - <"$tmp/call_traces.txt.gz" >"$tmp/gzip" 2>&1
        same_as gzip stacks-seed.txt "$seed/call_traces.txt"
        # Two concatenated members: six dumps, the same two stacks.
        "$SLABWATCHCTL" stacks --folded "$tmp/twice.gz" >"$tmp/twice" 2>&1
        if grep -q " 4$" "$tmp/twice" && grep -q " 2$" "$tmp/twice"; then
                echo "ok   gzip-members"
        else
                echo "FAIL gzip-members"; cat "$tmp/twice"; failed=1
        fi
        head -c 200 "$tmp/call_traces.txt.gz" >"$tmp/cut.gz"
        expect_exit 1 gzip-truncated stacks "$tmp/cut.gz"
fi
if command -v xz >/dev/null; then
        xz -c "$FIXTURES/$seed/call_traces.txt" >"$tmp/call_traces.txt.xz"
        "$SLABWATCHCTL" stacks - <"$tmp/call_traces.txt.xz" >"$tmp/xz" 2>&1
        same_as xz stacks-seed.txt "$seed/call_traces.txt"
        cp "$FIXTURES/$seed/slabinfo" "$tmp/old"
        xz -c "$FIXTURES/slabdiff/seed-later.slabinfo" >"$tmp/new.xz"
        (cd "$tmp" && "$SLABWATCHCTL" diff -n 1 old new.xz) >"$tmp/diff-xz" 2>&1
        if grep -q "^kmalloc-8192 " "$tmp/diff-xz"; then
                echo "ok   diff-xz"
        else
                echo "FAIL diff-xz"; cat "$tmp/diff-xz"; failed=1
        fi
fi

# Paired input: the outstanding and freed counts are known, the culprit named.
# SLUB TRACE records pasted from a log (a driver's poll loop leaks through
# __alloc_skb, which a socket path also runs through and frees), and a
# capture's raw.trace re-paired.
check stacks-slub-trace-paired.txt stacks stacks/slub-trace-culprit-4.4-x86_64.txt
check stacks-slub-trace-paired.json stacks --json stacks/slub-trace-culprit-4.4-x86_64.txt
raw=linux-6.18-x86_64/capture-udp
check stacks-raw-trace.txt stacks "$raw/raw.trace"
check stacks-raw-trace.json stacks --json -n 2 "$raw/raw.trace"
# The reader agrees with the capture that wrote it (its report.json).
(cd "$FIXTURES" && "$SLABWATCHCTL" stacks --json "$raw/raw.trace") >"$tmp/raw-all.json"
if python3 - "$tmp/raw-all.json" "$FIXTURES/$raw/report.json" <<'PY'; then
import json, sys
got, want = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
keys = ("frames", "outstanding", "allocs", "frees", "bytes")
g = [{k: s[k] for k in keys} for s in got["stacks"]]
w = [{k: s[k] for k in keys} for s in want["stacks"]]
assert g == w, "stacks differ:\n%s\n%s" % (g[:2], w[:2])
assert got["culprit"] == want["culprit"], (got["culprit"], want["culprit"])
assert got["events"] == want["events"], (got["events"], want["events"])
PY
        echo "ok   raw.trace re-paired as the capture paired it"
else
        echo "FAIL raw.trace: the reader and the capture's report.json disagree"
        failed=1
fi
head -c 100000 "$FIXTURES/$raw/raw.trace" >"$tmp/cut.trace"
expect_exit 1 raw-trace-cut stacks "$tmp/cut.trace"
if grep -q "cut.trace: raw.trace: .*cut short\|past the end" "$tmp/raw-trace-cut.stderr"; then
        echo "ok   raw-trace-cut message"
else
        echo "FAIL raw-trace-cut message"; cat "$tmp/raw-trace-cut.stderr"; failed=1
fi
expect_exit 2 raw-trace-with-others stacks "$raw/raw.trace" "$seed/call_traces.txt"
expect_exit 2 raw-trace-tree stacks --tree "$raw/raw.trace"

# Bad input: a result or a clear error with a line number, never a crash.
{
        printf 'Call Trace:\n f+0x1/0x2\n'
        head -c 5000 /dev/zero | tr '\0' 'x'
        printf '\nCall Trace:\n g+0x1/0x2\n'
} >"$tmp/long.txt"
expect_exit 0 long-line stacks "$tmp/long.txt"
if grep -q "long.txt:3: line too long" "$tmp/long-line.stderr"; then
        echo "ok   long-line message"
else
        echo "FAIL long-line message"; cat "$tmp/long-line.stderr"; failed=1
fi
expect_exit 4 garbage stacks synthetic/garbage.bin
expect_exit 4 empty stacks /dev/null
expect_exit 1 missing-file stacks no/such/file
expect_exit 2 no-args stacks
expect_exit 2 tree-and-folded stacks --tree --folded "$seed/call_traces.txt"
expect_exit 2 bad-count stacks -n lots "$seed/call_traces.txt"
expect_exit 2 bad-option stacks --frobnicate "$seed/call_traces.txt"
expect_exit 0 stacks-help stacks --help
expect_exit 2 diff-one-file diff "$seed/slabinfo"
expect_exit 2 diff-meminfo-one diff "$seed/slabinfo" slabdiff/seed-later.slabinfo --meminfo "$seed/meminfo"
expect_exit 2 diff-page-size diff --page-size 5000 "$seed/slabinfo" slabdiff/seed-later.slabinfo
expect_exit 1 diff-not-snapshot diff "$seed/call_traces.txt" "$seed/slabinfo"
expect_exit 1 diff-mismatch diff "$seed/meminfo" "$seed/slabinfo"
expect_exit 1 diff-garbage diff synthetic/garbage.bin "$seed/slabinfo"
expect_exit 0 diff-help diff --help

exit $failed
