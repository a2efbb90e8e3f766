#!/usr/bin/env bash
# test_write_answers.sh: small answers of the write side that tools rely on (issue 11, item 6):
# .ocfl/status gives the size `ls -l` gives while a writer still has the file open; listxattr
# works on staged files (a new object, a committed one); a second commit of an object while one
# runs gets EBUSY and says why in .ocfl/commit.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"

root="$WORK/root"
mnt="$WORK/mnt"
make_root "$root"
start_mount "$root" "$mnt" --user "Test User" --address mailto:t@example.org ||
    tap_result 0 "mount" "$(cat "$mnt.log")"

# status size with the writer's descriptor still open
mkdir "$mnt/new"
exec 7>"$mnt/new/open.txt"
printf 'twelve bytes' >&7
size_ls=$(stat -c %s "$mnt/new/open.txt")
size_status=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]));
print([f["size"] for f in d["added"] if f["path"]=="open.txt"][0])' "$mnt/new/.ocfl/status")
check_eq "status gives the size stat gives while the writer is open" "$size_ls" "$size_status"
check_eq "and it is the bytes written" "12" "$size_status"
exec 7>&-

# listxattr on a staged file of a new object, and of a committed object
out=$(getfattr -d -m - "$mnt/new/open.txt" 2>&1)
check_true "listxattr on a staged file of a new object" grep -q 'user.ocfl.staged="added"' <<<"$out"
setfattr -n user.ocfl.commit -v "first" "$mnt/new"
tap_result $(($? == 0)) "commit of the new object"
echo more >"$mnt/new/second.txt"
out=$(getfattr -d -m - "$mnt/new/second.txt" 2>&1)
check_true "listxattr on a new file of a committed object" grep -q 'user.ocfl.staged="added"' <<<"$out"
out=$(getfattr -d -m - "$mnt/new/open.txt" 2>&1)
check_true "listxattr on a committed file lists its digest" grep -q 'user.ocfl.digest=' <<<"$out"
mkdir "$WORK/other"
mv_out=$(mv "$mnt/new/second.txt" "$WORK/other/" 2>&1)
tap_result $(($? == 0)) "mv of a staged file out of the mount says nothing" "$mv_out"
check_eq "and moves its bytes" "more" "$(cat "$WORK/other/second.txt")"

# two commits at once: the second gets EBUSY and the reason
head -c $((256 << 20)) /dev/zero >"$mnt/new/big.bin"
head -c $((256 << 20)) /dev/urandom >>"$mnt/new/big.bin"
setfattr -n user.ocfl.commit -v "slow" "$mnt/new" 2>"$WORK/first.err" &
first=$!
busy=0 reason=""
for ((i = 0; i < 400 && !busy; i++)); do
    # through the control file: the kernel holds the directory's lock for a setxattr, so a
    # second setxattr would wait for the first
    if ! err=$( (echo second >"$mnt/new/.ocfl/commit") 2>&1); then
        if grep -qi "busy" <<<"$err"; then
            busy=1
            reason=$(cat "$mnt/new/.ocfl/commit")
        fi
    fi
    kill -0 $first 2>/dev/null || break
done
wait $first
tap_result $(($? == 0)) "the first commit succeeds" "$(cat "$WORK/first.err")"
tap_result $busy "a commit while another runs gets EBUSY"
check_true "and .ocfl/commit says why" grep -q "already running" <<<"$reason"
stop_mount "$mnt"
tap_result $(($? == 0)) "unmount"
out=$("$OCFLFS" validate "$root/new" 2>&1)
tap_result $(($? == 0)) "the object validates" "$out"
done_testing
