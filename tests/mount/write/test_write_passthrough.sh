#!/usr/bin/env bash
# test_write_passthrough.sh: -o write_passthrough (issue 16): a file created through the mount
# is written by the kernel straight into its scratch file — the daemon serves no write of it
# (.ocfl/status fuse_writes) — and reads back, commits and validates as any file; its digest
# is made in the background after its last close (user.ocfl.digest before any commit); a
# commit while such a writer is still open holds that file back (the version is the head
# without it; nothing of it is moved while written), and the next commit after the close
# takes all of it; an fsync through it reaches the daemon (the staged size is proven).
# Without kernel passthrough (libfuse < 3.17) it is a skip.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"

root=$WORK/root
mnt=$WORK/mnt
"$OCFLFS" init "$root" >/dev/null || exit 1
start_mount "$root" "$mnt" --state "$WORK/state" --user Tester -o write_passthrough ||
    { echo "Bail out! cannot mount"; exit 1; }
st() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$mnt/.ocfl/status" "$1"; }
if [[ $(st passthrough) != True ]]; then
    echo "1..0 # SKIP no kernel passthrough here (libfuse or the kernel)"
    exit 77
fi
mkdir "$mnt/obj" && echo small >"$mnt/obj/small.txt" &&
    setfattr -n user.ocfl.commit -v one "$mnt/obj" || { echo "Bail out! no v1"; exit 1; }

head -c $((8 << 20)) /dev/urandom >"$WORK/big.bin"
w0=$(st fuse_writes)
dd if="$WORK/big.bin" of="$mnt/obj/big.bin" bs=1M status=none
check_eq "8 MiB written: no write reached the daemon" 0 $(($(st fuse_writes) - w0))
check_true "the bytes read back" cmp -s "$WORK/big.bin" "$mnt/obj/big.bin"
want=$(sha512sum <"$WORK/big.bin" | cut -d' ' -f1)
staged_digest() {
    python3 -c "import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute('select digest from staged where object_id=? and path=?', ('obj', sys.argv[2])).fetchone(); print((r[0] or '') if r else 'no row')" \
        "$WORK/state/ocflfs.db" "$1"
}
for _ in $(seq 600); do [[ -n $(staged_digest big.bin) ]] && break; sleep 0.1; done
check_eq "its digest is made after the close (in the background), before any commit" "$want" \
    "$(staged_digest big.bin)"

# a writer still open at the commit: held back, then taken by the next commit
python3 - "$mnt/obj/open.txt" "$WORK/go" "$WORK/ready" <<'PY' &
import os, sys, time
path, go, ready = sys.argv[1:]
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"first half\n")
os.fsync(fd)
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.02)
os.write(fd, b"second half\n")
os.close(fd)
PY
writer=$!
for _ in $(seq 600); do [[ -e $WORK/ready ]] && break; sleep 0.05; done
check_eq "an fsync through a passthrough writer reaches the daemon (size proven on disk)" 11 \
    "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([a for a in d["added"] if a["path"] == "open.txt"][0]["size"])' "$mnt/obj/.ocfl/status" 2>&1)"
setfattr -n user.ocfl.commit -v "with a writer open" "$mnt/obj"
check_eq "a commit while the writer is open succeeds" 0 $?
inv=$root/$(cd "$root" && dirname "$(find . -name 0=ocfl_object_1.1 | head -1)")/inventory.json
v2=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(sorted(p for ps in d["versions"]["v2"]["state"].values() for p in ps)))' "$inv")
check_eq "  its version holds the closed files, not the open one" "big.bin small.txt" "$v2"
touch "$WORK/go"
wait $writer
check_eq "the writer finishes" 0 $?
check_eq "  and the file holds both halves" "$(printf 'first half\nsecond half')" "$(cat "$mnt/obj/open.txt")"
setfattr -n user.ocfl.commit -v "after the close" "$mnt/obj"
check_eq "the next commit" 0 $?
check_eq "  takes all of it" "$(printf 'first half\nsecond half')" \
    "$("$OCFLFS" cat "$root" obj open.txt 2>&1)"
stop_mount "$mnt"
check_eq "unmount" 0 $?
out=$("$OCFLFS" validate "$root" 2>&1)
tap_result $(($? == 0)) "the root validates" "$out"
check_eq "v2's big.bin is the bytes written" "$want" \
    "$("$OCFLFS" cat "$root" obj big.bin -v v2 | sha512sum | cut -d' ' -f1)"
done_testing
