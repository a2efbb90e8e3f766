#!/usr/bin/env bash
# loadlock.sh: how long a mount takes to load a large inventory, and how fast another object
# answers meanwhile (not part of meson test: tests/mount/read/test_loadlock.sh checks the order
# of those events, these are the figures).
# usage: tests/bench/loadlock.sh [OCFLFS]   (default: build/fs/ocflfs; BENCH_LOAD_FILES,
# BENCH_LOAD_VERSIONS: 9000 x 50, a 78 MB inventory of 450,000 state entries)
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OCFLFS=${1:-$SRC/build/fs/ocflfs}
FILES=${BENCH_LOAD_FILES:-9000}
VERSIONS=${BENCH_LOAD_VERSIONS:-50}
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
    "$OCFLFS" mount "$WORK/root" "$MNT" -f --state "$WORK/state" 2>"$WORK/mount.log" &
    PID=$!
    for _ in $(seq 100); do mountpoint -q "$MNT" && return 0; sleep 0.05; done
    echo "mount failed: $(cat "$WORK/mount.log")" >&2
    exit 1
}

echo "# building objects ($FILES files x $VERSIONS versions; a small one)" >&2
"$OCFLFS" init "$WORK/root" --layout 0002-flat-direct-storage-layout >/dev/null
python3 "$SRC/tests/mount/make_versions.py" "$WORK/root/big" "urn:bench:big" "$FILES" "$VERSIONS"
python3 "$SRC/tests/mount/make_object.py" "$WORK/root/small" "urn:bench:small" --files 20 --per-dir 0
sync
inv_mb=$(($(stat -c %s "$WORK/root/big/inventory.json") / 1000000))

# (a) the first use of the large object loads it; a lookup once it is loaded
mount_fresh
cat "$MNT/urn:bench:small/f000000.txt" >/dev/null
t_load=$(secs stat "$MNT/urn:bench:big")
t_again=$(secs stat "$MNT/urn:bench:big/d000")
echo "(a) loading the $inv_mb MB inventory: $t_load s; a lookup once loaded: $t_again s"

# (b) a fresh mount: a file of the small object read while the large one loads
mount_fresh
cat "$MNT/urn:bench:small/f000001.txt" >/dev/null
(ls -R "$MNT/urn:bench:big" >/dev/null; now >"$WORK/ls.end") &
bg=$!
sleep "$(echo "$t_load / 5" | bc -l)" # the lookup of the large object has begun its load
t0=$(now)
cat "$MNT/urn:bench:small/f000007.txt" >/dev/null
t1=$(now)
wait "$bg"
t_cat=$(echo "$t1 - $t0" | bc -l)
during=$(echo "$t1 < $(cat "$WORK/ls.end")" | bc -l)
echo "(b) cat of an unvisited file of another object during the load: $t_cat s" \
    "= $(ratio "$t_cat" "$t_load")x the load ($([[ $during == 1 ]] && echo "while" || echo "after") the listing ran)"
