#!/usr/bin/env bash
# staged_list.sh [OCFLFS]: ls -lR and find -type d over a staged object (DIRS directories of
# FILES files each, made through the mount, nothing committed) against the same tree on the
# native file system, on its first pass (the mount's attribute caches cold) and again; then
# the same object committed (every file with kept modes and times, issue 12) after a remount,
# against the same tree put by `ocflfs put` (nothing kept).
# Not part of `meson test`.  BENCH_DIRS (200) and BENCH_FILES (100) size the tree.
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OCFLFS=${1:-$SRC/build/fs/ocflfs}
DIRS=${BENCH_DIRS:-200}
FILES=${BENCH_FILES:-100}
WORK=$(mktemp -d)
PID=
cleanup() {
    mountpoint -q "$WORK/mnt" 2>/dev/null && fusermount3 -u -z "$WORK/mnt"
    [[ -n $PID ]] && kill "$PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/mnt" "$WORK/native"
"$OCFLFS" init "$WORK/root" >/dev/null
"$OCFLFS" mount "$WORK/root" "$WORK/mnt" -f --state "$WORK/state" 2>"$WORK/mount.log" &
PID=$!
for _ in $(seq 100); do mountpoint -q "$WORK/mnt" && break; sleep 0.05; done
mkdir "$WORK/mnt/obj"
make_tree() {
    python3 - "$1" "$DIRS" "$FILES" <<'PY'
import os, sys
top, dirs, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for d in range(dirs):
    p = os.path.join(top, "d%04d" % d)
    os.mkdir(p)
    for f in range(files):
        with open(os.path.join(p, "f%04d" % f), "w") as fh:
            fh.write("x")
PY
}
make_tree "$WORK/mnt/obj"
make_tree "$WORK/native"
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
walk() { ls -lR "$1" && find "$1" -type d; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }
walk "$WORK/native" >/dev/null
t_native=$(secs walk "$WORK/native")
sleep 1.2 # past the staged view's 1 s attribute timeout: the first pass asks the daemon
t_first=$(secs walk "$WORK/mnt/obj")
t_again=$(secs walk "$WORK/mnt/obj")
n=$((DIRS * FILES))
echo "ls -lR + find -type d over a staged object of $n files in $DIRS directories:"
echo "  first pass ${t_first}s, again ${t_again}s vs native ${t_native}s = $(ratio "$t_native" "$t_first")x (again $(ratio "$t_native" "$t_again")x)"

# committed: with kept attributes (through the mount) and without (put)
setfattr -n user.ocfl.commit -v bench "$WORK/mnt/obj"
fusermount3 -u "$WORK/mnt"
wait "$PID" 2>/dev/null || true
"$OCFLFS" put "$WORK/root" put "$WORK/native" -m bench --user B --address mailto:b@example.org \
    --state "$WORK/state" >/dev/null
"$OCFLFS" mount "$WORK/root" "$WORK/mnt" -f --state "$WORK/state" 2>>"$WORK/mount.log" &
PID=$!
for _ in $(seq 100); do mountpoint -q "$WORK/mnt" && break; sleep 0.05; done
t_kept=$(secs walk "$WORK/mnt/obj")
t_put=$(secs walk "$WORK/mnt/put")
echo "the same, committed, after a remount: with kept attributes ${t_kept}s = $(ratio "$t_native" "$t_kept")x native;"
echo "  put by ocflfs put (nothing kept) ${t_put}s = $(ratio "$t_native" "$t_put")x native; kept / put $(ratio "$t_kept" "$t_put")"
