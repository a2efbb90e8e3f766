#!/usr/bin/env bash
# test_purge.sh: `ocflfs purge ROOT ID` (issue 14) removes an object for good as an update plan:
# confirmation (a terminal asks; without one --yes is needed), refusals that change nothing
# (unknown id, changes staged through a mount, a running mount, an unfinished plan), SIGKILL
# before and after each of its steps then `resume` (the object whole where it was, or gone;
# never half of it; nothing left behind once resumed), cancel before the move and its refusal
# after, a version written by another tool before the move (a conflict: the object stays), a
# step that keeps failing after the move (failed; resume finishes it), and a mount's view.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/cli/hostile_lib.sh"

ID=urn:test:purge
OTHER=urn:test:other
mkdir -p "$HT/d/sub" "$HT/d2"
echo one >"$HT/d/a.txt"; echo two >"$HT/d/sub/b.txt"; head -c 200000 /dev/urandom >"$HT/d/c.bin"
echo other >"$HT/d2/o.txt"
"$OCFLFS" init "$HT/template" >/dev/null || exit 1
"$OCFLFS" put "$HT/template" "$ID" "$HT/d" -m one --user Tester >/dev/null || exit 1
echo more >"$HT/d/more.txt"
"$OCFLFS" put "$HT/template" "$ID" "$HT/d" -m two --user Tester >/dev/null || exit 1
"$OCFLFS" put "$HT/template" "$OTHER" "$HT/d2" -m other --user Tester >/dev/null || exit 1
# the object's path, and its layout directories (the first tuple holds only it)
opath=$(dirname "$(cd "$HT/template" && grep -l "\"$ID\"" */*/*/*/inventory.json)")
top=${opath%%/*}
check_true "the two objects have different top tuples (the prune below is seen)" \
    test "$top" != "$(dirname "$(cd "$HT/template" && grep -l "\"$OTHER\"" */*/*/*/inventory.json)" | cut -d/ -f1)"
