#!/bin/bash
# Run one libFuzzer target for a bounded time on a fresh corpus seeded with
# fixtures: run_fuzz.sh BINARY SECONDS MAX_LEN ARTIFACT_DIR SEED...
# A crash, leak, sanitizer report or slow input fails the test; the input
# that did it is kept in ARTIFACT_DIR.
set -u
bin=$1 seconds=$2 max_len=$3 artifacts=$4
shift 4
corpus=$(mktemp -d "${TMPDIR:-/tmp}/slabwatch-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$corpus"' EXIT
for seed in "$@"; do
        [ -f "$seed" ] && cp "$seed" "$corpus/$(basename "$(dirname "$seed")")-$(basename "$seed")"
done
mkdir -p "$artifacts"
"$bin" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/$(basename "$bin")-" "$corpus"
