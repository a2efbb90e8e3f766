#!/usr/bin/env bash
# test_hostile_diskfull.sh: a full disk under the storage root, under the state dir, under init
# and under a mount's commit: a clear ENOSPC error naming the path or id, the root byte for byte
# as before, no temp files, staged edits kept, and the next small write works.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/cli/hostile_lib.sh"
need_root_mounts

ID="urn:hostile:full"
mkdir -p "$HT/small" "$HT/big" "$HT/mid" "$HT/tiny"
echo a >"$HT/small/a.txt"
head -c 20M /dev/urandom >"$HT/big/big.bin"
echo a >"$HT/big/a.txt"
head -c 3M /dev/urandom >"$HT/mid/mid.bin"
echo a >"$HT/mid/a.txt"
echo t >"$HT/tiny/t.txt"
echo a >"$HT/tiny/a.txt"

# --- 1. put of 20 MB into a root on an 8 MB filesystem (state dir inside the root: staging fails)
tmpfs_mount "$HT/fs1" 8m || exit 1
R=$HT/fs1/root
"$OCFLFS" init "$R" >/dev/null && "$OCFLFS" put "$R" "$ID" "$HT/small" -m one >/dev/null || exit 1
OBJ=$(objdir_of "$R")
snapshot "$R" extensions/ocflfs >"$HT/s1"
"$OCFLFS" put "$R" "$ID" "$HT/big" -m two >"$HT/out" 2>"$HT/err"
check_eq "put 20 MB on a full root exits 1" 1 $?
check_grep "put says No space left" "No space left on device" "$HT/err"
check_grep "put names the file" "big.bin" "$HT/err"
check_same "root unchanged by the failed put" "$HT/s1" "$R" extensions/ocflfs
check_eq "object still at v1" v1 "$(head_of "$R" "$OBJ")"
"$OCFLFS" validate "$R/$OBJ" >/dev/null 2>&1
check_eq "object still valid" 0 $?
check_true "no temp files in the root" no_temps "$R"
check_eq "no scratch left by the failed put" "" "$(find "$R/extensions/ocflfs/scratch" -type f)"
"$OCFLFS" put "$R" "$ID" "$HT/tiny" -m three >/dev/null 2>"$HT/err"
check_eq "a small put afterwards succeeds" 0 $?
check_eq "object at v2" v2 "$(head_of "$R" "$OBJ")"
check_eq "v2 content is the small file" t "$(cat "$R/$OBJ/v2/content/t.txt")"

# --- 2. state dir elsewhere: staging works, copying into the full root fails, plan reverted
tmpfs_mount "$HT/fs2" 8m || exit 1
R=$HT/fs2/root
S=$HT/state2
"$OCFLFS" init "$R" >/dev/null && "$OCFLFS" put "$R" "$ID" "$HT/small" -m one --state "$S" >/dev/null || exit 1
OBJ=$(objdir_of "$R")
snapshot "$R" >"$HT/s2"
"$OCFLFS" put "$R" "$ID" "$HT/big" -m two --state "$S" >/dev/null 2>"$HT/err"
check_eq "put whose copy hits ENOSPC exits 1" 1 $?
check_grep "copy failure says No space left" "No space left on device" "$HT/err"
check_grep "copy failure names the id" "'$ID'" "$HT/err"
check_grep "copy failure names the content path" "v2/content/big.bin" "$HT/err"
check_grep "copy failure says reverted" "reverted" "$HT/err"
check_same "root byte for byte as before" "$HT/s2" "$R"
check_true "no v2 directory" test ! -e "$R/$OBJ/v2"
"$OCFLFS" validate "$R/$OBJ" >/dev/null 2>&1
check_eq "object valid at v1" 0 $?
"$OCFLFS" plan "$R" 2 --json --state "$S" >"$HT/plan.json" 2>/dev/null
check_eq "plan recorded as reverted" reverted "$(json "$HT/plan.json" 'd["state"]')"
"$OCFLFS" put "$R" "$ID" "$HT/tiny" -m three --state "$S" >/dev/null 2>"$HT/err"
check_eq "a small put afterwards succeeds" 0 $?
# a reverted put keeps its scratch (the staged data) until the next writer collects it
check_eq "the reverted put's scratch collected by the next put" "" "$(find "$S/scratch" -type f)"
check_eq "object at v2" v2 "$(head_of "$R" "$OBJ")"
"$OCFLFS" validate "$R/$OBJ" >/dev/null 2>&1
check_eq "v2 valid" 0 $?

