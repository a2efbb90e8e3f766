#!/usr/bin/env bash
# test_cluster_revert.sh: a host whose plan fails reverts it, and is paused (SIGSTOP) inside
# that revert right after its fence and its record; it loses its lease, its taker reverts the plan (the
# version directory removed), and another host claims that version again and is building it
# (its version directory without inventory.json yet, its staged file moved in).  Woken, the
# late reverter must destroy nothing of it: no file moved out, the directory not removed.
# And a host paused after its revert's fence, before its record, whose taker finished the plan
# instead, must neither undo that version nor record a revert over it (which would undo it the
# next time its journal runs).
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"
. "$SOURCE_ROOT/tests/cluster/pg_lib.sh"

pg_start_or_end
export OCFLFS_CLUSTER_LEASE_MS=4000
root=$WORK/root
"$OCFLFS" init "$root" >/dev/null
mkdir -p "$WORK/seed" "$WORK/mnt-a"
echo seed >"$WORK/seed/seed.txt"
"$OCFLFS" put "$root" obj "$WORK/seed" -m seed --user Seeder --cluster "$PG_URL" --host seed \
    >/dev/null 2>&1 || tap_result 0 "seed obj"

# step 3 (the version inventory, after the two content steps) fails for good: a revert
OCFLFS_TEST_STOP_AT_SWITCH=7 OCFLFS_TEST_FAIL_STEP=3:1000:22 OCFLFS_TEST_RETRY_MS=10 \
    "$OCFLFS" mount "$root" "$WORK/mnt-a" -f --cluster "$PG_URL" --host a 2>>"$WORK/mnt-a.log" &
apid=$!
PIDS+=("$apid")
wait_mounted "$WORK/mnt-a" "$apid" && wait_listing "$WORK/mnt-a"
before=$(versions)
v=v$((before + 1))
echo "late content" >"$WORK/mnt-a/obj/late.txt"
echo "late too" >"$WORK/mnt-a/obj/seed.txt"
setfattr -n user.ocfl.commit -v "late" "$WORK/mnt-a/obj" 2>"$WORK/err-late" &
cpid=$!
check_true "host a stops in its revert" wait_stopped "$apid"
objdir=$(find "$root" -name "0=ocfl_object_1.1" -printf "%h\n")
check_eq "after its content was moved into $v" "late content" "$(cat "$objdir/$v/content/late.txt" 2>&1)"
# its taker reverts the plan too: here because the plan's inventory record is lost (else it
# would finish it)
rm -f "$root"/extensions/ocflfs/hosts/a/scratch/inventory-*.json
start_host b "$root" || tap_result 0 "host b mounts" "$(tail -5 "$WORK/mnt-b.log")"
wait_took_over b a
check_grep "host b takes the paused host over" "took over host 'a'" "$WORK/mnt-b.log"
check_true "and reverts its plan: the version directory is gone" test ! -e "$objdir/$v"
check_eq "the object is at its old head" "$before" "$(versions)"
stop_host b
# Another host's version being built, as its plan leaves it before its version inventory: the
# version directory claimed by its exclusive mkdir, its staged files moved in (one at a path of
# a's plan, other bytes; one of the same bytes as a's).  Made here by hand so that it stays
# in that state while a wakes.
mkdir "$objdir/$v"
mkdir "$objdir/$v/content"
echo "other host's staged data" >"$objdir/$v/content/late.txt"
echo "late too" >"$objdir/$v/content/seed.txt"
# and the paused host's staged sources gone (as a discard of its taker could leave them)
find "$root/extensions/ocflfs/hosts/a" -path '*scratch*' -type f ! -name 'inventory-*' \
    -newer "$WORK/seed/seed.txt" -print >"$WORK/sources"
