#!/usr/bin/env bash
# test_cluster_put.sh: `put --cluster` against a private PostgreSQL server: the schema made
# and versioned, hosts joining and leaving, each host's state dir under the root, and
# `plans --cluster` showing every host's plans.
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"
. "$SOURCE_ROOT/tests/cluster/pg_lib.sh"

pg_start_or_end
tap_result 1 "a private PostgreSQL server started"

root=$WORK/root
"$OCFLFS" init "$root" >/dev/null
mkdir -p "$WORK/d1" "$WORK/d2"
echo one >"$WORK/d1/a.txt"
echo two >"$WORK/d2/b.txt"

"$OCFLFS" put "$root" obj-1 "$WORK/d1" -m "first" --user Tester --cluster "$PG_URL" --host alpha \
    >"$WORK/out1" 2>&1
check_eq "put --cluster --host alpha writes v1" 0 $?
check_grep "it says so" "v1 written" "$WORK/out1"
check_eq "the schema has its version" 2 "$(pg_sql 'SELECT version FROM ocflfs_schema')"
check_eq "alpha joined and left" "alpha|left" "$(pg_sql "SELECT name, state FROM ocflfs_hosts")"
check_true "alpha's journal is in its own state dir under the root" \
    test -f "$root/extensions/ocflfs/hosts/alpha/ocflfs.db"
check_true "and not in the single-host place" test ! -e "$root/extensions/ocflfs/ocflfs.db"
check_eq "no lease is left behind" 0 "$(pg_sql 'SELECT count(*) FROM ocflfs_leases')"
check_eq "the plan is in the cluster's table" "alpha|1|obj-1|v1|done" \
    "$(pg_sql 'SELECT host, plan, object_id, version, state FROM ocflfs_plans')"
jm=$(sqlite3 "$root/extensions/ocflfs/hosts/alpha/ocflfs.db" 'PRAGMA journal_mode' 2>/dev/null ||
    python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA journal_mode").fetchone()[0])' \
        "$root/extensions/ocflfs/hosts/alpha/ocflfs.db")
check_eq "the host's journal is no WAL database (a rollback journal on shared storage)" delete "$jm"
check_true "and has no -wal or -shm file" test ! -e "$root/extensions/ocflfs/hosts/alpha/ocflfs.db-wal" \
    -a ! -e "$root/extensions/ocflfs/hosts/alpha/ocflfs.db-shm"

"$OCFLFS" put "$root" obj-1 "$WORK/d2" -m "second" --user Tester --cluster "$PG_URL" --host beta \
    >"$WORK/out2" 2>&1
check_eq "another host, beta, writes v2 of the same object" 0 $?
check_eq "obj-1 is at v2 and valid" 0 "$("$OCFLFS" validate "$root" obj-1 --quiet >/dev/null 2>&1; echo $?)"
check_eq "with beta's bytes" two "$("$OCFLFS" cat "$root" obj-1 b.txt)"

"$OCFLFS" plans "$root" --cluster "$PG_URL" --all >"$WORK/plans" 2>&1
check_eq "plans --cluster --all" 0 $?
check_grep "shows alpha's plan" "alpha" "$WORK/plans"
check_grep "and beta's" "beta" "$WORK/plans"
"$OCFLFS" plans "$root" --cluster "$PG_URL" --all --json >"$WORK/plans.json"
check_eq "its JSON lists both plans with their hosts" "alpha:done beta:done" \
    "$(python3 -c 'import json,sys; print(" ".join(p["host"]+":"+p["state"] for p in json.load(open(sys.argv[1]))["plans"]))' "$WORK/plans.json")"

# a schema newer than this build is refused, and nothing is written
pg_sql "UPDATE ocflfs_schema SET version = 99" >/dev/null
"$OCFLFS" put "$root" obj-2 "$WORK/d1" -m "x" --user Tester --cluster "$PG_URL" --host alpha \
    >"$WORK/out3" 2>&1
check_eq "a newer cluster schema is refused" 1 $?
check_grep "naming the version" "schema version 99" "$WORK/out3"
# a database of schema version 1 (before the shared index) is migrated by the next host
pg_sql "UPDATE ocflfs_schema SET version = 1; DROP TABLE ocflfs_objects" >/dev/null
"$OCFLFS" put "$root" obj-2 "$WORK/d1" -m "x" --user Tester --cluster "$PG_URL" --host alpha \
    >"$WORK/out3" 2>&1
check_eq "a version 1 schema: put works" 0 $?
check_eq "and migrates it to version 2" 2 "$(pg_sql 'SELECT version FROM ocflfs_schema')"
check_eq "whose shared index has the new object" "obj-2|v1" \
    "$(pg_sql "SELECT object_id, head FROM ocflfs_objects")"

# a host whose clock is off by more than the skew the leases allow for is refused
OCFLFS_TEST_CLOCK_OFFSET_MS=5000 "$OCFLFS" put "$root" obj-1 "$WORK/d1" -m "skewed" --user Tester \
    --cluster "$PG_URL" --host skewed >"$WORK/out5" 2>&1
check_eq "a host 5 s off the server's clock is refused" 1 $?
check_grep "saying so" "its clock differs from the PostgreSQL server's" "$WORK/out5"
check_eq "and does not join" 0 "$(pg_sql "SELECT count(*) FROM ocflfs_hosts WHERE name = 'skewed'")"
OCFLFS_TEST_CLOCK_OFFSET_MS=300 "$OCFLFS" put "$root" obj-1 "$WORK/d1" -m "a little off" --user Tester \
    --cluster "$PG_URL" --host near >"$WORK/out6" 2>&1
check_eq "one 0.3 s off (within the 1 s allowed) works" 0 $?

# a server that cannot be reached fails clearly
"$OCFLFS" put "$root" obj-3 "$WORK/d1" -m "x" --user Tester \
    --cluster "postgresql:///postgres?host=$WORK/nowhere&user=ocflfs" --host alpha >"$WORK/out4" 2>&1
check_eq "no server: put fails" 1 $?
check_grep "saying it cannot connect" "cannot connect" "$WORK/out4"

done_testing
