#!/usr/bin/env bash
# test_loadlock.sh: reading a large inventory does not hold the mount's lock: a cat in
# another object answers while it loads; concurrent first uses of the large object share
# one load; a broken object fails with EIO without blocking the others.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"

root="$WORK/root"
mnt="$WORK/mnt"
make_root "$root"
# 9000 files x 50 versions: a 78 MB inventory (450,000 state entries), only 9000 content files
python3 "$SOURCE_ROOT/tests/mount/make_versions.py" "$root/big" "urn:test:big" 9000 50
python3 "$SOURCE_ROOT/tests/mount/make_object.py" "$root/small" "urn:test:small" --files 20 --per-dir 0
python3 "$SOURCE_ROOT/tests/mount/make_object.py" "$root/broken" "urn:test:broken" --files 2 --per-dir 0
# its id is readable (so it is listed) but the inventory is not a valid one
echo '{"id": "urn:test:broken", "type": "https://ocfl.io/1.1/spec/#inventory"}' >"$root/broken/inventory.json"

now() { date +%s.%N; }
# secs CMD...: run CMD, print its wall-clock seconds
secs() {
    local t0 t1
    t0=$(now)
    "$@" >/dev/null 2>&1
    t1=$(now)
    calc "$t1 - $t0"
}
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
lt() { awk "BEGIN { exit !($1 < $2) }"; }
diag() { echo "# $*"; }

# 1. how long the large inventory takes to load on this machine (first use of the object)
start_mount "$root" "$mnt" --state "$WORK/state" || tap_result 0 "mounts" "$(cat "$mnt.log")"
check_eq "small object reads" "file 0" "$(cat "$mnt/urn:test:small/f000000.txt")"
load=$(secs stat "$mnt/urn:test:big")
again=$(secs stat "$mnt/urn:test:big/d000")
diag "loading the 78 MB inventory took $load s (a lookup once loaded: $again s)"
check_true "the large inventory takes a measurable time to load ($load s >= 0.2 s)" lt 0.2 "$load"
stop_mount "$mnt"
check_eq "daemon exits 0" 0 $?

# 2. a fresh mount: the large object loads in the background while another object answers
start_mount "$root" "$mnt" --state "$WORK/state" || tap_result 0 "mounts again" "$(cat "$mnt.log")"
check_eq "small object reads (loaded before)" "file 1" "$(cat "$mnt/urn:test:small/f000001.txt")"
(ls -R "$mnt/urn:test:big" | grep -c '^f.*\.txt$' >"$WORK/ls1"; now >"$WORK/ls1.end") &
bg1=$!
(find "$mnt/urn:test:big/d001" -type f | wc -l >"$WORK/ls2") &
bg2=$!
# let the load start (the lookup of the large object is what loads it)
sleep "$(calc "$load / 5")"
t0=$(now)
got=$(cat "$mnt/urn:test:small/f000007.txt") # a file not looked up before: the daemon answers
t1=$(now)
cat_s=$(calc "$t1 - $t0")
wait "$bg1" "$bg2"
diag "cat of an unvisited file in the small object during the load: $cat_s s (load: $load s)"
check_eq "cat during the load reads the right bytes" "file 7" "$got"
limit=$(calc "$load / 3 < 0.3 ? $load / 3 : 0.3")
check_true "cat during the load answers fast ($cat_s s < $limit s)" lt "$cat_s" "$limit"
check_true "the listing of the large object was still running when cat answered" \
    lt "$t1" "$(cat "$WORK/ls1.end")"
check_eq "ls -R of the large object: every file (9000 at head)" \
    9000 "$(cat "$WORK/ls1")"
check_eq "a concurrent first use of the large object waits for the same load" 1000 "$(cat "$WORK/ls2")"

# 3. a broken object: EIO for each caller, the others unaffected
errs=0
for i in 1 2 3; do
    (ls "$mnt/urn:test:broken" >/dev/null 2>"$WORK/broken.$i"; echo $? >"$WORK/broken.$i.rc") &
done
wait_pids=$(jobs -p | grep -v "^$MOUNT_PID\$")
# shellcheck disable=SC2086
wait $wait_pids
for i in 1 2 3; do
    grep -q "Input/output error" "$WORK/broken.$i" || errs=$((errs + 1))
done
check_eq "three concurrent uses of a broken object all get EIO" 0 "$errs"
check_eq "the small object still reads" "file 9" "$(cat "$mnt/urn:test:small/f000009.txt")"
check_eq "the large object still reads" "file 3999" "$(cat "$mnt/urn:test:big/d003/f003999.txt")"
check_true "the failure is logged" grep -q "urn:test:broken" "$mnt.log"
stop_mount "$mnt"
check_eq "daemon exits 0" 0 $?
done_testing