# --- 3. init on a full filesystem: error names the root, nothing left; works once freed
tmpfs_mount "$HT/fs3" 1m || exit 1
head -c 2M /dev/zero >"$HT/fs3/filler" 2>/dev/null
"$OCFLFS" init "$HT/fs3/root" >/dev/null 2>"$HT/err"
check_eq "init on a full fs exits 1" 1 $?
check_grep "init says No space left" "No space left on device" "$HT/err"
check_grep "init names the root" "$HT/fs3/root" "$HT/err"
check_eq "failed init leaves the root empty" "" "$(ls -A "$HT/fs3/root" 2>/dev/null)"
rm -f "$HT/fs3/filler"
"$OCFLFS" init "$HT/fs3/root" >/dev/null 2>"$HT/err"
check_eq "init succeeds once space is freed" 0 $?
check_eq "declaration written" ocfl_1.1 "$(cat "$HT/fs3/root/0=ocfl_1.1")"
# out of inodes half-way: the files already written are taken back
tmpfs_mount "$HT/fs3b" 1m || exit 1
mount -o remount,nr_inodes=4 "$HT/fs3b"
"$OCFLFS" init "$HT/fs3b/root" >/dev/null 2>"$HT/err"
check_eq "init out of inodes exits 1" 1 $?
check_grep "init out of inodes names the root" "$HT/fs3b/root" "$HT/err"
check_eq "half-done init taken back" "" "$(ls -A "$HT/fs3b/root" 2>/dev/null)"

# --- 4. the state dir is full: staging fails, the root is untouched
tmpfs_mount "$HT/fs4" 1m || exit 1
R=$HT/root4
S=$HT/fs4/state
"$OCFLFS" init "$R" >/dev/null && "$OCFLFS" put "$R" "$ID" "$HT/small" -m one --state "$S" >/dev/null || exit 1
OBJ=$(objdir_of "$R")
snapshot "$R" >"$HT/s4"
"$OCFLFS" put "$R" "$ID" "$HT/mid" -m two --state "$S" >/dev/null 2>"$HT/err"
check_eq "put with a full state dir exits 1" 1 $?
check_grep "state full says No space left" "No space left on device" "$HT/err"
check_grep "state full names the file" "mid.bin" "$HT/err"
check_same "root unchanged (state full)" "$HT/s4" "$R"
check_eq "no scratch left (state full)" "" "$(find "$S/scratch" -type f)"
# the database itself cannot grow: fill the state fs completely
head -c 2M /dev/zero >"$HT/fs4/filler" 2>/dev/null
"$OCFLFS" put "$R" "$ID" "$HT/tiny" -m two --state "$S" >/dev/null 2>"$HT/err"
check_eq "put with no byte left in the state dir exits 1" 1 $?
check_grep "full state dir: message says No space left" "No space left on device" "$HT/err"
check_grep "full state dir: message names the database" "$S/ocflfs.db" "$HT/err"
check_same "root unchanged (state dir at 100%)" "$HT/s4" "$R"
rm -f "$HT/fs4/filler"
"$OCFLFS" put "$R" "$ID" "$HT/tiny" -m three --state "$S" >/dev/null 2>"$HT/err"
check_eq "put works once the state dir has room" 0 $?
check_eq "object at v2 (state dir case)" v2 "$(head_of "$R" "$OBJ")"
"$OCFLFS" validate "$R/$OBJ" >/dev/null 2>&1
check_eq "object valid (state dir case)" 0 $?

