#!/usr/bin/env bash
# Every man page renders without a single groff warning, and names itself.
set -u
. "$(dirname "$0")/lib/common.sh"
command -v groff >/dev/null || skip "groff is not installed"
n=0
for page in "$SRCDIR"/docs/*.[158]; do
        name=$(basename "$page")
        out=$(groff -ww -man -Tutf8 -z "$page" 2>&1)
        [ -z "$out" ] || fail "$name: $out"
        title=$(sed -n 's/^\.TH \([^ ]*\) \([0-9]\).*/\1.\2/p' "$page" | tr 'A-Z' 'a-z')
        [ "$title" = "$name" ] || fail "$name: .TH says $title"
        n=$((n + 1))
done
[ "$n" -ge 3 ] || fail "expected the three man pages, found $n"
echo "PASS: $n man pages"
