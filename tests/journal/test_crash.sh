#!/usr/bin/env bash
# test_crash.sh: `ocflfs put` SIGKILLed at every step (after its effect, and before it), then
# `ocflfs resume`: the object validates, its head is the new version, its content equals DIR and
# its inventory equals an uninterrupted run's, byte for byte.  Then kills at random moments.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OCFLFS_TEST_CREATED=2024-05-06T07:08:09Z
ID="urn:test:crash"

# v1: a few files; v2 (DIR): many small files, one 64 MiB file, one changed, one removed,
# one unchanged, two equal new files.
mkdir -p "$tmp/d1/sub" "$tmp/d2/sub" "$tmp/d2/many"
echo keep >"$tmp/d1/keep.txt"; cp "$tmp/d1/keep.txt" "$tmp/d2/keep.txt"
echo old >"$tmp/d1/sub/change.txt"; echo new >"$tmp/d2/sub/change.txt"
echo gone >"$tmp/d1/gone.txt"
for i in $(seq 1 20); do echo "file $i" >"$tmp/d2/many/f$i.txt"; done
echo same >"$tmp/d2/twin1"; echo same >"$tmp/d2/twin2"
head -c $((64 << 20)) /dev/urandom >"$tmp/d2/big.bin"

"$OCFLFS" init "$tmp/template" >/dev/null || exit 1
"$OCFLFS" put "$tmp/template" "$ID" "$tmp/d1" -m one >/dev/null || exit 1

# The uninterrupted run: its inventory and its number of steps.
cp -a "$tmp/template" "$tmp/ref"
"$OCFLFS" put "$tmp/ref" "$ID" "$tmp/d2" -m two --user Tester --address mailto:t@example.org >/dev/null
check_eq "uninterrupted put succeeds" 0 $?
objpath=$(cd "$tmp/ref" && dirname "$(find . -name '0=ocfl_object_1.1' | head -1)")
objpath=${objpath#./}
nsteps=$("$OCFLFS" plan "$tmp/ref" 2 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["steps"])')
check_true "the plan has many steps ($nsteps)" test "$nsteps" -gt 25

# check_object ROOT WHAT: valid, head v2, inventory as the reference, content equal to d2
check_object() {
    local root=$1 what=$2 ok=1 detail=""
    if ! "$OCFLFS" validate "$root/$objpath" >"$tmp/val.out" 2>&1; then
        ok=0; detail="invalid: $(head -c 300 "$tmp/val.out")"
    elif ! cmp -s "$root/$objpath/inventory.json" "$tmp/ref/$objpath/inventory.json"; then
        ok=0; detail="inventory differs from the uninterrupted run"
    elif ! python3 - "$root/$objpath" "$tmp/d2" <<'PY'
import json, os, sys, hashlib
obj, src = sys.argv[1], sys.argv[2]
inv = json.load(open(os.path.join(obj, "inventory.json")))
state = inv["versions"][inv["head"]]["state"]
paths = {}
for d, lps in state.items():
    for lp in lps:
        paths[lp] = os.path.join(obj, inv["manifest"][d][0])
want = set()
for dp, dn, fn in os.walk(src):
    for f in fn:
        want.add(os.path.relpath(os.path.join(dp, f), src))
if inv["head"] != "v2" or set(paths) != want:
    sys.exit(1)
for lp in want:
    if open(os.path.join(src, lp), "rb").read() != open(paths[lp], "rb").read():
        sys.exit(1)
PY
    then
        ok=0; detail="head or content differs from DIR"
    elif [[ -n $(ls -A "$root/extensions/ocflfs/scratch") ]]; then
        ok=0; detail="scratch not empty: $(ls "$root/extensions/ocflfs/scratch")"
    fi
    tap_result $ok "$what" "$detail"
}

check_object "$tmp/ref" "reference object"

# crash_at MODE K: kill at step K (MODE: AT = after its effect, BEFORE = before it)
crash_at() {
    local mode=$1 k=$2 root="$tmp/w"
    rm -rf "$root"; cp -a "$tmp/template" "$root"
    env "OCFLFS_TEST_KILL_${mode}_STEP=$k" "$OCFLFS" put "$root" "$ID" "$tmp/d2" -m two \
        --user Tester --address mailto:t@example.org >/dev/null 2>&1
    local rc=$?
    if [[ $rc != 137 ]]; then
        tap_result 0 "kill $mode step $k" "put exited $rc, not by SIGKILL"; return
    fi
    if ! "$OCFLFS" resume "$root" >"$tmp/resume.out" 2>&1; then
        tap_result 0 "kill $mode step $k: resume" "$(cat "$tmp/resume.out")"; return
    fi
    check_object "$root" "kill $mode step $k, resume"
}

for ((k = 0; k < nsteps; k++)); do crash_at AT "$k"; done
# before a step: the first ones, the last ones (switch, sidecar, releases) and every 4th
for ((k = 0; k < nsteps; k++)); do
    if ((k < 2 || k >= nsteps - 5 || k % 4 == 0)); then crash_at BEFORE "$k"; fi
done

# Random moments, from outside.
for i in 1 2 3 4; do
    root="$tmp/w"
    rm -rf "$root"; cp -a "$tmp/template" "$root"
    "$OCFLFS" put "$root" "$ID" "$tmp/d2" -m two --user Tester --address mailto:t@example.org \
        >/dev/null 2>&1 &
    pid=$!
    sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    "$OCFLFS" resume "$root" >/dev/null 2>&1
    rc=$?
    head=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["head"])' "$root/$objpath/inventory.json")
    if [[ $rc == 0 && $head == v1 ]]; then
        # killed while staging: nothing was journaled; the next put does it all
        "$OCFLFS" put "$root" "$ID" "$tmp/d2" -m two --user Tester \
            --address mailto:t@example.org >/dev/null 2>&1
    fi
    check_object "$root" "random kill $i (resume exit $rc, head after resume $head)"
done

done_testing
