# mount_lib.sh: start and always stop ocflfs mounts in the mount tests (sourced after tap.sh).
# Every test gets $WORK (a temp dir, removed at exit); mounts made with start_mount are
# unmounted at exit even when a check fails or the script is interrupted.
. "$SOURCE_ROOT/tests/common/listing.sh"
WORK=$(mktemp -d)
MOUNTS=()
PIDS=()

cleanup() {
    local m p
    for m in "${MOUNTS[@]}"; do
        mountpoint -q "$m" 2>/dev/null && fusermount3 -u -z "$m" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# The mount tests make their objects by hand at short paths ($root/a, made by make_object.py),
# not where the root's layout would put their ids: commands must walk to find them.
export OCFLFS_FIND_MISPLACED=1

# wait_mounted MNT: until MNT is a mount point (5 s at most).
wait_mounted() {
    local i
    for ((i = 0; i < 100; i++)); do
        mountpoint -q "$1" && return 0
        sleep 0.05
    done
    return 1
}

# wait_unmounted MNT
wait_unmounted() {
    local i
    for ((i = 0; i < 100; i++)); do
        mountpoint -q "$1" || return 0
        sleep 0.05
    done
    return 1
}

# start_mount ROOT MNT [ARGS...]: foreground daemon in the background, its
# stderr in $MNT.log; sets MOUNT_PID.  Returns 1 when it did not mount.
start_mount() {
    local root=$1 mnt=$2
    shift 2
    mkdir -p "$mnt"
    # MOUNT_EXTRA_OPTS: options every mount of a test gets (a suite run again with them)
    # shellcheck disable=SC2086
    "$OCFLFS" mount "$root" "$mnt" -f "$@" ${MOUNT_EXTRA_OPTS:-} 2>>"$mnt.log" &
    MOUNT_PID=$!
    PIDS+=("$MOUNT_PID")
    MOUNTS+=("$mnt")
    wait_mounted "$mnt" || return 1
    [[ -n ${NO_WAIT_LISTING:-} ]] && return 0 # a test of the first walk itself
    # -o ctl=NAME renames the control directory
    local ctl=.ocfl a
    for a in "$@"; do [[ $a == *ctl=* ]] && ctl=${a##*ctl=} && ctl=${ctl%%,*}; done
    wait_listing "$mnt" "$ctl"
}

# stop_mount MNT: unmount and wait for the daemon; returns its exit status, or 1
# when a sanitizer reported anything in its log.
stop_mount() {
    local rc
    fusermount3 -u "$1" || return 1
    wait "$MOUNT_PID"
    rc=$?
    if grep -qE "runtime error|AddressSanitizer|LeakSanitizer" "$1.log" 2>/dev/null; then
        grep -E -A40 "runtime error|Sanitizer" "$1.log" | head -60 | sed 's/^/# /'
        return 1
    fi
    return $rc
}

# kill_mount MNT: SIGKILL the daemon started last (MOUNT_PID) and detach its mount point.
kill_mount() {
    kill -9 "$MOUNT_PID" 2>/dev/null
    wait "$MOUNT_PID" 2>/dev/null
    fusermount3 -u -z "${1:-$mnt}" 2>/dev/null
    wait_unmounted "${1:-$mnt}"
}

# make_root DIR: an empty storage root (flat layout) to copy objects into.
make_root() {
    "$OCFLFS" init "$1" --layout 0002-flat-direct-storage-layout >/dev/null
}

# tree_sums DIR: sha256 of every file below DIR, and every directory, sorted.
tree_sums() {
    (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum && find . -type d | sort)
}

# head_of OBJDIR: the head version of the object at OBJDIR (from its root inventory)
head_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["head"])' "$1/inventory.json"; }
