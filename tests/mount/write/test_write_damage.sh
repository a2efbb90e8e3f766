#!/usr/bin/env bash
# test_write_damage.sh: the staging index never claims more than the scratch files hold.  The
# loss a power cut causes is simulated with the daemon down (the power suite, tests/power, cuts
# for real): a scratch file cut short or removed.  What was acknowledged by an fsync (on any
# descriptor, a read-only one too) and then lost is reported as damaged (EIO, status, xattr,
# log, a commit refused naming it) until rewritten or removed; what was never acknowledged is
# taken as the disk has it, and a commit then hashes it, so the version stays valid.  A lost
# journal beside staged files refuses to mount, until --fresh-state sets them aside.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"

root="$WORK/root"
mnt="$WORK/mnt"
state="$WORK/state"
make_root "$root"
python3 "$SOURCE_ROOT/tests/mount/make_object.py" "$root/seed" "urn:test:seed" --files 1 >/dev/null


# scratch_of OBJ PATH: the scratch file (relative to the state dir) of a staged path
scratch_of() {
    python3 - "$state/ocflfs.db" "$1" "$2" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
row = db.execute("SELECT scratch FROM staged WHERE object_id=? AND path=? ORDER BY gen DESC LIMIT 1",
                 (sys.argv[2], sys.argv[3])).fetchone()
print(row[0] if row and row[0] else "")
PY
}

objdir() { test -e "$root/$1/0=ocfl_object_1.1" && echo "$root/$1"; } # flat layout

start_mount "$root" "$mnt" --state "$state" || tap_result 0 "mount" "$(cat "$mnt.log")"
mkdir "$mnt/obj"
O="$mnt/obj"

# a: 1 MiB written and fsynced, then 1 MiB + 1 more written, no fsync (the issue's case)
python3 - "$O/a.bin" <<'PY'
import os, sys
with open(sys.argv[1], "wb") as f:
    f.write(b"A" * (1 << 20)); f.flush(); os.fsync(f.fileno())
    f.write(b"B" * ((1 << 20) + 1))
PY
# b: written and closed, then fsynced only through a read-only descriptor (coreutils sync FILE)
head -c 10000 /dev/urandom >"$O/b.bin"
sync "$O/b.bin"
check_eq "sync FILE on a staged file succeeds" 0 $?
# c: written, never fsynced
printf 'never synced\n' >"$O/c.txt"
# d: fsynced through its writer
python3 -c 'import os,sys; f=open(sys.argv[1],"wb"); f.write(b"D"*5000); f.flush(); os.fsync(f.fileno())' "$O/d.bin"
# e: fsynced, then cut to 10 bytes through its writer (the acknowledged size goes down with it)
python3 - "$O/e.bin" <<'PY'
import os, sys
with open(sys.argv[1], "wb") as f:
    f.write(b"E" * 4096); f.flush(); os.fsync(f.fileno())
    f.truncate(10)
PY
sa=$(scratch_of obj a.bin) sb=$(scratch_of obj b.bin) sc=$(scratch_of obj c.txt)
sd=$(scratch_of obj d.bin) se=$(scratch_of obj e.bin)
check_true "every file has a scratch file" test -n "$sa" -a -n "$sb" -a -n "$sc" -a -n "$sd" -a -n "$se"
kill_mount

# what a power cut can do to bytes never acknowledged, and to acknowledged ones
truncate -s $((3 << 19)) "$state/$sa" # a keeps 1.5 MiB: more than acknowledged, less than written
truncate -s 4000 "$state/$sb"         # b loses bytes that `sync FILE` acknowledged
rm -f "$state/$sc"                    # c was never acknowledged: gone entirely
rm -f "$state/$sd"                    # d was acknowledged: gone
# e: still 10 bytes, as cut

start_mount "$root" "$mnt" --state "$state" || tap_result 0 "remount" "$(cat "$mnt.log")"
check_eq "a: the view shows what the disk holds" $((3 << 19)) "$(stat -c %s "$O/a.bin")"
check_eq "a: its bytes are readable" "$(head -c $((3 << 19)) <(python3 -c 'import sys; sys.stdout.buffer.write(b"A"*(1<<20)+b"B"*((1<<20)+1))') | sha256sum)" \
    "$(sha256sum <"$O/a.bin")"
