#!/usr/bin/env bash
# test_cluster_takeover.sh: a host killed (SIGKILL) in the middle of a commit, at every step
# of its plan and at moments in between, is taken over by another host once its heartbeat is
# stale: the other host finishes or reverts the plan from the dead host's journal, and every
# time the object is valid at its old head or at the complete new one, and nothing staged is
# lost (the dead host, back, sees the bytes committed or still staged).  Then a host paused
# (SIGSTOP) between the switch's checks and its rename loses its lease, is taken over, and
# writes nothing after it wakes.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"
. "$SOURCE_ROOT/tests/cluster/pg_lib.sh"

pg_start_or_end
# short leases, so that a takeover comes within seconds (the test waits for it, whatever
# it takes)
export OCFLFS_CLUSTER_LEASE_MS=4000
root=$WORK/root
"$OCFLFS" init "$root" >/dev/null
mkdir -p "$WORK/seed"
echo seed >"$WORK/seed/seed.txt"
"$OCFLFS" put "$root" obj "$WORK/seed" -m seed --user Seeder --cluster "$PG_URL" --host seed \
    >/dev/null 2>&1 || tap_result 0 "seed obj"
mkdir -p "$WORK/mnt-a"
start_host b "$root" || tap_result 0 "host b mounts" "$(tail -5 "$WORK/mnt-b.log")"

# bail WHY: a daemon this test needs is gone: fail now, not after every later wait ran out
bail() {
    tap_result 0 "$1" "$(tail -5 "$WORK/mnt-b.log")"
    done_testing
}
# wait_taken HOST N: until host b's log has N takeovers of HOST (5 minutes at most; at once
# when b's daemon is gone)
wait_taken() {
    local i
    for ((i = 0; i < 3000; i++)); do
        (($(grep -c "took over host '$1'" "$WORK/mnt-b.log") >= $2)) && return 0
        kill -0 "${HOST_PID[b]}" 2>/dev/null || bail "host b's daemon is still there"
        sleep 0.1
    done
    return 1
}

# stop_a PID [MNT]: unmount host a and wait for its daemon, never for ever: a stuck mount is
# detached and a daemon still there after 5 minutes is killed (and reported)
stop_a() {
    local i mnt=${2:-$WORK/mnt-a}
    fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -u -z "$mnt"
    for ((i = 0; i < 3000; i++)); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$1" 2>/dev/null; then
        kill -9 "$1"
        tap_result 0 "host a's daemon ends once unmounted"
    fi
    wait "$1" 2>/dev/null
}

# The SIGKILL trials run in rounds of up to SLOTS at once, one host aS and one object obj-S
# per slot (S = 1..SLOTS): every trial of a round dies, host b takes them all over in one
# go, and each is checked.  What each checks is as for one trial alone.
SLOTS=4
for ((S = 1; S <= SLOTS; S++)); do
    "$OCFLFS" put "$root" "obj-$S" "$WORK/seed" -m seed --user Seeder --cluster "$PG_URL" \
        --host seed >/dev/null 2>&1 || tap_result 0 "seed obj-$S"
    mkdir -p "$WORK/mnt-a$S"
