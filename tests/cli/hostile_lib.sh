# hostile_lib.sh: helpers for the test_hostile_* scripts (sourced after tap.sh): a temp dir,
# tmpfs and FUSE mounts that are always undone, tree snapshots, TAP TODO checks.
. "$SOURCE_ROOT/tests/common/listing.sh"
HT=$(mktemp -d)
H_TMPFS=()
H_FUSE=()
H_PIDS=()

hostile_cleanup() {
    local m p
    for m in "${H_FUSE[@]}"; do
        mountpoint -q "$m" 2>/dev/null && fusermount3 -u -z "$m" 2>/dev/null
    done
    for p in "${H_PIDS[@]}"; do
        kill -9 "$p" 2>/dev/null
    done
    for m in "${H_TMPFS[@]}"; do
        mountpoint -q "$m" 2>/dev/null && umount -l "$m"
    done
    rm -rf "$HT"
}
trap hostile_cleanup EXIT
trap 'exit 130' INT TERM
export OCFLFS_TEST_RETRY_MS=1 # step retries wait 1, 2, 4... ms, not 100, 200, 400...

# tmpfs_mount DIR SIZE: a small filesystem at DIR, unmounted at exit.
tmpfs_mount() {
    mkdir -p "$1" && mount -t tmpfs -o "size=$2" tmpfs "$1" || return 1
    H_TMPFS+=("$1")
}

# need_root_mounts: these tests mount tmpfs; say why and skip when that cannot be done.
need_root_mounts() {
    if [[ $(id -u) != 0 ]] || ! tmpfs_mount "$HT/probe" 1m; then
        echo "1..0 # SKIP needs root to mount a small tmpfs (disk-full cases)"
        exit 77
    fi
    umount "$HT/probe"
}

# snapshot DIR [EXCLUDE-SUBPATH]: every entry under DIR with its type and, for files, sha256;
# symlinks with their target.  One line per entry, sorted.  EXCLUDE-SUBPATH (relative) is left out.
snapshot() {
    local dir=$1 ex=${2:-}
    (
        cd "$dir" || exit 1
        find . ${ex:+-path "./$ex" -prune -o} -print0 | sort -z | while IFS= read -r -d '' p; do
            if [[ -L $p ]]; then
                printf 'l %s -> %s\n' "$p" "$(readlink "$p")"
            elif [[ -f $p && ${p##*/} == ocflfs.lock ]]; then
                printf 'f %s (the holder writes its pid here)\n' "$p"
            elif [[ -f $p ]]; then
                printf 'f %s %s\n' "$p" "$(sha256sum <"$p" | cut -d' ' -f1)"
            else
                printf 'd %s\n' "$p"
            fi
        done
    )
}

# check_same DESCRIPTION SNAPSHOT-FILE DIR [EXCLUDE]: DIR is as it was.
check_same() {
    local now
    now=$(snapshot "$3" "${4:-}")
    if [[ "$now" == "$(cat "$2")" ]]; then
        tap_result 1 "$1"
    else
        tap_result 0 "$1" "changed: $(diff <(cat "$2") <(echo "$now") | head -c 600 | tr '\n' ' ')"
    fi
}

# check_todo DESCRIPTION REASON COMMAND...: a known failure in code this suite does not own.
# Prints "not ok N - DESC # TODO REASON" (or "ok ... # TODO" once fixed); never fails the run.
check_todo() {
    local d=$1 why=$2
    shift 2
    tap_n=$((tap_n + 1))
    if "$@"; then
        echo "ok $tap_n - $d # TODO $why"
    else
        echo "not ok $tap_n - $d # TODO $why"
    fi
}

json() { # json FILE PYTHON-EXPR (with d = the document)
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

# objdir ROOT: the one object directory under ROOT (relative), found by its declaration.
objdir_of() {
    local f
    f=$(cd "$1" && find . -path ./extensions -prune -o -name '0=ocfl_object_1.1' -print | head -1)
    f=${f#./}
    dirname "$f"
}

head_of() { # head_of ROOT OBJDIR
    json "$1/$2/inventory.json" 'd["head"]'
}

# no_temps DIR: no "*.tmp-*" file anywhere under DIR.
no_temps() {
    [[ -z $(find "$1" -name '*.tmp-*' -print -quit) ]]
}

# wait_mounted MNT: until MNT is a mount point (5 s at most).
wait_mounted() {
    local i
    for ((i = 0; i < 100; i++)); do
        mountpoint -q "$1" && return 0
        sleep 0.05
    done
    return 1
}

# fuse_mount ROOT MNT [ARGS...]: foreground daemon in the background (stderr in MNT.log);
# sets FUSE_PID.  Unmounted at exit.
fuse_mount() {
    local root=$1 mnt=$2
    shift 2
    mkdir -p "$mnt"
    "$OCFLFS" mount "$root" "$mnt" -f "$@" 2>>"$mnt.log" &
    FUSE_PID=$!
    H_PIDS+=("$FUSE_PID")
    H_FUSE+=("$mnt")
    wait_mounted "$mnt" && wait_listing "$mnt"
}

# fuse_umount MNT: unmount and wait for the daemon started last; returns its exit status,
# or 1 when a sanitizer reported anything in its log.
fuse_umount() {
    local rc
    fusermount3 -u "$1" || return 1
    wait "$FUSE_PID"
    rc=$?
    grep -qE 'Sanitizer|runtime error' "$1.log" && return 1
    return $rc
}
