#!/usr/bin/env bash
# cluster.sh [BUILD_DIR]: cluster mode's figures (issue 17), with a private PostgreSQL server
# (tests/cluster/pg_lib.sh; run as root): commits per second of small changes to distinct
# objects from 1, 2 and 3 hosts committing at once (each its own daemon, mount point and
# state dir on one root), against one mount without the cluster; and the notice delay from a
# commit's return on one host to its bytes read on another.  Not part of `meson test`.
# COMMITS (per host, default 100) and PROBES (default 20) shrink or grow the runs.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
OCFLFS=$(cd "$build" && pwd)/fs/ocflfs
[[ -x $OCFLFS ]] || { echo "no ocflfs at $OCFLFS (give the build dir)" >&2; exit 2; }
commits=${COMMITS:-100}
probes=${PROBES:-20}
SOURCE_ROOT=$(cd "$here/../.." && pwd)
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"
. "$SOURCE_ROOT/tests/cluster/pg_lib.sh"
pg_start || { echo "cannot start PostgreSQL" >&2; exit 1; }

root=$WORK/root
"$OCFLFS" init "$root" --layout 0002-flat-direct-storage-layout >/dev/null

# run_host MNT PREFIX: COMMITS commits, each of one small change to its own object
run_host() {
    local mnt=$1 p=$2 i
    for ((i = 0; i < commits; i++)); do
        echo "change $i" >"$mnt/$p-$((i % 10))/f.txt"
        setfattr -n user.ocfl.commit -v "c$i" "$mnt/$p-$((i % 10))" || return 1
    done
}
# prepare MNT PREFIX: ten objects of PREFIX, made through MNT (v1)
prepare() {
    local k
    for ((k = 0; k < 10; k++)); do
        mkdir -p "$1/$2-$k" && echo v1 >"$1/$2-$k/f.txt" &&
            setfattr -n user.ocfl.commit -v v1 "$1/$2-$k" || return 1
    done
}
rate() { python3 -c "import sys; print('%.1f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$@"; }

# without the cluster: one mount (its own state dir)
start_mount "$root" "$WORK/mnt-solo" --state "$WORK/solo-state" || exit 1
prepare "$WORK/mnt-solo" solo
t0=$(date +%s.%N)
run_host "$WORK/mnt-solo" solo
t1=$(date +%s.%N)
secs=$(python3 -c "print($t1 - $t0)")
echo "no cluster, 1 mount: $commits commits in $(printf %.2f "$secs") s: $(rate "$commits" "$secs") commits/s"
fusermount3 -u "$WORK/mnt-solo"
wait "$MOUNT_PID"

for h in a b c; do
    start_host "$h" "$root" || { tail "$WORK/mnt-$h.log"; exit 1; }
    prepare "$WORK/mnt-$h" "$h-run"
done
for n in 1 2 3; do
    hosts=(a b c)
    hosts=("${hosts[@]:0:$n}")
    pids=()
    t0=$(date +%s.%N)
    for h in "${hosts[@]}"; do
        run_host "$WORK/mnt-$h" "$h-run" &
        pids+=($!)
    done
    ok=1
    for p in "${pids[@]}"; do wait "$p" || ok=0; done
    t1=$(date +%s.%N)
    secs=$(python3 -c "print($t1 - $t0)")
    total=$((n * commits))
    echo "cluster, $n host(s) at once: $total commits in $(printf %.2f "$secs") s:" \
        "$(rate "$total" "$secs") commits/s$( ((ok)) || echo ' (some commits failed)')"
done

# the notice delay: a commits, b reads until it sees the new bytes
mkdir -p "$WORK/mnt-a/probe" && echo 0 >"$WORK/mnt-a/probe/f.txt" &&
    setfattr -n user.ocfl.commit -v p0 "$WORK/mnt-a/probe"
for ((i = 0; i < 3000; i++)); do [[ -e $WORK/mnt-b/probe/f.txt ]] && break; sleep 0.1; done
cat "$WORK/mnt-b/probe/f.txt" >/dev/null
delays=()
for ((k = 1; k <= probes; k++)); do
    echo "$k" >"$WORK/mnt-a/probe/f.txt"
    setfattr -n user.ocfl.commit -v "p$k" "$WORK/mnt-a/probe"
    t0=$(date +%s.%N)
    while [[ $(cat "$WORK/mnt-b/probe/f.txt" 2>/dev/null) != "$k" ]]; do :; done
    t1=$(date +%s.%N)
    delays+=("$(python3 -c "print('%.4f' % ($t1 - $t0))")")
done
printf '%s\n' "${delays[@]}" | sort -g | python3 -c '
import sys
d = [float(x) for x in sys.stdin]
print("notice delay over %d commits: median %.1f ms, max %.1f ms, min %.1f ms" %
      (len(d), 1000 * d[len(d) // 2], 1000 * max(d), 1000 * min(d)))'
for h in a b c; do stop_host "$h"; done

# the shared index: a fresh host lists 100,000 objects from it (INDEX_OBJECTS to change)
WORK=$(mktemp -d) OCFLFS=$OCFLFS SOURCE_ROOT=$SOURCE_ROOT bash "$SOURCE_ROOT/tests/cluster/test_cluster_index.sh" \
    "${INDEX_OBJECTS:-100000}" | grep -E "listed|^not ok"
