#!/usr/bin/env bash
# test_write_during_commit.sh: files opened for appending while commits of their object run
# (the staged generation frozen, its scratch files moved into the object one by one): every
# open and append succeeds, and the last commit stores every byte appended.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"

root="$WORK/root"
mnt="$WORK/mnt"
make_root "$root"
python3 "$SOURCE_ROOT/tests/mount/make_object.py" "$root/seed" "urn:test:seed" --files 1 >/dev/null
start_mount "$root" "$mnt" --state "$WORK/state" || tap_result 0 "mount" "$(cat "$mnt.log")"
obj="$mnt/urn:test:busy"
mkdir "$obj"
# many staged files make each commit's content steps take a while
python3 - "$obj" <<'PY'
import os, sys
for i in range(800):
    with open(os.path.join(sys.argv[1], "f%04d.txt" % i), "w") as f:
        f.write("file %d\n" % i)
PY
echo "first" >"$obj/.ocfl/commit"
check_eq "a first commit" 0 $?

# a writer reopens and appends to files while commits run; they are staged again each time
python3 - "$obj" 6 >"$WORK/writer.out" 2>&1 <<'PY' &
import os, sys, time
d, secs = sys.argv[1], float(sys.argv[2])
end = time.time() + secs
n = fails = 0
while time.time() < end:
    for name in ("f0000.txt", "f0399.txt", "log.txt"):
        try:
            with open(os.path.join(d, name), "ab") as f:
                f.write(b"x")
            n += 1
        except OSError as e:
            fails += 1
            print("error", name, e, flush=True)
    time.sleep(0.01)
print("appends", n, "failures", fails)
PY
writer=$!
commits=0
for i in $(seq 1 10); do
    # touch many files so that the commit has much to move while the writer reopens
    python3 - "$obj" "$i" <<'PY'
import os, sys
for k in range(0, 800, 2):
    with open(os.path.join(sys.argv[1], "f%04d.txt" % k), "a") as f:
        f.write("round %s\n" % sys.argv[2])
PY
    echo "round $i" >"$obj/.ocfl/commit" 2>/dev/null && commits=$((commits + 1))
done
wait "$writer"
check_true "the writer ended" grep -q "^appends" "$WORK/writer.out"
check_eq "no open or append failed" "0" "$(sed -n 's/^appends [0-9]* failures \([0-9]*\)$/\1/p' "$WORK/writer.out")"
grep "^error" "$WORK/writer.out" | head -3 | sed 's/^/# /'
check_true "commits ran meanwhile ($commits)" test "$commits" -ge 3
n=$(sed -n 's/^appends \([0-9]*\) .*/\1/p' "$WORK/writer.out")
echo "last" >"$obj/.ocfl/commit"
check_eq "the last commit" 0 $?
objdir="$root/urn:test:busy"
[[ -d $objdir ]] || objdir=$(find "$root" -name '0=ocfl_object_1.1' -path '*busy*' -printf '%h\n' | head -1)
count_x() { python3 -c 'import sys; print(open(sys.argv[1],"rb").read().count(b"x"))' "$1"; }
total=$(( $(count_x "$obj/log.txt") + $(count_x "$obj/f0000.txt") + $(count_x "$obj/f0399.txt") ))
check_eq "every append is in the files ($n)" "$n" "$total"
"$OCFLFS" validate "$objdir" >/dev/null 2>&1
check_eq "the object is valid" 0 $?
stop_mount "$mnt"
check_eq "clean unmount (no sanitizer report)" 0 $?
done_testing