done
trials=0 broken=0 lost=0 finished=0 reverted=0 taken=0
declare -A TAKEN T_WHAT T_DATA T_BEFORE T_APID
# trial_start S DESCRIPTION ENV...: host aS commits a new file to obj-S and dies as ENV
# makes it (no ENV: at a random moment)
trial_start() {
    local S=$1 what=$2
    shift 2
    trials=$((trials + 1))
    local mnt=$WORK/mnt-a$S obj=obj-$S
    T_WHAT[$S]=$what T_BEFORE[$S]=$(versions "$obj") T_APID[$S]= T_DATA[$S]=
    env "$@" OCFLFS_CLUSTER_LEASE_MS=4000 "$OCFLFS" mount "$root" "$mnt" -f --cluster "$PG_URL" \
        --host "a$S" 2>>"$WORK/mnt-a.log" &
    local apid=$!
    PIDS+=("$apid")
    MOUNTS+=("$mnt")
    wait_mounted "$mnt" "$apid" && wait_listing "$mnt" ||
        { tap_result 0 "$what: host a$S mounts" "$(tail -5 "$WORK/mnt-a.log")"; kill -9 "$apid"; return; }
    T_APID[$S]=$apid
    local data="trial $trials: $what"
    T_DATA[$S]=$data
    if [[ $what == random* ]]; then # a bigger file, and a kill after a random moment
        head -c $((4 << 20)) /dev/urandom >"$WORK/big"
        cp "$WORK/big" "$mnt/$obj/t$trials.bin"
    fi
    echo "$data" >"$mnt/$obj/t.txt"
    setfattr -n user.ocfl.commit -v "trial $trials" "$mnt/$obj" 2>/dev/null &
    local cpid=$!
    if [[ $what == random* ]]; then
        sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
        kill -9 "$apid" 2>/dev/null
    fi
    wait "$cpid" 2>/dev/null
    # a plan with no such step returns: then the host dies just after its commit
    kill -9 "$apid" 2>/dev/null
    wait "$apid" 2>/dev/null
    fusermount3 -u -z "$mnt" 2>/dev/null
    TAKEN[$S]=$((${TAKEN[$S]:-0} + 1))
}
# trial_check S: after host b took host aS over
trial_check() {
    local S=$1
    local mnt=$WORK/mnt-a$S obj=obj-$S what=${T_WHAT[$S]} data=${T_DATA[$S]} before=${T_BEFORE[$S]}
    [[ -n ${T_APID[$S]} ]] || return
    if ! wait_taken "a$S" "${TAKEN[$S]}"; then
        tap_result 0 "$what: host b takes host a$S over" "$(tail -5 "$WORK/mnt-b.log")"
        return
    fi
    # the object: valid, at the old head or the complete new one
    local after ok=1
    after=$(versions "$obj")
    "$OCFLFS" validate "$root" "$obj" --quiet >"$WORK/validate" 2>&1 || { ok=0; broken=$((broken + 1)); }
    if [[ $after == "$before" ]]; then
        reverted=$((reverted + 1))
    elif [[ $after == $((before + 1)) ]]; then
        finished=$((finished + 1))
        [[ $("$OCFLFS" cat "$root" "$obj" t.txt 2>&1) == "$data" ]] || { ok=0; broken=$((broken + 1)); }
    else
        ok=0
        broken=$((broken + 1))
    fi
    tap_result $ok "$what: object valid at v$before or v$((before + 1)) (v$after)" "$(cat "$WORK/validate")"
    if [[ $after != "$before" ]]; then # the taker's own mount heard of the version it finished
        local i seen=0
        for ((i = 0; i < 3000; i++)); do
            [[ $(cat "$WORK/mnt-b/$obj/t.txt" 2>/dev/null) == "$data" ]] && { seen=1; break; }
            sleep 0.1
        done
        tap_result $seen "$what: host b's mount shows the version it finished"
    fi
    # host aS comes back: the bytes it was given are there, committed or staged
    env OCFLFS_CLUSTER_LEASE_MS=4000 "$OCFLFS" mount "$root" "$mnt" -f --cluster "$PG_URL" \
        --host "a$S" 2>>"$WORK/mnt-a.log" &
    local apid=$!
    PIDS+=("$apid")
    wait_mounted "$mnt" "$apid" && wait_listing "$mnt" || bail "$what: host a$S mounts again"
    if [[ $(cat "$mnt/$obj/t.txt" 2>&1) == "$data" ]]; then
        tap_result 1 "$what: host a$S, back, has the bytes"
    else
        lost=$((lost + 1))
        tap_result 0 "$what: host a$S, back, has the bytes" "$(cat "$mnt/$obj/t.txt" 2>&1)"
    fi
    if [[ $after == "$before" ]]; then # reverted: still staged there; committed from there
        setfattr -n user.ocfl.commit -v "trial again" "$mnt/$obj" 2>"$WORK/err"
        check_eq "$what: and commits them" 0 $?
    fi
    stop_a "$apid" "$mnt"
}

# TAKEOVER_STEPS and TAKEOVER_RANDOM (counts) choose the trials: every step of the plan,
# killed before it (begun in the journal, not done) and after it (done, not recorded)
moments=()
for k in ${TAKEOVER_STEPS-0 1 2 3 4 5}; do
    moments+=("killed before step $k:OCFLFS_TEST_KILL_BEFORE_STEP=$k" "killed after step $k:OCFLFS_TEST_KILL_AT_STEP=$k")
done
for ((r = 1; r <= ${TAKEOVER_RANDOM:-3}; r++)); do
    moments+=("random moment $r:")
