#!/usr/bin/env bash
# test_put.sh: `ocflfs put/plans/plan/resume/cancel`: retries with injected faults, a persistent
# failure reverted, a conflict with another writer, the lock, cancel, bad input in DIR.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OCFLFS_TEST_RETRY_MS=1 # retries wait 1, 2, 4... ms instead of 100, 200, 400...
ID="urn:test:put"

json() { # json FILE PYTHON-EXPR (with d = the document)
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

mkdir -p "$tmp/d1" "$tmp/d2/sub" "$tmp/other"
echo a >"$tmp/d1/a.txt"; echo b >"$tmp/d1/b.txt"
echo A >"$tmp/d2/a.txt"; echo b >"$tmp/d2/b.txt"; echo c >"$tmp/d2/sub/c.txt"
echo X >"$tmp/other/x.txt"

"$OCFLFS" init "$tmp/template" >/dev/null || exit 1
"$OCFLFS" put "$tmp/template" "$ID" "$tmp/d1" -m one >"$tmp/out"
check_eq "put of a new object" 0 $?
check_grep "put says which version" "v1 written" "$tmp/out"
objpath=$(cd "$tmp/template" && dirname "$(find . -name '0=ocfl_object_1.1' | head -1)")
objpath=${objpath#./}
inv() { echo "$1/$objpath/inventory.json"; }
head_of() { json "$(inv "$1")" 'd["head"]'; }

# --- nothing to commit
"$OCFLFS" put "$tmp/template" "$ID" "$tmp/d1" -m again >"$tmp/out" 2>&1
check_eq "unchanged DIR exits 0" 0 $?
check_grep "unchanged DIR says so" "nothing to commit" "$tmp/out"
check_eq "unchanged DIR writes no version" v1 "$(head_of "$tmp/template")"

# --- plan 2 has: version-dirs, content a.txt, content sub/c.txt, version inv, root inv,
# sidecar, release(scratch dir).  Step 1 fails twice with EIO, then succeeds.
cp -a "$tmp/template" "$tmp/r1"
OCFLFS_TEST_FAIL_STEP=1:2 "$OCFLFS" put "$tmp/r1" "$ID" "$tmp/d2" -m two >/dev/null 2>"$tmp/err"
check_eq "put with a transient fault succeeds" 0 $?
check_eq "head is v2" v2 "$(head_of "$tmp/r1")"
"$OCFLFS" plan "$tmp/r1" 2 --json >"$tmp/plan.json"
check_eq "step 1 took 3 attempts" 3 "$(json "$tmp/plan.json" 'd["step_list"][1]["attempts"]')"
check_eq "step 1 is done" done "$(json "$tmp/plan.json" 'd["step_list"][1]["state"]')"
check_eq "other steps took 1 attempt" 1 "$(json "$tmp/plan.json" 'd["step_list"][2]["attempts"]')"
check_eq "plan is done" done "$(json "$tmp/plan.json" 'd["state"]')"
"$OCFLFS" validate "$tmp/r1/$objpath" >/dev/null 2>&1; check_eq "object valid" 0 $?
"$OCFLFS" plan "$tmp/r1" 2 >"$tmp/plan.txt"; check_grep "plan text lists steps" "root-sidecar" "$tmp/plan.txt"
"$OCFLFS" plans "$tmp/r1" >"$tmp/plans.txt"; check_grep "no unfinished plans" "no unfinished plans" "$tmp/plans.txt"
"$OCFLFS" plans "$tmp/r1" --all --json >"$tmp/plans.json"
check_eq "plans --all lists both" 2 "$(json "$tmp/plans.json" 'len(d["plans"])')"

# --- a persistent fault at the version inventory (step 3): failed, reverted, old head
cp -a "$tmp/template" "$tmp/r2"
OCFLFS_TEST_FAIL_STEP=3:100 "$OCFLFS" put "$tmp/r2" "$ID" "$tmp/d2" -m two >/dev/null 2>"$tmp/err"
check_eq "put with a persistent fault fails" 1 $?
check_grep "failure says reverted" "reverted" "$tmp/err"
check_eq "head is still v1" v1 "$(head_of "$tmp/r2")"
check_true "no v2 directory left" test ! -e "$tmp/r2/$objpath/v2"
"$OCFLFS" validate "$tmp/r2/$objpath" >/dev/null 2>&1; check_eq "object valid at v1" 0 $?
"$OCFLFS" plan "$tmp/r2" 2 --json >"$tmp/plan.json"
check_eq "plan state reverted" reverted "$(json "$tmp/plan.json" 'd["state"]')"
check_eq "failing step attempted 5 times" 5 "$(json "$tmp/plan.json" 'd["step_list"][3]["attempts"]')"
check_grep "step error recorded" "injected fault" "$tmp/plan.json"
"$OCFLFS" put "$tmp/r2" "$ID" "$tmp/d2" -m two >/dev/null 2>&1
check_eq "a later put succeeds" v2 "$(head_of "$tmp/r2")"

# --- conflict: our plan is journaled, then another writer (another state dir) makes v2
cp -a "$tmp/template" "$tmp/r3"
OCFLFS_TEST_KILL_BEFORE_STEP=0 "$OCFLFS" put "$tmp/r3" "$ID" "$tmp/d2" -m ours >/dev/null 2>&1
check_eq "our put killed before its first step" 137 $?
"$OCFLFS" put "$tmp/r3" "$ID" "$tmp/other" -m theirs --state "$tmp/other-state" >/dev/null 2>&1
check_eq "the other writer makes v2" v2 "$(head_of "$tmp/r3")"
theirs=$(sha512sum <"$(inv "$tmp/r3")")
"$OCFLFS" resume "$tmp/r3" >/dev/null 2>"$tmp/err"
check_eq "resume reports the conflict" 1 $?
check_grep "conflict named" "conflict" "$tmp/err"
check_eq "their inventory untouched" "$theirs" "$(sha512sum <"$(inv "$tmp/r3")")"
check_eq "their content intact" X "$(cat "$tmp/r3/$objpath/v2/content/x.txt")"
"$OCFLFS" validate "$tmp/r3/$objpath" >/dev/null 2>&1; check_eq "object valid at their v2" 0 $?
"$OCFLFS" plan "$tmp/r3" 2 --json >"$tmp/plan.json"
check_eq "our plan reverted" reverted "$(json "$tmp/plan.json" 'd["state"]')"

# conflict found at the switch: our v2 is written, then the root sidecar changes under us
cp -a "$tmp/template" "$tmp/r3b"
sw=$(OCFLFS_TEST_KILL_BEFORE_STEP=4 "$OCFLFS" put "$tmp/r3b" "$ID" "$tmp/d2" -m ours >/dev/null 2>&1; echo $?)
check_eq "killed before the root inventory" 137 "$sw"
echo "0000  inventory.json" >"$tmp/r3b/$objpath/inventory.json.sha512"
"$OCFLFS" resume "$tmp/r3b" >/dev/null 2>"$tmp/err"
check_eq "changed object is a conflict" 1 $?
check_true "our v2 removed" test ! -e "$tmp/r3b/$objpath/v2"
check_eq "their sidecar untouched" "0000  inventory.json" "$(cat "$tmp/r3b/$objpath/inventory.json.sha512")"

# --- the lock: a killed process leaves none; a running one blocks a second writer
cp -a "$tmp/template" "$tmp/r4"
OCFLFS_TEST_KILL_AT_STEP=1 "$OCFLFS" put "$tmp/r4" "$ID" "$tmp/d2" -m two >/dev/null 2>&1
check_eq "killed put" 137 $?
# step 1 was begun (attempt 1) when killed: attempt 2 fails, the retry waits 1.4 s
OCFLFS_TEST_RETRY_MS=700 OCFLFS_TEST_FAIL_STEP=1:2 "$OCFLFS" resume "$tmp/r4" >/dev/null 2>&1 &
pid=$!
sleep 0.5
"$OCFLFS" put "$tmp/r4" other "$tmp/other" -m x >/dev/null 2>"$tmp/err"
check_eq "second writer refused" 1 $?
check_grep "lock error names the state dir" "$tmp/r4/extensions/ocflfs" "$tmp/err"
check_grep "lock error says in use" "in use by another ocflfs process" "$tmp/err"
"$OCFLFS" plans "$tmp/r4" --json >"$tmp/plans.json"
check_eq "plans reads while a plan runs" 0 $?
wait $pid
check_eq "resume after the kill succeeds" 0 $?
check_eq "head v2 after resume" v2 "$(head_of "$tmp/r4")"

# --- cancel: before the switch reverts; after it is refused
cp -a "$tmp/template" "$tmp/r5"
OCFLFS_TEST_KILL_AT_STEP=2 "$OCFLFS" put "$tmp/r5" "$ID" "$tmp/d2" -m two >/dev/null 2>&1
"$OCFLFS" plans "$tmp/r5" >"$tmp/plans.txt"; check_grep "unfinished plan listed, as interrupted (its process was killed)" "interrupted" "$tmp/plans.txt"
"$OCFLFS" put "$tmp/r5" "$ID" "$tmp/d2" -m again >/dev/null 2>"$tmp/err"
check_eq "put refuses while a plan is unfinished" 1 $?
check_grep "refusal names resume" "resume" "$tmp/err"
"$OCFLFS" cancel "$tmp/r5" 2 >/dev/null 2>"$tmp/err"; check_eq "cancel succeeds" 0 $?
check_eq "head v1 after cancel" v1 "$(head_of "$tmp/r5")"
check_true "no v2 after cancel" test ! -e "$tmp/r5/$objpath/v2"
"$OCFLFS" validate "$tmp/r5/$objpath" >/dev/null 2>&1; check_eq "valid after cancel" 0 $?
"$OCFLFS" plan "$tmp/r5" 2 --json >"$tmp/plan.json"
check_eq "plan cancelled" cancelled "$(json "$tmp/plan.json" 'd["state"]')"
"$OCFLFS" cancel "$tmp/r5" 2 >/dev/null 2>&1; check_eq "cancel twice fails" 1 $?
cp -a "$tmp/template" "$tmp/r6"
OCFLFS_TEST_KILL_AT_STEP=4 "$OCFLFS" put "$tmp/r6" "$ID" "$tmp/d2" -m two >/dev/null 2>&1
"$OCFLFS" cancel "$tmp/r6" 2 >/dev/null 2>"$tmp/err"; check_eq "cancel past the switch fails" 1 $?
check_grep "cancel refusal explains" "switch point" "$tmp/err"
"$OCFLFS" resume "$tmp/r6" 2 >/dev/null; check_eq "resume of that plan" 0 $?
check_eq "head v2" v2 "$(head_of "$tmp/r6")"

# --- the new inventory's bytes wait in the state dir's scratch while the plan is unfinished
# (the record, and the root copy beside it), are checked against the recorded digest when it
# resumes, and go when it ends
invfiles() { find "$1/extensions/ocflfs/scratch" -name 'inventory-*' | sort; }
record() { find "$1/extensions/ocflfs/scratch" -name 'inventory-*.json' ! -name '*.root.json'; }
rootcopy() { find "$1/extensions/ocflfs/scratch" -name 'inventory-*.root.json'; }
ino() { stat -c %i "$1"; }
# check_inventories ROOT VERSION WHAT: the root and version inventories byte-identical, two
# inodes, both sidecars naming their digest, no inventory file left in scratch
check_inventories() {
    local o="$1/$objpath" d
    d=$(sha512sum "$o/inventory.json" | cut -d' ' -f1)
    check_true "$3: version and root inventories identical" cmp -s "$o/inventory.json" "$o/$2/inventory.json"
    check_true "$3: ... in two inodes" test "$(ino "$o/inventory.json")" != "$(ino "$o/$2/inventory.json")"
    check_eq "$3: root sidecar" "$d  inventory.json" "$(cat "$o/inventory.json.sha512")"
    check_eq "$3: version sidecar" "$d  inventory.json" "$(cat "$o/$2/inventory.json.sha512")"
    check_eq "$3: no inventory file left in scratch" "" "$(invfiles "$1")"
}
check_inventories "$tmp/r1" v2 "a put"
check_inventories "$tmp/r6" v2 "a resume after the switch"
check_eq "a reverted plan leaves no inventory file" "" "$(invfiles "$tmp/r2")"
check_eq "a cancelled plan leaves no inventory file" "" "$(invfiles "$tmp/r5")"
cp -a "$tmp/template" "$tmp/r7"
OCFLFS_TEST_KILL_AT_STEP=0 "$OCFLFS" put "$tmp/r7" "$ID" "$tmp/d2" -m two >/dev/null 2>&1
f=$(record "$tmp/r7")
want=$(json <("$OCFLFS" plan "$tmp/r7" 2 --json) 'd["inventory_digest"]')
check_true "a killed plan's inventory file waits in scratch" test -s "$f"
check_eq "it holds the recorded inventory" "$want" "$(sha512sum "$f" | cut -d' ' -f1)"
check_eq "so does the root copy beside it" "$want" "$(sha512sum "$(rootcopy "$tmp/r7")" | cut -d' ' -f1)"
check_true "two files" test "$(ino "$f")" != "$(ino "$(rootcopy "$tmp/r7")")"
cp "$f" "$tmp/want.json"
cp -a "$tmp/r7" "$tmp/r8"
cp -a "$tmp/r7" "$tmp/r9"
cp -a "$tmp/r7" "$tmp/r10"
"$OCFLFS" resume "$tmp/r7" >/dev/null; check_eq "resume from the file" 0 $?
check_eq "to v2" v2 "$(head_of "$tmp/r7")"
check_true "with the recorded bytes" cmp -s "$tmp/want.json" "$(inv "$tmp/r7")"
check_inventories "$tmp/r7" v2 "resume"
check_true "valid" "$OCFLFS" validate "$tmp/r7/$objpath"
# the root copy altered in place (same size, same inode) before resume: not renamed into place
c=$(rootcopy "$tmp/r9")
python3 -c 'import sys; f=open(sys.argv[1], "r+b"); f.seek(20); f.write(b"X")' "$c"
"$OCFLFS" resume "$tmp/r9" >/dev/null; check_eq "resume with an altered root copy" 0 $?
check_true "the recorded bytes are switched in, not the copy's" cmp -s "$tmp/want.json" "$(inv "$tmp/r9")"
check_inventories "$tmp/r9" v2 "altered root copy"
check_true "valid after an altered root copy" "$OCFLFS" validate "$tmp/r9/$objpath"
# killed after the version inventory (the record linked there), before the switch
cp -a "$tmp/template" "$tmp/r11"
OCFLFS_TEST_KILL_BEFORE_STEP=4 "$OCFLFS" put "$tmp/r11" "$ID" "$tmp/d2" -m two >/dev/null 2>&1
check_eq "killed before the switch" 137 $?
check_true "the version inventory waits" test -s "$tmp/r11/$objpath/v2/inventory.json"
check_eq "the root is still v1" v1 "$(head_of "$tmp/r11")"
"$OCFLFS" resume "$tmp/r11" >/dev/null; check_eq "resume at the switch" 0 $?
check_eq "switched to v2" v2 "$(head_of "$tmp/r11")"
check_inventories "$tmp/r11" v2 "resume at the switch"
# the root copy gone before resume: the bytes are written
rm -f "$(rootcopy "$tmp/r10")"
"$OCFLFS" resume "$tmp/r10" >/dev/null; check_eq "resume without the root copy" 0 $?
check_true "the recorded bytes written" cmp -s "$tmp/want.json" "$(inv "$tmp/r10")"
check_inventories "$tmp/r10" v2 "no root copy"
f=$(record "$tmp/r8")
sed -i 's/"message": "two"/"message": "TWO"/' "$f" # other bytes, same length
"$OCFLFS" resume "$tmp/r8" >/dev/null 2>"$tmp/err"
check_eq "resume with altered inventory bytes fails" 1 $?
check_grep "and says so" "does not hold the plan's inventory" "$tmp/err"
check_eq "reverted: the object stays at v1" v1 "$(head_of "$tmp/r8")"
check_eq "no v2 directory is left" "" "$(ls -d "$tmp/r8/$objpath/v2" 2>/dev/null)"
check_eq "the revert removes both inventory files" "" "$(invfiles "$tmp/r8")"
check_true "valid at v1" "$OCFLFS" validate "$tmp/r8/$objpath"
stray="$tmp/r8/extensions/ocflfs/scratch/inventory-$(printf '%0128d' 0).json"
echo '{}' >"$stray"
echo '{}' >"${stray%.json}.root.json"
"$OCFLFS" put "$tmp/r8" "$ID" "$tmp/d2" -m two >/dev/null; check_eq "put after that" 0 $?
check_true "an inventory file no plan refers to is collected" test ! -e "$stray"
check_true "and a root copy too" test ! -e "${stray%.json}.root.json"

# --- bad DIR content
mkdir -p "$tmp/bad1" "$tmp/bad2"
echo x >"$tmp/bad1/$(printf 'bad\xffname')"
"$OCFLFS" put "$tmp/template" "$ID" "$tmp/bad1" -m x >/dev/null 2>"$tmp/err"
check_eq "non-UTF-8 name fails" 1 $?
check_grep "non-UTF-8 error names the path" "not UTF-8" "$tmp/err"
ln -s /etc/passwd "$tmp/bad2/link"
"$OCFLFS" put "$tmp/template" "$ID" "$tmp/bad2" -m x >/dev/null 2>"$tmp/err"
check_eq "symlink fails" 1 $?
check_grep "symlink error names the path" "bad2/link" "$tmp/err"
check_eq "failed puts leave no staging" "" "$(ls -A "$tmp/template/extensions/ocflfs/scratch")"
"$OCFLFS" put "$tmp/template" "$ID" "$tmp/d1" >/dev/null 2>&1; check_eq "put without -m is a usage error" 2 $?

done_testing
