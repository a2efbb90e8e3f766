#!/usr/bin/env bash
# test_concurrency.sh: parallel readers over more objects than the cache holds (-o cache=2):
# every byte still right, loaded inventories bounded, the daemon healthy afterwards.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"
MAKE="$SOURCE_ROOT/tests/mount/make_object.py"

root="$WORK/root"
mnt="$WORK/mnt"
make_root "$root"
for i in 1 2 3 4 5 6; do
    python3 "$MAKE" "$root/o$i" "urn:test:o$i" --files $((25 * i)) --per-dir 10
done
tree_sum() { (cd "$1" && find . -type f | sort | xargs cat | sha256sum); }

start_mount "$root" "$mnt" --state "$WORK/state" -o cache=2 || tap_result 0 "mounts" "$(cat "$mnt.log")"
for round in 1 2; do
    readers=()
    for i in 1 2 3 4 5 6; do
        (tree_sum "$mnt/urn:test:o$i" >"$WORK/got.$round.$i") &
        readers+=($!)
        (tree_sum "$mnt/urn:test:o$i/.ocfl/versions/v1" >"$WORK/gotv.$round.$i") &
        readers+=($!)
    done
    wait "${readers[@]}" # not the daemon, which is a child of this shell too
done
bad=""
for i in 1 2 3 4 5 6; do
    want=$(tree_sum "$root/o$i/v1/content")
    for round in 1 2; do
        [[ $(cat "$WORK/got.$round.$i") == "$want" ]] || bad+=" head:$round:$i"
        [[ $(cat "$WORK/gotv.$round.$i") == "$want" ]] || bad+=" v1:$round:$i"
    done
done
check_eq "12 parallel readers x 2 rounds over 6 objects, cache of 2: all bytes right" "" "$bad"
loaded=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['loaded'])" "$mnt/.ocfl/status")
check_true "at most 2 inventories loaded (got $loaded)" test "$loaded" -le 2
check_eq "a file of an evicted object still reads" "file 149" \
    "$(cat "$mnt/urn:test:o6/d0014/f000149.txt")"
check_eq "listing still complete after evictions" 525 "$(find "$mnt" -type f | wc -l)"
stop_mount "$mnt"
check_eq "daemon exits 0" 0 $?
done_testing
