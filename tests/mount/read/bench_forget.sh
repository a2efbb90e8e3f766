#!/usr/bin/env bash
# bench_forget.sh: the daemon's RSS (VmRSS) after find over an object of 100,000 files, then
# after drop_caches (the kernel forgets the inodes), twice.  Not part of meson test; needs
# root (drop_caches).  usage: tests/mount/read/bench_forget.sh OCFLFS [OCFLFS...]  (BENCH_FILES)
set -eu
SRC=$(cd "$(dirname "$0")/../../.." && pwd)
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
rss() { # VmRSS (its anonymous part) and the peak so far, MiB
    awk '/^VmRSS/ {r = $2} /^RssAnon/ {a = $2} /^VmHWM/ {h = $2}
         END {printf "%d (anon %d, peak %d)", r / 1024, a / 1024, h / 1024}' "/proc/$PID/status"
}
nodes() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("nodes", "-"))' \
    "$MNT/.ocfl/status"; }
drop() {
    local i
    for i in 1 2 3 4 5; do
        sync
        echo 2 >/proc/sys/vm/drop_caches
        sleep 0.5
    done
}

"$1" init "$WORK/root" --layout 0002-flat-direct-storage-layout >/dev/null
python3 "$SRC/tests/mount/make_object.py" "$WORK/root/many" "urn:bench:many" --files "$FILES" \
    --per-dir 1000 >/dev/null
obj="$MNT/urn:bench:many"
for bin in "$@"; do
    "$bin" mount "$WORK/root" "$MNT" -f --state "$WORK/state" 2>"$WORK/log" &
    PID=$!
    for ((i = 0; i < 100; i++)); do mountpoint -q "$MNT" && break; sleep 0.05; done
    echo "# $bin"
    echo "mounted:                        RSS $(rss) MiB, nodes $(nodes)"
    find "$obj" -type f | wc -l >/dev/null
    echo "after find over the head:       RSS $(rss) MiB, nodes $(nodes)"
    drop
    echo "after drop_caches:              RSS $(rss) MiB, nodes $(nodes)"
    find "$obj" "$obj/.ocfl/versions/v1" -type f | wc -l >/dev/null
    echo "after find over head and v1:    RSS $(rss) MiB, nodes $(nodes)"
    drop
    echo "after drop_caches:              RSS $(rss) MiB, nodes $(nodes)"
    fusermount3 -u "$MNT"
    wait "$PID" || true
    PID=
    rm -rf "$WORK/state"
done
