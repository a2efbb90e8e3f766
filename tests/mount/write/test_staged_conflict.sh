#!/usr/bin/env bash
# test_staged_conflict.sh: changes staged through a mount are not silently rebased onto a head
# that another writer made meanwhile: `ocflfs put` refuses an object with staged changes, and a
# commit after another tool's version (made while unmounted or while mounted and idle) is a
# conflict that keeps the staged changes and the other version, until a commit asks to rebase.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"
MAKE="$SOURCE_ROOT/tests/mount/make_object.py"

root="$WORK/root"
mnt="$WORK/mnt"
state="$WORK/state"
make_root "$root"
python3 "$MAKE" "$root/a" "urn:test:a" --files 4 >/dev/null
mkdir -p "$WORK/dir"
echo "from put" >"$WORK/dir/put.txt"

# 1. put refuses an object with staged changes, and leaves both the object and the staging alone
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "mount" "$(cat "$mnt.log")"
A="$mnt/urn:test:a"
echo staged >"$A/staged.txt"
stop_mount "$mnt"
sums=$(tree_sums "$root")
"$OCFLFS" put "$root" urn:test:a "$WORK/dir" -m "over staged" --state "$state" 2>"$WORK/err"
check_eq "put over staged changes fails" 1 $?
check_grep "and says why" "changes staged through a mount" "$WORK/err"
check_eq "the object is untouched" "$sums" "$(tree_sums "$root")"
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "remount" "$(cat "$mnt.log")"
check_eq "the staged file is still there" "staged" "$(cat "$A/staged.txt" 2>&1)"
echo x >"$A/.ocfl/discard"
stop_mount "$mnt"
"$OCFLFS" put "$root" urn:test:a "$WORK/dir" -m "after discard" --state "$state" >/dev/null 2>"$WORK/err"
check_eq "after a discard put works" 0 $?
check_eq "and writes v2" v2 "$(head_of "$root/a")"

# outside_version OBJ MSG: another tool writes the object's next version (here: ocflfs in a copy
# of the root, whose version files are then copied into place, inventory last)
outside_version() {
    rm -rf "$WORK/other" && cp -a "$root" "$WORK/other" || return 1
    echo "$2" >"$WORK/dir/other.txt"
    "$OCFLFS" put "$WORK/other" "urn:test:$1" "$WORK/dir" -m "$2" --state "$WORK/other-state" \
        >/dev/null || return 1
    local head
    head=$(head_of "$WORK/other/$1")
    cp -a "$WORK/other/$1/$head" "$root/$1/" &&
        cp "$WORK/other/$1/inventory.json" "$root/$1/inventory.json.new" &&
        cp "$WORK/other/$1/inventory.json.sha512" "$root/$1/inventory.json.sha512.new" &&
        mv "$root/$1/inventory.json.new" "$root/$1/inventory.json" &&
        mv "$root/$1/inventory.json.sha512.new" "$root/$1/inventory.json.sha512"
}
result_has() { # result_has OBJDIR KEY: the last commit result (.ocfl/commit) has KEY
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if sys.argv[2] in json.dumps(r) else 1)' \
        "$1/.ocfl/commit" "$2"
}

# 2. a version made while unmounted: the commit is a conflict, then a rebase commits
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "mount (2)" "$(cat "$mnt.log")"
echo staged2 >"$A/staged2.txt"
echo changed >>"$A/put.txt"
stop_mount "$mnt"
outside_version a "while unmounted"
check_eq "the other tool wrote v3" v3 "$(head_of "$root/a")"
sums=$(tree_sums "$root")
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "remount (2)" "$(cat "$mnt.log")"
status_conflict() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["conflict"])' "$1/.ocfl/status"; }
check_eq "status says the staged changes conflict" True "$(status_conflict "$A")"
setfattr -n user.ocfl.commit -v "stale" "$A" 2>"$WORK/err"
check_eq "a commit over the other version fails" 1 $?
check_true "with ESTALE" grep -q "Stale file handle" "$WORK/err"
check_true "the result names the conflict" result_has "$A" "conflict"
check_grep "the daemon log too" "changed outside the mount" "$mnt.log"
check_eq "the other version is untouched" "$sums" "$(tree_sums "$root")"
check_eq "the staged file is kept" staged2 "$(cat "$A/staged2.txt" 2>&1)"
check_eq "the other version's file shows" "while unmounted" "$(cat "$A/other.txt" 2>&1)"
echo '{"message": "rebased", "rebase": true}' >"$A/.ocfl/commit"
check_eq "a commit asking to rebase succeeds" 0 $?
check_eq "no conflict after it" False "$(status_conflict "$A")"
check_eq "and writes v4" v4 "$(head_of "$root/a")"
check_eq "v4 has the staged change" "$(printf 'from put\nchanged')" "$(cat "$A/put.txt")"
check_eq "and the other version's file" "while unmounted" "$(cat "$A/other.txt")"
stop_mount "$mnt"
python3 - "$root/a/inventory.json" <<'PY' >"$WORK/v4"
import json, sys
inv = json.load(open(sys.argv[1]))
print(" ".join(sorted(p for ps in inv["versions"]["v4"]["state"].values() for p in ps)))
PY
check_eq "v4 holds exactly the staged files and the other version's" \
    "other.txt put.txt staged2.txt" "$(cat "$WORK/v4")"
check_true "valid" "$OCFLFS" validate "$root/a"

# 3. a version made while mounted and idle: the same conflict; a discard ends it
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "mount (3)" "$(cat "$mnt.log")"
echo staged3 >"$A/staged3.txt"
outside_version a "while mounted"
sleep 1.2 # the mount notices an outside change at the next use after a second
check_eq "the mount shows the other version" "while mounted" "$(cat "$A/other.txt" 2>&1)"
setfattr -n user.ocfl.commit -v "stale again" "$A" 2>"$WORK/err"
check_eq "a commit over a version made while mounted fails" 1 $?
check_eq "the object stays at the other version" v5 "$(head_of "$root/a")"
echo x >"$A/.ocfl/discard"
echo staged4 >"$A/staged4.txt"
setfattr -n user.ocfl.commit -v "fresh" "$A"
check_eq "after a discard, changes staged on the new head commit" 0 $?
check_eq "as v6" v6 "$(head_of "$root/a")"
stop_mount "$mnt"
check_true "valid at the end" "$OCFLFS" validate "$root/a"

done_testing
