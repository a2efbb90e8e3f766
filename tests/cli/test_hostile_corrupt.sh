#!/usr/bin/env bash
# test_hostile_corrupt.sh: damaged objects (truncated JSON, sidecar mismatch, '..' and symlinked
# content paths, huge numbers, a non-UTF-8 id, deep nesting, an oversize inventory) under
# log, ls, validate, put and the mount: clear errors naming the object, nothing changed,
# nothing read from outside the object, neighbours unaffected.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/cli/hostile_lib.sh"

R=$HT/root
mkdir -p "$HT/d" "$HT/d2" "$HT/outside"
echo a >"$HT/d/a.txt"
echo A >"$HT/d2/a.txt"
echo b >"$HT/d2/b.txt"
echo 'SECRET outside the root' >"$HT/outside/secret.txt"
DAMAGED="trunc sidecar dotdot symlink symdir hugehead hugever badutf deep oversize"
"$OCFLFS" init "$R" --layout 0002-flat-direct-storage-layout >/dev/null || exit 1
for id in good neighbour $DAMAGED; do
    "$OCFLFS" put "$R" "$id" "$HT/d" -m one >/dev/null || exit 1
done
python3 "$SOURCE_ROOT/tests/cli/hostile_corrupt.py" "$R" "$HT/outside/secret.txt" || exit 1
snapshot "$R" extensions/ocflfs >"$HT/before"
snapshot "$HT/outside" >"$HT/outside.before"

# What each damage must be reported as by validate (a code), and whether the inventory
# itself is bad (then log and put refuse it too).
declare -A CODE=([trunc]=E033 [sidecar]=E060 [dotdot]=E099 [symlink]=E090 [symdir]=E092
    [hugehead]=E040 [hugever]=E105 [badutf]=E033 [deep]=E033 [oversize]=E063)
INV_BAD="trunc sidecar dotdot hugehead hugever badutf deep oversize"
CONTENT_BAD="symlink symdir" # inventory fine, content out of the object

for id in $DAMAGED; do
    timeout 30 "$OCFLFS" validate "$R/$id" >"$HT/v.out" 2>&1
    check_eq "validate $id exits 1" 1 $?
    check_true "validate $id reports ${CODE[$id]}" grep -q "^${CODE[$id]} " "$HT/v.out"
done

for id in $INV_BAD; do
    timeout 30 "$OCFLFS" log "$R" "$id" >"$HT/out" 2>"$HT/err"
    check_eq "log $id exits 1" 1 $?
    check_grep "log $id names the object" "$id" "$HT/err"
    check_eq "log $id prints nothing on stdout" "" "$(cat "$HT/out")"
    timeout 30 "$OCFLFS" put "$R" "$id" "$HT/d2" -m two >"$HT/out" 2>"$HT/err"
    check_eq "put onto $id refused" 1 $?
    check_grep "put refusal names $id" "$id" "$HT/err"
done
# A damaged object must never be taken for a missing one (a new v1 planned over it).
check_eq "no plan was journaled for a damaged object" "good neighbour $DAMAGED" \
    "$("$OCFLFS" plans "$R" --all --json | python3 -c 'import json,sys; print(" ".join(p["object_id"] for p in json.load(sys.stdin)["plans"]))')"
check_same "root byte for byte as before the refused puts" "$HT/before" "$R" extensions/ocflfs

# (on a copy: the mount below needs these objects still damaged)
cp -a "$R" "$HT/copy"
for id in $CONTENT_BAD; do
    "$OCFLFS" log "$R" "$id" >/dev/null 2>&1
    check_eq "log $id works (it reads only the inventory)" 0 $?
    "$OCFLFS" put "$HT/copy" "$id" "$HT/d2" -m two >/dev/null 2>"$HT/err"
    rc=$?
    check_eq "put onto $id (content symlinked out of the object) refused" 1 $rc
    check_grep "put onto $id: the refusal names the object" "object '$id'" "$HT/err"
    check_grep "put onto $id: the refusal names the content path" "v1/content" "$HT/err"
    check_grep "put onto $id: the refusal says symbolic link" "symbolic link" "$HT/err"
    check_true "put onto $id wrote nothing outside the object" diff -q "$HT/outside.before" \
        <(snapshot "$HT/outside")
