#!/usr/bin/env bash
# test_write_durable.sh: the staging index commits without fsync (synchronous=NORMAL) between the
# user's fsync points; what the daemon acknowledged must still survive a SIGKILL right after it
# (creates, writes, fsyncs, renames, unlinks, mkdir), a clean unmount and remount, and commit
# to exactly that tree.  fsync and fsyncdir through the mount succeed.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"
CHECK="$SOURCE_ROOT/tests/mount/write_check.py"

root="$WORK/root"
mnt="$WORK/mnt"
state="$WORK/state"
make_root "$root"
# not an empty root: the walk of an empty one trips UBSan in mount_objects.c (qsort of NULL)
python3 "$SOURCE_ROOT/tests/mount/make_object.py" "$root/seed" "urn:test:seed" --files 1 >/dev/null


# mkfiles DIR N FSYNC_EVERY: N files of 1-9 KiB in 10 directories; every FSYNC_EVERY-th is
# fsynced, and each directory once at the end (fsyncdir).  Prints "ok" when every call worked.
mkfiles() {
    python3 - "$@" <<'PY'
import os, sys
d, n, every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    sub = os.path.join(d, "d%d" % (i % 10))
    os.makedirs(sub, exist_ok=True)
    data = (b"file %d\n" % i) * (1 + (i * 37) % 1100)
    with open(os.path.join(sub, "f%04d.txt" % i), "wb") as f:
        f.write(data)
        if every and i % every == 0:
            f.flush()
            os.fsync(f.fileno())
for k in range(10):
    fd = os.open(os.path.join(d, "d%d" % k), os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(fd)
    os.close(fd)
print("ok")
PY
}

# 1. 600 creates (every 7th fsynced), SIGKILL right after the last call returned
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "mount" "$(cat "$mnt.log")"
mkdir "$mnt/obj"
O="$mnt/obj"
check_eq "creates, writes, fsync and fsyncdir through the mount succeed" ok "$(mkfiles "$O" 600 7 2>&1)"
mkfiles "$WORK/ref" 600 0 >/dev/null
kill_mount
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "remount after SIGKILL" "$(cat "$mnt.log")"
check_true "after SIGKILL every acknowledged file is there with its bytes" diff -r "$O" "$WORK/ref"
check_eq "no file more" 600 "$(find "$O" -type f | wc -l)"

# 2. renames, unlinks, a rewrite and an empty directory, no fsync at all, then SIGKILL
mv "$O/d1" "$O/d1-moved" && mv "$WORK/ref/d1" "$WORK/ref/d1-moved"
mv "$O/d2/f0002.txt" "$O/top.txt" && mv "$WORK/ref/d2/f0002.txt" "$WORK/ref/top.txt"
rm "$O/d3/f0003.txt" "$WORK/ref/d3/f0003.txt"
printf 'rewritten\n' >"$O/d4/f0004.txt" && printf 'rewritten\n' >"$WORK/ref/d4/f0004.txt"
mkdir "$O/empty" "$WORK/ref/empty"
kill_mount
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "remount after the second SIGKILL" "$(cat "$mnt.log")"
check_true "renames, unlinks, rewrites and mkdir survive a SIGKILL without fsync" diff -r "$O" "$WORK/ref"

# 3. a clean unmount and remount keep the same view
stop_mount "$mnt"
check_eq "clean unmount" 0 $?
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "remount" "$(cat "$mnt.log")"
check_true "after unmount and remount the staged view is the same" diff -r "$O" "$WORK/ref"

# 4. the commit is exactly that tree (the empty directory is dropped by the commit)
setfattr -n user.ocfl.commit -v "after kills" "$O"
check_eq "commit" 0 $?
rmdir "$WORK/ref/empty"
out=$(python3 "$CHECK" "$root/obj" "$WORK/ref" --head v1 2>&1)
tap_result $([[ $? == 0 ]] && echo 1 || echo 0) "v1 is the tree written before the kills" "$out"
check_true "valid" "$OCFLFS" validate "$root/obj"
stop_mount "$mnt"
check_eq "clean unmount after the commit" 0 $?
done_testing
