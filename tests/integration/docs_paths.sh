#!/usr/bin/env bash
# Every folder and file docs/ARCHITECTURE.md and README.md name under lib/,
# daemon/, client/, tests/ and docs/ exists in the tree, so the drawing of
# the stages cannot drift from the code.
set -u
. "$(dirname "$0")/lib/common.sh"
n=0
for doc in "$SRCDIR/docs/ARCHITECTURE.md" "$SRCDIR/README.md"; do
        [ -f "$doc" ] || fail "$doc is missing"
        for p in $(grep -o '\b\(lib\|daemon\|client\|tests\|docs\)/[A-Za-z0-9_./-]*' "$doc" | sed 's/[.,)]*$//' | sort -u); do
                [ -e "$SRCDIR/$p" ] || fail "$(basename "$doc") names $p, which is not in the tree"
                n=$((n + 1))
        done
done
[ "$n" -ge 30 ] || fail "expected the docs to name at least 30 paths, found $n"
echo "PASS: $n paths named by the docs exist"