sed "s/^/# a's source: /" "$WORK/sources"
xargs -r rm -f <"$WORK/sources"
ino=$(stat -c %i "$objdir/$v")
sums=$(objsums)
kill -CONT "$apid"
wait "$cpid"
check_eq "a's commit fails once it wakes" 1 $?
check_eq "a destroyed nothing of the other host's version" "$sums" "$(objsums)"
check_eq "the directory is still the other host's" "$ino" "$(stat -c %i "$objdir/$v" 2>&1)"
check_eq "its staged file is still there" "other host's staged data" \
    "$(cat "$objdir/$v/content/late.txt" 2>&1)"
check_eq "and the one with a's bytes too" "late too" "$(cat "$objdir/$v/content/seed.txt" 2>&1)"
fusermount3 -u "$WORK/mnt-a" 2>/dev/null || fusermount3 -u -z "$WORK/mnt-a"
for ((i = 0; i < 3000; i++)); do
    kill -0 "$apid" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$apid" 2>/dev/null && kill -9 "$apid"
wait "$apid" 2>/dev/null
rm -rf "${objdir:?}/$v"
check_true "without that version directory the object is valid" "$OCFLFS" validate "$root" obj --quiet
check_eq "at its old head" "$before" "$(versions)"

# the taker finishes the plan (its inventory record is there): woken, a leaves it alone
"$OCFLFS" put "$root" obj2 "$WORK/seed" -m seed --user Seeder --cluster "$PG_URL" --host seed \
    >/dev/null 2>&1 || tap_result 0 "seed obj2"
versions2() { "$OCFLFS" log "$root" obj2 --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["versions"]))'; }
OCFLFS_TEST_STOP_AT_SWITCH=6 OCFLFS_TEST_FAIL_STEP=3:1000:22 OCFLFS_TEST_RETRY_MS=10 \
    "$OCFLFS" mount "$root" "$WORK/mnt-a" -f --cluster "$PG_URL" --host a 2>>"$WORK/mnt-a.log" &
apid=$!
PIDS+=("$apid")
wait_mounted "$WORK/mnt-a" "$apid" && wait_listing "$WORK/mnt-a"
before=$(versions2)
echo "late content" >"$WORK/mnt-a/obj2/late.txt"
echo "late too" >"$WORK/mnt-a/obj2/seed.txt"
setfattr -n user.ocfl.commit -v "late" "$WORK/mnt-a/obj2" 2>"$WORK/err-late2" &
cpid=$!
check_true "host a stops in its revert again" wait_stopped "$apid"
takes=$(grep -c "took over host 'a'" "$WORK/mnt-b.log")
start_host b "$root" || tap_result 0 "host b mounts again" "$(tail -5 "$WORK/mnt-b.log")"
for ((i = 0; i < 3000; i++)); do
    (($(grep -c "took over host 'a'" "$WORK/mnt-b.log") > takes)) && break
    sleep 0.1
done
check_eq "host b takes it over again" $((takes + 1)) "$(grep -c "took over host 'a'" "$WORK/mnt-b.log")"
check_eq "and finishes its plan" $((before + 1)) "$(versions2)"
stop_host b
sums=$(objsums)
kill -CONT "$apid"
wait "$cpid"
check_eq "a's commit fails once it wakes" 1 $?
check_eq "a undid nothing of the version its taker finished" "$sums" "$(objsums)"
check_true "the object is valid" "$OCFLFS" validate "$root" obj2 --quiet
check_eq "at that version" "late content" "$("$OCFLFS" cat "$root" obj2 late.txt 2>&1)"
"$OCFLFS" plans "$root" --all --json --state "$root/extensions/ocflfs/hosts/a" >"$WORK/plans.json"
check_eq "a's journal says its plan is done, not reverting" done \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["plans"][-1]["state"])' "$WORK/plans.json" 2>&1)"
fusermount3 -u "$WORK/mnt-a" 2>/dev/null || fusermount3 -u -z "$WORK/mnt-a"
for ((i = 0; i < 3000; i++)); do
    kill -0 "$apid" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$apid" 2>/dev/null && kill -9 "$apid"
wait "$apid" 2>/dev/null
done_testing
