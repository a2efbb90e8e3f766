#!/usr/bin/env bash
# test_hostile_lock.sh: misuse of one storage root by several processes: a second mount, put and
# resume while mounted, a killed daemon, a put killed while staging and while copying a big file.
# Each gets a clear error or is recovered; the first mount, the root and staged edits stay intact.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/cli/hostile_lib.sh"
need_root_mounts

ID="urn:hostile:lock"
R=$HT/root
STATE=$R/extensions/ocflfs
mkdir -p "$HT/d" "$HT/d2" "$HT/big"
echo a >"$HT/d/a.txt"
echo b >"$HT/d2/b.txt"
echo a >"$HT/big/a.txt"
head -c 150M /dev/urandom >"$HT/big/big.bin"
"$OCFLFS" init "$R" >/dev/null && "$OCFLFS" put "$R" "$ID" "$HT/d" -m one >/dev/null || exit 1
OBJ=$(objdir_of "$R")

# --- one daemon per root
M1=$HT/m1
M2=$HT/m2
fuse_mount "$R" "$M1" || { tap_result 0 "first mount" "$(cat "$M1.log")"; done_testing; }
FIRST=$FUSE_PID
D1=$M1/$ID
echo staged >"$D1/staged.txt"
snapshot "$R" extensions/ocflfs >"$HT/before"
mkdir -p "$M2"
timeout 20 "$OCFLFS" mount "$R" "$M2" -f >/dev/null 2>"$HT/err"
check_eq "second mount of the same root exits 1" 1 $?
check_grep "second mount names the state dir" "$STATE" "$HT/err"
check_grep "second mount says in use" "in use by another ocflfs process" "$HT/err"
check_true "second mount point is not mounted" test ! "$(mountpoint -q "$M2" && echo y)"
check_grep "and the error names the holder: its pid and mount point" "(pid $FIRST: mount on $(realpath "$M1")" "$HT/err"

# --- mount point mistakes, each refused before anything starts
touch "$HT/a-file"
mkdir -p "$HT/full" && echo keep >"$HT/full/keep.txt"
for mp in "$HT/a-file|is not a directory" "$HT/full|is not empty ('keep.txt'" \
    "$M1|is already a mount point (fuse.ocflfs)"; do
    timeout 20 "$OCFLFS" mount "$R" "${mp%%|*}" --state "$HT/mp-state" >/dev/null 2>"$HT/err"
    rc=$?
    check_eq "mount on ${mp%%|*}: refused (exit 1) saying it ${mp#*|}" "1 yes" \
        "$rc $(grep -qF "${mp#*|}" "$HT/err" && echo yes)"
done
check_eq "the non-empty directory keeps its file, unmounted" "keep no" \
    "$(cat "$HT/full/keep.txt") $(mountpoint -q "$HT/full" && echo yes || echo no)"
check_true "no state was made for the refused mounts" test ! -e "$HT/mp-state"
"$OCFLFS" plans "$HT/no-such-root" >/dev/null 2>"$HT/err"
check_eq "plans of a path that is no storage root: exit 1, naming it" "1 yes" \
    "$? $(grep -q "no-such-root" "$HT/err" && echo yes)"
check_eq "first mount still serves committed files" a "$(cat "$D1/a.txt")"
check_eq "first mount still has the staged edit" staged "$(cat "$D1/staged.txt")"

timeout 20 "$OCFLFS" mount "$R" "$M2" -f --state "$HT/other-state" >/dev/null 2>"$HT/err" &
other=$!
H_PIDS+=("$other")
sleep 1
if mountpoint -q "$M2"; then
    fusermount3 -u "$M2"
    wait $other
    rc=0
else
    wait $other
    rc=$?
fi
check_eq "second mount of the same root with another --state exits 1" 1 "$rc"
check_grep "second mount (another --state) names the root" "storage root '$R'" "$HT/err"
check_grep "second mount (another --state) says in use" "in use by another ocflfs process" "$HT/err"
check_true "second mount (another --state) is not mounted" test ! "$(mountpoint -q "$M2" && echo y)"
for cmd in put resume cancel; do
    case $cmd in
    put) args=("$ID" "$HT/d2" -m two) ;;
    resume) args=() ;;
    cancel) args=(1) ;;
    esac
    "$OCFLFS" "$cmd" "$R" "${args[@]}" --state "$HT/other-state" >/dev/null 2>"$HT/err"
    check_eq "$cmd with another --state while mounted exits 1" 1 $?
    check_grep "$cmd with another --state names the root" "storage root '$R'" "$HT/err"
