#!/usr/bin/env bash
# large_root.sh [BUILD_DIR]: what a new object costs in a storage root of many objects (issue 16):
# a root of OBJECTS (default 100,000) objects in layout 0004, written directly as another tool
# would (not by ocflfs, so that no index of ours knows them), then, each against the same
# operation in an empty root measured in the same run: `ocflfs put` of a new object, `put` of a
# new version of an existing one, and a mount's commit of a new object (mkdir, a file, the
# commit xattr).  Also the first mount's listing of the root against `find` of its
# declarations.  Not part of `meson test`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
ocflfs=$build/fs/ocflfs
n=${OBJECTS:-100000}
tmp=$(mktemp -d)
mnt=$tmp/mnt
cleanup() {
    mountpoint -q "$mnt" 2>/dev/null && fusermount3 -u -z "$mnt"
    rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$mnt" "$tmp/d"
echo "one small file" >"$tmp/d/a.txt"

secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
ratio() { echo "scale=2; $1 / $2" | bc; }

"$ocflfs" init "$tmp/empty" >/dev/null
"$ocflfs" init "$tmp/big" >/dev/null
echo "writing $n objects (layout 0004) ..."
python3 "$here/mkroot.py" "$tmp/big" "$n"
sync

echo "--- (f) put of a new object"
t_empty=$(secs "$ocflfs" put "$tmp/empty" urn:bench:new "$tmp/d" -m new --user Bench)
t_big=$(secs "$ocflfs" put "$tmp/big" urn:bench:new "$tmp/d" -m new --user Bench)
echo "(f) empty root ${t_empty} s, root of $n objects ${t_big} s: ratio $(ratio "$t_big" "$t_empty") (target <= 1.5)"
echo "--- put of a new version of an existing object"
echo changed >"$tmp/d/a.txt"
t_empty=$(secs "$ocflfs" put "$tmp/empty" urn:bench:new "$tmp/d" -m two --user Bench)
t_big=$(secs "$ocflfs" put "$tmp/big" urn:bench:obj-0000042 "$tmp/d" -m two --user Bench)
echo "empty root ${t_empty} s, root of $n objects ${t_big} s: ratio $(ratio "$t_big" "$t_empty")x"

# commit_new ROOT ID: a mount's commit of a new object (the commit alone is timed)
commit_new() {
    "$ocflfs" mount "$1" "$mnt" --state "$tmp/state-$(basename "$1")" --user Bench >/dev/null
    ls "$mnt" >/dev/null
    mkdir "$mnt/$2" && echo new >"$mnt/$2/n.txt"
    local t0 t1
    t0=$(date +%s.%N)
    setfattr -n user.ocfl.commit -v "new through the mount" "$mnt/$2" ||
        { echo "the commit in $1 failed" >&2; exit 1; }
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc
    [[ $(head -c 2 "$mnt/$2/.ocfl/log") == v1 ]] || { echo "no v1 in $1" >&2; exit 1; }
    "$ocflfs" umount "$mnt" >/dev/null
}
echo "--- a mount's commit of a new object"
t_empty=$(commit_new "$tmp/empty" urn:bench:mounted)
t_big=$(commit_new "$tmp/big" urn:bench:mounted)
echo "empty root ${t_empty} s, root of $n objects ${t_big} s: ratio $(ratio "$t_big" "$t_empty")x"

echo "--- (e) first mount (no index): until one object's file reads, and until the listing is complete"
secs find "$tmp/big" -name '0=ocfl_object_1.1' >/dev/null # the walk below finds a warm cache too
t_find=$(secs find "$tmp/big" -name '0=ocfl_object_1.1')
rm -rf "$tmp/state-first"
t0=$(date +%s.%N)
"$ocflfs" mount "$tmp/big" "$mnt" --state "$tmp/state-first" >/dev/null
cat "$mnt/$(printf "urn:bench:obj-%07d" $((n - 1)))/a.txt" >/dev/null
t1=$(date +%s.%N)
until python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["listing"] != "complete")' \
    "$mnt/.ocfl/status" 2>/dev/null; do sleep 0.05; done
t2=$(date +%s.%N)
listed=$(ls -f "$mnt" | grep -c '^urn:bench:')
"$ocflfs" umount "$mnt" >/dev/null
t_cat=$(echo "$t1 - $t0" | bc)
t_all=$(echo "$t2 - $t0" | bc)
echo "(e) first cat ${t_cat} s (target < 1 s); listing complete (${listed} objects) ${t_all} s, find ${t_find} s: ratio $(ratio "$t_all" "$t_find")x (target <= 1.2)"
"$ocflfs" mount "$tmp/big" "$mnt" --state "$tmp/state-first" >/dev/null
t_again=$(secs ls -f "$mnt")
"$ocflfs" umount "$mnt" >/dev/null
echo "next mount (from the index): ls ${t_again} s"
