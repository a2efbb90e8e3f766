#!/usr/bin/env bash
# test_cluster_mount.sh: three daemons on one machine, each its own host name, mount point and
# state dir, share one storage root through a private PostgreSQL server: commits of different
# objects from all three at once; the same object from two (one waits on the other's lease
# and fails with EBUSY naming it, then succeeds).
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"
. "$SOURCE_ROOT/tests/cluster/pg_lib.sh"

pg_start_or_end
root=$WORK/root
"$OCFLFS" init "$root" >/dev/null
mkdir -p "$WORK/seed"
echo seed >"$WORK/seed/seed.txt"
for o in obj-a obj-b obj-c shared; do
    "$OCFLFS" put "$root" "$o" "$WORK/seed" -m seed --user Seeder --cluster "$PG_URL" --host seed \
        >/dev/null 2>&1 || tap_result 0 "seed $o"
done

for h in a b c; do
    start_host "$h" "$root" || tap_result 0 "host $h mounts" "$(tail -5 "$WORK/mnt-$h.log")"
done
check_eq "three hosts live in the cluster" "a b c" \
    "$(pg_sql "SELECT string_agg(name, ' ' ORDER BY name) FROM ocflfs_hosts WHERE state = 'live'")"
check_true "each has its own state dir under the root" test -f "$root/extensions/ocflfs/hosts/a/ocflfs.db" \
    -a -f "$root/extensions/ocflfs/hosts/b/ocflfs.db" -a -f "$root/extensions/ocflfs/hosts/c/ocflfs.db"
live_in_status() { # live_in_status MNT: the live hosts the root's .ocfl/status lists
    python3 -c 'import json,sys; print(" ".join(h["name"] for h in json.load(open(sys.argv[1]))["cluster"]["hosts"] if h["state"] == "live"))' "$1/.ocfl/status"
}
for ((i = 0; i < 3000; i++)); do # the list comes with a heartbeat: wait for it
    [[ $(live_in_status "$WORK/mnt-a") == "a b c" ]] && break
    sleep 0.1
done
check_eq "the root's status lists the hosts" "a b c" "$(live_in_status "$WORK/mnt-a")"

# 1. different objects from all three at once
for h in a b c; do
    echo "from $h" >"$WORK/mnt-$h/obj-$h/$h.txt"
done
pids=()
for h in a b c; do
    setfattr -n user.ocfl.commit -v "commit on $h" "$WORK/mnt-$h/obj-$h" 2>"$WORK/err-$h" &
    pids+=($!)
done
for i in 0 1 2; do
    wait "${pids[$i]}"
    check_eq "the commit on host ${pids[$i]:+$(echo a b c | cut -d' ' -f$((i + 1)))} succeeds" 0 $?
done
for h in a b c; do
    check_eq "obj-$h has host $h's bytes at v2" "from $h" "$("$OCFLFS" cat "$root" "obj-$h" "$h.txt" 2>&1)"
done
check_eq "the root is valid" 0 "$("$OCFLFS" validate "$root" --quiet >"$WORK/validate" 2>&1; echo $?)"
check_eq "no lease is held after the commits" 0 "$(pg_sql 'SELECT count(*) FROM ocflfs_leases')"

# 2. the same object from two hosts: a stops itself between the switch's checks and its
# rename (holding the lease, long enough not to lose it), b waits for the lease and fails
stop_host a
OCFLFS_TEST_STOP_AT_SWITCH=1 OCFLFS_CLUSTER_LEASE_MS=600000 start_host a "$root" ||
    tap_result 0 "host a mounts again" "$(tail -5 "$WORK/mnt-a.log")"
stop_host b
OCFLFS_CLUSTER_WAIT_MS=1000 start_host b "$root" ||
    tap_result 0 "host b mounts again" "$(tail -5 "$WORK/mnt-b.log")"
