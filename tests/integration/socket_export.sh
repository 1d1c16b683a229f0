#!/bin/bash
# `history --export` of a history too large for one answer: the daemon pages
# it, the client follows the pages, and the slab log it writes has every
# sample once, in order, and replays.
source "$(dirname "$0")/socket_common.bash"

command -v python3 >/dev/null || skip "python3 is needed to check the export"

# Many caches make a page hold few samples (a page is at most 100000 values).
N_CACHES=4000
make_proc_root
python3 - "$WORK/proc/slabinfo" "$N_CACHES" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("slabinfo - version: 2.1\n")
    f.write("# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"
            " : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n")
    for i in range(n):
        f.write(f"bench-cache-{i:05d} {100 + i} {128 + i} 64 64 1 : tunables 0 0 0 : slabdata {2 + i // 64} {2 + i // 64} 0\n")
PY
# Short spans: at 100 ms the default hour of raw samples would take 315 KiB
# a cache, and 4000 of them more than the history's 128 MiB bound.
INTERVAL=100ms write_config "history: {raw: 1m, minute: 12h, hour: 1d}"
start_daemon
wait_samples 60

requests() {
    ctl --json status | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["server"]["requests"])'
}
before=$(requests)
ctl history --export -o "$WORK/export.log" 2> "$WORK/export.err" || fail "export failed: $(cat "$WORK/export.err")"
pages=$(($(requests) - before - 1))
((pages >= 3)) || fail "the export came in $pages pages; expected paging"
echo "export in $pages pages"
samples_after=$(status_field samples)
python3 - "$WORK/export.log" "$N_CACHES" "$samples_after" <<'PY' || fail "export content"
import sys
path, n_caches, samples_after = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
times, caches_per_sample, current = [], [], None
for line in open(path):
    if line.startswith("@ "):
        times.append(float(line[2:]))
        caches_per_sample.append(0)
    elif " : tunables " in line and not line.startswith("#"):
        caches_per_sample[-1] += 1
assert len(times) >= 60, f"only {len(times)} samples"
assert len(times) <= samples_after, (len(times), samples_after)
assert all(b > a for a, b in zip(times, times[1:])), "samples out of order or repeated"
assert all(c == n_caches for c in caches_per_sample), set(caches_per_sample)
print(f"exported {len(times)} samples of {n_caches} caches")
PY
grep -q "^wrote [0-9]* samples to $WORK/export.log" "$WORK/export.err" || fail "no summary: $(cat "$WORK/export.err")"
expect_exit 0 "$SLABWATCHCTL" replay "$WORK/export.log"
echo "PASS"
