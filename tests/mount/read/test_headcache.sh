#!/usr/bin/env bash
# test_headcache.sh: the kernel keeps listings of the head view (cache_readdir), and every
# change of a listing reaches it: create, unlink, rename through the mount; discard; a commit
# that drops an empty directory; an object changed outside while mounted.  An unchanged
# listing read twice costs no readdir request the second time.  An empty root mounts and
# unmounts cleanly (no sanitizer report).
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"
MAKE="$SOURCE_ROOT/tests/mount/make_object.py"

root="$WORK/root"
mnt="$WORK/mnt"
make_root "$root"
python3 "$MAKE" "$root/a" "urn:test:a" --files 6 --per-dir 3 >/dev/null
start_mount "$root" "$mnt" --state "$WORK/state" --user "Test User" --address mailto:t@example.org ||
    tap_result 0 "mount" "$(cat "$mnt.log")"
obj="$mnt/urn:test:a"

names() { ls -A "$1" 2>&1 | tr '\n' ' '; }
readdirs() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["fuse_readdirs"])' \
        "$mnt/.ocfl/status"
}

# an unchanged listing: the same names, and the second one served by the kernel's cache
r0=$(readdirs)
check_eq "first listing" "f000000.txt f000001.txt f000002.txt " "$(names "$obj/d0000")"
r1=$(readdirs)
check_true "status counts readdir requests ($r0 -> $r1)" test "$r1" -gt "$r0"
check_eq "second listing, same names" "f000000.txt f000001.txt f000002.txt " "$(names "$obj/d0000")"
r2=$(readdirs)
check_eq "second listing sends no readdir" "$r1" "$r2"
names "$obj" >/dev/null
r1=$(readdirs)
check_eq "object top listed again" "d0000 d0001 " "$(names "$obj")"
check_eq "... from the kernel's cache" "$r1" "$(readdirs)"

# changes through the kernel
echo new >"$obj/d0000/new.txt"
check_eq "create shows" "f000000.txt f000001.txt f000002.txt new.txt " "$(names "$obj/d0000")"
rm "$obj/d0000/f000000.txt"
check_eq "unlink shows" "f000001.txt f000002.txt new.txt " "$(names "$obj/d0000")"
names "$obj/d0001" >/dev/null
mv "$obj/d0000/f000001.txt" "$obj/d0000/renamed.txt"
check_eq "rename shows" "f000002.txt new.txt renamed.txt " "$(names "$obj/d0000")"
mv "$obj/d0000/renamed.txt" "$obj/d0001/moved.txt"
check_eq "move out shows in the source" "f000002.txt new.txt " "$(names "$obj/d0000")"
check_eq "... and in the target" "f000003.txt f000004.txt f000005.txt moved.txt " \
    "$(names "$obj/d0001")"
mkdir "$obj/topdir"
check_eq "mkdir shows" "d0000 d0001 topdir " "$(names "$obj")"
r1=$(readdirs)
names "$obj/d0000" >/dev/null
check_eq "a changed listing, once read, is kept again" "$r1" "$(readdirs)"

# discard: the daemon changes the listings, not the kernel
setfattr -n user.ocfl.discard -v 1 "$obj"
check_eq "discard succeeds" 0 $?
check_eq "discard: the directory's listing is the committed one" \
    "f000000.txt f000001.txt f000002.txt " "$(names "$obj/d0000")"
check_eq "discard: the other directory's too" "f000003.txt f000004.txt f000005.txt " \
    "$(names "$obj/d0001")"
check_eq "discard: the object's top (a staged mkdir gone)" "d0000 d0001 " "$(names "$obj")"

# a commit drops empty directories
mkdir "$obj/d0000/empty" "$obj/gone"
echo kept >"$obj/d0000/kept.txt"
check_eq "staged empty directories listed" "empty f000000.txt f000001.txt f000002.txt kept.txt " \
    "$(names "$obj/d0000")"
check_eq "... and at the top" "d0000 d0001 gone " "$(names "$obj")"
names "$obj/d0000" >/dev/null
setfattr -n user.ocfl.commit -v "with empty dirs" "$obj"
check_eq "commit succeeds" 0 $?
check_eq "commit: the empty directory is gone from the listing" \
    "f000000.txt f000001.txt f000002.txt kept.txt " "$(names "$obj/d0000")"
check_eq "commit: and from the top" "d0000 d0001 " "$(names "$obj")"
check_eq "committed listing again" "f000000.txt f000001.txt f000002.txt kept.txt " \
    "$(names "$obj/d0000")"
r1=$(readdirs)
check_eq "and again" "f000000.txt f000001.txt f000002.txt kept.txt " "$(names "$obj/d0000")"
check_eq "... from the kernel's cache" "$r1" "$(readdirs)"

# an outside change while mounted: a new version put into a copy of the root, its files
# moved into the mounted root (content first, then the inventory and its sidecar)
names "$obj/d0001" >/dev/null
names "$obj" >/dev/null
cp -a "$root" "$WORK/root2"
mkdir -p "$WORK/tree"
cp -r "$obj/." "$WORK/tree/"
rm "$WORK/tree/d0001/f000003.txt"
echo outside >"$WORK/tree/d0001/outside.txt"
mkdir "$WORK/tree/newtop" && echo n >"$WORK/tree/newtop/n.txt"
"$OCFLFS" put "$WORK/root2" urn:test:a "$WORK/tree" -m outside --state "$WORK/state2" \
    >/dev/null 2>"$WORK/err"
check_eq "put into the copy" 0 $?
head=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["head"])' \
    "$WORK/root2/a/inventory.json")
check_eq "the copy's head" v3 "$head"
cp -a "$WORK/root2/a/$head" "$root/a/$head"
for f in inventory.json inventory.json.sha512; do
    cp "$WORK/root2/a/$f" "$root/a/.$f.tmp" && mv "$root/a/.$f.tmp" "$root/a/$f"
done
sleep 1.3
check_eq "outside change: the directory's listing" "f000004.txt f000005.txt outside.txt " \
    "$(names "$obj/d0001")"
check_eq "outside change: the object's top" "d0000 d0001 newtop " "$(names "$obj")"
check_eq "outside change: a new file reads" outside "$(cat "$obj/d0001/outside.txt" 2>&1)"
names "$obj/d0001" >/dev/null
r1=$(readdirs)
check_eq "listing after the outside change, again" "f000004.txt f000005.txt outside.txt " \
    "$(names "$obj/d0001")"
check_eq "... from the kernel's cache" "$r1" "$(readdirs)"
check_true "unmount" stop_mount "$mnt"

# an empty root: mount, list, unmount (no sanitizer report)
make_root "$WORK/empty"
start_mount "$WORK/empty" "$WORK/mnt2" --state "$WORK/state3" ||
    tap_result 0 "mount an empty root" "$(cat "$WORK/mnt2.log")"
check_eq "an empty root lists nothing" "" "$(ls "$WORK/mnt2")"
check_true "an empty root unmounts cleanly" stop_mount "$WORK/mnt2"
done_testing
