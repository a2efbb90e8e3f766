#!/usr/bin/env bash
# test_write_scratch.sh: staged file data lives 4,096 files to a directory (STATE/scratch/sK/fN):
# more files than that spread over two directories, fsync through the mount works across them,
# a SIGKILL loses nothing acknowledged, a lost directory comes back at the next mount (its files
# staged empty, as a lost file is), the commit stores every byte, and the next mount removes
# the directories it emptied.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"

root="$WORK/root"
mnt="$WORK/mnt"
state="$WORK/state"
N=4200
make_root "$root"
python3 "$SOURCE_ROOT/tests/mount/make_object.py" "$root/seed" "urn:test:seed" --files 1 >/dev/null

start_mount "$root" "$mnt" --state "$state" || tap_result 0 "mount" "$(cat "$mnt.log")"
mkdir "$mnt/urn:test:many"
check_eq "a new object" 0 $?
python3 - "$mnt/urn:test:many" "$N" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    sub = os.path.join(d, "d%d" % (i % 10))
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "f%05d.txt" % i), "w") as f:
        f.write("file %d\n" % i)
        if i == n - 1:
            f.flush()
            os.fsync(f.fileno())
PY
check_eq "$N files written" 0 $?
scratch_files() { find "$state/scratch" -mindepth 2 -maxdepth 2 -path '*/s[0-9]*/f*' | wc -l; }
check_eq "two scratch directories" "s0 s1" "$(cd "$state/scratch" && ls -d s[0-9]* | tr '\n' ' ' | sed 's/ $//')"
check_eq "the first holds f1..f4095 (numbers start at 1)" 4095 \
    "$(find "$state/scratch/s0" -type f | wc -l)"
check_eq "all staged files are in them" "$N" "$(scratch_files)"

# killed: everything acknowledged before the last fsync is there after a remount
kill -9 "$MOUNT_PID" 2>/dev/null
wait "$MOUNT_PID" 2>/dev/null
fusermount3 -u -z "$mnt" 2>/dev/null
wait_unmounted "$mnt"
# a directory whose entry never reached the disk: simulate its loss with the daemon down
last=$(cd "$state/scratch/s1" && ls | sort -V | tail -1)
rm -rf "$state/scratch/s1"
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "remount" "$(cat "$mnt.log")"
check_eq "after the kill all $N files are listed" "$N" "$(find "$mnt/urn:test:many" -type f | wc -l)"
check_eq "a file of the first directory keeps its bytes" "file 7" "$(cat "$mnt/urn:test:many/d7/f00007.txt")"
check_true "the lost directory is made again" test -d "$state/scratch/s1"
check_true "with an empty file for one never fsynced (f4199)" test -f "$state/scratch/s1/f4199" -a ! -s "$state/scratch/s1/f4199"
check_eq "a file of the lost directory is staged empty" 0 "$(stat -c %s "$mnt/urn:test:many/d8/f04198.txt")"
# the last one was fsynced: its loss is damage, not an empty file
check_true "the fsynced one ($last) is not made again" test ! -e "$state/scratch/s1/$last"
cat "$mnt/urn:test:many/d9/f04199.txt" >/dev/null 2>"$WORK/err"
check_grep "reading the fsynced, lost file gives EIO" "Input/output error" "$WORK/err"
check_eq "user.ocfl.staged says damaged" damaged \
    "$(getfattr --only-values -n user.ocfl.staged "$mnt/urn:test:many/d9/f04199.txt" 2>/dev/null)"
check_grep "status lists it as damaged" '"path": "d9/f04199.txt"' "$mnt/urn:test:many/.ocfl/status"
echo "too early" >"$mnt/urn:test:many/.ocfl/commit" 2>/dev/null
check_eq "a commit is refused while it is damaged" 0 \
    "$(find "$root" -name '0=ocfl_object_1.1' -path '*many*' | wc -l)"
check_grep "the refusal names it" "d9/f04199.txt" "$mnt/urn:test:many/.ocfl/commit"
check_grep "the log names it" "d9/f04199.txt" "$mnt.log"
# write the lost ones again, then commit
python3 - "$mnt/urn:test:many" "$N" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(4095, n):
    p = os.path.join(d, "d%d" % (i % 10), "f%05d.txt" % i)
    if os.path.getsize(p) == 0 or i == n - 1:  # the damaged one is rewritten (O_TRUNC)
        with open(p, "w") as f:
            f.write("file %d\n" % i)
PY
echo "many files" >"$mnt/urn:test:many/.ocfl/commit"
check_eq "the commit succeeds" 0 $?
objdir=$(find "$root" -name '0=ocfl_object_1.1' -path '*many*' -printf '%h\n' | head -1)
check_eq "v1 stores $N files" "$N" "$(find "$objdir/v1/content" -type f | wc -l)"
check_eq "with their bytes" "file 4199" "$(cat "$objdir/v1/content/d9/f04199.txt")"
check_eq "no staged file is left" 0 "$(scratch_files)"
stop_mount "$mnt"
check_eq "clean unmount" 0 $?
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "mount again" "$(cat "$mnt.log")"
check_eq "the next mount removes the emptied directories" "" \
    "$(cd "$state/scratch" && ls -d s[0-9]* 2>/dev/null)"
"$OCFLFS" validate "$objdir" >/dev/null 2>&1
check_eq "the object is valid" 0 $?
stop_mount "$mnt"
check_eq "clean unmount" 0 $?
done_testing