check_eq "c: never acknowledged and lost: an empty file" 0 "$(stat -c %s "$O/c.txt")"
check_eq "e: truncated after its fsync is not damage" EEEEEEEEEE "$(cat "$O/e.bin")"
cat "$O/b.bin" >/dev/null 2>"$WORK/err"
check_grep "b: acknowledged by sync FILE and cut short: reads give EIO" "Input/output error" "$WORK/err"
cat "$O/d.bin" >/dev/null 2>"$WORK/err"
check_grep "d: acknowledged and missing: reads give EIO" "Input/output error" "$WORK/err"
check_eq "d: user.ocfl.staged says damaged" damaged \
    "$(getfattr --only-values -n user.ocfl.staged "$O/d.bin" 2>/dev/null)"
check_eq "status lists exactly b and d as damaged" "b.bin d.bin" \
    "$(python3 -c 'import json,sys; print(" ".join(d["path"] for d in json.load(open(sys.argv[1]))["damaged"]))' "$O/.ocfl/status")"
check_grep "the log names the damage at mount" "'b.bin'" "$mnt.log"
check_grep "with the acknowledged size" "10000 were acknowledged" "$mnt.log"
setfattr -n user.ocfl.commit -v "too early" "$O" 2>"$WORK/err"
check_eq "a commit is refused" 1 $((${PIPESTATUS[0]} != 0))
check_grep "the result names every damaged path" "'b.bin'" "$O/.ocfl/commit"
check_grep "... d too" "'d.bin'" "$O/.ocfl/commit"
check_eq "nothing was written" "" "$(objdir obj)"
check_eq "a is still staged" $((3 << 19)) "$(stat -c %s "$O/a.bin")"

# rewriting one and removing the other clears the damage; the commit hashes what the disk has
printf 'rewritten\n' >"$O/b.bin"
rm "$O/d.bin"
check_eq "the damage is gone" 0 \
    "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["damaged"]))' "$O/.ocfl/status")"
find "$O" -type f -exec sha256sum {} + | sed "s|$O/||" | sort -k2 >"$WORK/view"
setfattr -n user.ocfl.commit -v "after the cut" "$O"
check_eq "then the commit succeeds" 0 $?
od=$(objdir obj)
"$OCFLFS" validate "$od" >"$WORK/val" 2>&1
check_eq "the version is valid (digests of the bytes it holds)" 0 $?
(cd "$od/v1/content" && find . -type f -exec sha256sum {} + | sed 's|\./||' | sort -k2) >"$WORK/v1"
check_true "v1 holds exactly what the view showed" diff "$WORK/view" "$WORK/v1"

# a clean unmount flushes what is staged and the next mount trusts it
printf 'staged at unmount\n' >"$O/f.txt"
stop_mount "$mnt"
check_eq "clean unmount" 0 $?
sf=$(scratch_of obj f.txt)
rm -f "$state/$sf" # lost while unmounted, after it was flushed: damage, never an empty file
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "remount" "$(cat "$mnt.log")"
cat "$O/f.txt" >/dev/null 2>"$WORK/err"
check_grep "a file flushed at unmount and lost since is damaged" "Input/output error" "$WORK/err"
rm "$O/f.txt"
stop_mount "$mnt"

# a lost journal beside staged files
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "remount" "$(cat "$mnt.log")"
printf 'kept\n' >"$O/g.txt"
stop_mount "$mnt"
mv "$state/ocflfs.db" "$WORK/db.saved"
rm -f "$state/ocflfs.db-wal" "$state/ocflfs.db-shm"
"$OCFLFS" mount "$root" "$mnt" --state "$state" 2>"$WORK/err"
check_eq "a missing journal beside staged files: the mount refuses" 1 $?
check_grep "and says what it found" "ocflfs.db is missing, but scratch/ holds 1 staged file" "$WORK/err"
check_grep "and how to go on" "--fresh-state" "$WORK/err"
: >"$state/ocflfs.db"
"$OCFLFS" mount "$root" "$mnt" --state "$state" 2>"$WORK/err"
check_eq "an emptied journal: refused too" 1 $?
check_grep "saying so" "ocflfs.db is empty" "$WORK/err"
start_mount "$root" "$mnt" --state "$state" --fresh-state || tap_result 0 "fresh" "$(cat "$mnt.log")"
check_grep "--fresh-state says where the files went" "scratch.orphaned-" "$mnt.log"
check_eq "they are kept there" "kept" "$(cat "$state"/scratch.orphaned-*/s*/f* 2>/dev/null)"
check_eq "the view no longer has the staged file" "" "$(ls "$O" | grep g.txt)"
stop_mount "$mnt"
done_testing
