#!/usr/bin/env bash
# test_readonly.sh: writes into versions/ fail (EROFS; EPERM for links), readdir offsets are stable,
# control directories are hidden yet reachable (and renamable with -o ctl=), long ids
# get a bounded name, inode numbers survive the kernel forgetting them.
# usage: test_readonly.sh READDIR_OFFSETS_HELPER
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"
HELPER=$1
MAKE="$SOURCE_ROOT/tests/mount/make_object.py"

root="$WORK/root"
mnt="$WORK/mnt"
make_root "$root"
python3 "$MAKE" "$root/flat" "urn:test:flat" --files 600 --per-dir 0
python3 "$MAKE" "$root/nested" "urn:test:nested" --files 50 --per-dir 10
long_id="urn:test:$(printf 'x%.0s' {1..300})/tail"
python3 "$MAKE" "$root/long" "$long_id" --files 1
start_mount "$root" "$mnt" --state "$WORK/state" || tap_result 0 "mounts" "$(cat "$mnt.log")"

o="$mnt/urn:test:flat"
f="$o/f000001.txt"
v="$o/.ocfl/versions/v1/f000001.txt"
errno_of() { # errno_of PYTHON-EXPR: the errno name an os call raises, or "none"
    python3 -c "
import errno, os
try:
    $1
    print('none')
except OSError as e:
    print(errno.errorcode[e.errno])"
}
# versions/ is read-only whatever the write side does with the head
vd="$o/.ocfl/versions/v1"
check_eq "open O_WRONLY on a version file: EROFS" EROFS "$(errno_of "os.open('$v', os.O_WRONLY)")"
check_eq "open O_RDWR on a version file: EROFS" EROFS "$(errno_of "os.open('$v', os.O_RDWR)")"
check_eq "open O_CREAT in a version: EROFS" EROFS "$(errno_of "os.open('$vd/new.txt', os.O_WRONLY | os.O_CREAT, 0o644)")"
check_eq "O_TRUNC: EROFS" EROFS "$(errno_of "os.open('$v', os.O_RDONLY | os.O_TRUNC)")"
check_eq "mkdir in a version: EROFS" EROFS "$(errno_of "os.mkdir('$vd/newdir')")"
check_eq "unlink in a version: EROFS" EROFS "$(errno_of "os.unlink('$v')")"
check_eq "rename in a version: EROFS" EROFS "$(errno_of "os.rename('$v', '$vd/g.txt')")"
check_eq "utime: EROFS" EROFS "$(errno_of "os.utime('$v', (0, 0))")"
check_eq "chmod: EROFS" EROFS "$(errno_of "os.chmod('$v', 0o777)")"
check_eq "rmdir of a version: EROFS" EROFS "$(errno_of "os.rmdir('$vd')")"
check_eq "control files of versions/: EROFS" EROFS "$(errno_of "os.mkdir('$o/.ocfl/versions/v9')")"
check_eq "symlink: EPERM" EPERM "$(errno_of "os.symlink('x', '$o/link')")"
check_eq "hard link: EPERM" EPERM "$(errno_of "os.link('$f', '$o/link')")"
check_eq "security.* xattrs: not supported (ls -l stops asking)" ENOTSUP \
    "$(errno_of "os.getxattr('$f', 'security.selinux')")"
check_eq "other user.* xattrs: none" ENODATA "$(errno_of "os.getxattr('$f', 'user.other')")"
check_eq "getfattr -d lists the digest" "user.ocfl.digest" \
    "$(getfattr -d "$f" 2>/dev/null | grep -o '^user[^=]*' | xargs)"
check_eq "read still works" "file 1" "$(cat "$f")"
check_eq "files belong to the mounting user" "$(id -u) 444" "$(stat -c '%u %a' "$v")"
check_eq "versions are read-only directories" "555" "$(stat -c '%a' "$o/.ocfl/versions/v1")"

# readdir offsets: a 600-entry directory needs several readdir calls
out=$("$HELPER" "$o" 600 2>&1)
check_eq "head dir of 600 files: offsets stable" 0 $?
out2=$("$HELPER" "$o/.ocfl/versions/v1" 600 2>&1)
check_eq "version dir of 600 files: offsets stable" 0 $?
"$HELPER" "$mnt" 3 >/dev/null 2>&1
check_eq "mount root: offsets stable" 0 $?
"$HELPER" "$mnt/urn:test:nested/.ocfl/versions/v1" 5 >/dev/null 2>&1
check_eq "nested version top: 5 directories" 0 $?
[[ $out$out2 == *"not ok"* ]] && echo "# $out $out2"

# control directories
check_eq "control dir not listed" "" "$(ls -A "$o" | grep -F .ocfl)"
check_eq "find sees only content" 650 "$(find "$mnt"/urn:test:flat "$mnt"/urn:test:nested -type f | wc -l)"
check_eq "control dir opens by name, read side entries there" "inventory.json log status versions" \
    "$(ls "$o/.ocfl" | grep -xE 'inventory.json|log|status|versions' | xargs)"
check_grep "mount-wide status" '"objects": 3' "$mnt/.ocfl/status"

# long ids: a bounded name, still reachable, exact id in user.ocfl.id
lname=$(ls "$mnt" | grep '^urn:test:xxx')
check_true "long id: name at most 255 bytes" test "${#lname}" -le 255
check_eq "long id: reachable" "file 0" "$(cat "$mnt/$lname/d0000/f000000.txt")"
check_eq "long id: user.ocfl.id is exact" "$long_id" \
    "$(python3 -c "import os,sys; print(os.getxattr(sys.argv[1], 'user.ocfl.id').decode())" "$mnt/$lname")"

# inode numbers stay when the kernel forgets the inodes
i1=$(stat -c %i "$f")
i2=$(stat -c %i "$o/.ocfl/versions/v1/f000599.txt")
sync
echo 2 >/proc/sys/vm/drop_caches
check_eq "inode numbers stable after the kernel forgets" "$i1 $i2" \
    "$(stat -c %i "$f") $(stat -c %i "$o/.ocfl/versions/v1/f000599.txt")"
stop_mount "$mnt"

# -o ctl=NAME renames the control directories
start_mount "$root" "$mnt" --state "$WORK/state" -o ctl=_ocfl || tap_result 0 "mounts with ctl"
check_eq "-o ctl=_ocfl: renamed control dir works" "v1" "$(cut -f1 "$o/_ocfl/log")"
check_true "-o ctl=_ocfl: .ocfl is gone" test ! -e "$o/.ocfl"
check_true "-o ctl=_ocfl: mount-wide one too" test -f "$mnt/_ocfl/status"
stop_mount "$mnt"
done_testing
