#!/usr/bin/env bash
# test_systemd_unit.sh: doc/ocflfs@.service (issue 14) passes `systemd-analyze verify`, and its
# ExecStart line, run as systemd would (the settings file's variables expanded, NOTIFY_SOCKET
# set), reports readiness once the mount serves; its ExecStop line waits for a running commit
# and unmounts, and the daemon exits 0.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/cli/hostile_lib.sh"
need_root_mounts

unit="$SOURCE_ROOT/doc/ocflfs@.service"
mkdir -p "$HT/units"
sed "s|/usr/local/bin/ocflfs|$OCFLFS|g" "$unit" >"$HT/units/ocflfs@test.service"
out=$(cd "$HT/units" && systemd-analyze verify --man=no ./ocflfs@test.service 2>&1)
tap_result $(($? == 0)) "systemd-analyze verify" "$out"

R=$HT/root
M=$HT/mnt
mkdir -p "$M"
"$OCFLFS" init "$R" >/dev/null || exit 1
OCFLFS_ROOT=$R OCFLFS_MOUNTPOINT=$M OCFLFS_OPTIONS='committer=Unit,state='"$HT/state"
line() { # line KEY: the unit's KEY= command, its ${VARS} expanded as systemd does
    local l
    l=$(sed -n "s/^$1=//p" "$HT/units/ocflfs@test.service")
    l=${l//'${OCFLFS_ROOT}'/$OCFLFS_ROOT}
    l=${l//'${OCFLFS_MOUNTPOINT}'/$OCFLFS_MOUNTPOINT}
    printf '%s' "${l//'${OCFLFS_OPTIONS}'/$OCFLFS_OPTIONS}"
}
# the service manager's side of Type=notify: a datagram socket, READY=1 awaited
python3 - "$HT/notify.sock" >"$HT/notify.out" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
print(s.recv(4096).decode())
PY
listener=$!
for _ in $(seq 100); do [[ -S $HT/notify.sock ]] && break; sleep 0.05; done
read -ra start <<<"$(line ExecStart)"
NOTIFY_SOCKET=$HT/notify.sock "${start[@]}" 2>"$HT/daemon.err" &
daemon=$!
H_PIDS+=("$daemon")
wait $listener
check_eq "ExecStart reports READY=1" "READY=1" "$(cat "$HT/notify.out")"
check_true "and by then it is mounted" grep -q " $M fuse.ocflfs " /proc/mounts
mkdir "$M/obj" && head -c $((128 << 20)) /dev/urandom >"$M/obj/big.bin"
setfattr -n user.ocfl.commit -v "before the stop" "$M/obj" & commit=$!
# on its way for sure before the stop (no guess of how fast this machine is): the object
# reports it committing, or it is already done
until [[ $(json "$M/obj/.ocfl/status" 'd["committing"]' 2>/dev/null) == True ]] ||
    ! kill -0 $commit 2>/dev/null; do sleep 0.05; done
read -ra stop <<<"$(line ExecStop)"
out=$("${stop[@]}" 2>&1)
tap_result $(($? == 0)) "ExecStop" "$out"
wait $commit
check_eq "the commit running at the stop finished" 0 $?
wait $daemon
check_eq "the daemon exits 0" 0 $?
check_true "nothing is mounted any more" test -z "$(awk -v m="$M" '$2 == m' /proc/mounts)"
out=$("$OCFLFS" validate "$R" 2>&1)
tap_result $(($? == 0)) "the root validates, with the version" "$out"
check_eq "signed as the settings said" "Unit" \
    "$(json "$R/$(objdir_of "$R")/inventory.json" 'd["versions"]["v1"]["user"]["name"]' 2>&1)"
done_testing
