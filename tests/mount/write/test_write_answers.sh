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

# a file unlinked while open works until its last close, and never reaches a version
echo "committed bytes" >"$mnt/new/c1.txt"
echo "committed too" >"$mnt/new/c2.txt"
setfattr -n user.ocfl.commit -v "before the unlinks" "$mnt/new"
out=$(python3 - "$mnt/new" <<'PY' 2>&1
import os, sys
d = sys.argv[1]
def use(name, flags, fresh):
    p = os.path.join(d, name)
    fd = os.open(p, flags, 0o644)
    if fresh:
        os.write(fd, b"staged bytes\n")
    before = os.pread(fd, 100, 0)
    os.unlink(p)
    st = os.fstat(fd)
    assert st.st_size == len(before) and st.st_nlink == 0, (name, st.st_size, st.st_nlink)
    assert os.pread(fd, 100, 0) == before, name
    if flags & os.O_RDWR:
        os.pwrite(fd, b"XY", 0)
        assert os.pread(fd, 4, 0) == b"XY" + before[2:4], name
        os.ftruncate(fd, 3)
        assert os.fstat(fd).st_size == 3, name
        os.fsync(fd)
    os.close(fd)
    assert not os.path.exists(p), name
use("u1.txt", os.O_RDWR | os.O_CREAT, True)   # staged
use("c1.txt", os.O_RDWR, False)                # committed, written after the unlink
use("c2.txt", os.O_RDONLY, False)              # committed, a reader
print("fine")
PY
)
check_eq "open-then-unlinked files: fstat, pread, pwrite, ftruncate, fsync until the close" "fine" "$out"
setfattr -n user.ocfl.commit -v "after the unlinks" "$mnt/new"
tap_result $(($? == 0)) "the next commit"
left=$(python3 -c 'import json,sys; i=json.load(open(sys.argv[1])); s=i["versions"][i["head"]]["state"]
print(" ".join(sorted(p for ps in s.values() for p in ps if p in ("u1.txt", "c1.txt", "c2.txt"))))' \
    "$root/new/inventory.json")
check_eq "none of them is in the new version" "" "$left"

# two commits at once: one succeeds, the other gets EBUSY and the reason.  The staged file is
# written out of order, so the commit hashes 256 MiB while it freezes: long enough to overlap;
# which of the two comes first is up to the scheduler, and a try without overlap is repeated.
overlap=0 reason=""
rm -f "$WORK/a.why" "$WORK/b.why"
for ((try = 1; try <= 5 && !overlap; try++)); do
    dd if=/dev/urandom of="$mnt/new/big.bin" bs=1M count=128 seek=128 conv=notrunc status=none
    dd if=/dev/urandom of="$mnt/new/big.bin" bs=1M count=128 conv=notrunc status=none
    # the loser reads the reason at once (the winner's result replaces it when it ends)
    { setfattr -n user.ocfl.commit -v "by xattr $try" "$mnt/new" 2>"$WORK/a.err" ||
        { cat "$mnt/new/.ocfl/commit" >"$WORK/a.why"; false; }; } &
    a=$!
    { (echo "by file $try" >"$mnt/new/.ocfl/commit") 2>"$WORK/b.err" ||
        { cat "$mnt/new/.ocfl/commit" >"$WORK/b.why"; false; }; } &
    b=$!
    wait $a
    ra=$?
    wait $b
    rb=$?
    # one failed with EBUSY: they overlapped; ENODATA: the second came after the first (again)
    loser=$WORK/a
    ((rb)) && loser=$WORK/b
    if ((ra != rb)) && grep -qi "busy" "$loser.err"; then
        overlap=1
        reason=$(cat "$loser.why")
    elif ((ra && rb)) || { ((ra != rb)) && ! grep -qi "no data" "$loser.err"; }; then
        break # neither a success and a refusal, nor a try without overlap: a failure
    fi
done
tap_result $overlap "two commits at once: one succeeds, the other gets EBUSY" \
    "after $((try - 1)) tries: $(cat "$WORK/a.err" "$WORK/b.err")"
check_true "and .ocfl/commit says why" grep -q "already running" <<<"$reason"
# two writers of one file across a commit: the second to write after it takes the first's
# copy of the next generation, not its own frozen bytes
out=$(python3 - "$mnt/new" <<'PY'
import os, sys
o = sys.argv[1]
p = os.path.join(o, "two.txt")
a = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
b = os.open(p, os.O_RDWR)
os.pwrite(a, b"a", 0)
os.setxattr(o, "user.ocfl.commit", b"two writers")
os.pwrite(a, b"b", 1)
os.pwrite(b, b"c", 2)
r = os.pread(b, 16, 0) + b"|" + os.pread(a, 16, 0)
os.close(a)
os.close(b)
print((r + b"|" + open(p, "rb").read()).decode("latin-1"))
PY
)
check_eq "two writers across a commit: both see and keep every byte" "abc|abc|abc" "$out"
setfattr -n user.ocfl.commit -v "after two writers" "$mnt/new"
head=$(head_of "$root/new")
check_eq "and the version holds them" "abc" "$(cat "$mnt/new/.ocfl/versions/$head/two.txt")"
# a file written, committed, then unlinked while open: its descriptors keep working and keep
# sharing one file (readers from before and after the commit, a writer from before it), and
# what they write after the unlink reaches neither the version nor the object's content files
out=$(python3 - "$mnt/new" <<'PY'
import os, sys
o = sys.argv[1]
p = os.path.join(o, "gone.txt")
fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b"kept", 0)
r1 = os.open(p, os.O_RDONLY)
os.setxattr(o, "user.ocfl.commit", b"gone.txt in")
r2 = os.open(p, os.O_RDONLY)
os.unlink(p)
os.pwrite(fd, b"LOST", 0)
os.pwrite(fd, b"!", 4)
r = b"|".join([os.pread(x, 16, 0) for x in (fd, r1, r2)] +
              [str(os.fstat(x).st_size).encode() for x in (fd, r1, r2)])
for x in (fd, r1, r2):
    os.close(x)
print(r.decode())
PY
)
check_eq "committed, unlinked, written: every descriptor reads the written bytes" \
    "LOST!|LOST!|LOST!|5|5|5" "$out"