echo "x from a" >"$WORK/mnt-a/shared/x.txt"
echo "y from b" >"$WORK/mnt-b/shared/y.txt"
setfattr -n user.ocfl.commit -v "x on a" "$WORK/mnt-a/shared" 2>"$WORK/err-a2" &
apid=$!
check_true "host a stops in its commit, holding the lease" wait_stopped "${HOST_PID[a]}"
check_eq "the lease is a's" a "$(pg_sql "SELECT host FROM ocflfs_leases WHERE object_id = 'shared'")"
setfattr -n user.ocfl.commit -v "y on b" "$WORK/mnt-b/shared" 2>"$WORK/err-b2"
check_eq "b's commit of the same object fails" 1 $?
check_grep "with EBUSY" "Device or resource busy" "$WORK/err-b2"
check_grep "and .ocfl/commit names the holder" "host 'a'" "$WORK/mnt-b/shared/.ocfl/commit"
kill -CONT "${HOST_PID[a]}"
wait "$apid"
check_eq "a's commit then succeeds" 0 $?
check_eq "shared is at v2 with a's file" "x from a" "$("$OCFLFS" cat "$root" shared x.txt 2>&1)"
setfattr -n user.ocfl.commit -v "y on b" "$WORK/mnt-b/shared" 2>"$WORK/err-b3"
check_eq "b's next commit finds a's version: a conflict" 1 $?
setfattr -n user.ocfl.commit -v '{"message": "y on b", "rebase": true}' "$WORK/mnt-b/shared" \
    2>"$WORK/err-b4"
check_eq "b's commit with rebase succeeds" 0 $?
check_eq "v3 has b's file" "y from b" "$("$OCFLFS" cat "$root" shared y.txt 2>&1)"
check_eq "and still a's" "x from a" "$("$OCFLFS" cat "$root" shared x.txt 2>&1)"
check_eq "shared is at v3" v3 "$("$OCFLFS" log "$root" shared --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["versions"][0]["version"])' 2>&1)"
check_eq "the root is still valid" 0 "$("$OCFLFS" validate "$root" --quiet >"$WORK/validate" 2>&1; echo $?)"

for h in a b c; do
    stop_host "$h"
    check_eq "host $h unmounts cleanly" 0 $?
done
check_eq "and has left the cluster" "0" "$(pg_sql "SELECT count(*) FROM ocflfs_hosts WHERE state = 'live'")"

# --state DIR (relative): the others read that directory, absolute, in ocflfs_hosts
mkdir -p "$WORK/elsewhere"
pushd "$WORK" >/dev/null || exit 1
start_host d "$root" --state elsewhere/d ||
    tap_result 0 "host d mounts with --state" "$(tail -5 "$WORK/mnt-d.log")"
popd >/dev/null || exit 1
check_eq "host d's recorded state dir is its --state" "$WORK/elsewhere/d" \
    "$(pg_sql "SELECT state_dir FROM ocflfs_hosts WHERE name = 'd'")"
check_true "and its journal is there" test -f "$WORK/elsewhere/d/ocflfs.db"
stop_host d
check_eq "host d unmounts cleanly" 0 $?

# host names that are no directory's name are refused
for h in . ..; do
    "$OCFLFS" put "$root" obj-a "$WORK/seed" -m x --cluster "$PG_URL" --host "$h" >/dev/null 2>"$WORK/err-name"
    check_eq "host name '$h' refused" 1 $?
    check_grep "saying why" "host name" "$WORK/err-name"
done
# a password in the URL is never shown (nothing listens on port 1 of the loopback)
"$OCFLFS" plans "$root" --cluster "postgresql://u:s3cr3t-pw@127.0.0.1:1/x" >/dev/null 2>"$WORK/err-pw"
check_grep "an unreachable server is an error naming it" "127.0.0.1:1" "$WORK/err-pw"
check_eq "which does not show the URL's password" 0 "$(grep -c s3cr3t-pw "$WORK/err-pw")"
"$OCFLFS" plans "$root" --cluster "host=127.0.0.1 port=1 user=u password=s3cr3t-pw" >/dev/null \
    2>"$WORK/err-pw2"
check_eq "nor a key=value string's" 0 "$(grep -c s3cr3t-pw "$WORK/err-pw2")"
done_testing
