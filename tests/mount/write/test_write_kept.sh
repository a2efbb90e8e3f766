#!/usr/bin/env bash
# test_write_kept.sh: what OCFL does not version, the mount keeps (issue 12): after a commit and
# after a remount, files and directories show the mode and times they had in the view, so that
# `rsync -a` and make see nothing to do and chmod +x sticks; another tool's new content of a
# path shows the version's time and the default mode again; a directory's mtime and ctime move
# when its entries change, the object's top included.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"

root="$WORK/root"
mnt="$WORK/mnt"
state="$WORK/state"
src="$WORK/src"
make_root "$root"
start_mount "$root" "$mnt" --state "$state" --user "Kept Tester" --address mailto:kept@example.org ||
    tap_result 0 "mount" "$(cat "$mnt.log")"

# a tree with an executable, a locked file, old and odd times, directories with their own
mkdir -p "$src/bin" "$src/doc/old" "$src/empty-no-more"
printf '#!/bin/sh\necho hi\n' >"$src/bin/run.sh"
chmod 755 "$src/bin/run.sh"
echo secret >"$src/doc/locked.txt"
chmod 000 "$src/doc/locked.txt"
echo old >"$src/doc/old/1999.txt"
touch -m -d 1999-12-31T23:59:59 "$src/doc/old/1999.txt"
touch -a -d 2001-01-01T00:00:00 "$src/doc/old/1999.txt"
echo x >"$src/empty-no-more/x"
touch -d 2005-05-05 "$src/doc/old" "$src/bin"
chmod 750 "$src/doc"
chmod 711 "$src"
mkdir "$mnt/obj"
rsync -a "$src/" "$mnt/obj/"
# every entry: mode, atime, mtime (ctime is the file system's own)
attrs() { (cd "$1" && find . -mindepth 0 -printf '%p %m %A@ %T@\n' | sort); }
attrs "$mnt/obj" >"$WORK/staged"
check_eq "rsync -a into the view: nothing left to send" "" "$(rsync -a -n -i "$src/" "$mnt/obj/")"

setfattr -n user.ocfl.commit -v "kept" "$mnt/obj"
tap_result $(($? == 0)) "commit" "$(cat "$mnt/obj/.ocfl/commit" 2>&1)"
attrs "$mnt/obj" >"$WORK/committed"
check_true "after the commit every mode and time is as staged" diff "$WORK/staged" "$WORK/committed"
check_eq "rsync -a after the commit: nothing to send" "" "$(rsync -a -n -i "$src/" "$mnt/obj/")"
check_eq "the version itself shows its own time (versions/ is OCFL's)" \
    "$(stat -c %Y "$mnt/obj/.ocfl/versions/v1")" "$(stat -c %Y "$mnt/obj/.ocfl/versions/v1/bin/run.sh")"

# make sees nothing to do after a commit
cat >"$mnt/obj/Makefile" <<'MK'
out.txt: in.txt
	cp in.txt out.txt
MK
echo in >"$mnt/obj/in.txt"
(cd "$mnt/obj" && make -s) && setfattr -n user.ocfl.commit -v "built" "$mnt/obj"
(cd "$mnt/obj" && make -q)
check_eq "make -q after the commit: up to date" 0 $?

attrs "$mnt/obj" >"$WORK/built"
stop_mount "$mnt"
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "remount" "$(cat "$mnt.log")"
attrs "$mnt/obj" >"$WORK/remounted"
check_true "after a remount too" diff "$WORK/built" "$WORK/remounted"
(cd "$mnt/obj" && make -q)
check_eq "make -q after the remount: up to date" 0 $?

# chmod +x on a committed file sticks through the next commit and remount
chmod +x "$mnt/obj/doc/old/1999.txt"
echo more >"$mnt/obj/more.txt"
setfattr -n user.ocfl.commit -v "chmod" "$mnt/obj"
stop_mount "$mnt"
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "remount" "$(cat "$mnt.log")"
check_eq "chmod +x sticks (and the times stay)" "755 $(grep '^./doc/old/1999.txt ' "$WORK/committed" | cut -d' ' -f4)" \
    "$(find "$mnt/obj/doc/old/1999.txt" -printf '%m %T@')"

# a directory's times move when its entries change, at the top and below
t0=$(stat -c %Y "$mnt/obj/doc/old")
top0=$(stat -c %Y "$mnt/obj")
sleep 1.1
echo new >"$mnt/obj/doc/old/new.txt"
t1=$(stat -c '%Y %Z' "$mnt/obj/doc/old")
check_true "a create in a committed directory moves its mtime and ctime ($t0 -> $t1)" \
    test "${t1% *}" -gt "$t0" -a "${t1#* }" -gt "$t0"
sleep 1.1
rm "$mnt/obj/doc/old/new.txt"
t2=$(stat -c '%Y' "$mnt/obj/doc/old")
check_true "an unlink moves it again ($t1 -> $t2)" test "$t2" -gt "${t1% *}"
mv "$mnt/obj/more.txt" "$mnt/obj/bin/more.txt"
top1=$(stat -c %Y "$mnt/obj")
check_true "a rename out of the top moves the top's mtime ($top0 -> $top1)" test "$top1" -gt "$top0"
setfattr -n user.ocfl.commit -v "moved" "$mnt/obj"
check_eq "and the commit keeps it" "$top1" "$(stat -c %Y "$mnt/obj")"
stop_mount "$mnt"

# another tool's new version of one file: that file has the version's time and the default
# mode; the others keep theirs
python3 - "$root/obj" "$WORK/put" <<'PY'
import json, os, shutil, sys
obj, out = sys.argv[1], sys.argv[2]
inv = json.load(open(os.path.join(obj, "inventory.json")))
os.makedirs(out)
for digest, paths in inv["versions"][inv["head"]]["state"].items():
    src = os.path.join(obj, inv["manifest"][digest][0])
    for p in paths:
        os.makedirs(os.path.dirname(os.path.join(out, p)) or out, exist_ok=True)
        shutil.copyfile(src, os.path.join(out, p))
PY
echo "changed elsewhere" >"$WORK/put/doc/old/1999.txt"
out=$("$OCFLFS" put "$root" obj "$WORK/put" -m "another tool" --user Other --address mailto:o@example.org --state "$state" 2>&1)
tap_result $(($? == 0)) "a version written by put" "$out"
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "remount" "$(cat "$mnt.log")"
created=$(python3 -c '
import json, sys, datetime
inv = json.load(open(sys.argv[1] + "/inventory.json"))
print(int(datetime.datetime.fromisoformat(inv["versions"][inv["head"]]["created"].replace("Z", "+00:00")).timestamp()))' "$root/obj")
check_eq "the changed file: the version's time, the default mode" "644 $created" \
    "$(stat -c '%a %Y' "$mnt/obj/doc/old/1999.txt")"
check_eq "the others keep theirs" "$(grep '^./bin/run.sh ' "$WORK/committed" | cut -d' ' -f2,4)" \
    "$(find "$mnt/obj/bin/run.sh" -printf '%m %T@')"
check_eq "the locked file stays locked" "0" "$(stat -c '%a' "$mnt/obj/doc/locked.txt")"
stop_mount "$mnt"
tap_result $(($? == 0)) "unmount"
out=$("$OCFLFS" validate "$root/obj" 2>&1)
tap_result $(($? == 0)) "the object validates" "$out"
done_testing