head=$(head_of "$root/new")
check_eq "and the version holds the committed bytes" "kept" \
    "$(cat "$mnt/new/.ocfl/versions/$head/gone.txt")"
check_eq "as does its content file" "kept" "$(cat "$root/new/$head/content/gone.txt")"
# the same with a second writer opened after the commit (it copies the file up): the writer
# from before the commit joins it after the unlink, and the reader sees both
out=$(python3 - "$mnt/new" <<'PY'
import os, sys
o = sys.argv[1]
p = os.path.join(o, "gone2.txt")
a = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(a, b"kept", 0)
r = os.open(p, os.O_RDONLY)
os.setxattr(o, "user.ocfl.commit", b"gone2.txt in")
b = os.open(p, os.O_RDWR)
os.pwrite(b, b"K", 0)
os.unlink(p)
os.pwrite(a, b"!", 4)
os.pwrite(b, b"?", 5)
got = b"|".join(os.pread(x, 16, 0) for x in (a, b, r))
for x in (a, b, r):
    os.close(x)
print(got.decode())
PY
)
check_eq "two writers across a commit, then unlinked: one file for all descriptors" \
    "Kept!?|Kept!?|Kept!?" "$out"
head=$(head_of "$root/new")
check_eq "and the version holds the committed bytes" "kept" \
    "$(cat "$mnt/new/.ocfl/versions/$head/gone2.txt")"
# a writer that missed two commits: its next write starts from the path's bytes, not its own
out=$(python3 - "$mnt/new" <<'PY'
import os, sys
o = sys.argv[1]
p = os.path.join(o, "late.txt")
w = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(w, b"AAAA", 0)
os.setxattr(o, "user.ocfl.commit", b"late 1")
w2 = os.open(p, os.O_RDWR)
os.pwrite(w2, b"B", 1)
os.close(w2)
os.setxattr(o, "user.ocfl.commit", b"late 2")
os.pwrite(w, b"Y", 3)
r = os.pread(w, 16, 0)
os.close(w)
print((r + b"|" + open(p, "rb").read()).decode())
PY
)
check_eq "a writer across two commits keeps the second commit's bytes" "ABAY|ABAY" "$out"
# a writer from before a commit, then a discard: it writes its own bytes, never the content file
out=$(python3 - "$mnt/new" <<'PY'
import os, sys
o = sys.argv[1]
p = os.path.join(o, "disc.txt")
w = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(w, b"kept", 0)
os.setxattr(o, "user.ocfl.commit", b"disc in")
os.setxattr(o, "user.ocfl.discard", b"")
os.pwrite(w, b"EVIL", 0)
r = os.pread(w, 16, 0)
os.close(w)
print((r + b"|" + open(p, "rb").read()).decode())
PY
)
check_eq "after a discard, a writer from before the commit writes only its own bytes" "EVIL|kept" "$out"
content=$(python3 - "$root/new/inventory.json" disc.txt <<'PY'
import json, sys
inv = json.load(open(sys.argv[1]))
state = inv["versions"][inv["head"]]["state"]
digest = [d for d, paths in state.items() if sys.argv[2] in paths][0]
print(inv["manifest"][digest][0])
PY
)
check_eq "its content file keeps the committed bytes" "kept" "$(cat "$root/new/$content")"
# unlinked with a writer from before the commit and one after: they share the file, also when
# the later one closes before the earlier one writes
out=$(python3 - "$mnt/new" <<'PY'
import os, sys
o = sys.argv[1]
p = os.path.join(o, "pair.txt")
a = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(a, b"kept", 0)
os.setxattr(o, "user.ocfl.commit", b"pair in")
b = os.open(p, os.O_RDWR)
os.pwrite(b, b"K", 0)
os.unlink(p)
first = os.pread(a, 16, 0)
os.close(b)
os.pwrite(a, b"!", 4)
print((first + b"|" + os.pread(a, 16, 0)).decode())
os.close(a)
PY
)
check_eq "an unlinked file's descriptors share its bytes, whoever wrote and closed first" "Kept|Kept!" "$out"
stop_mount "$mnt"
tap_result $(($? == 0)) "unmount"
out=$("$OCFLFS" validate "$root/new" 2>&1)
tap_result $(($? == 0)) "the object validates" "$out"
done_testing
