#!/usr/bin/env bash
# test_cluster_late.sh: a host paused (SIGSTOP) inside its content step, after it claimed the
# version directory, loses its lease; its taker reverts its plan (the version directory
# removed), and another host makes that version again.  Woken, the
# paused host must write nothing into the new version directory (no content, no version
# inventory): the object stays valid at the other host's version.  And a host claimed by a
# taker before its heartbeat finds out takes no new lease.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"
. "$SOURCE_ROOT/tests/cluster/pg_lib.sh"

pg_start_or_end
export OCFLFS_CLUSTER_LEASE_MS=4000
root=$WORK/root
"$OCFLFS" init "$root" >/dev/null
mkdir -p "$WORK/seed" "$WORK/other" "$WORK/mnt-a"
echo seed >"$WORK/seed/seed.txt"
"$OCFLFS" put "$root" obj "$WORK/seed" -m seed --user Seeder --cluster "$PG_URL" --host seed \
    >/dev/null 2>&1 || tap_result 0 "seed obj"

OCFLFS_TEST_STOP_AT_SWITCH=5 "$OCFLFS" mount "$root" "$WORK/mnt-a" -f --cluster "$PG_URL" \
    --host a 2>>"$WORK/mnt-a.log" &
apid=$!
PIDS+=("$apid")
wait_mounted "$WORK/mnt-a" "$apid" && wait_listing "$WORK/mnt-a"
before=$(versions)
echo "late content" >"$WORK/mnt-a/obj/late.txt"
echo "late too" >"$WORK/mnt-a/obj/seed.txt"
setfattr -n user.ocfl.commit -v "late" "$WORK/mnt-a/obj" 2>"$WORK/err-late" &
cpid=$!
check_true "host a stops in its content step" wait_stopped "$apid"
objdir=$(find "$root" -name "0=ocfl_object_1.1" -printf "%h\n")
check_true "after it claimed the version directory" test -d "$objdir/v$((before + 1))"
# its taker reverts the plan: here because the plan's inventory record is lost (any cause of
# a revert would do)
rm -f "$root"/extensions/ocflfs/hosts/a/scratch/inventory-*.json
start_host b "$root" || tap_result 0 "host b mounts" "$(tail -5 "$WORK/mnt-b.log")"
wait_took_over b a
check_grep "host b takes the paused host over" "took over host 'a'" "$WORK/mnt-b.log"
# said once done: a returning host reading the line finds its host taken, not being taken
check_eq "host a is 'taken' once b says so" taken "$(pg_sql "SELECT state FROM ocflfs_hosts WHERE name = 'a'")"
check_true "and reverts its plan: the version directory is gone" test ! -e "$objdir/v$((before + 1))"
check_eq "the object is at its old head" "$before" "$(versions)"
echo "other" >"$WORK/other/seed.txt"
echo "other new" >"$WORK/other/new.txt"
"$OCFLFS" put "$root" obj "$WORK/other" -m other --user Other --cluster "$PG_URL" --host c \
    >"$WORK/put.out" 2>&1
rc=$?; sed "s/^/# /" "$WORK/put.out"
check_eq "host c makes that version again" 0 $rc
check_eq "a version more" $((before + 1)) "$(versions)"
sums=$(objsums)
kill -CONT "$apid"
wait "$cpid"
check_eq "a's commit fails once it wakes" 1 $?
check_eq "a wrote nothing into the object after it woke" "$sums" "$(objsums)"
check_true "the object is valid" "$OCFLFS" validate "$root" obj --quiet
check_eq "at c's version" "other" "$("$OCFLFS" cat "$root" obj seed.txt 2>&1)"
stop_host b
fusermount3 -u "$WORK/mnt-a" 2>/dev/null || fusermount3 -u -z "$WORK/mnt-a"
for ((i = 0; i < 3000; i++)); do
    kill -0 "$apid" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$apid" 2>/dev/null && kill -9 "$apid"
wait "$apid" 2>/dev/null
# a host claimed by a taker before its own heartbeat found out (a long lease: the next beat is
# seconds away) takes no lease: its commit fails (ENOLCK) and writes nothing
"$OCFLFS" put "$root" obj2 "$WORK/seed" -m seed --user Seeder --cluster "$PG_URL" --host seed \
    >/dev/null 2>&1 || tap_result 0 "seed obj2"
OCFLFS_CLUSTER_LEASE_MS=40000 "$OCFLFS" mount "$root" "$WORK/mnt-a" -f --cluster "$PG_URL" \
    --host a 2>>"$WORK/mnt-a.log" &
apid=$!
PIDS+=("$apid")
wait_mounted "$WORK/mnt-a" "$apid" && wait_listing "$WORK/mnt-a"
echo "claimed" >"$WORK/mnt-a/obj2/claimed.txt"
sums=$(objsums)
pg_sql "UPDATE ocflfs_hosts SET state = 'taking', taken_by = 'x' WHERE name = 'a'" >/dev/null
setfattr -n user.ocfl.commit -v "claimed" "$WORK/mnt-a/obj2" 2>/dev/null
check_eq "a claimed host's commit fails" 1 $?
check_eq "ENOLCK: it takes no lease" 37 \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("code"))' "$WORK/mnt-a/obj2/.ocfl/commit")"
check_eq "and holds none" 0 "$(pg_sql "SELECT count(*) FROM ocflfs_leases WHERE host = 'a'")"
check_eq "the object unchanged" "$sums" "$(objsums)"
fusermount3 -u "$WORK/mnt-a" 2>/dev/null || fusermount3 -u -z "$WORK/mnt-a"
for ((i = 0; i < 3000; i++)); do
    kill -0 "$apid" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$apid" 2>/dev/null && kill -9 "$apid"
wait "$apid" 2>/dev/null
done_testing
