#!/usr/bin/env bash
# test_put_big.sh: `ocflfs put` of files big enough for the staging pipeline (>= 64 MiB), written
# with O_DIRECT and, with $OCFLFS_TEST_NO_DIRECT, buffered or after a refused O_DIRECT write: stored bytes and digests equal the
# source's, an unaligned tail, content already in the object not stored again, the plan reads no
# staged file again, a full disk under the pipeline fails cleanly, and staged files on another
# file system are copied into the object.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"

tmp=$(mktemp -d)
mounted=""
cleanup() {
    [[ -n $mounted ]] && mountpoint -q "$mounted" 2>/dev/null && umount -l "$mounted"
    rm -rf "$tmp"
}
trap cleanup EXIT
ID="urn:test:put-big"
MIB=$((1 << 20))

json() { # json FILE PYTHON-EXPR (with d = the document)
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}
# objdir ROOT: the only object's directory
objdir() { dirname "$(find "$1" -name '0=ocfl_object_1.1' | head -1)"; }
# manifest_digest ROOT CONTENT-PATH: the manifest's digest for a content path
manifest_digest() {
    json "$(objdir "$1")/inventory.json" \
        "[k for k, v in d['manifest'].items() if '$2' in v][0] if any('$2' in v for v in d['manifest'].values()) else ''"
}
resident_pages() { fincore -n -b -o RES "$1" | awk '{print int($1 / 4096)}'; }

# DIR: one big file with an unaligned tail (64 MiB + 4097 bytes: 16 chunks, then 4097 bytes
# written buffered), one exactly 72 MiB (all O_DIRECT) and a small file beside them.
mkdir -p "$tmp/d1/sub"
head -c $((64 * MIB + 4097)) /dev/urandom >"$tmp/d1/sub/big.bin"
head -c $((72 * MIB)) /dev/urandom >"$tmp/d1/aligned.bin"
echo small >"$tmp/d1/small.txt"
big_sum=$(sha512sum <"$tmp/d1/sub/big.bin" | cut -d' ' -f1)
aligned_sum=$(sha512sum <"$tmp/d1/aligned.bin" | cut -d' ' -f1)

# put_and_check LABEL ROOT: put d1 as v1 into a new ROOT and check bytes, digests, validity.
put_and_check() {
    local label=$1 r=$2 o
    "$OCFLFS" init "$r" >/dev/null || exit 1
    "$OCFLFS" put "$r" "$ID" "$tmp/d1" -m one >"$tmp/out" 2>"$tmp/err"
    check_eq "$label: put exits 0" 0 $?
    o=$(objdir "$r")
    # before anything reads the stored files (cmp, validate)
    res_big=$(resident_pages "$o/v1/content/sub/big.bin")
    res_aligned=$(resident_pages "$o/v1/content/aligned.bin")
    check_true "$label: stored big file equals the source" cmp -s "$tmp/d1/sub/big.bin" \
        "$o/v1/content/sub/big.bin"
    check_true "$label: stored aligned file equals the source" cmp -s "$tmp/d1/aligned.bin" \
        "$o/v1/content/aligned.bin"
    check_eq "$label: stored small file" small "$(cat "$o/v1/content/small.txt")"
    check_eq "$label: manifest digest of the big file is its sha512" "$big_sum" \
        "$(manifest_digest "$r" v1/content/sub/big.bin)"
    check_eq "$label: manifest digest of the aligned file is its sha512" "$aligned_sum" \
        "$(manifest_digest "$r" v1/content/aligned.bin)"
    check_eq "$label: no staged file left in scratch" "" \
        "$(find "$r/extensions/ocflfs/scratch" -type f 2>/dev/null)"
}

# --- 1. O_DIRECT (the file system of the test dir allows it, as ext4, xfs, btrfs and tmpfs do)
put_and_check direct "$tmp/r1"
o1=$(objdir "$tmp/r1")
# Written around the page cache, and never read again by the plan (no re-hash, no copy):
# at most the two pages of the buffered tail are resident.
check_true "direct: big file bypassed the page cache ($res_big pages resident)" test "$res_big" -le 2
check_eq "direct: aligned file bypassed the page cache" 0 "$res_aligned"
"$OCFLFS" validate "$tmp/r1" >/dev/null 2>"$tmp/err"
check_eq "direct: storage root validates" 0 $?

# --- 2. buffered (writeback started chunk by chunk, older ranges waited for)
OCFLFS_TEST_NO_DIRECT=1 put_and_check buffered "$tmp/r2"
o2=$(objdir "$tmp/r2")
check_true "buffered: the copy went through the page cache ($res_aligned pages resident)" \
    test "$res_aligned" -gt $((36 * MIB / 4096))
"$OCFLFS" validate "$tmp/r2" >/dev/null 2>"$tmp/err"
check_eq "buffered: storage root validates" 0 $?
check_true "direct and buffered inventories have the same manifest" test \
    "$(json "$o1/inventory.json" 'sorted(d["manifest"].items())')" = \
    "$(json "$o2/inventory.json" 'sorted(d["manifest"].items())')"

