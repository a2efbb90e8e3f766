#!/usr/bin/env bash
# mount.sh: read-side benchmark of `ocflfs mount` (not part of meson test).
# usage: tests/bench/mount.sh [OCFLFS]   (default: build/fs/ocflfs; BENCH_BIG_MIB, BENCH_FILES)
# Prints, in one run: (a) sequential read of a 1 GiB committed file through a fresh mount vs
# dd of the same content file (page cache warm), (b) the re-read from the mount's cache, and a
# read of it under .ocfl/versions/ (passthrough when on),
# (c) `ls -lR` and `find -type f | wc -l` over an object of 100,000 files vs the same tree
# natively, on a fresh mount (the first access loads the object's inventory) and again on the
# same mount, (d) the daemon's RSS after listing that object.
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OCFLFS=${1:-$SRC/build/fs/ocflfs}
BIG_MIB=${BENCH_BIG_MIB:-1024}
FILES=${BENCH_FILES:-100000}
WORK=$(mktemp -d)
MNT="$WORK/mnt"
PID=
cleanup() {
    mountpoint -q "$MNT" 2>/dev/null && fusermount3 -u -z "$MNT"
    [[ -n $PID ]] && kill "$PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$MNT"

now() { date +%s.%N; }
secs() { # secs COMMAND...: wall seconds of one run
    local t0 t1
    t0=$(now)
    "$@" >/dev/null 2>&1
    t1=$(now)
    echo "$t1 - $t0" | bc -l
}
ratio() { echo "scale=2; $1 / $2" | bc -l; }
mount_fresh() {
    if [[ -n $PID ]]; then
        fusermount3 -u "$MNT"
        wait "$PID" || true
    fi
    # a new mount has cold kernel caches of its own; the disk's page cache stays
    # warm for both sides
    "$OCFLFS" mount "$WORK/root" "$MNT" -f --state "$WORK/state" 2>"$WORK/mount.log" &
    PID=$!
    for _ in $(seq 100); do mountpoint -q "$MNT" && return 0; sleep 0.05; done
    echo "mount failed: $(cat "$WORK/mount.log")" >&2
    exit 1
}

echo "# building objects ($BIG_MIB MiB file; $FILES small files)" >&2
"$OCFLFS" init "$WORK/root" --layout 0002-flat-direct-storage-layout >/dev/null
python3 "$SRC/tests/mount/make_object.py" "$WORK/root/big" "urn:bench:big" --big-mib "$BIG_MIB"
python3 "$SRC/tests/mount/make_object.py" "$WORK/root/many" "urn:bench:many" --files "$FILES" --per-dir 1000
native_big="$WORK/root/big/v1/content/big.bin"
native_tree="$WORK/root/many/v1/content"
sync # the objects' write-back must not run beside the measurements

# (a) and (b): sequential read, 1 MiB blocks
mount_fresh
cat "$native_big" >/dev/null # page cache warm
t_native=$(secs dd if="$native_big" of=/dev/null bs=1M)
t_native=$(secs dd if="$native_big" of=/dev/null bs=1M)
t_first=$(secs dd if="$MNT/urn:bench:big/big.bin" of=/dev/null bs=1M)
t_again=$(secs dd if="$MNT/urn:bench:big/big.bin" of=/dev/null bs=1M)
mib_s() { echo "scale=0; $BIG_MIB / $1" | bc -l; }
echo "(a) sequential read, fresh mount: $(mib_s "$t_first") MiB/s vs native $(mib_s "$t_native") MiB/s = $(ratio "$t_native" "$t_first")x"
echo "(b) re-read from the mount's cache: $(mib_s "$t_again") MiB/s = $(ratio "$t_native" "$t_again")x"
# versions/ is immutable: read through the kernel's passthrough when it is on
t_ver=$(secs dd if="$MNT/urn:bench:big/.ocfl/versions/v1/big.bin" of=/dev/null bs=1M)
echo "    the same file under .ocfl/versions/v1: $(mib_s "$t_ver") MiB/s = $(ratio "$t_native" "$t_ver")x"

# (c) listing 100,000 files: native with a warm dentry cache, the mount fresh (cold)
ls -lR "$native_tree" >/dev/null
find "$native_tree" -type f >/dev/null
t_ls_native=$(secs ls -lR "$native_tree")
t_find_native=$(secs sh -c "find '$native_tree' -type f | wc -l")
mount_fresh
ls -lR "$native_tree" >/dev/null
t_ls=$(secs ls -lR "$MNT/urn:bench:many")
t_ls2=$(secs ls -lR "$MNT/urn:bench:many")
mount_fresh
find "$native_tree" -type f >/dev/null
t_find=$(secs sh -c "find '$MNT/urn:bench:many' -type f | wc -l")
t_find2=$(secs sh -c "find '$MNT/urn:bench:many' -type f | wc -l")
n=$(find "$MNT/urn:bench:many" -type f | wc -l)
echo "(c) ls -lR of $n files: fresh mount ${t_ls}s, again ${t_ls2}s vs native ${t_ls_native}s = $(ratio "$t_ls_native" "$t_ls")x (again $(ratio "$t_ls_native" "$t_ls2")x)"
echo "    find -type f | wc -l: fresh mount ${t_find}s, again ${t_find2}s vs native ${t_find_native}s = $(ratio "$t_find_native" "$t_find")x (again $(ratio "$t_find_native" "$t_find2")x)"
ls -lR "$MNT/urn:bench:many" >/dev/null

# (d) the daemon's memory after listing the object (ls -lR and find done)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
echo "(d) daemon RSS after listing: $((rss / 1024)) MiB"