done
check_true "refused writers created no database in the other state dir" \
    test ! -e "$HT/other-state/ocflfs.db"

"$OCFLFS" put "$R" "$ID" "$HT/d2" -m two >/dev/null 2>"$HT/err"
check_eq "put while mounted exits 1" 1 $?
check_grep "put while mounted names the state dir" "$STATE" "$HT/err"
check_grep "put while mounted says in use" "in use by another ocflfs process" "$HT/err"
"$OCFLFS" resume "$R" >/dev/null 2>"$HT/err"
check_eq "resume while mounted exits 1" 1 $?
check_grep "resume while mounted says in use" "in use by another ocflfs process" "$HT/err"
"$OCFLFS" plans "$R" --all >/dev/null 2>"$HT/err"
check_eq "plans (read-only) works while mounted" 0 $?
check_same "root unchanged by the refused second writers" "$HT/before" "$R" extensions/ocflfs

echo two >"$D1/.ocfl/commit"
check_eq "first mount still commits" 0 $?
check_eq "object at v2" v2 "$(head_of "$R" "$OBJ")"
check_eq "committed staged file" staged "$(cat "$R/$OBJ/v2/content/staged.txt")"

# --- a killed daemon: the lock goes with it, staged edits survive, the next mount sees them
echo again >"$D1/again.txt"
kill -9 "$FIRST"
wait "$FIRST" 2>/dev/null
fusermount3 -u -z "$M1" 2>/dev/null
fuse_mount "$R" "$M1"
check_eq "remount after a killed daemon" 0 $?
check_eq "staged edit survived the killed daemon" again "$(cat "$D1/again.txt" 2>/dev/null)"
echo x >"$D1/.ocfl/discard" # a put refuses an object with staged changes
fuse_umount "$M1"
check_eq "daemon exits 0" 0 $?
"$OCFLFS" validate "$R/$OBJ" >/dev/null 2>&1
check_eq "object valid after the killed daemon" 0 $?

# --- put killed while staging a big file: nothing in the root changed, the lock is gone
snapshot "$R" extensions/ocflfs >"$HT/before"
"$OCFLFS" put "$R" "$ID" "$HT/big" -m three >/dev/null 2>&1 &
pid=$!
for ((i = 0; i < 500; i++)); do
    [[ -n $(find "$STATE/scratch" -type f -size +1M -print -quit) ]] && break
    sleep 0.01
done
kill -9 $pid
{ wait $pid; } 2>/dev/null
check_eq "put killed while staging" 137 $?
check_same "root unchanged by the killed put" "$HT/before" "$R" extensions/ocflfs
"$OCFLFS" put "$R" "$ID" "$HT/d2" -m three >/dev/null 2>"$HT/err"
check_eq "the next put is not blocked by the lock" 0 $?
check_eq "object at v3" v3 "$(head_of "$R" "$OBJ")"
check_eq "the killed put's scratch collected" "" "$(find "$STATE/scratch" -path '*put-*' -type f)"

# --- put killed while copying a big file into the object (state on another filesystem):
# resume finishes it; no temp file stays in the object
tmpfs_mount "$HT/sfs" 200m || exit 1
S=$HT/sfs/state
R2=$HT/root2
"$OCFLFS" init "$R2" >/dev/null && "$OCFLFS" put "$R2" "$ID" "$HT/d" -m one --state "$S" >/dev/null || exit 1
O2=$(objdir_of "$R2")
"$OCFLFS" put "$R2" "$ID" "$HT/big" -m two --state "$S" >/dev/null 2>&1 &
pid=$!
for ((i = 0; i < 1000; i++)); do
    [[ -n $(find "$R2/$O2/v2" -type f -print -quit 2>/dev/null) ]] && break
    sleep 0.01
done
kill -9 $pid
{ wait $pid; } 2>/dev/null
check_eq "put killed while copying" 137 $?
"$OCFLFS" plans "$R2" --state "$S" >"$HT/plans.out" 2>&1
check_grep "plans shows the killed put's plan as interrupted, not running" "interrupted" "$HT/plans.out"
"$OCFLFS" plans "$R2" --state "$S" --failed >"$HT/plans.out" 2>&1
check_eq "plans --failed lists it and exits 1 (for monitoring)" "1 yes" \
    "$? $(grep -q "what to do: ocflfs resume" "$HT/plans.out" && echo yes)"
