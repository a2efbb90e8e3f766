#!/usr/bin/env bash
# test_find_by_layout.sh: commands find an object where the root's layout puts its id and
# nowhere else (issue 16: a new object costs one lookup, not a walk of the root).  Seen through
# an object of the same id placed elsewhere by hand: without OCFLFS_FIND_MISPLACED it is not
# found (show fails, put makes a new object at the layout's place and leaves it alone), with
# it it is; a mount (which walks the root) commits into it where it is; something other than
# an object at the layout's place is refused, naming it.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/cli/hostile_lib.sh"

R=$HT/root
ID=urn:test:placed
mkdir -p "$HT/d"
echo one >"$HT/d/a.txt"
"$OCFLFS" init "$R" >/dev/null || exit 1
"$OCFLFS" put "$R" "$ID" "$HT/d" -m one --user Tester >/dev/null || exit 1
at=$(objdir_of "$R")
# the object moved by hand to where the layout would not look
mkdir -p "$R/elsewhere"
mv "$R/$at" "$R/elsewhere/obj"
rmdir -p "$(dirname "$R/$at")" 2>/dev/null
snapshot "$R/elsewhere/obj" >"$HT/misplaced.snap"

out=$("$OCFLFS" show "$R" "$ID" 2>&1)
check_eq "show of the misplaced object: not found (exit 1), the layout decides" "1 yes" \
    "$? $(grep -q "no object with id '$ID'" <<<"$out" && echo yes)"
out=$(OCFLFS_FIND_MISPLACED=1 "$OCFLFS" show "$R" "$ID" --json 2>&1)
check_eq "with OCFLFS_FIND_MISPLACED=1 it is found by walking" "0 v1" \
    "$? $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["version"])' "$out" 2>&1)"

echo two >"$HT/d/b.txt"
out=$(OCFLFS_FIND_MISPLACED=1 "$OCFLFS" put "$R" "$ID" "$HT/d" -m two --user Tester 2>&1)
tap_result $(($? == 0)) "put with OCFLFS_FIND_MISPLACED=1 writes its next version" "$out"
check_eq "  where it is" v2 "$(json "$R/elsewhere/obj/inventory.json" 'd["head"]')"
snapshot "$R/elsewhere/obj" >"$HT/misplaced.snap"

mkdir -p "$HT/m" && echo mounted >"$HT/m/m.txt"
M=$HT/mnt
mkdir -p "$M"
"$OCFLFS" mount "$R" "$M" --user Tester >/dev/null 2>&1 && H_FUSE+=("$M") && wait_listing "$M"
echo three >"$M/$ID/c.txt" && setfattr -n user.ocfl.commit -v three "$M/$ID"
check_eq "a mount's commit writes into it where the mount found it" v3 \
    "$(json "$R/elsewhere/obj/inventory.json" 'd["head"]')"
"$OCFLFS" umount "$M" >/dev/null 2>&1
snapshot "$R/elsewhere/obj" >"$HT/misplaced.snap"

out=$("$OCFLFS" put "$R" "$ID" "$HT/m" -m new --user Tester 2>&1)
tap_result $(($? == 0)) "put without it: a new object at the layout's place" "$out"
check_eq "  there, at v1" v1 "$(json "$R/$at/inventory.json" 'd["head"]' 2>&1)"
check_same "  and the misplaced one is left as it was" "$HT/misplaced.snap" "$R/elsewhere/obj"

# something else at the layout's place for another id
ID2=urn:test:blocked
"$OCFLFS" init "$HT/r2" >/dev/null
"$OCFLFS" put "$HT/r2" "$ID2" "$HT/d" -m one --user Tester >/dev/null
at2=$(objdir_of "$HT/r2")
rm -rf "${HT:?}/r2/$at2" && mkdir -p "$HT/r2/$at2/junk"
out=$("$OCFLFS" put "$HT/r2" "$ID2" "$HT/d" -m again --user Tester 2>&1)
check_eq "a directory that is no object at the layout's place: refused, naming it" "1 yes" \
    "$? $(grep -q "'$at2', where the layout puts '$ID2', holds something else" <<<"$out" && echo yes)"
check_true "  and left as it was" test -d "$HT/r2/$at2/junk"
done_testing
