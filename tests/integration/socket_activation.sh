#!/bin/bash
# Socket activation as systemd does it (slabwatch.socket): the socket exists
# before the daemon, the first connection starts it, the daemon serves on
# the passed socket instead of binding its own, and leaves the socket file
# to its owner when it exits.
source "$(dirname "$0")/socket_common.bash"

command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate is not installed"
command -v python3 >/dev/null || skip "python3 is needed to parse the JSON answers"

make_proc_root
# The configured path (server.socket under paths.root) must stay unused:
# the passed socket wins.
OWN_SOCK=$SOCK
SOCK=$WORK/passed.sock
write_config

systemd-socket-activate -l "$SOCK" "$SLABWATCHD" -c "$WORK/slabwatch.yaml" > "$WORK/daemon.log" 2>&1 &
DAEMON_PID=$!
wait_for_socket
kill -0 "$DAEMON_PID" || fail "systemd-socket-activate exited"

# The first connection starts the daemon, which answers it.
expect_exit 0 ctl --timeout 20 version
grep -q "^slabwatchd " "$WORK/out" || fail "no answer from the activated daemon: $(cat "$WORK/out")"
wait_samples 2
# The daemon is the activated process itself (systemd-socket-activate execs it).
[[ $(status_field pid) == "$DAEMON_PID" ]] || fail "status pid $(status_field pid), expected $DAEMON_PID"
[[ -e $OWN_SOCK ]] && fail "the daemon bound $OWN_SOCK although a socket was passed"
expect_exit 0 ctl top -n 3

# The socket belongs to whoever passed it: still there after the daemon exits.
stop_daemon
[[ -S $SOCK ]] || fail "the daemon removed the socket it was given"
echo "PASS"
