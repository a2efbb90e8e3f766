#!/usr/bin/env bash
# test_read_commands.sh: an object read without a mount (issue 14): show, cat, diff, export and
# log PATH against a real root of three versions; put --merge and --remove; every byte and
# digest checked, a damaged content file refused by cat and export.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
R=$WORK/root ID=urn:read:1
"$OCFLFS" init "$R" >/dev/null
put() { "$OCFLFS" put "$R" "$ID" "$WORK/src" -m "$1" --user R >/dev/null; }
mkdir -p "$WORK/src/d"
echo alpha >"$WORK/src/a.txt"
echo beta >"$WORK/src/b.txt"
echo gamma >"$WORK/src/d/c.txt"
put one
echo "alpha, changed" >"$WORK/src/a.txt"
rm "$WORK/src/b.txt"
mv "$WORK/src/d/c.txt" "$WORK/src/d/moved.txt"
echo epsilon >"$WORK/src/e.txt"
put two
echo third >"$WORK/src/e.txt"
put three

sha() { sha512sum | cut -d' ' -f1; }
check_eq "show: the head's paths with sizes and digests" \
    "a.txt 15 $(echo "alpha, changed" | sha) d/moved.txt 6 $(echo gamma | sha) e.txt 6 $(echo third | sha)" \
    "$("$OCFLFS" show "$R" "$ID" --json | python3 -c 'import json,sys; print(" ".join("%s %d %s" % (f["path"], f["size"], f["digest"]) for f in json.load(sys.stdin)["files"]))')"
check_eq "show -v 1" "a.txt b.txt d/c.txt" \
    "$("$OCFLFS" show "$R" "$ID" -v 1 | awk '{print $3}' | xargs)"
check_eq "cat: the head's bytes" "alpha, changed" "$("$OCFLFS" cat "$R" "$ID" a.txt)"
check_eq "cat -v v1: an earlier version's" "alpha" "$("$OCFLFS" cat "$R" "$ID" a.txt -v v1)"
"$OCFLFS" cat "$R" "$ID" b.txt >/dev/null 2>"$WORK/err"
check_eq "cat of a path the version lacks: exit 1, naming it" "1 yes" "$? $(grep -q "'b.txt': no such file" "$WORK/err" && echo yes)"
check_eq "diff (the head against the version before)" "M  e.txt" "$("$OCFLFS" diff "$R" "$ID")"
check_eq "diff v1 v2: added, modified, removed, renamed" \
    "A  e.txt|M  a.txt|D  b.txt|R  d/c.txt -> d/moved.txt" "$("$OCFLFS" diff "$R" "$ID" v1 v2 | paste -sd'|')"
check_eq "diff --json" "1 2 ['e.txt'] ['a.txt'] ['b.txt'] [{'from': 'd/c.txt', 'to': 'd/moved.txt'}]" \
    "$("$OCFLFS" diff "$R" "$ID" 1 2 --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["from"], d["to"], d["added"], d["modified"], d["removed"], d["renamed"])')"
check_eq "log PATH: the versions that changed it" "v3 v2" \
    "$("$OCFLFS" log "$R" "$ID" e.txt --json | python3 -c 'import json,sys; print(" ".join(v["version"] for v in json.load(sys.stdin)["versions"]))')"
check_eq "log PATH of a file made in v1 and moved away in v2" "v2 v1" \
    "$("$OCFLFS" log "$R" "$ID" d/c.txt | awk '/^v/ {print $1}' | xargs)"

out=$("$OCFLFS" export "$R" "$ID" "$WORK/v1" -v 1 2>&1)
tap_result $(($? == 0)) "export -v 1" "$out"
check_eq "the exported tree is version 1, byte for byte" "a.txt:alpha b.txt:beta d/c.txt:gamma" \
    "$(cd "$WORK/v1" && find . -type f | sort | sed 's|^\./||' | while read -r f; do printf '%s:%s ' "$f" "$(cat "$f")"; done | sed 's/ $//')"
"$OCFLFS" export "$R" "$ID" "$WORK/v1" >/dev/null 2>&1
check_eq "export into an existing directory: refused" 1 $?

# put --merge and --remove (issue 14): one file added or replaced, the rest kept
mkdir -p "$WORK/one" && echo zeta >"$WORK/one/z.txt" && echo "alpha, again" >"$WORK/one/a.txt"
out=$("$OCFLFS" put "$R" "$ID" "$WORK/one" -m "merge" --merge --user R 2>&1)
tap_result $(($? == 0)) "put --merge" "$out"
check_eq "v4 is the head with z.txt added and a.txt replaced" "A  z.txt|M  a.txt" \
    "$("$OCFLFS" diff "$R" "$ID" | paste -sd'|')"
out=$("$OCFLFS" put "$R" "$ID" --remove d --remove e.txt -m "remove" --user R 2>&1)
tap_result $(($? == 0)) "put --remove (a directory and a file, no DIR)" "$out"
check_eq "v5 lacks them and keeps the rest" "a.txt z.txt" \
    "$("$OCFLFS" show "$R" "$ID" | awk '{print $3}' | xargs)"
"$OCFLFS" put "$R" "$ID" --remove no/such -m "x" --user R >/dev/null 2>"$WORK/err"
check_eq "put --remove of a path the head lacks: exit 1, naming it, no version" "1 yes v5" \
    "$? $(grep -q "'no/such'" "$WORK/err" && echo yes) $("$OCFLFS" log "$R" "$ID" | awk 'NR == 1 {print $1}')"

# a damaged content file: cat and export say so, by the digest
obj=$(cd "$R" && dirname "$(find . -name inventory.json -path '*/v4/*' | head -1)" | xargs dirname)
echo "zetA" >"$R/$obj/v4/content/z.txt"
"$OCFLFS" cat "$R" "$ID" z.txt >/dev/null 2>"$WORK/err"
check_eq "cat of damaged content: exit 1, the digest named as the reason" "1 yes" \
    "$? $(grep -q "does not match its digest" "$WORK/err" && echo yes)"
"$OCFLFS" export "$R" "$ID" "$WORK/head" >/dev/null 2>"$WORK/err"
check_eq "export of it: exit 1, naming the file" "1 yes" "$? $(grep -q "'z.txt'" "$WORK/err" && echo yes)"
done_testing