# --- 2b. O_DIRECT accepted at open but the first write refused (EINVAL, as by a file system
# that wants another alignment): the same chunk and the rest are written buffered
OCFLFS_TEST_NO_DIRECT=refuse put_and_check refused "$tmp/r2b"
check_true "refused: the copy went through the page cache ($res_aligned pages resident)" \
    test "$res_aligned" -gt $((36 * MIB / 4096))
"$OCFLFS" validate "$tmp/r2b" >/dev/null 2>"$tmp/err"
check_eq "refused: storage root validates" 0 $?

# --- 3. v2: the big file under a second name (already in the object: staged, then dropped)
# and a changed aligned file (stored)
cp "$tmp/d1/sub/big.bin" "$tmp/d1/copy.bin"
printf 'changed' | dd of="$tmp/d1/aligned.bin" bs=1 seek=$((40 * MIB)) conv=notrunc status=none
aligned2_sum=$(sha512sum <"$tmp/d1/aligned.bin" | cut -d' ' -f1)
"$OCFLFS" put "$tmp/r1" "$ID" "$tmp/d1" -m two >"$tmp/out" 2>"$tmp/err"
check_eq "v2: put exits 0" 0 $?
check_grep "v2: one added, one modified" "1 added, 1 modified" "$tmp/out"
check_true "v2: the copy of known content is not stored again" test ! -e "$o1/v2/content/copy.bin"
check_true "v2: changed file stored" cmp -s "$tmp/d1/aligned.bin" "$o1/v2/content/aligned.bin"
check_eq "v2: manifest digest of the changed file" "$aligned2_sum" \
    "$(manifest_digest "$tmp/r1" v2/content/aligned.bin)"
check_eq "v2: state maps copy.bin to the big file's digest" "$big_sum" \
    "$(json "$o1/inventory.json" '[k for k, v in d["versions"]["v2"]["state"].items() if "copy.bin" in v][0]')"
check_eq "v2: no staged file left in scratch" "" \
    "$(find "$tmp/r1/extensions/ocflfs/scratch" -type f 2>/dev/null)"
"$OCFLFS" validate "$tmp/r1" >/dev/null 2>"$tmp/err"
check_eq "v2: storage root validates" 0 $?

# --- 4. a full disk while the pipeline writes (needs root to mount a small tmpfs)
if [[ $(id -u) == 0 ]] && mkdir -p "$tmp/fs" && mount -t tmpfs -o size=40m tmpfs "$tmp/fs"; then
    mounted=$tmp/fs
    for mode in direct buffered; do
        r=$tmp/fs/$mode
        "$OCFLFS" init "$r" >/dev/null || exit 1
        if [[ $mode == buffered ]]; then export OCFLFS_TEST_NO_DIRECT=1; fi
        "$OCFLFS" put "$r" "$ID" "$tmp/d1" -m one >"$tmp/out" 2>"$tmp/err"
        check_eq "full disk ($mode): put exits 1" 1 $?
        check_grep "full disk ($mode): says No space left" "No space left on device" "$tmp/err"
        check_grep "full disk ($mode): names a file" ".bin'" "$tmp/err"
        check_eq "full disk ($mode): no object" "" "$(find "$r" -name '0=ocfl_object_1.1')"
        check_eq "full disk ($mode): no scratch left" "" \
            "$(find "$r/extensions/ocflfs/scratch" -type f 2>/dev/null)"
        rm -rf "$r"
    done
    unset OCFLFS_TEST_NO_DIRECT
    umount "$tmp/fs"
    # --- 5. the state dir on another file system: staged files are copied into the object
    # (ocfl_io_copy_fd_durable, written behind), not renamed
    mount -t tmpfs -o size=300m tmpfs "$tmp/fs" || exit 1
    "$OCFLFS" init "$tmp/r5" >/dev/null || exit 1
    "$OCFLFS" put "$tmp/r5" "$ID" "$tmp/d1" -m one --state "$tmp/fs/state" >"$tmp/out" 2>"$tmp/err"
    check_eq "state elsewhere: put exits 0" 0 $?
    o5=$(objdir "$tmp/r5")
    # copy.bin and sub/big.bin are equal: stored once, under the first path
    check_true "state elsewhere: stored big file equals the source" cmp -s "$tmp/d1/sub/big.bin" \
        "$o5/v1/content/copy.bin"
    check_true "state elsewhere: equal content stored once" test ! -e "$o5/v1/content/sub/big.bin"
    check_true "state elsewhere: stored changed file equals the source" cmp -s \
        "$tmp/d1/aligned.bin" "$o5/v1/content/aligned.bin"
    check_eq "state elsewhere: manifest digest of the big file" "$big_sum" \
        "$(manifest_digest "$tmp/r5" v1/content/copy.bin)"
    check_eq "state elsewhere: no staged file left" "" "$(find "$tmp/fs/state/scratch" -type f)"
    "$OCFLFS" validate "$tmp/r5" >/dev/null 2>"$tmp/err"
    check_eq "state elsewhere: storage root validates" 0 $?
else
    echo "# not root: the full-disk and other-file-system cases need a tmpfs mount; not run"
fi

done_testing
