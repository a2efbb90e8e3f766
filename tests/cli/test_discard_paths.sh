#!/usr/bin/env bash
# test_discard_paths.sh: `ocflfs discard ROOT ID PATH...` (issue 14) drops the changes staged
# through a mount at some paths and keeps the rest: a modified file shows its committed
# bytes again, an added one goes, a removed one (and the directory removed with it) comes
# back, both names of a rename are paths of their own; a path with nothing staged, a path out
# of the object and a file standing where a directory would come back are refused and drop
# nothing; what is left commits as the next version.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/cli/hostile_lib.sh"

R=$HT/root
M=$HT/mnt
S=$HT/state
mkdir -p "$M" "$HT/v1/d" "$HT/v1/e"
echo one >"$HT/v1/a.txt"; echo x >"$HT/v1/d/x.txt"; echo y >"$HT/v1/d/y.txt"
echo keep >"$HT/v1/keep.txt"; echo f >"$HT/v1/e/f.txt"
"$OCFLFS" init "$R" >/dev/null || exit 1
"$OCFLFS" put "$R" obj "$HT/v1" -m one --user Tester >/dev/null || exit 1

mount_it() { "$OCFLFS" mount "$R" "$M" --state "$S" --user Tester >/dev/null 2>&1 && H_FUSE+=("$M") && wait_listing "$M"; }
# staged STATUS-KEY: the staged status's paths under that key, sorted
staged() {
    "$OCFLFS" status "$R" obj --state "$S" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(sorted(a["path"] if "path" in a else a["from"] + ">" + a["to"] for a in d.get(sys.argv[1], []))))' "$1"
}

mount_it || { echo "Bail out! cannot mount"; exit 1; }
echo changed >"$M/obj/a.txt"
echo new >"$M/obj/new.txt"
rm -r "$M/obj/d"
mv "$M/obj/keep.txt" "$M/obj/moved.txt"
rm -r "$M/obj/e" && echo "a file now" >"$M/obj/e"
"$OCFLFS" umount "$M" >/dev/null 2>&1
check_eq "staged: a.txt modified" "a.txt" "$(staged modified)"
before=$("$OCFLFS" status "$R" obj --state "$S")

out=$("$OCFLFS" discard "$R" obj a.txt nothing-here.txt --state "$S" 2>&1)
check_eq "a path with nothing staged: exit 1, naming it" "1 yes" \
    "$? $(grep -q "nothing is staged at 'nothing-here.txt' in 'obj'" <<<"$out" && echo yes)"
check_eq "and nothing was dropped (a.txt still modified)" "$before" "$("$OCFLFS" status "$R" obj --state "$S")"
out=$("$OCFLFS" discard "$R" obj ../outside --state "$S" 2>&1)
check_eq "a path out of the object: refused, naming it" "1 yes" \
    "$? $(grep -q "'../outside' is not a valid logical path" <<<"$out" && echo yes)"
out=$("$OCFLFS" discard "$R" obj a.txt $'bad\xff' --state "$S" 2>&1)
check_eq "a path that is not UTF-8: refused, naming the object" "1 yes" \
    "$? $(grep -q "path 2 to discard in 'obj' is not valid UTF-8" <<<"$out" && echo yes)"
out=$("$OCFLFS" discard "$R" obj e/f.txt --state "$S" 2>&1)
check_eq "a committed file under what is now a staged file: refused, naming the file" "1 yes" \
    "$? $(grep -q "'e' of 'obj' is a staged file" <<<"$out" && echo yes)"
check_eq "and nothing was dropped" "$before" "$("$OCFLFS" status "$R" obj --state "$S")"

out=$("$OCFLFS" discard "$R" obj a.txt --state "$S" 2>&1)
tap_result $(($? == 0)) "discard of a modified file" "$out"
check_eq "a.txt is no longer modified" "" "$(staged modified)"
check_eq "new.txt is still added" "new.txt" "$(staged added | tr ' ' '\n' | grep -x new.txt)"

out=$("$OCFLFS" discard "$R" obj d/x.txt --state "$S" 2>&1)
tap_result $(($? == 0)) "discard of a file removed with its directory" "$out"
out=$("$OCFLFS" discard "$R" obj moved.txt keep.txt --state "$S" 2>&1)
tap_result $(($? == 0)) "discard of both names of a rename" "$out"
out=$("$OCFLFS" discard "$R" obj e --state "$S" 2>&1)
tap_result $(($? == 0)) "discard of the file that replaced a directory (and of all beneath it)" "$out"
out=$("$OCFLFS" discard "$R" obj e/f.txt --state "$S" 2>&1)
check_eq "so nothing is left staged under it" "1 yes" \
    "$? $(grep -q "nothing is staged at 'e/f.txt'" <<<"$out" && echo yes)"

mount_it || { echo "Bail out! cannot mount again"; exit 1; }
check_eq "a.txt shows its committed bytes" "one" "$(cat "$M/obj/a.txt")"
check_eq "d came back with x.txt alone (y.txt stays removed)" "x.txt" "$(ls "$M/obj/d")"
check_eq "keep.txt is back, moved.txt gone" "keep.txt" "$(cd "$M/obj" && ls keep.txt moved.txt 2>/dev/null)"
check_eq "e is a directory with f.txt again" "f" "$(cat "$M/obj/e/f.txt" 2>&1)"
check_eq "new.txt is still there" "new" "$(cat "$M/obj/new.txt")"
setfattr -n user.ocfl.commit -v "what is left" "$M/obj"
check_eq "what is left commits" 0 $?
"$OCFLFS" umount "$M" >/dev/null 2>&1
check_eq "the version holds the head with only the kept changes" \
    "a.txt d/x.txt e/f.txt keep.txt new.txt" \
    "$("$OCFLFS" show "$R" obj --json | python3 -c 'import json,sys; print(" ".join(sorted(f["path"] for f in json.load(sys.stdin)["files"])))')"
out=$("$OCFLFS" validate "$R" 2>&1)
tap_result $(($? == 0)) "the root validates" "$out"
check_eq "nothing staged any more" "nothing staged" "$("$OCFLFS" status "$R" --state "$S")"
done_testing
