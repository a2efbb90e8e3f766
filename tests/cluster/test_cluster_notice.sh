#!/usr/bin/env bash
# test_cluster_notice.sh: a new version made on one host is announced (LISTEN/NOTIFY): the
# other host's mount drops what it had cached of the object, shows the new bytes, and reports
# the conflict of changes staged there on the old head at once; an object made on one host
# appears in the other's listing; the shared index has every switch.  The delay from the
# commit's return to the other host's view is printed (tests/bench/cluster.sh measures it).
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"
. "$SOURCE_ROOT/tests/cluster/pg_lib.sh"

pg_start_or_end
# long leases: host b, paused below, is not taken over meanwhile
export OCFLFS_CLUSTER_LEASE_MS=600000
root=$WORK/root
"$OCFLFS" init "$root" >/dev/null
mkdir -p "$WORK/seed"
echo old >"$WORK/seed/f.txt"
"$OCFLFS" put "$root" obj "$WORK/seed" -m seed --user Seeder --cluster "$PG_URL" --host seed \
    >/dev/null 2>&1 || tap_result 0 "seed obj"
check_eq "the shared index has the put's version" "v1" \
    "$(pg_sql "SELECT head FROM ocflfs_objects WHERE object_id = 'obj'")"
for h in a b; do
    start_host "$h" "$root" || tap_result 0 "host $h mounts" "$(tail -5 "$WORK/mnt-$h.log")"
done
notices() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cluster"]["notices"])' "$WORK/mnt-b/.ocfl/status"; }
check_eq "b has the old bytes (and the kernel keeps them)" old "$(cat "$WORK/mnt-b/obj/f.txt")"
echo "staged on b" >"$WORK/mnt-b/obj/b.txt"
check_eq "b's staged change is on the head: no conflict" False \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["conflict"])' "$WORK/mnt-b/obj/.ocfl/status")"
n0=$(notices)

echo new >"$WORK/mnt-a/obj/f.txt"
setfattr -n user.ocfl.commit -v "new on a" "$WORK/mnt-a/obj"
check_eq "a commits v2" 0 $?
t0=$(date +%s.%N)
seen=0
for ((i = 0; i < 30000; i++)); do # the event, not a time: 5 minutes at most
    [[ $(cat "$WORK/mnt-b/obj/f.txt" 2>/dev/null) == new ]] && { seen=1; break; }
    sleep 0.01
done
t1=$(date +%s.%N)
tap_result $seen "b shows a's new bytes"
tap_diag "notice delay: $(python3 -c "print('%.3f s' % ($t1 - $t0))") from a's commit returning to b's read"
for ((i = 0; i < 3000; i++)); do # heard by now, unless b read the bytes some other way first
    (($(notices) > n0)) && break
    sleep 0.1
done
check_true "b heard the notice" test "$(notices)" -gt "$n0"
check_eq "b's staged change now shows its conflict" True \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["conflict"])' "$WORK/mnt-b/obj/.ocfl/status")"
check_eq "and the head it would commit on" v2 \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["head"])' "$WORK/mnt-b/obj/.ocfl/status")"
check_eq "the shared index has v2" v2 "$(pg_sql "SELECT head FROM ocflfs_objects WHERE object_id = 'obj'")"

# an object made on a appears in b's listing
mkdir "$WORK/mnt-a/made-on-a"
echo hello >"$WORK/mnt-a/made-on-a/h.txt"
setfattr -n user.ocfl.commit -v "made on a" "$WORK/mnt-a/made-on-a"
check_eq "a commits a new object" 0 $?
seen=0
for ((i = 0; i < 3000; i++)); do
    ls "$WORK/mnt-b" | grep -qx made-on-a && { seen=1; break; }
    sleep 0.1
done
tap_result $seen "b lists it"
check_eq "with its bytes" hello "$(cat "$WORK/mnt-b/made-on-a/h.txt" 2>&1)"
# connections that break (a server restarted, a backend terminated) are made again: host b
# paused, every connection of the hosts terminated, a commit on a (its lease taken on a new
# connection) whose notice b cannot hear; b, woken, reconnects and reads the shared index
# for what it missed
n0=$(notices)
kill -STOP "${HOST_PID[b]}"
check_true "host b is paused" wait_stopped "${HOST_PID[b]}"
check_eq "the hosts' connections terminated" t \
    "$(pg_sql "SELECT bool_and(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'ocflfs'")"
echo "after reconnect" >"$WORK/mnt-a/obj/f.txt"
setfattr -n user.ocfl.commit -v "after the connections broke" "$WORK/mnt-a/obj" 2>"$WORK/err-re"
check_eq "a commits on a connection made again" 0 $?
check_eq "the shared index has its version" v3 \
    "$(pg_sql "SELECT head FROM ocflfs_objects WHERE object_id = 'obj'")"
kill -CONT "${HOST_PID[b]}"
for ((i = 0; i < 3000; i++)); do # the event, not a time: 5 minutes at most
    (($(notices) > n0)) && break
    sleep 0.1
done
check_true "b, reconnected, hears of the version it missed" test "$(notices)" -gt "$n0"
check_eq "and shows its bytes" "after reconnect" "$(cat "$WORK/mnt-b/obj/f.txt" 2>&1)"
for h in a b; do
    stop_host "$h"
    check_eq "host $h unmounts cleanly" 0 $?
done
# b's staged change, seen and dropped without a mount through its host name
"$OCFLFS" status "$root" obj --host b --json >"$WORK/st.json" 2>&1
check_eq "status --host b" 0 $?
check_grep "shows b's staged file" "b.txt" "$WORK/st.json"
"$OCFLFS" discard "$root" obj --host b >/dev/null 2>&1
check_eq "discard --host b drops it" 0 $?
check_eq "then nothing is staged on b" "" "$("$OCFLFS" status "$root" --host b --json |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(o.get("object", o.get("id","")) for o in d.get("objects", d.get("staged", []))))')"
done_testing
