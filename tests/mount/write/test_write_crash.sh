#!/usr/bin/env bash
# test_write_crash.sh: staged changes survive a SIGKILLed daemon; a daemon killed in the middle of
# a commit is recovered at the next mount (complete new version); a root inventory changed
# outside during a commit is a conflict (reverted, staged changes back, the other inventory
# untouched); writers in two objects while a third commits.  Every version checked by
# write_check.py and `ocflfs validate`.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"
MAKE="$SOURCE_ROOT/tests/mount/make_object.py"
CHECK="$SOURCE_ROOT/tests/mount/write_check.py"
valid() { "$OCFLFS" validate "$1" >/dev/null 2>&1; }

root="$WORK/root"
mnt="$WORK/mnt"
state="$WORK/state"
make_root "$root"
for o in a b c d e; do python3 "$MAKE" "$root/$o" "urn:test:$o" --files 4 >/dev/null; done

# kill_mount: SIGKILL the daemon and clear the dead mount point
kill_mount() {
    kill -9 "$MOUNT_PID" 2>/dev/null
    wait "$MOUNT_PID" 2>/dev/null
    fusermount3 -u -z "$mnt" 2>/dev/null
    wait_unmounted "$mnt"
}
check_v() { # check_v DESCRIPTION OBJ REF VN
    local out
    out=$(python3 "$CHECK" "$root/$2" "$3" --head "$4" 2>&1)
    tap_result $([[ $? == 0 ]] && echo 1 || echo 0) "$1" "$out"
}
staged_paths() { # staged_paths OBJ: added and modified paths in .ocfl/status
    python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(" ".join(sorted(a["path"] for a in s["added"]+s["modified"])))' \
        "$mnt/urn:test:$1/.ocfl/status"
}

# 1. staged edits, then SIGKILL: the next mount shows the same view
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "mount" "$(cat "$mnt.log")"
A="$mnt/urn:test:a"
echo new >"$A/new.txt"
echo changed >>"$A/d0000/f000001.txt"
mv "$A/d0000/f000002.txt" "$A/moved.txt"
rm "$A/d0000/f000003.txt"
mkdir -p "$A/x/y"
head -c $((8 << 20)) /dev/urandom >"$A/x/y/big.bin"
cp -r "$A" "$WORK/ref-a"
kill_mount
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "remount after SIGKILL" "$(cat "$mnt.log")"
check_true "after SIGKILL the remount shows the same staged view" diff -r "$A" "$WORK/ref-a"
setfattr -n user.ocfl.commit -v "after kill" "$A"
check_eq "those changes commit" 0 $?
check_v "the version equals the view before the kill" a "$WORK/ref-a" v2
check_true "valid" valid "$root/a"

# 2. SIGKILL in the middle of a commit (after its content steps): recovered at the next mount
stop_mount "$mnt"
OCFLFS_TEST_KILL_AT_STEP=2 start_mount "$root" "$mnt" --state "$state" ||
    tap_result 0 "mount with the kill hook" "$(cat "$mnt.log")"
B="$mnt/urn:test:b"
head -c $((16 << 20)) /dev/urandom >"$B/big.bin"
echo more >>"$B/d0000/f000000.txt"
rm "$B/d0000/f000001.txt"
cp -r "$B" "$WORK/ref-b"
setfattr -n user.ocfl.commit -v "killed" "$B" 2>/dev/null
check_true "the commit did not return success (daemon killed)" test $? -ne 0
kill_mount
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "remount after a kill in a commit" "$(cat "$mnt.log")"
check_v "recovery finished the new version" b "$WORK/ref-b" v2
check_true "valid after recovery" valid "$root/b"
check_eq "nothing left staged" "" "$(staged_paths b)"
check_true "the view equals the committed version" diff -r "$B" "$WORK/ref-b"

