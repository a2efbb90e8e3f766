#!/usr/bin/env bash
# test_write_bghash.sh: files written in order through the mount are hashed in the background;
# the recorded digest is always the digest of the staged bytes (or unknown, left to the commit):
# after close and the hasher, a commit right after close, rewrites racing the hasher, and a
# handle written across a commit (the frozen scratch file is copied up).
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"
MAKE="$SOURCE_ROOT/tests/mount/make_object.py"
valid() { "$OCFLFS" validate "$1" >/dev/null 2>&1; }
sum() { sha512sum <"$1" | cut -d' ' -f1; }

root="$WORK/root"
mnt="$WORK/mnt"
make_root "$root"
python3 "$MAKE" "$root/a" "urn:test:a" --files 2 --per-dir 2 >/dev/null
start_mount "$root" "$mnt" --state "$WORK/state" --user "Test User" --address mailto:t@example.org ||
    tap_result 0 "mount" "$(cat "$mnt.log")"
obj="$mnt/urn:test:a"
for i in 1 2 3 4; do head -c $((24 << 20)) /dev/urandom >"$WORK/r$i.bin"; done

staged_digest() { # staged_digest PATH: the staged row's digest ("" unknown, "no row")
    python3 -c "import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute('select digest from staged where object_id=? and path=? order by gen desc', ('urn:test:a', sys.argv[2])).fetchone(); print((r[0] or '') if r else 'no row')" \
        "$WORK/state/ocflfs.db" "$1"
}
wait_digest() { # wait_digest PATH: until a digest is recorded (at most 10 s)
    for _ in $(seq 100); do [[ -n $(staged_digest "$1") ]] && return; sleep 0.1; done
}
committed_digest() { # committed_digest PATH: the head version's digest of PATH
    python3 -c "
import json, sys
inv = json.load(open(sys.argv[1] + '/inventory.json'))
for d, ps in inv['versions'][inv['head']]['state'].items():
    if sys.argv[2] in ps: print(d)
" "$root/a" "$1"
}
commit() { setfattr -n user.ocfl.commit -v "$1" "$obj"; }

# 1. in order from 0: the digest is recorded after close once hashed
dd if="$WORK/r1.bin" of="$obj/seq.bin" bs=1M status=none
wait_digest seq.bin
check_eq "after close and the hasher, the staged digest is the bytes' sha512" \
    "$(sum "$WORK/r1.bin")" "$(staged_digest seq.bin)"
check_eq "the staged bytes are the written ones" "$(sum "$WORK/r1.bin")" "$(sum "$obj/seq.bin")"

# 2. commit right after close (the hasher may still run): the committed digest is right
dd if="$WORK/r2.bin" of="$obj/now.bin" bs=1M status=none && commit "right after close"
check_eq "a commit right after close records the bytes' digest" \
    "$(sum "$WORK/r2.bin")" "$(committed_digest now.bin)"
check_true "the object validates (content fixity)" valid "$root/a"

# 3. rewrites racing the hasher
# (a) a write in the middle through another handle, just after close: the first hash is void
dd if="$WORK/r3.bin" of="$obj/mid.bin" bs=1M status=none
printf 'XYZ' | dd of="$obj/mid.bin" bs=1 seek=$((20 << 20)) conv=notrunc status=none
cp "$WORK/r3.bin" "$WORK/mid.ref"
printf 'XYZ' | dd of="$WORK/mid.ref" bs=1 seek=$((20 << 20)) conv=notrunc status=none
sleep 2
got=$(staged_digest mid.bin)
check_true "a rewrite in the middle: no stale digest (unknown or right)" \
    test "$got" = "" -o "$got" = "$(sum "$WORK/mid.ref")"
# (b) rewritten whole (O_TRUNC, in order) while the first version is hashed
dd if="$WORK/r3.bin" of="$obj/twice.bin" bs=1M status=none
dd if="$WORK/r4.bin" of="$obj/twice.bin" bs=1M status=none
wait_digest twice.bin
sleep 1
check_eq "rewritten whole: the digest is the second content's" \
    "$(sum "$WORK/r4.bin")" "$(staged_digest twice.bin)"
# (c) truncated by path just after close
dd if="$WORK/r3.bin" of="$obj/cut.bin" bs=1M status=none
truncate -s $((10 << 20)) "$obj/cut.bin"
head -c $((10 << 20)) "$WORK/r3.bin" >"$WORK/cut.ref"
sleep 2
got=$(staged_digest cut.bin)
check_true "truncated after close: no stale digest" test "$got" = "" -o "$got" = "$(sum "$WORK/cut.ref")"
# (d) two writers on one file, in order each
exec 4>"$obj/two.bin"
exec 5<>"$obj/two.bin"
head -c $((12 << 20)) "$WORK/r1.bin" >&4
head -c $((12 << 20)) "$WORK/r2.bin" >&5
exec 4>&- 5>&-
sleep 2
got=$(staged_digest two.bin)
check_true "two writers: no stale digest" test "$got" = "" -o "$got" = "$(sum "$obj/two.bin")"
commit "races"
check_eq "committed digest after a rewrite in the middle" "$(sum "$WORK/mid.ref")" "$(committed_digest mid.bin)"
check_eq "committed digest after a whole rewrite" "$(sum "$WORK/r4.bin")" "$(committed_digest twice.bin)"
check_eq "committed digest after a truncate" "$(sum "$WORK/cut.ref")" "$(committed_digest cut.bin)"
check_true "the object validates after the races" valid "$root/a"

# 4. one handle written across a commit: the frozen file keeps the first part, the next
# write copies up; each version's digest is of its own bytes
head -c $((12 << 20)) "$WORK/r1.bin" >"$WORK/p1.bin"
head -c $((12 << 20)) "$WORK/r2.bin" >"$WORK/p2.bin"
cat "$WORK/p1.bin" "$WORK/p2.bin" >"$WORK/p12.bin"
exec 3>"$obj/across.bin"
cat "$WORK/p1.bin" >&3
commit "first half"
check_eq "the frozen first half is committed with its digest" "$(sum "$WORK/p1.bin")" \
    "$(committed_digest across.bin)"
cat "$WORK/p2.bin" >&3
exec 3>&-
sleep 2
got=$(staged_digest across.bin)
check_true "after the copy-up: no stale digest" test "$got" = "" -o "$got" = "$(sum "$WORK/p12.bin")"
commit "second half"
check_eq "the second version has the digest of all the bytes" "$(sum "$WORK/p12.bin")" \
    "$(committed_digest across.bin)"
check_true "the object validates after the copy-up" valid "$root/a"

check_true "unmount" stop_mount "$mnt"
done_testing