done
for ((m = 0; m < ${#moments[@]}; m += SLOTS)); do
    for ((S = 1; S <= SLOTS && m + S - 1 < ${#moments[@]}; S++)); do
        mo=${moments[$((m + S - 1))]}
        # shellcheck disable=SC2086
        trial_start "$S" "${mo%%:*}" ${mo#*:}
    done
    for ((S = 1; S <= SLOTS && m + S - 1 < ${#moments[@]}; S++)); do
        trial_check "$S"
    done
done
((trials)) && check_grep "host a1, back, says it was taken over" "host 'a1' was taken over by host 'b'" "$WORK/mnt-a.log"
tap_diag "takeover trials: $trials; at the new head (finished): $finished, at the old head (reverted, or killed before its plan was recorded): $reverted; broken objects: $broken; lost staged data: $lost"
check_eq "no object broken in $trials trials" 0 "$broken"
check_eq "no staged data lost" 0 "$lost"

# a host paused between the switch's checks and its rename: it loses its lease and must not
# write after it wakes
echo "paused" >"$WORK/p.txt"
OCFLFS_TEST_STOP_AT_SWITCH=1 OCFLFS_CLUSTER_LEASE_MS=4000 "$OCFLFS" mount "$root" "$WORK/mnt-a" -f \
    --cluster "$PG_URL" --host a 2>>"$WORK/mnt-a.log" &
apid=$!
PIDS+=("$apid")
wait_mounted "$WORK/mnt-a" "$apid" && wait_listing "$WORK/mnt-a"
cp "$WORK/p.txt" "$WORK/mnt-a/obj/paused.txt"
before=$(versions)
setfattr -n user.ocfl.commit -v "paused" "$WORK/mnt-a/obj" 2>"$WORK/err-paused" &
cpid=$!
check_true "host a stops between the checks and the rename" wait_stopped "$apid"
taken=$((taken + 1))
check_true "host b takes the paused host over" wait_taken a "$taken"
check_eq "and finishes its plan: the new version is there" $((before + 1)) "$(versions)"
# everything under the root but host b's own state dir (b's journal moves on its own)
sums_but_b() {
    (cd "$root" && find . -path ./extensions/ocflfs/hosts/b -prune -o -type f -print0 | sort -z |
        xargs -0 -r sha256sum && find . -path ./extensions/ocflfs/hosts/b -prune -o -type d -print | sort)
}
sums=$(sums_but_b)
check_eq "the lease is no longer a's" 0 "$(pg_sql "SELECT count(*) FROM ocflfs_leases WHERE host = 'a'")"
kill -CONT "$apid"
wait "$cpid"
check_eq "a's commit fails once it wakes" 1 $?
check_eq "fenced: ENOLCK, its lease is gone" 37 \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("code"))' "$WORK/mnt-a/obj/.ocfl/commit")"
check_eq "a wrote nothing into the root (its own journal included) after it woke" "$sums" "$(sums_but_b)"
check_true "the object is valid" "$OCFLFS" validate "$root" obj --quiet
check_eq "with the paused commit's bytes" paused "$("$OCFLFS" cat "$root" obj paused.txt 2>&1)"
stop_a "$apid"

# late_writer MOMENT WHAT: host a paused after a fence (OCFLFS_TEST_STOP_AT_SWITCH=MOMENT) is
# taken over, its taker finishes the plan and host b commits a further version; host a, woken,
# finds the object moved on (its storage checks come after the fence) and writes nothing: the
# object stays valid at b's version, and the shared index keeps b's head
late_writer() {
    local moment=$1 what=$2 before sums
    echo "late $moment" >"$WORK/late.txt"
    OCFLFS_TEST_STOP_AT_SWITCH=$moment OCFLFS_CLUSTER_LEASE_MS=4000 "$OCFLFS" mount "$root" \
        "$WORK/mnt-a" -f --cluster "$PG_URL" --host a 2>>"$WORK/mnt-a.log" &
    apid=$!
    PIDS+=("$apid")
    wait_mounted "$WORK/mnt-a" "$apid" && wait_listing "$WORK/mnt-a"
    cp "$WORK/late.txt" "$WORK/mnt-a/obj/late$moment.txt"
    before=$(versions)
    setfattr -n user.ocfl.commit -v "late $moment" "$WORK/mnt-a/obj" 2>"$WORK/err-late" &
    cpid=$!
    check_true "$what: host a stops there" wait_stopped "$apid"
    taken=$((taken + 1))
    check_true "$what: host b takes it over" wait_taken a "$taken"
    check_eq "$what: and finishes its plan" $((before + 1)) "$(versions)"
    echo "b after $moment" >"$WORK/mnt-b/obj/b$moment.txt"
    setfattr -n user.ocfl.commit -v "b after late $moment" "$WORK/mnt-b/obj"
    check_eq "$what: host b commits a further version" $((before + 2)) "$(versions)"
    sums=$(sums_but_b)
    kill -CONT "$apid"
    wait "$cpid"
    check_eq "$what: a's commit fails once it wakes" 1 $?
    check_eq "$what: a wrote nothing into the root after it woke" "$sums" "$(sums_but_b)"
    check_true "$what: the object is valid" "$OCFLFS" validate "$root" obj --quiet
    check_eq "$what: at b's version" "b after $moment" \
        "$("$OCFLFS" cat "$root" obj "b$moment.txt" 2>&1)"
    check_eq "$what: the shared index keeps b's head" "v$((before + 2))" \
        "$(pg_sql "SELECT head FROM ocflfs_objects WHERE object_id = 'obj'")"
    stop_a "$apid"
}
late_writer 2 "paused after the root inventory's fence"
late_writer 4 "paused after the root sidecar's fence"
stop_host b
check_eq "host b unmounts cleanly" 0 $?
# with no other host to take it over: host a killed before its switch (after the content
# step), its plan cancelled from the command line under its name (a revert, under the
# object's lease), its staged bytes back in staging
before=$(versions)
OCFLFS_TEST_KILL_AT_STEP=1 "$OCFLFS" mount "$root" "$WORK/mnt-a" -f --cluster "$PG_URL" \
    --host a 2>>"$WORK/mnt-a.log" &
apid=$!
PIDS+=("$apid")
wait_mounted "$WORK/mnt-a" "$apid" && wait_listing "$WORK/mnt-a"
echo "to be cancelled" >"$WORK/mnt-a/obj/cancelled.txt"
setfattr -n user.ocfl.commit -v "cancelled" "$WORK/mnt-a/obj" 2>/dev/null
wait "$apid" 2>/dev/null
fusermount3 -u -z "$WORK/mnt-a" 2>/dev/null
"$OCFLFS" plans "$root" --cluster "$PG_URL" --json >"$WORK/plans.json"
plan=$(python3 -c 'import json,sys; print(" ".join(str(p["id"]) for p in json.load(open(sys.argv[1]))["plans"] if p["host"] == "a" and p["state"] == "running"))' "$WORK/plans.json")
check_true "plans --cluster shows a's interrupted plan" test -n "$plan"
"$OCFLFS" cancel "$root" "$plan" --cluster "$PG_URL" --host a >"$WORK/cancel.out" 2>&1
check_eq "cancel --cluster --host a reverts it" 0 $?
check_grep "and says so" "cancelled and reverted" "$WORK/cancel.out"
check_eq "the object is at its old head" "$before" "$(versions)"
check_true "and valid" "$OCFLFS" validate "$root" obj --quiet
OCFLFS_CLUSTER_LEASE_MS=4000 "$OCFLFS" mount "$root" "$WORK/mnt-a" -f --cluster "$PG_URL" \
    --host a 2>>"$WORK/mnt-a.log" &
apid=$!
PIDS+=("$apid")
wait_mounted "$WORK/mnt-a" "$apid" && wait_listing "$WORK/mnt-a"
check_eq "host a, back, has the cancelled commit's bytes staged" "to be cancelled" \
    "$(cat "$WORK/mnt-a/obj/cancelled.txt" 2>&1)"
setfattr -n user.ocfl.commit -v "again" "$WORK/mnt-a/obj"
check_eq "and commits them" 0 $?
check_eq "a new version" $((before + 1)) "$(versions)"
stop_a "$apid"

# a taker that dies in the middle of a takeover: host a dies after its content step, host b
# claims it and stops (SIGSTOP) at the switch of a's plan; meanwhile host a, back, may not
# join (it is being taken over); b is killed, and host c claims a again (b's heartbeat
# stale) and finishes a's plan
before=$(versions)
OCFLFS_TEST_KILL_AT_STEP=1 OCFLFS_CLUSTER_LEASE_MS=4000 "$OCFLFS" mount "$root" "$WORK/mnt-a" -f \
    --cluster "$PG_URL" --host a 2>>"$WORK/mnt-a.log" &
apid=$!
PIDS+=("$apid")
wait_mounted "$WORK/mnt-a" "$apid" && wait_listing "$WORK/mnt-a"
echo "finished by c" >"$WORK/mnt-a/obj/by-c.txt"
setfattr -n user.ocfl.commit -v "taken twice" "$WORK/mnt-a/obj" 2>/dev/null
wait "$apid" 2>/dev/null
fusermount3 -u -z "$WORK/mnt-a" 2>/dev/null
: >"$WORK/mnt-b.log"
OCFLFS_TEST_STOP_AT_SWITCH=1 OCFLFS_CLUSTER_LEASE_MS=4000 start_host b "$root" ||
    tap_result 0 "host b mounts again" "$(tail -5 "$WORK/mnt-b.log")"
check_true "host b claims host a and stops in its plan" wait_stopped "${HOST_PID[b]}"
check_eq "host a is being taken over by b" "taking b" \
    "$(pg_sql "SELECT state || ' ' || taken_by FROM ocflfs_hosts WHERE name = 'a'")"
OCFLFS_CLUSTER_WAIT_MS=1000 OCFLFS_CLUSTER_LEASE_MS=600000 "$OCFLFS" put "$root" obj "$WORK/seed" \
    -m x --cluster "$PG_URL" --host a >/dev/null 2>"$WORK/err-join"
check_eq "host a may not join meanwhile" 1 $?
check_grep "and is told why" "is being taken over by host" "$WORK/err-join"
kill -9 "${HOST_PID[b]}"
wait "${HOST_PID[b]}" 2>/dev/null
fusermount3 -u -z "$WORK/mnt-b" 2>/dev/null
OCFLFS_CLUSTER_LEASE_MS=4000 start_host c "$root" ||
    tap_result 0 "host c mounts" "$(tail -5 "$WORK/mnt-c.log")"
wait_took_over c a
check_grep "host c takes host a over again" "took over host 'a'" "$WORK/mnt-c.log"
check_eq "and finishes its plan" $((before + 1)) "$(versions)"
check_eq "with its bytes" "finished by c" "$("$OCFLFS" cat "$root" obj by-c.txt 2>&1)"
check_true "the object is valid" "$OCFLFS" validate "$root" obj --quiet
check_eq "host a was taken by c" "taken c" \
    "$(pg_sql "SELECT state || ' ' || taken_by FROM ocflfs_hosts WHERE name = 'a'")"
stop_host c
check_eq "host c unmounts cleanly" 0 $?

# a plan stopped by its fence that nobody takes over (no other host runs): host a paused
# before the switch until its lease ran out (by the server's clock, which is never behind
# a's count), woken: its fence stops the plan, and as nobody took the host over it takes
# the lease again and runs the plan to its end
before=$(versions)
OCFLFS_TEST_STOP_AT_SWITCH=1 OCFLFS_CLUSTER_LEASE_MS=4000 "$OCFLFS" mount "$root" "$WORK/mnt-a" -f \
    --cluster "$PG_URL" --host a 2>>"$WORK/mnt-a.log" &
apid=$!
PIDS+=("$apid")
wait_mounted "$WORK/mnt-a" "$apid" && wait_listing "$WORK/mnt-a"
echo "fenced alone" >"$WORK/mnt-a/obj/alone.txt"
setfattr -n user.ocfl.commit -v "fenced alone" "$WORK/mnt-a/obj" 2>"$WORK/err-alone" &
cpid=$!
check_true "host a stops before its switch" wait_stopped "$apid"
for ((i = 0; i < 3000; i++)); do # the event, not a time: 5 minutes at most
    [[ $(pg_sql "SELECT count(*) FROM ocflfs_leases WHERE host = 'a' AND expires < now()") == 1 ]] && break
    sleep 0.1
done
check_eq "its lease ran out" 1 "$(pg_sql "SELECT count(*) FROM ocflfs_leases WHERE host = 'a' AND expires < now()")"
kill -CONT "$apid"
wait "$cpid"
check_eq "a's commit, fenced, takes its lease again and succeeds" 0 $?
check_eq "a new version" $((before + 1)) "$(versions)"
check_eq "with its bytes" "fenced alone" "$("$OCFLFS" cat "$root" obj alone.txt 2>&1)"
check_true "the object is valid" "$OCFLFS" validate "$root" obj --quiet
# (a host's drop is one DELETE after its plan ends: waited for as an event, up to a minute)
for ((i = 0; i < 600; i++)); do
    [[ $(pg_sql "SELECT count(*) FROM ocflfs_leases") == 0 ]] && break
    sleep 0.1
done
check_eq "and no lease is left" "" \
    "$(pg_sql "SELECT object_id || ' ' || host || ' ' || (expires < now()) FROM ocflfs_leases")"
stop_a "$apid"

# host a's daemons were started here, not by start_mount: their sanitizer reports by hand
if grep -qE "runtime error|AddressSanitizer|LeakSanitizer" "$WORK/mnt-a.log"; then
    tap_result 0 "host a's daemons report no sanitizer errors" \
        "$(grep -E -A30 "runtime error|Sanitizer" "$WORK/mnt-a.log" | head -40)"
else
    tap_result 1 "host a's daemons report no sanitizer errors"
fi
done_testing
