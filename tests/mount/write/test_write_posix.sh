#!/usr/bin/env bash
# test_write_posix.sh: POSIX answers of the write side (issue 12): names longer than NAME_MAX and
# paths below the object longer than PATH_MAX-1 are refused with ENAMETOOLONG at create, mkdir,
# rename and lookup, so that no name the view takes makes a commit fail (test_write_longpaths.sh
# has the paths just short enough); mode 0 is kept (chmod, open, mkdir);
# RENAME_WHITEOUT and RENAME_EXCHANGE are refused with EINVAL, not done as a plain rename;
# atime and mtime are set apart, ctime only by the file system; sparse files stay sparse (staged,
# committed, in the view, copied up, and through put); directory link counts.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"

root="$WORK/root"
mnt="$WORK/mnt"
make_root "$root"
start_mount "$root" "$mnt" --user "Test User" --address mailto:t@example.org ||
    tap_result 0 "mount" "$(cat "$mnt.log")"
mkdir "$mnt/obj"
echo seed >"$mnt/obj/seed.txt"

out=$(python3 - "$mnt/obj" <<'PY'
import ctypes, errno, os, sys
o = sys.argv[1]
res = []
def code(f):
    try:
        f()
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
long = "n" * 256
res.append(code(lambda: os.close(os.open(os.path.join(o, long), os.O_CREAT | os.O_WRONLY, 0o644))))
res.append(code(lambda: os.mkdir(os.path.join(o, long))))
res.append(code(lambda: os.rename(os.path.join(o, "seed.txt"), os.path.join(o, long))))
res.append(code(lambda: os.stat(os.path.join(o, long))))
ok255 = "m" * 255
res.append(code(lambda: os.close(os.open(os.path.join(o, ok255), os.O_CREAT | os.O_WRONLY, 0o644))))
# a path below the object longer than PATH_MAX-1: 16 levels of 250 bytes, then 250 more
# (relative to a descriptor: the kernel refuses absolute paths past PATH_MAX itself)
fd, depth = os.open(o, os.O_RDONLY | os.O_DIRECTORY), 0
while depth < 3800:
    os.mkdir("d" * 250, dir_fd=fd)
    nfd = os.open("d" * 250, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd, depth = nfd, depth + 251
res.append(code(lambda: os.close(os.open("f" * 250, os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd))))
res.append(code(lambda: os.mkdir("g" * 250, dir_fd=fd)))
res.append(code(lambda: os.close(os.open("h" * 20, os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd))))
os.close(fd)
libc = ctypes.CDLL(None, use_errno=True)
def rename2(a, b, flags):
    if libc.renameat2(-100, a.encode(), -100, b.encode(), flags) != 0:
        raise OSError(ctypes.get_errno(), "renameat2")
open(os.path.join(o, "a.txt"), "w").write("a")
open(os.path.join(o, "b.txt"), "w").write("b")
res.append(code(lambda: rename2(os.path.join(o, "a.txt"), os.path.join(o, "b.txt"), 4)))  # WHITEOUT
res.append(code(lambda: rename2(os.path.join(o, "a.txt"), os.path.join(o, "b.txt"), 2)))  # EXCHANGE
res.append(open(os.path.join(o, "a.txt")).read() + open(os.path.join(o, "b.txt")).read())
print(" ".join(res))
PY
)
check_eq "ENAMETOOLONG for a 256-byte name (create, mkdir, rename, stat); 255 is fine; a path past PATH_MAX-1 refused, a shorter one beside it (its content path past PATH_MAX) fine; renameat2 WHITEOUT and EXCHANGE: EINVAL, nothing moved" \
    "ENAMETOOLONG ENAMETOOLONG ENAMETOOLONG ENAMETOOLONG ok ENAMETOOLONG ENAMETOOLONG ok EINVAL EINVAL ab" "$out"
check_eq "statfs says 255" 255 "$(stat -f -c %l "$mnt/obj")"

# mode 0 kept, and every other mode as given
umask 022
touch "$mnt/obj/locked.txt" && chmod 000 "$mnt/obj/locked.txt"
mkdir "$mnt/obj/lockeddir" && chmod 000 "$mnt/obj/lockeddir"
python3 -c 'import os,sys; os.close(os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0))' "$mnt/obj/zero.txt"
touch "$mnt/obj/x.sh" && chmod 4751 "$mnt/obj/x.sh"
check_eq "modes: chmod 000 file and directory, open(O_CREAT, 0), chmod 4751" "0 0 0 4751" \
    "$(stat -c %a "$mnt/obj/locked.txt" "$mnt/obj/lockeddir" "$mnt/obj/zero.txt" "$mnt/obj/x.sh" | tr '\n' ' ' | sed 's/ $//')"
chmod 755 "$mnt/obj/lockeddir"

# times: atime and mtime set apart by utimensat; ctime moved by the file system, never set back
f="$mnt/obj/times.txt"
echo data >"$f"
t0=$(date +%s)
touch -m -d "2002-02-02 02:02:02 UTC" "$f"
touch -a -d "2003-03-03 03:03:03 UTC" "$f"
check_eq "touch -m and touch -a set mtime and atime apart" "1012615322 1046660583" \
    "$(stat -c '%Y %X' "$f")"
c1=$(stat -c %Z "$f")
check_true "ctime is the change's time, not the mtime the user set ($c1 >= $t0)" test "$c1" -ge "$t0"
c1n=$(python3 -c 'import os,sys; print(os.stat(sys.argv[1]).st_ctime_ns)' "$f")
chmod 600 "$f"
mv "$f" "$mnt/obj/times2.txt"
c2n=$(python3 -c 'import os,sys; print(os.stat(sys.argv[1]).st_ctime_ns)' "$mnt/obj/times2.txt")
check_true "chmod and rename move ctime on ($c1n -> $c2n)" test "$c2n" -ge "$c1n"
check_eq "and keep atime and mtime" "1012615322 1046660583" "$(stat -c '%Y %X' "$mnt/obj/times2.txt")"
python3 -c 'import os,sys; os.utime(sys.argv[1], ns=(2**32 * 10**9, 2**31 * 10**9))' "$mnt/obj/times2.txt"
check_eq "times past 2038 (atime 2^32 s, mtime 2^31 s)" "2147483648 4294967296" \
    "$(stat -c '%Y %X' "$mnt/obj/times2.txt")"

# sparse files stay sparse: as staged, as committed (moved), and through a copy-up
out=$(python3 - "$mnt/obj" "$root/obj" <<'PY'
import hashlib, json, os, sys
o, r = sys.argv[1], sys.argv[2]
p = os.path.join(o, "sparse.bin")
MiB = 1 << 20
fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 256 * MiB)
os.pwrite(fd, b"tail" * 1024, 256 * MiB - 4096)
os.close(fd)
res = [os.stat(p).st_blocks * 512 < MiB]
os.setxattr(o, "user.ocfl.commit", b"sparse")
inv = json.load(open(os.path.join(r, "inventory.json")))
state = inv["versions"][inv["head"]]["state"]
digest = [d for d, ps in state.items() if "sparse.bin" in ps][0]
content = os.path.join(r, inv["manifest"][digest][0])
res.append(os.stat(content).st_blocks * 512 < MiB)
res.append(os.stat(p).st_blocks * 512 < MiB)  # the head view says what the content holds
fd = os.open(p, os.O_RDWR)
os.pwrite(fd, b"head", 0)  # a copy-up of the committed file
os.close(fd)
res.append(os.stat(p).st_blocks * 512 < MiB)
h = hashlib.sha256()
with open(p, "rb") as f:
    for chunk in iter(lambda: f.read(MiB), b""):
        h.update(chunk)
want = hashlib.sha256(b"head" + bytes(256 * MiB - 4096 - 4) + b"tail" * 1024).hexdigest()
res.append(h.hexdigest() == want)
print(" ".join("yes" if x else "no" for x in res))
PY
)
check_eq "a sparse file: under 1 MiB of blocks staged, committed (on disk and in the view) and after a copy-up; bytes right" \
    "yes yes yes yes yes" "$out"
