#!/bin/bash
# Who may ask what, with real users: root does everything, a member of
# server.group (supplementary or primary) reads but may not arm, disarm or
# reload, anyone else is refused with a message that says why.
source "$(dirname "$0")/socket_common.bash"

[[ $(id -u) -eq 0 ]] || skip "needs root to create test users and switch to them"
for tool in useradd groupadd userdel groupdel runuser setpriv python3; do
    command -v "$tool" >/dev/null || skip "$tool is not installed"
done

TEST_GROUP=slabwatch-itest
READER=slabwatch-itest-r
OUTSIDER=slabwatch-itest-o

# Create what is missing; remove only what this run created.
if ! getent group "$TEST_GROUP" >/dev/null; then
    groupadd --system "$TEST_GROUP"
    EXTRA_CLEANUP+=("groupdel $TEST_GROUP")
fi
for user in "$READER" "$OUTSIDER"; do
    if ! getent passwd "$user" >/dev/null; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
        # Run before the group's removal (cleanups run in order).
        EXTRA_CLEANUP=("userdel $user" "${EXTRA_CLEANUP[@]}")
    fi
done
usermod -a -G "$TEST_GROUP" "$READER"
id -nG "$OUTSIDER" | tr " " "\n" | grep -qx "$TEST_GROUP" && fail "$OUTSIDER must not be in $TEST_GROUP"

# The test users may not be able to reach the build tree.
mkdir -p "$WORK/bin"
cp "$SLABWATCHCTL" "$WORK/bin/slabwatchctl"
chmod 755 "$WORK/bin" "$WORK/bin/slabwatchctl"
CTL=$WORK/bin/slabwatchctl

make_proc_root
GROUP=$TEST_GROUP write_config
start_daemon
wait_samples 1

[[ $(stat -c '%a %G' "$SOCK") == "660 $TEST_GROUP" ]] || fail "socket is $(stat -c '%a %G' "$SOCK"), expected 660 $TEST_GROUP"

as_user() {     # as_user USER command...: with the user's groups (initgroups)
    local user=$1
    shift
    runuser -u "$user" -- "$@"
}

# --- A member through a supplementary group reads...
for cmd in status top "history kmalloc-256" meminfo events captures version metrics; do
    # shellcheck disable=SC2086
    expect_exit 0 as_user "$READER" "$CTL" --socket "$SOCK" $cmd
done
as_user "$READER" "$CTL" --socket "$SOCK" --json status | python3 -c '
import json, sys
assert json.load(sys.stdin)["ok"] is True' || fail "reader --json status"
# ...but may not change anything; the message says so.
for cmd in "arm kmalloc-256" "disarm kmalloc-256" reload; do
    # shellcheck disable=SC2086
    expect_exit 3 as_user "$READER" "$CTL" --socket "$SOCK" $cmd
    grep -q "is for root only" "$WORK/err" || fail "reader $cmd: $(cat "$WORK/err")"
done

# --- The group as primary group, no supplementary groups, is enough too.
reader_uid=$(id -u "$OUTSIDER")
group_gid=$(getent group "$TEST_GROUP" | cut -d: -f3)
expect_exit 0 setpriv --reuid="$reader_uid" --regid="$group_gid" --clear-groups "$CTL" --socket "$SOCK" status

# --- Anyone else: the 0660 socket refuses the connection.
expect_exit 3 as_user "$OUTSIDER" "$CTL" --socket "$SOCK" status
grep -q "Permission denied (slabwatchd answers root and members of its group" "$WORK/err" ||
    fail "outsider message: $(cat "$WORK/err")"

# --- Even with the socket opened up (a misconfigured socket unit), the
# daemon's own credential check refuses them, with a reason.
chmod 666 "$SOCK"
expect_exit 3 as_user "$OUTSIDER" "$CTL" --socket "$SOCK" status
grep -q "permission denied: uid $reader_uid is neither root nor a member of group \"$TEST_GROUP\"" "$WORK/err" ||
    fail "outsider on an open socket: $(cat "$WORK/err")"
# The same status with --json, for scripts.
expect_exit 3 as_user "$OUTSIDER" "$CTL" --socket "$SOCK" --json status
chmod 660 "$SOCK"

# --- Root may arm (the capture ends at once on this fake tree).
expect_exit 0 ctl arm kmalloc-256 --duration 2s

ctl --json status | python3 -c '
import json, sys
s = json.load(sys.stdin)["data"]["server"]
assert s["refused_permission"] >= 1, s
' || fail "the refusal was not counted"
echo "PASS"
