#!/usr/bin/env bash
# test_fixtures.sh: every version of every OCFL 1.1 good fixture, and objects written by
# @ocfl/ocfl-fs, read through a mount equal what their inventories say (check_object.py,
# an independent python reader); the storage root is byte-for-byte unchanged afterwards.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"

CHECK="$SOURCE_ROOT/tests/mount/check_object.py"

# check_objects LABEL MNT OBJDIR...: one TAP line per object, details on failure
check_objects() {
    local label=$1 mnt=$2 out
    shift 2
    for obj in "$@"; do
        if out=$(python3 "$CHECK" "$mnt" "$obj" 2>&1); then
            tap_result 1 "$label: $(basename "$obj"): $(grep -c '^ok' <<<"$out") checks"
        else
            tap_result 0 "$label: $(basename "$obj")" "$(grep -v '^ok' <<<"$out" | head -20 | tr '\n' ' ')"
        fi
    done
}

i=0
for fixture in "$OCFL_SHARED"/ocfl/fixtures/1.1/good-objects/*/; do
    fixture=${fixture%/}
    name=$(basename "$fixture")
    i=$((i + 1))
    root="$WORK/root$i"
    make_root "$root"
    cp -r "$fixture" "$root/$name"
    before=$(tree_sums "$root")
    if ! start_mount "$root" "$WORK/mnt$i" --state "$WORK/state$i"; then
        tap_result 0 "$name: mounts" "$(cat "$WORK/mnt$i.log")"
        continue
    fi
    check_objects fixture "$WORK/mnt$i" "$root/$name"
    stop_mount "$WORK/mnt$i"
    check_eq "$name: daemon exits 0 after unmount" 0 $?
    check_eq "$name: storage root unchanged by a session of reads" "$before" "$(tree_sums "$root")"
done

# objects made by another implementation (regenerate with make_ocfljs_root.js)
root="$WORK/ocfljs"
cp -r "$SOURCE_ROOT/tests/mount/data/ocfljs-root" "$root"
before=$(tree_sums "$root")
if start_mount "$root" "$WORK/mntjs"; then
    mapfile -t objs < <(find "$root" -name '0=ocfl_object_1.1' -printf '%h\n' | sort)
    check_eq "ocfl-fs root: both objects found by the walk" 2 "${#objs[@]}"
    check_eq "ocfl-fs root: mount lists both" 2 "$(ls "$WORK/mntjs" | wc -l)"
    check_objects ocfl-fs "$WORK/mntjs" "${objs[@]}"
    check_eq "ocfl-fs: id with '.', '%' and '/' is encoded" "A" \
        "$(head -c1 "$WORK/mntjs/%2Ehidden%2F100%25%2Fid/a.txt")"
    stop_mount "$WORK/mntjs"
fi
# the state dir (extensions/ocflfs) may change; nothing else
check_eq "ocfl-fs root: unchanged apart from extensions/ocflfs" \
    "$(grep -v extensions/ocflfs <<<"$before")" "$(tree_sums "$root" | grep -v extensions/ocflfs)"

done_testing
