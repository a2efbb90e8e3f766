#!/usr/bin/env bash
# test_cluster_index.sh: a host that mounts a root for the first time lists its objects from
# the cluster's shared index at once (N of them: the first argument, or CLUSTER_INDEX_OBJECTS,
# or 100,000; its listing is complete before any walk), and its walk of the root in the background catches up with an object another tool
# wrote, which the index does not have.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"
. "$SOURCE_ROOT/tests/cluster/pg_lib.sh"
N=${1:-${CLUSTER_INDEX_OBJECTS:-100000}}

pg_start_or_end
root=$WORK/root
"$OCFLFS" init "$root" --layout 0002-flat-direct-storage-layout >/dev/null
python3 "$SOURCE_ROOT/tests/cluster/make_many.py" "$root" "$N" "$WORK/index.sql"
check_eq "$N objects made" "$N" "$(find "$root" -maxdepth 1 -name 'o[0-9]*' | wc -l)"
# the schema, made by ocflfs; then the index as the hosts' commits would have left it
"$OCFLFS" plans "$root" --cluster "$PG_URL" >/dev/null
psql "$PG_URL" -X -q -v ON_ERROR_STOP=1 -f "$WORK/index.sql" >/dev/null
check_eq "the shared index has them" "$N" "$(pg_sql 'SELECT count(*) FROM ocflfs_objects')"
# another tool's object, not in the index
mkdir -p "$WORK/d" && echo other >"$WORK/d/x.txt"
"$OCFLFS" put "$root" extra "$WORK/d" -m "another tool" --user Other >/dev/null
check_eq "and one object written by another tool" 0 $?

t0=$(date +%s.%N)
NO_WAIT_LISTING=1 start_host fresh "$root" || tap_result 0 "a fresh host mounts" "$(tail -5 "$WORK/mnt-fresh.log")"
st=$(cat "$WORK/mnt-fresh/.ocfl/status")
t1=$(date +%s.%N)
tap_diag "a fresh host mounted and listed $N objects in $(python3 -c "print('%.2f s' % ($t1 - $t0))")"
check_eq "its listing is complete at once (from the index, no walk waited for)" complete \
    "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["listing"])' "$st")"
check_true "with at least the $N objects" test "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["objects"])' "$st")" -ge "$N"
check_grep "its log says where they came from" "$N objects listed from the shared index" "$WORK/mnt-fresh.log"
check_true "ls shows them" test "$(ls "$WORK/mnt-fresh" | grep -c '^o[0-9]')" -eq "$N"
check_eq "an object's bytes" small "$(cat "$WORK/mnt-fresh/o012345/f.txt" 2>&1)"
seen=0
for ((i = 0; i < 3000; i++)); do # the walk's catch-up: 5 minutes at most
    [[ -e $WORK/mnt-fresh/extra ]] && ls "$WORK/mnt-fresh" | grep -qx extra && { seen=1; break; }
    sleep 0.1
done
tap_result $seen "the walk catches up with the other tool's object"
check_eq "with its bytes" other "$(cat "$WORK/mnt-fresh/extra/x.txt" 2>&1)"
stop_host fresh
check_eq "the host unmounts cleanly" 0 $?
done_testing