# the step that switches the root inventory, from the plan just run
switch=$(python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
print(next(s["index"] for s in p["step_list"] if s["dest"] == "inventory.json"))' "$mnt/.ocfl/plans/1.json" 2>"$WORK/err")
check_true "plans/1.json lists the steps (switch at $switch)" test -n "$switch"

# 3. a conflict: the root inventory changes outside while a commit is in flight
stop_mount "$mnt"
OCFLFS_TEST_KILL_BEFORE_STEP=$switch start_mount "$root" "$mnt" --state "$state" ||
    tap_result 0 "mount with the kill hook" "$(cat "$mnt.log")"
C="$mnt/urn:test:c"
echo staged >"$C/staged.txt"
echo edit >>"$C/d0000/f000000.txt"
echo third >"$C/third.txt" # three new contents, as the plan the switch step was taken from
setfattr -n user.ocfl.commit -v "conflicting" "$C" 2>/dev/null
kill_mount
python3 - "$root/c" <<'PY'
import hashlib, json, os, sys
obj = sys.argv[1]
inv = json.load(open(os.path.join(obj, "inventory.json")))
inv["versions"]["v1"]["message"] = "changed by another tool"
data = json.dumps(inv, indent=2).encode()
open(os.path.join(obj, "inventory.json"), "wb").write(data)
open(os.path.join(obj, "inventory.json.sha512"), "w").write(hashlib.sha512(data).hexdigest() + "  inventory.json\n")
PY
cp "$root/c/inventory.json" "$WORK/outside.json"
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "remount after the conflict" "$(cat "$mnt.log")"
check_true "the other tool's inventory is untouched" cmp "$root/c/inventory.json" "$WORK/outside.json"
check_true "no v2 directory is left" test ! -e "$root/c/v2"
check_eq "the staged changes are back" "d0000/f000000.txt staged.txt third.txt" "$(staged_paths c 2>&1)"
check_grep "the daemon log names the conflict" "conflict" "$mnt.log"
check_eq "the staged bytes are intact" "staged" "$(cat "$C/staged.txt")"
plan_state=$(python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print(p["state"])' "$mnt/.ocfl/plans/3.json" 2>&1)
check_eq "the plan is reverted" "reverted" "$plan_state"

# 4. writers in two objects while a third commits a big file; and a write to the committing
# object during its commit lands in a version too
E="$mnt/urn:test:e"
head -c $((48 << 20)) /dev/urandom >"$E/big.bin"
writer() { # writer DIR: 100 small files and a 4 MiB one
    local i
    mkdir -p "$1/w"
    for i in $(seq 1 100); do echo "line $i" >"$1/w/f$i.txt" || return 1; done
    head -c $((4 << 20)) /dev/zero >"$1/w/zeros.bin"
}
writer "$mnt/urn:test:d" & w1=$!
writer "$mnt/urn:test:a" & w2=$!
setfattr -n user.ocfl.commit -v "big" "$E" & c1=$!
sleep 0.05
echo late >"$E/late.txt"
wait $w1; r1=$?
wait $w2; r2=$?
wait $c1; r3=$?
check_eq "writers and the commit all succeed" "0 0 0" "$r1 $r2 $r3"
setfattr -n user.ocfl.commit -v "late" "$E" 2>/dev/null # late.txt, unless the first took it
cp -r "$E" "$WORK/ref-e"
head=$(getfattr --only-values -n user.ocfl.head "$E" 2>/dev/null)
check_v "the committing object has big.bin and late.txt ($head)" e "$WORK/ref-e" "$head"
for o in d a; do
    setfattr -n user.ocfl.commit -v "writer" "$mnt/urn:test:$o"
    cp -r "$mnt/urn:test:$o" "$WORK/ref-w$o"
    head=$(getfattr --only-values -n user.ocfl.head "$mnt/urn:test:$o" 2>/dev/null)
    check_v "the writer's object $o commits what was written" "$o" "$WORK/ref-w$o" "$head"
done

# 5. a slow commit (a step fails twice, retried after 0.7 s and 1.4 s): writes to its object go
# on meanwhile into the next generation; a file open for writing commits its bytes at the freeze
stop_mount "$mnt"
OCFLFS_TEST_FAIL_STEP=1:2 OCFLFS_TEST_RETRY_MS=700 start_mount "$root" "$mnt" --state "$state" ||
    tap_result 0 "mount with a failing step" "$(cat "$mnt.log")"
D="$mnt/urn:test:d"
exec 7>"$D/open.txt"
echo before >&7
# by the control file: setxattr on DIR would hold DIR's inode lock in the kernel (no create)
(echo slow >"$D/.ocfl/commit") & cpid=$!
sleep 0.5
t0=$(date +%s.%N)
echo after >&7
echo new >"$D/during.txt"
t1=$(date +%s.%N)
progress=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); c=s["commit"]; print(s["committing"], c["steps_total"] > 0, c["steps_done"] < c["steps_total"])' "$D/.ocfl/status" 2>&1)
check_eq ".ocfl/status shows the running commit's steps" "True True True" "$progress"
running=$(kill -0 $cpid 2>/dev/null && echo running || echo finished)
# had the writes waited for the commit, it would have ended before they did: the order of the
# two events is the check, their seconds only a figure
check_eq "the writes did not wait for the commit: it is still running after them" running "$running"
tap_diag "the writes during the commit took $(echo "$t1 - $t0" | bc) s"
wait $cpid
check_eq "the slow commit succeeds" 0 $?
exec 7>&-
head=$(getfattr --only-values -n user.ocfl.head "$D" 2>/dev/null)
committed=$(python3 -c '
import json, sys, os
obj = sys.argv[1]
inv = json.load(open(os.path.join(obj, "inventory.json")))
st = inv["versions"][inv["head"]]["state"]
paths = {lp: d for d, lps in st.items() for lp in lps}
print("during.txt" in paths, open(os.path.join(obj, inv["manifest"][paths["open.txt"]][0])).read().strip())
' "$root/d")
check_eq "$head has the open file as it was at the freeze, not the later file" "False before" "$committed"
check_eq "the view has the later bytes" "before after" "$(cat "$D/open.txt" | xargs)"
check_eq "the later changes are staged" "during.txt open.txt" "$(staged_paths d)"
setfattr -n user.ocfl.commit -v "later" "$D"
cp -r "$D" "$WORK/ref-d2"
head=$(getfattr --only-values -n user.ocfl.head "$D" 2>/dev/null)
check_v "the next version has the later bytes ($head)" d "$WORK/ref-d2" "$head"

for o in a b d e; do
    check_true "object $o validates" valid "$root/$o"
done
stop_mount "$mnt"
check_eq "clean unmount" 0 $?
done_testing
