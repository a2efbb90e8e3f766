#!/usr/bin/env bash
# test_inode_keys.sh: inode numbers of removed names are never handed to another name.  A
# removed file's node is rekeyed ("buried") while the kernel may still hold it; a new file
# whose name happens to spell that buried key must get a number of its own.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"

root="$WORK/root"
mnt="$WORK/mnt"
make_root "$root"
python3 "$SOURCE_ROOT/tests/mount/make_object.py" "$root/a" "urn:test:a" --files 4 >/dev/null
start_mount "$root" "$mnt" --state "$WORK/state" || tap_result 0 "mount" "$(cat "$mnt.log")"
obj="$mnt/urn:test:a"

# a staged file, held open, then removed: its node stays (the kernel holds it) under a key no
# lookup should make
echo one >"$obj/x"
exec 3<"$obj/x"
ino=$(stat -c %i "$obj/x")
rm "$obj/x"
# a new file whose name is \x01 followed by that number (a legal file name)
name=$(printf '\001%s' "$ino")
echo two >"$obj/$name"
check_eq "a file named like a buried key is created" 0 $?
ino2=$(stat -c %i "$obj/$name")
check_true "it gets its own inode number (removed $ino, new $ino2)" test "$ino2" != "$ino"
check_eq "and its own bytes" "two" "$(cat "$obj/$name" 2>&1)"
check_eq "the removed file still reads through its descriptor" "one" "$(cat <&3)"
exec 3<&-

# the same for a directory: rmdir, then a directory named like its buried key
mkdir "$obj/dd"
dino=$(stat -c %i "$obj/dd")
exec 4<"$obj/dd"
rmdir "$obj/dd"
dname=$(printf '\001%s' "$dino")
mkdir "$obj/$dname"
check_eq "a directory named like a buried key is made" 0 $?
dino2=$(stat -c %i "$obj/$dname")
check_true "it gets its own inode number (removed $dino, new $dino2)" test "$dino2" != "$dino"
exec 4<&-

check_true "unmount (no sanitizer report)" stop_mount "$mnt"
done_testing