"$OCFLFS" put "$R2" "$ID" "$HT/d2" -m x --state "$S" >/dev/null 2>"$HT/err"
check_eq "a put with an unfinished plan is refused" 1 $?
check_grep "the refusal names resume" "resume" "$HT/err"
"$OCFLFS" resume "$R2" --state "$S" >/dev/null 2>"$HT/err"
check_eq "resume finishes the killed put" 0 $?
check_eq "object at v2 after resume" v2 "$(head_of "$R2" "$O2")"
check_eq "big file complete" "$(sha256sum <"$HT/big/big.bin")" "$(sha256sum <"$R2/$O2/v2/content/big.bin")"
check_true "no temp file left in the object" no_temps "$R2"
"$OCFLFS" validate "$R2/$O2" >"$HT/v.out" 2>&1
check_eq "object valid after resume" 0 $?
"$OCFLFS" put "$R2" "$ID" "$HT/d2" -m three --state "$S" >/dev/null 2>"$HT/err"
check_eq "the next put after resume succeeds" 0 $?
"$OCFLFS" plans "$R2" --state "$S" --failed >"$HT/plans.out" 2>&1
check_eq "plans --failed after resume: nothing, exit 0" "0 no failed or interrupted plans" \
    "$? $(cat "$HT/plans.out")"

# --- a damaged state database: refused with the database named, the root untouched
R3=$HT/root3
"$OCFLFS" init "$R3" >/dev/null && "$OCFLFS" put "$R3" "$ID" "$HT/d" -m one >/dev/null || exit 1
DB=$R3/extensions/ocflfs/ocflfs.db
head -c 8192 /dev/urandom >"$DB"
rm -f "$DB-wal" "$DB-shm"
snapshot "$R3" >"$HT/before"
"$OCFLFS" put "$R3" "$ID" "$HT/d2" -m two >/dev/null 2>"$HT/err"
check_eq "put with a garbage state database exits 1" 1 $?
check_grep "garbage database: says so" "not a database" "$HT/err"
check_grep "garbage database: the error names the database" "$DB" "$HT/err"
check_same "garbage database: root and state dir unchanged" "$HT/before" "$R3"
mkdir -p "$HT/m3"
timeout 20 "$OCFLFS" mount "$R3" "$HT/m3" -f >/dev/null 2>"$HT/err"
check_eq "mount with a garbage state database exits 1" 1 $?
check_true "garbage database: nothing mounted" test ! "$(mountpoint -q "$HT/m3" && echo y)"
# another application's SQLite database where ocflfs.db should be (journal.h: -EMEDIUMTYPE)
python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("create table theirs(x)"); c.execute("insert into theirs values (42)"); c.commit()' "$HT/theirs.db"
cp "$HT/theirs.db" "$DB"
snapshot "$R3" >"$HT/before"
"$OCFLFS" put "$R3" "$ID" "$HT/d2" -m two >/dev/null 2>"$HT/err"
rc=$?
check_eq "another application's database refused" 1 "$rc"
check_grep "another application's database: the error names it" "$DB" "$HT/err"
check_grep "another application's database: says so" "not an ocflfs database" "$HT/err"
check_true "another application's database left as it was" cmp -s "$HT/theirs.db" "$DB"
check_same "another application's database: root unchanged" "$HT/before" "$R3"
"$OCFLFS" plans "$R3" >/dev/null 2>"$HT/err"
check_eq "plans (read-only) refuses another application's database too" 1 $?
check_true "another application's database still as it was after plans" cmp -s "$HT/theirs.db" "$DB"
# a truly empty database (no tables, user_version 0) is ours to initialise
rm -f "$DB" "$DB-wal" "$DB-shm"
python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("vacuum"); c.close()' "$DB"
"$OCFLFS" put "$R3" "$ID" "$HT/d2" -m two >/dev/null 2>"$HT/err"
check_eq "an empty database file is initialised" 0 $?
check_eq "object at v2 after the empty database" v2 "$(head_of "$R3" "$(objdir_of "$R3")")"

done_testing