# directory links: 2 and one per subdirectory, staged or committed, as changes come and go
mkdir -p "$mnt/obj/links/b" "$mnt/obj/links/c"
n1=$(stat -c %h "$mnt/obj/links")
rmdir "$mnt/obj/links/c"
n2=$(stat -c %h "$mnt/obj/links")
check_eq "a directory's link count follows its subdirectories (4, then 3; a leaf 2)" "4 3 2" \
    "$n1 $n2 $(stat -c %h "$mnt/obj/links/b")"
setfattr -n user.ocfl.commit -v "posix answers" "$mnt/obj"
tap_result $(($? == 0)) "the object commits with every name the view took" "$(cat "$mnt/obj/.ocfl/commit" 2>&1)"
check_true "the 255-byte name is in the version" test -f "$mnt/obj/.ocfl/versions/v1/$(printf 'm%.0s' $(seq 255))"
stop_mount "$mnt"
tap_result $(($? == 0)) "unmount"
out=$("$OCFLFS" validate "$root/obj" 2>&1)
tap_result $(($? == 0)) "the object validates" "$out"

# put keeps holes too: a 1 GiB file with 8 KiB of data
mkdir "$WORK/sparse-src"
truncate -s 1G "$WORK/sparse-src/big.img"
printf 'start' | dd of="$WORK/sparse-src/big.img" conv=notrunc status=none
printf 'end' | dd of="$WORK/sparse-src/big.img" bs=1 seek=$((1 << 29)) conv=notrunc status=none
out=$("$OCFLFS" put "$root" sparse "$WORK/sparse-src" -m "sparse" --user P --address mailto:p@example.org 2>&1)
tap_result $(($? == 0)) "put of a sparse file" "$out"
content=$(find "$root/sparse" -name big.img)
check_eq "its content file: the same bytes, still sparse (under 1 MiB of blocks)" \
    "$(sha256sum <"$WORK/sparse-src/big.img") yes" \
    "$(sha256sum <"$content") $( (($(stat -c %b "$content") * 512 < 1048576)) && echo yes || echo no)"
out=$("$OCFLFS" validate "$root/sparse" 2>&1)
tap_result $(($? == 0)) "and validates" "$out"
done_testing