fresh() { rm -rf "$HT/r"; cp -a "$HT/template" "$HT/r"; }
# gone ROOT: the object is not there, nothing of it is left anywhere, the rest is whole
gone() {
    local root=$1 what=$2 left
    left=$( (cd "$root" && ls -d "$top" extensions/ocflfs/purging/* 2>/dev/null) | tr '\n' ' ')
    if [[ -e $root/$opath ]]; then
        tap_result 0 "$what" "the object is still at $opath"
    elif [[ -n $left ]]; then
        tap_result 0 "$what" "left behind: $left"
    elif ! out=$("$OCFLFS" validate "$root" 2>&1); then
        tap_result 0 "$what" "the root does not validate: $out"
    elif [[ $("$OCFLFS" cat "$root" "$OTHER" o.txt 2>&1) != other ]]; then
        tap_result 0 "$what" "the other object is damaged"
    else
        tap_result 1 "$what"
    fi
}
# whole ROOT: the object is where it was, as it was
whole() {
    local out
    out=$("$OCFLFS" validate "$1/$opath" 2>&1)
    if [[ $? != 0 ]] || ! cmp -s "$1/$opath/inventory.json" "$HT/template/$opath/inventory.json"; then
        tap_result 0 "$2" "$out"
    else
        check_same "$2" "$HT/template.snap" "$1/$opath"
    fi
}
snapshot "$HT/template/$opath" >"$HT/template.snap"

# refusals that change nothing
fresh
snapshot "$HT/r" extensions >"$HT/r.snap"
out=$("$OCFLFS" purge "$HT/r" "$ID" </dev/null 2>&1)
check_eq "no terminal and no --yes: a usage error naming --yes" "2 yes" \
    "$? $(grep -q -- "give --yes" <<<"$out" && echo yes)"
out=$("$OCFLFS" purge "$HT/r" urn:test:nobody --yes 2>&1)
check_eq "an unknown id: exit 1, naming it" "1 yes" \
    "$? $(grep -q "no object 'urn:test:nobody'" <<<"$out" && echo yes)"
check_same "after both, the root is as it was" "$HT/r.snap" "$HT/r" extensions

# on a terminal: "no" keeps it, "yes" removes it
ask() { # ask ANSWER: the purge on a pty, ANSWER typed; prints the exit status and the prompt
    python3 - "$OCFLFS" "$HT/r" "$ID" "$1" <<'PY'
import os, pty, sys, time
ocflfs, root, oid, answer = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(ocflfs, [ocflfs, "purge", root, oid])
buf = b""
while b"Type yes" not in buf:
    try:
        c = os.read(fd, 4096)
    except OSError:
        break
    if not c:
        break
    buf += c
os.write(fd, answer.encode() + b"\n")
try:
    while True:
        c = os.read(fd, 4096)
        if not c:
            break
        buf += c
except OSError:
    pass
_, st = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(st))
print(buf.decode(errors="replace"))
PY
}
out=$(ask no)
check_eq "answered no: exit 1" 1 "$(head -1 <<<"$out")"
check_true "the prompt names the id, its head and its versions" \
    grep -q "Remove object '$ID' (v2, 2 versions" <<<"$out"
whole "$HT/r" "answered no: the object is whole"
out=$(ask yes)
check_eq "answered yes: exit 0" 0 "$(head -1 <<<"$out")"
gone "$HT/r" "answered yes: the object is gone, its layout directories too"
check_eq "the plan is recorded as a purge, done, naming who" "purge done Tester" \
    "$("$OCFLFS" plans "$HT/r" --all --json | python3 -c '
import json, sys
p = json.load(sys.stdin)["plans"][-1]
print(p["kind"], p["state"], "Tester" if p["user"]["name"] else "")')"
out=$("$OCFLFS" put "$HT/r" "$ID" "$HT/d2" -m again --user Tester 2>&1)
check_eq "the id can be used again: a new object, v1" "0 v1" \
    "$? $("$OCFLFS" show "$HT/r" "$ID" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')"

# staged changes and a running mount
fresh
M=$HT/mnt
mkdir -p "$M"
"$OCFLFS" mount "$HT/r" "$M" >/dev/null 2>&1 && H_FUSE+=("$M") && wait_listing "$M"
echo staged >"$M/$ID/staged.txt"
out=$("$OCFLFS" purge "$HT/r" "$ID" --yes 2>&1)
check_eq "while a mount runs: exit 1, naming the mount" "1 yes" \
    "$? $(grep -q "mount on $M" <<<"$out" && echo yes)"
"$OCFLFS" umount "$M" >/dev/null 2>&1
out=$("$OCFLFS" purge "$HT/r" "$ID" --yes 2>&1)
check_eq "with changes staged through a mount: exit 1, saying how to drop them" "1 yes" \
    "$? $(grep -q "ocflfs discard $HT/r $ID" <<<"$out" && echo yes)"
whole "$HT/r" "both refusals: the object is whole"
"$OCFLFS" discard "$HT/r" "$ID" >/dev/null
out=$("$OCFLFS" purge "$HT/r" "$ID" --yes 2>&1)
tap_result $(($? == 0)) "once discarded, the purge runs" "$out"
gone "$HT/r" "and the object is gone"
"$OCFLFS" mount "$HT/r" "$M" >/dev/null 2>&1 && H_FUSE+=("$M") && wait_listing "$M"
check_eq "the next mount lists only the other object" "$OTHER" "$(ls "$M")"
"$OCFLFS" umount "$M" >/dev/null 2>&1

# SIGKILL before and after each step, then resume
for mode in BEFORE AT; do
    for k in 0 1 2; do
        fresh
        env "OCFLFS_TEST_KILL_${mode}_STEP=$k" "$OCFLFS" purge "$HT/r" "$ID" --yes >/dev/null 2>&1
        rc=$?
        if [[ $rc != 137 ]]; then
            tap_result 0 "kill $mode step $k" "purge exited $rc, not by SIGKILL"
            continue
        fi
        if [[ $mode == BEFORE && $k == 0 ]]; then
            whole "$HT/r" "killed before the move: the object is whole"
        else
            check_true "killed $mode step $k: the object is not at its path (not half there)" \
                test ! -e "$HT/r/$opath/inventory.json"
            out=$("$OCFLFS" validate "$HT/r" 2>&1)
            tap_result $(($? == 0)) "  and the root validates meanwhile" "$out"
        fi
        out=$("$OCFLFS" resume "$HT/r" 2>&1)
        tap_result $(($? == 0)) "kill $mode step $k: resume" "$out"
        gone "$HT/r" "kill $mode step $k, resumed: gone, nothing left behind"
    done
done

# a purge killed after its move, finished by the next mount's recovery: not listed there
fresh
"$OCFLFS" mount "$HT/r" "$M" >/dev/null 2>&1 && wait_listing "$M" && "$OCFLFS" umount "$M" >/dev/null 2>&1
OCFLFS_TEST_KILL_AT_STEP=0 "$OCFLFS" purge "$HT/r" "$ID" --yes >/dev/null 2>&1
"$OCFLFS" mount "$HT/r" "$M" >/dev/null 2>&1 && H_FUSE+=("$M") && wait_listing "$M"
check_eq "a mount that finishes a purge lists only the other object" "$OTHER" "$(ls "$M")"
"$OCFLFS" umount "$M" >/dev/null 2>&1
gone "$HT/r" "  and the purge is done"

# cancel: before the move it reverts, after it it is refused
fresh
OCFLFS_TEST_KILL_BEFORE_STEP=0 "$OCFLFS" purge "$HT/r" "$ID" --yes >/dev/null 2>&1
plan=$("$OCFLFS" plans "$HT/r" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["plans"][0]["id"])')
out=$("$OCFLFS" cancel "$HT/r" "$plan" 2>&1)
tap_result $(($? == 0)) "cancel before the move" "$out"
whole "$HT/r" "cancelled: the object is whole"
check_eq "and the plan cancelled" cancelled \
    "$("$OCFLFS" plan "$HT/r" "$plan" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')"
fresh
OCFLFS_TEST_KILL_AT_STEP=0 "$OCFLFS" purge "$HT/r" "$ID" --yes >/dev/null 2>&1
plan=$("$OCFLFS" plans "$HT/r" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["plans"][0]["id"])')
out=$("$OCFLFS" cancel "$HT/r" "$plan" 2>&1)
check_eq "cancel after the move: exit 1, past its switch point" "1 yes" \
    "$? $(grep -q "past its switch point" <<<"$out" && echo yes)"
"$OCFLFS" resume "$HT/r" >/dev/null 2>&1
gone "$HT/r" "then resumed: gone"

# another tool writes a version before the move: a conflict, the object stays
fresh
OCFLFS_TEST_KILL_BEFORE_STEP=0 "$OCFLFS" purge "$HT/r" "$ID" --yes >/dev/null 2>&1
rm -rf "$HT/r2"; cp -a "$HT/template" "$HT/r2"
echo three >"$HT/d/three.txt"
"$OCFLFS" put "$HT/r2" "$ID" "$HT/d" -m three --user Tester >/dev/null
rm -rf "${HT:?}/r/$opath" && cp -a "$HT/r2/$opath" "$HT/r/$opath"
out=$("$OCFLFS" resume "$HT/r" 2>&1)
check_eq "resume finds the new version: exit 1, a conflict" "1 yes" \
    "$? $(grep -q "changed since its purge was planned" <<<"$out" && echo yes)"
check_true "the object is there with its new version" cmp -s "$HT/r/$opath/inventory.json" "$HT/r2/$opath/inventory.json"
out=$("$OCFLFS" validate "$HT/r" 2>&1)
tap_result $(($? == 0)) "and the root validates" "$out"

# a step after the move that keeps failing: failed, then resume finishes it
fresh
out=$(OCFLFS_TEST_FAIL_STEP=1:99 "$OCFLFS" purge "$HT/r" "$ID" --yes 2>&1)
check_eq "the delete keeps failing: exit 1, saying resume finishes it" "1 yes" \
    "$? $(grep -q "resume plan [0-9]* to finish the purge" <<<"$out" && echo yes)"
check_true "the object is gone from its path" test ! -e "$HT/r/$opath"
"$OCFLFS" plans "$HT/r" --failed >/dev/null 2>&1
check_eq "plans --failed lists it (exit 1)" 1 $?
plan=$("$OCFLFS" plans "$HT/r" --all --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["plans"][-1]["id"])')
out=$("$OCFLFS" resume "$HT/r" "$plan" 2>&1)
tap_result $(($? == 0)) "resume PLAN finishes the failed purge" "$out"
gone "$HT/r" "and then it is gone, nothing left behind"

# a failed purge, then a new object of the same id, then resume: the purge finishes what it
# moved out, the new object is not its business
fresh
OCFLFS_TEST_FAIL_STEP=1:99 "$OCFLFS" purge "$HT/r" "$ID" --yes >/dev/null 2>&1
plan=$("$OCFLFS" plans "$HT/r" --all --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["plans"][-1]["id"])')
"$OCFLFS" put "$HT/r" "$ID" "$HT/d2" -m "a new one" --user Tester >/dev/null 2>&1
check_eq "a new object of the purged id is put meanwhile" v1 "$(json "$HT/r/$opath/inventory.json" 'd["head"]' 2>&1)"
out=$("$OCFLFS" resume "$HT/r" "$plan" 2>&1)
tap_result $(($? == 0)) "resume PLAN of the failed purge" "$out"
check_eq "  leaves the new object alone" v1 "$(json "$HT/r/$opath/inventory.json" 'd["head"]' 2>&1)"
check_true "  and removes what it had moved out" test -z "$(ls -A "$HT/r/extensions/ocflfs/purging" 2>/dev/null)"
done_testing