# --- 5. a mount's commit hits a full root: the write fails with ENOSPC, staged edits kept
tmpfs_mount "$HT/fs5" 8m || exit 1
R=$HT/fs5/root
S=$HT/state5
"$OCFLFS" init "$R" >/dev/null && "$OCFLFS" put "$R" "$ID" "$HT/small" -m one --state "$S" >/dev/null || exit 1
OBJ=$(objdir_of "$R")
snapshot "$R" >"$HT/s5"
M=$HT/mnt5
if fuse_mount "$R" "$M" --state "$S"; then
    D=$M/${ID//\//%2F}
    cp "$HT/big/big.bin" "$D/big.bin"
    check_eq "20 MB staged through the mount" 0 $?
    python3 - "$D/.ocfl/commit" 2>"$HT/err" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
try:
    os.write(fd, b"two")
except OSError as e:
    print(os.strerror(e.errno), file=sys.stderr)
    sys.exit(1)
PY
    check_eq "commit write fails" 1 $?
    check_grep "commit fails with ENOSPC" "No space left on device" "$HT/err"
    check_grep "commit result names the id" "'$ID'" "$D/.ocfl/commit"
    check_grep "commit result names the path" "v2/content/big.bin" "$D/.ocfl/commit"
    check_eq "the failed commit is in the log once, with the id and the path" 1 \
        "$(grep -c "commit of object '$ID'.*v2/content/big.bin.*No space left" "$M.log")"
    check_same "root unchanged by the failed commit" "$HT/s5" "$R"
    check_eq "staged file intact after the failed commit" "$(sha256sum <"$HT/big/big.bin")" \
        "$(sha256sum <"$D/big.bin")"
    check_eq "status still lists the staged file" big.bin \
        "$(json "$D/.ocfl/status" '",".join(a["path"] for a in d["added"])')"
    rm "$D/big.bin" && echo b >"$D/b.txt"
    echo three >"$D/.ocfl/commit"
    check_eq "a small commit afterwards succeeds" 0 $?
    fuse_umount "$M"
    check_eq "daemon exits 0" 0 $?
    check_eq "object at v2 after the mount" v2 "$(head_of "$R" "$OBJ")"
    check_eq "v2 holds the small file" b "$(cat "$R/$OBJ/v2/content/b.txt")"
else
    tap_result 0 "mount on a small tmpfs" "$(cat "$M.log")"
fi

# --- 6. staged writes into a full state dir: each write fails with ENOSPC, and the failure
# is logged once, naming the object and the path (not once per write)
tmpfs_mount "$HT/fs6" 16m || exit 1
R=$HT/root6
"$OCFLFS" init "$R" >/dev/null && "$OCFLFS" put "$R" "$ID" "$HT/small" -m one --state "$HT/fs6/state" >/dev/null || exit 1
M=$HT/mnt6
if fuse_mount "$R" "$M" --state "$HT/fs6/state"; then
    D=$M/${ID//\//%2F}
    dd if=/dev/zero of="$D/big.bin" bs=64k count=320 2>"$HT/err"
    check_eq "20 MB into a 16 MB state dir: the write fails" 1 $?
    check_grep "  with ENOSPC" "No space left on device" "$HT/err"
    dd if=/dev/zero of="$D/big.bin" bs=64k count=320 conv=notrunc 2>/dev/null
    check_eq "the failure is logged once (two runs of failing writes), naming object and path" 1 \
        "$(grep -c "object '$ID', 'big.bin': No space left on device" "$M.log")"
    rm "$D/big.bin"
    check_eq "rm of the file that filled the disk succeeds (the journal has room kept)" 0 $?
    # its room comes back once the kernel has let go of the file (its release is asynchronous)
    for _ in $(seq 3000); do
        (($(stat -f -c %a "$HT/fs6") * $(stat -f -c %S "$HT/fs6") > 1048576)) && break
        sleep 0.1
    done
    echo fits >"$D/fits.txt"
    check_eq "once removed, a small file is staged" fits "$(cat "$D/fits.txt")"
    fuse_umount "$M"
    check_eq "daemon exits 0" 0 $?
else
    tap_result 0 "mount with a state dir on a small tmpfs" "$(cat "$M.log")"
fi

done_testing
