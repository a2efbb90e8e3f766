#!/usr/bin/env bash
# test_loadlock.sh GATE_SO: reading a large inventory does not hold the mount's lock: a cat in
# another object answers while it loads; concurrent first uses of the large object share one
# load; a broken object fails with EIO without blocking the others.
#
# Only the order of events is checked, never seconds: loadgate.so (LD_PRELOAD into the daemon)
# holds the large object's load inside its read of the inventory for as long as the test keeps
# the gate file, so "during the load" holds however fast or slow the machine is.  How long a
# load takes is a figure of tests/bench/loadlock.sh.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"

gate_so=${1:?usage: test_loadlock.sh LOADGATE_SO}
root="$WORK/root"
mnt="$WORK/mnt"
gate="$WORK/gate"
make_root "$root"
# 3000 files x 3 versions: the load is held, so its size does not matter
python3 "$SOURCE_ROOT/tests/mount/make_versions.py" "$root/big" "urn:test:big" 3000 3
python3 "$SOURCE_ROOT/tests/mount/make_object.py" "$root/small" "urn:test:small" --files 20 --per-dir 0
python3 "$SOURCE_ROOT/tests/mount/make_object.py" "$root/other" "urn:test:other" --files 20 --per-dir 0
python3 "$SOURCE_ROOT/tests/mount/make_object.py" "$root/broken" "urn:test:broken" --files 2 --per-dir 0
# its id is readable (so it is listed) but the inventory is not a valid one
echo '{"id": "urn:test:broken", "type": "https://ocfl.io/1.1/spec/#inventory"}' >"$root/broken/inventory.json"

# until COMMAND succeeds: a bound only a hung daemon reaches (the failure path), not a timing
until_true() {
    local i
    for ((i = 0; i < 1200; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}
# the loads of the large inventory begun so far (loadgate.so counts its reads at offset 0)
loads() { if [[ -e $gate.reads ]]; then wc -l <"$gate.reads"; else echo 0; fi; }
# a process blocked in the kernel (on the mount)
blocked() { [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == D ]]; }
# the daemon gets the gate; an ASan build's runtime must not insist on coming first
mount_gated() {
    LD_PRELOAD="$gate_so" OCFLFS_TEST_GATE="$gate" OCFLFS_TEST_GATE_FILE="/big/inventory.json" \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
        start_mount "$root" "$mnt" --state "$WORK/state"
}

# 1. a first use of the large object loads it: how many reads of its inventory one load is
mount_gated || tap_result 0 "mounts" "$(cat "$mnt.log")"
check_eq "small object reads" "file 0" "$(cat "$mnt/urn:test:small/f000000.txt")"
before=$(loads)
stat "$mnt/urn:test:big" >/dev/null
one_load=$(($(loads) - before))
check_true "the first use of the large object reads its inventory ($one_load reads)" \
    test "$one_load" -ge 1
stop_mount "$mnt"
check_eq "daemon exits 0" 0 $?

# 2. a fresh mount: the large object's load is held while another object answers
mount_gated || tap_result 0 "mounts again" "$(cat "$mnt.log")"
check_eq "small object reads (loaded before)" "file 1" "$(cat "$mnt/urn:test:small/f000001.txt")"
before=$(loads)
: >"$gate"
(ls -R "$mnt/urn:test:big" | grep -c '^f.*\.txt$' >"$WORK/ls1"; : >"$WORK/ls1.end") &
bg1=$!
until_true test -e "$gate.held"
check_true "the large object's load begins, and is held in its read of the inventory" \
    test -e "$gate.held"
find "$mnt/urn:test:big/d001" -type f >"$WORK/ls2" 2>&1 &
bg2=$!
until_true blocked "$bg2" # best effort: the second first use is waiting too
(cat "$mnt/urn:test:other/f000007.txt" >"$WORK/cat" 2>&1; : >"$WORK/cat.end") &
until_true test -e "$WORK/cat.end"
# the load cannot have ended: the gate is still there
# (a lookup in the root beside the large object's: the kernel runs them side by side only with
# FUSE_PARALLEL_DIROPS; without it this cat waited for the load)
check_true "a file of another object, not looked up before, is read during the load" \
    test -e "$WORK/cat.end" -a ! -e "$WORK/ls1.end"
check_eq "and its bytes are right" "file 7" "$(cat "$WORK/cat")"
check_true "the second first use of the large object has not been answered either" \
    kill -0 "$bg2"
rm -f "$gate"
wait "$bg1" "$bg2"
check_eq "ls -R of the large object: every file (3000 at head)" 3000 "$(cat "$WORK/ls1")"
check_eq "a concurrent first use of the large object gets its answer" 1000 "$(wc -l <"$WORK/ls2")"
check_eq "both uses shared one load (as many reads as one load makes)" \
    "$one_load" "$(($(loads) - before))"

# 3. a broken object: EIO for each caller, the others unaffected
errs=0
pids=()
for i in 1 2 3; do
    (ls "$mnt/urn:test:broken" >/dev/null 2>"$WORK/broken.$i"; echo $? >"$WORK/broken.$i.rc") &
    pids+=($!)
done
wait "${pids[@]}"
for i in 1 2 3; do
    grep -q "Input/output error" "$WORK/broken.$i" || errs=$((errs + 1))
done
check_eq "three concurrent uses of a broken object all get EIO" 0 "$errs"
check_eq "the small object still reads" "file 9" "$(cat "$mnt/urn:test:small/f000009.txt")"
check_eq "the large object still reads" "file 2999" "$(cat "$mnt/urn:test:big/d002/f002999.txt")"
check_true "the failure is logged" grep -q "urn:test:broken" "$mnt.log"
stop_mount "$mnt"
check_eq "daemon exits 0" 0 $?
done_testing
