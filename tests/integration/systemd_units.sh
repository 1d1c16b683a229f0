#!/usr/bin/env bash
# The shipped systemd units pass `systemd-analyze verify`, and the journal
# catalog compiles and lists one entry for each MESSAGE_ID the daemon sends.
set -u
. "$(dirname "$0")/lib/common.sh"
command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
command -v journalctl >/dev/null || skip "journalctl is not installed"
tmp_setup

# The unit as installed, but pointing at the binary under test.
sed -e "s|@SBINDIR@|$(dirname "$SLABWATCHD")|" -e "s|@SYSCONFDIR@|$SRCDIR/config/..|" \
        "$SRCDIR/systemd/slabwatch.service.in" > "$TEST_TMP/slabwatch.service"
units=("$TEST_TMP/slabwatch.service")
if [ -f "$SRCDIR/systemd/slabwatch.socket" ]; then
        cp "$SRCDIR/systemd/slabwatch.socket" "$TEST_TMP/"
        units+=("$TEST_TMP/slabwatch.socket")
fi
grep -q '^Type=notify' "$TEST_TMP/slabwatch.service" || fail "service is not Type=notify"
# Man pages are checked by their own test; here only the units' syntax and semantics.
out=$(cd "$TEST_TMP" && systemd-analyze verify --man=no "${units[@]}" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || fail "systemd-analyze verify failed"
[ -z "$out" ] || fail "systemd-analyze verify printed warnings"

# The catalog: compile it in a scratch root and list the ids.
mkdir -p "$TEST_TMP/root/usr/lib/systemd/catalog" "$TEST_TMP/root/var/lib/systemd/catalog"
cp "$SRCDIR/systemd/slabwatch.catalog" "$TEST_TMP/root/usr/lib/systemd/catalog/"
journalctl --root="$TEST_TMP/root" --update-catalog || fail "catalog does not compile"
listed=$(journalctl --root="$TEST_TMP/root" --list-catalog | awk '{print $1}' | sort)
sent=$(grep -o 'ALERT_MESSAGE_ID_[A-Z_]* "[0-9a-f]*"' "$SRCDIR/daemon/core/alert.h" | awk '{gsub(/"/, "", $2); print $2}' | sort)
[ -n "$sent" ] || fail "no MESSAGE_IDs found in daemon/core/alert.h"
[ "$listed" = "$sent" ] || fail "catalog ids differ from the daemon's: catalog=[$listed] daemon=[$sent]"
echo "PASS: $(echo "$sent" | wc -l) catalog entries, units verified"
