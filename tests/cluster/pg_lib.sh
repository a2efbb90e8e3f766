# pg_lib.sh: a private PostgreSQL server for one cluster test (sourced after tap.sh and
# mount_lib.sh, which make $WORK).  pg_start makes a cluster with initdb in $WORK/pg, run by
# an unprivileged user made for it (useradd, when missing), listening on a Unix socket in that
# directory only (no TCP), and sets PG_URL; the server is stopped at exit.  Without a
# PostgreSQL server installed the test fails: .ci/setup installs postgresql.
PG_USER=ocflfs-pg
PG_DIR=
PG_URL=

pg_bin() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [[ -n $d && -x $d/initdb && -x $d/pg_ctl ]] && echo "$d"
}

pg_stop() {
    [[ -n $PG_DIR && -f $PG_DIR/data/postmaster.pid ]] || return 0
    su -s /bin/sh "$PG_USER" -c "$(pg_bin)/pg_ctl -D '$PG_DIR/data' -m fast -w stop" >/dev/null 2>&1
}

# Instead of mount_lib.sh's cleanup: the daemons first (they hold connections), then the
# server, then $WORK (which holds the server's files).
pg_cleanup() {
    local rc=$? m p
    for m in "${MOUNTS[@]}"; do
        mountpoint -q "$m" 2>/dev/null && fusermount3 -u -z "$m" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do
        kill -CONT "$p" 2>/dev/null # a paused host would keep its connections
        kill "$p" 2>/dev/null
    done
    pg_stop
    rm -rf "$WORK"
    exit $rc
}

# pg_start: 0 and PG_URL set, or 1 (reported as a failed check by the caller).
pg_start() {
    local bin
    bin=$(pg_bin) || { tap_diag "no PostgreSQL server (initdb, pg_ctl) under /usr/lib/postgresql: install postgresql (bash .ci/setup does)"; return 1; }
    id -u "$PG_USER" >/dev/null 2>&1 ||
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_USER" ||
        return 1
    chmod 711 "$WORK"
    PG_DIR=$WORK/pg
    mkdir -p "$PG_DIR/sock"
    chown -R "$PG_USER" "$PG_DIR"
    trap pg_cleanup EXIT
    su -s /bin/sh "$PG_USER" -c "$bin/initdb -D '$PG_DIR/data' -U ocflfs --auth=trust -E UTF8 --no-sync" \
        >"$PG_DIR/initdb.log" 2>&1 || { tap_diag "$(tail -5 "$PG_DIR/initdb.log")"; return 1; }
    # Unix socket in the test's directory only; fsync off: the server's durability is not
    # what these tests check, the storage root's is
    su -s /bin/sh "$PG_USER" -c "$bin/pg_ctl -D '$PG_DIR/data' -w -t 120 -l '$PG_DIR/server.log' \
        -o \"-c listen_addresses='' -c unix_socket_directories='$PG_DIR/sock' -c fsync=off -c max_connections=200\" start" \
        >/dev/null 2>&1 || { tap_diag "$(tail -5 "$PG_DIR/server.log")"; return 1; }
    PG_URL="postgresql:///postgres?host=$PG_DIR/sock&user=ocflfs"
    export PG_URL
}

# pg_start_or_end: pg_start, or the test ends at once with one failed check (a cluster test
# never passes without its server).
pg_start_or_end() {
    pg_start && return 0
    tap_result 0 "a private PostgreSQL server started (the cluster tests need one)"
    done_testing
}

# versions [ID]: how many versions object ID (default obj) of $root has
versions() {
    "$OCFLFS" log "$root" "${1:-obj}" --json |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)["versions"]))'
}
# objsums: every file's digest and every directory of $root outside extensions/ (what a late
# writer must leave as it found)
objsums() {
    (cd "$root" && find . -path ./extensions -prune -o -type f -print0 | sort -z |
        xargs -0 -r sha256sum && find . -path ./extensions -prune -o -type d -print | sort)
}
# wait_took_over TAKER HOST: until TAKER's log says it took HOST over (an event: 5 minutes at
# most, then the caller's check fails)
wait_took_over() {
    local i
    for ((i = 0; i < 3000; i++)); do
        grep -q "took over host '$2'" "$WORK/mnt-$1.log" && return 0
        sleep 0.1
    done
    return 1
}

# pg_sql SQL: run SQL on the test's database, unaligned output without headers.
pg_sql() {
    psql "$PG_URL" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"
}

# start_host NAME ROOT [ARGS...]: a daemon of host NAME on ROOT at $WORK/mnt-NAME (foreground,
# its log in $WORK/mnt-NAME.log), joined to the test's cluster; its pid in HOST_PID[NAME].
declare -A HOST_PID
start_host() {
    local name=$1 root=$2
    shift 2
    start_mount "$root" "$WORK/mnt-$name" --cluster "$PG_URL" --host "$name" "$@" || return 1
    HOST_PID[$name]=$MOUNT_PID
}

# stop_host NAME: unmount it and wait for its daemon.
stop_host() {
    MOUNT_PID=${HOST_PID[$1]}
    stop_mount "$WORK/mnt-$1"
}

# wait_stopped PID: until the process is stopped (SIGSTOP, state T), 5 minutes at most.
wait_stopped() {
    local i
    for ((i = 0; i < 3000; i++)); do
        [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == T ]] && return 0
        sleep 0.1
    done
    return 1
}

# commit_result MNT OBJDIR KEY: the value of KEY in OBJDIR's last commit result.
commit_result() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' \
        "$1/$2/.ocfl/commit" "$3" 2>/dev/null
}

# wait_mounted MNT [PID]: until MNT is a mount point (mount_lib.sh's, with a cluster's
# wait): a cluster mount joins first, and its join may wait out a takeover of its host or the
# row of a predecessor that died, which takes seconds more on a loaded machine.  Order of
# events, not time: 5 minutes at most, 1 at once when the daemon PID is gone.
wait_mounted() {
    local i
    for ((i = 0; i < 3000; i++)); do
        mountpoint -q "$1" && return 0
        [[ -n ${2:-} ]] && ! kill -0 "$2" 2>/dev/null && return 1
        sleep 0.1
    done
    return 1
}
