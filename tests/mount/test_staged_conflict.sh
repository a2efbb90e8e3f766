#!/usr/bin/env bash
# test_staged_conflict.sh: changes staged through a mount are not silently rebased onto a head
# that another writer made meanwhile.  `ocflfs put` refuses an object with staged changes.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"
MAKE="$SOURCE_ROOT/tests/mount/make_object.py"
head_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["head"])' "$1/inventory.json"; }

root="$WORK/root"
mnt="$WORK/mnt"
state="$WORK/state"
make_root "$root"
python3 "$MAKE" "$root/a" "urn:test:a" --files 4 >/dev/null
mkdir -p "$WORK/dir"
echo "from put" >"$WORK/dir/put.txt"

# 1. put refuses an object with staged changes, and leaves both the object and the staging alone
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "mount" "$(cat "$mnt.log")"
A="$mnt/urn:test:a"
echo staged >"$A/staged.txt"
stop_mount "$mnt"
sums=$(tree_sums "$root")
"$OCFLFS" put "$root" urn:test:a "$WORK/dir" -m "over staged" --state "$state" 2>"$WORK/err"
check_eq "put over staged changes fails" 1 $?
check_grep "and says why" "changes staged through a mount" "$WORK/err"
check_eq "the object is untouched" "$sums" "$(tree_sums "$root")"
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "remount" "$(cat "$mnt.log")"
check_eq "the staged file is still there" "staged" "$(cat "$A/staged.txt" 2>&1)"
echo x >"$A/.ocfl/discard"
stop_mount "$mnt"
"$OCFLFS" put "$root" urn:test:a "$WORK/dir" -m "after discard" --state "$state" >/dev/null 2>"$WORK/err"
check_eq "after a discard put works" 0 $?
check_eq "and writes v2" v2 "$(head_of "$root/a")"

done_testing