done

# content missing, or a directory where a file should be: refused, no plan journaled
count_plans() {
    "$OCFLFS" plans "$HT/copy" --all --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["plans"]))'
}
nplans=$(count_plans)
cp -a "$HT/copy/good" "$HT/copy/good.orig"
rm "$HT/copy/good/v1/content/a.txt"
"$OCFLFS" put "$HT/copy" good "$HT/d2" -m two >/dev/null 2>"$HT/err"
check_eq "put onto an object with a missing content file refused" 1 $?
check_grep "missing content: the refusal names the path" "'v1/content/a.txt' is missing" "$HT/err"
mkdir "$HT/copy/good/v1/content/a.txt"
"$OCFLFS" put "$HT/copy" good "$HT/d2" -m two >/dev/null 2>"$HT/err"
check_eq "put onto an object with a directory for a content file refused" 1 $?
check_grep "directory content: the refusal says so" "not a regular file" "$HT/err"
rm -rf "$HT/copy/good/v1/content"
"$OCFLFS" put "$HT/copy" good "$HT/d2" -m two >/dev/null 2>"$HT/err"
check_eq "put onto an object with no content directory refused" 1 $?
check_grep "missing content directory: the refusal names the path" "v1/content/a.txt" "$HT/err"
check_eq "no plan journaled for the broken copies" "$nplans" "$(count_plans)"
rm -rf "$HT/copy/good" && mv "$HT/copy/good.orig" "$HT/copy/good"
"$OCFLFS" put "$HT/copy" good "$HT/d2" -m two >/dev/null 2>"$HT/err"
check_eq "put onto the intact object works" 0 $?

"$OCFLFS" ls "$R" >"$HT/ls.out" 2>"$HT/ls.err"
check_eq "ls of a root with damaged objects exits 1" 1 $?
check_grep "ls lists the good object" "good" "$HT/ls.out"
check_grep "ls lists the neighbour" "neighbour" "$HT/ls.out"
for id in $INV_BAD; do
    check_grep "ls names damaged $id" "$id" "$HT/ls.err"
done
"$OCFLFS" validate "$R" >/dev/null 2>&1
check_eq "validate of the root exits 1" 1 $?
"$OCFLFS" validate "$R/good" >/dev/null 2>&1
check_eq "the good neighbour stays valid" 0 $?

# --- the mount: damaged objects give EIO (or are not shown when their id cannot be read),
# nothing outside the object is ever served, neighbours work.
M=$HT/mnt
if fuse_mount "$R" "$M"; then
    ls "$M" >"$HT/mls" 2>"$HT/mls.err"
    check_eq "ls of the mount works" 0 $?
    check_eq "good file readable" a "$(cat "$M/good/a.txt")"
    check_eq "neighbour file readable" a "$(cat "$M/neighbour/a.txt")"
    for id in sidecar dotdot hugehead hugever; do
        ls "$M/$id" >/dev/null 2>"$HT/err"
        check_eq "ls of damaged $id in the mount fails" 2 $?
        check_grep "ls of damaged $id: EIO" "Input/output error" "$HT/err"
    done
    for id in trunc badutf deep oversize; do
        check_true "object $id whose id cannot be read is not shown" \
            test "$(grep -cx "$id" "$HT/mls")" = 0
    done
    for id in $CONTENT_BAD; do
        cat "$M/$id/a.txt" >"$HT/got" 2>"$HT/err"
        check_eq "reading $id/a.txt fails" 1 $?
        check_grep "reading $id/a.txt: EIO" "Input/output error" "$HT/err"
        check_true "the secret outside is not served from $id" test ! -s "$HT/got"
    done
    check_eq "good file still readable after the errors" a "$(cat "$M/good/a.txt")"
    fuse_umount "$M"
    check_eq "daemon exits 0" 0 $?
    for id in sidecar dotdot trunc; do
        check_grep "daemon log names $id" "'$id'" "$M.log"
    done
else
    tap_result 0 "mount of a root with damaged objects" "$(cat "$M.log")"
fi
check_same "root byte for byte as before the mount" "$HT/before" "$R" extensions/ocflfs
check_same "nothing outside the root changed" "$HT/outside.before" "$HT/outside"

done_testing
