#!/usr/bin/env bash
# test_write_doctored.sh: a staging row whose scratch name leads out of STATE/scratch (a
# damaged or doctored index) is refused: reading, writing and committing the file fail, the
# file it names outside is neither read, changed nor recreated, and the mount stays up.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"

root="$WORK/root"
mnt="$WORK/mnt"
state="$WORK/state"
make_root "$root"
python3 "$SOURCE_ROOT/tests/mount/make_object.py" "$root/seed" "urn:test:seed" --files 1 >/dev/null
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "mount" "$(cat "$mnt.log")"
mkdir "$mnt/urn:test:doc" && echo "staged bytes" >"$mnt/urn:test:doc/a.txt"
check_eq "a file staged" "staged bytes" "$(cat "$mnt/urn:test:doc/a.txt")"
stop_mount "$mnt"
check_eq "clean unmount" 0 $?

echo "outside secret" >"$WORK/outside.txt"
n=$(python3 - "$state/ocflfs.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = db.execute("UPDATE staged SET scratch = 'scratch/../../outside.txt' WHERE path = 'a.txt'").rowcount
db.commit()
print(n)
PY
)
check_eq "the row is doctored" 1 "$n"
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "remount" "$(cat "$mnt.log")"
check_true "the mount comes up" mountpoint -q "$mnt"
out=$(cat "$mnt/urn:test:doc/a.txt" 2>&1)
check_true "reading the doctored file fails" test "$out" != "outside secret"
echo "overwrite" >>"$mnt/urn:test:doc/a.txt" 2>/dev/null
check_eq "the outside file is untouched" "outside secret" "$(cat "$WORK/outside.txt")"
echo "doctored" >"$mnt/urn:test:doc/.ocfl/commit" 2>/dev/null
check_true "the commit fails" test $? -ne 0
check_eq "the outside file is still untouched" "outside secret" "$(cat "$WORK/outside.txt")"
check_true "no object was written" test -z "$(find "$root" -path '*doc*' -name '0=ocfl_object_1.1')"
check_true "the daemon still answers" ls "$mnt/urn:test:seed"
stop_mount "$mnt"
check_eq "clean unmount (no sanitizer report)" 0 $?
done_testing
