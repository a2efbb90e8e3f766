#!/usr/bin/env bash
# Writers racing commits (race.py): appenders, writers at offsets, truncaters, renamers and
# copiers on one object while commits run through the xattr and the control file, two
# CPU-hogging processes beside them so that the bad interleavings happen.  RACE_RUNS runs of
# RACE_SECS seconds each (default 3 x 20), seeds from RACE_SEED (printed).  Every version must
# validate and hold only what the writers wrote, in order; no open may fail; no commit may see a
# conflict.
. "$(dirname "$0")/../../common/tap.sh"
. "$(dirname "$0")/../mount_lib.sh"

ok() { tap_result $(($1 == 0)) "${@:2}"; } # ok STATUS DESCRIPTION [DETAIL]

runs=${RACE_RUNS:-3}
secs=${RACE_SECS:-20}
seed=${RACE_SEED:-$((RANDOM * 32768 + RANDOM))}
echo "# RACE_SEED=$seed"
hogs=()
for _ in 1 2; do
    (while :; do :; done) &
    hogs+=($!)
    PIDS+=($!)
done

for ((r = 1; r <= runs; r++)); do
    root="$WORK/root$r" mnt="$WORK/mnt$r"
    make_root "$root"
    start_mount "$root" "$mnt" --user "Race Tester" --address mailto:race@example.org
    ok $? "run $r: mounted"
    mkdir "$mnt/obj"
    python3 "$(dirname "$0")/race.py" "$mnt" "$root" obj "$secs" $((seed + r)) >"$WORK/race$r.tap"
    rc=$?
    # race.py's own checks, renumbered into this test's plan
    while IFS= read -r line; do
        case $line in
        "ok "*) ok 0 "run $r: ${line#ok [0-9]* - }" ;;
        "not ok "*) ok 1 "run $r: ${line#not ok [0-9]* - }" ;;
        "#"*) echo "$line" ;;
        esac
    done <"$WORK/race$r.tap"
    ok $rc "run $r: race.py finished"
    stop_mount "$mnt"
    ok $? "run $r: the mount stopped cleanly"
    out=$("$OCFLFS" validate "$root/obj" 2>&1)
    ok $? "run $r: every version validates" "$out"
    if grep -qi "changed outside the mount" "$mnt.log"; then
        ok 1 "run $r: no conflict was reported" "$(grep -i 'changed outside' "$mnt.log" | head -3)"
    else
        ok 0 "run $r: no conflict was reported"
    fi
done
kill "${hogs[@]}" 2>/dev/null
done_testing
