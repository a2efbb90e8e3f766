#!/usr/bin/env bash
# test_cli.sh: `ocflfs validate` as a user runs it: exit codes, line format, --json, a corrupted
# byte; an inventory on its own, ROOT ID, --quiet, --no-warnings, one line for a repeated finding.
set -u
source "$SOURCE_ROOT/tests/common/tap.sh"

fx=$OCFL_SHARED/ocfl/fixtures/1.1
ours=$SOURCE_ROOT/tests/validate/fixtures
[[ -d $fx/good-objects ]] || { echo "Bail out! no fixtures under $fx"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { # run ARGS...: $rc, $tmp/out, $tmp/err
    "$OCFLFS" validate "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

run "$fx/good-objects/spec-ex-full"
check_eq "good object: exit 0" 0 "$rc"
check_eq "good object: nothing on stdout" "" "$(cat "$tmp/out")"
check_grep "good object: summary on stderr" "valid object, 0 errors, 0 warnings" "$tmp/err"

run "$fx/warn-objects/W004_uses_sha256"
check_eq "warnings only: exit 0" 0 "$rc"
check_eq "warning line: CODE path: message" "W004 inventory.json:" "$(cut -d' ' -f1,2 "$tmp/out" | head -1)"

run "$fx/bad-objects/E058_no_sidecar"
check_eq "bad object: exit 1" 1 "$rc"
check_true "every line is 'CODE path: message'" \
    bash -c "grep -qvE '^[EW][0-9]{3} [^ ]+: .+' '$tmp/out' && exit 1 || exit 0"
check_grep "E058 reported" "E058 inventory.json.sha512: " "$tmp/out"
check_grep "bad object: summary says invalid" "invalid object" "$tmp/err"

run --json "$fx/bad-objects/E058_no_sidecar"
check_eq "--json: exit 1" 1 "$rc"
check_eq "--json parses, valid false, E058 listed" "False object E058" "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["valid"], d["type"], " ".join(e["code"] for e in d["errors"]))' "$tmp/out" 2>&1)"
run --json "$fx/good-objects/spec-ex-full"
check_eq "--json good: valid true, no findings" "True 0 0" "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["valid"], len(d["errors"]), len(d["warnings"]))' "$tmp/out" 2>&1)"

# one corrupted byte in a copy of a good fixture
cp -r "$fx/good-objects/spec-ex-full" "$tmp/obj"
f=$tmp/obj/v1/content/foo/bar.xml
printf 'X' | dd of="$f" bs=1 seek=0 conv=notrunc 2>/dev/null
run "$tmp/obj"
check_eq "corrupted byte: exit 1" 1 "$rc"
check_grep "corrupted byte: E092 on that file" "E092 v1/content/foo/bar.xml: " "$tmp/out"
run --no-digests "$tmp/obj"
check_eq "corrupted byte, --no-digests: exit 0" 0 "$rc"
check_grep "--no-digests says so" "digests not checked" "$tmp/err"
rm "$f"
run --no-digests "$tmp/obj"
check_eq "missing content file, --no-digests: exit 1" 1 "$rc"
check_grep "missing content file: E092" "E092 v1/content/foo/bar.xml: " "$tmp/out"

mkdir "$tmp/plain"
run "$tmp/plain"
check_eq "neither object nor root: exit 1" 1 "$rc"
check_eq "neither: message" "ocflfs: $tmp/plain: not an OCFL object or storage root" "$(cat "$tmp/err")"
run "$tmp/does-not-exist"
check_eq "missing path: exit 1" 1 "$rc"

run
check_eq "no PATH: exit 2" 2 "$rc"
run --bogus "$tmp/plain"
check_eq "unknown option: exit 2" 2 "$rc"
run "$tmp/plain" id:1 id:2
check_eq "PATH and two IDs: exit 2" 2 "$rc"

# json FILE EXPR: evaluate a Python expression over the JSON document d in FILE
json() {
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@" 2>&1
}

# --- the spec's address of each code, of the object's own version
run --json "$OCFL_SHARED/ocfl/fixtures/1.0/bad-objects/E058_no_sidecar"
check_eq "--json: a 1.0 object's codes carry the 1.0 spec's address" \
    "https://ocfl.io/1.0/spec/#E058" "$(json "$tmp/out" 'd["errors"][0]["url"]')"
run --json "$fx/bad-objects/E058_no_sidecar"
check_eq "--json: a 1.1 object's the 1.1 spec's" \
    "https://ocfl.io/1.1/spec/#E058" "$(json "$tmp/out" 'd["errors"][0]["url"]')"

# --- a problem of v1 that every later inventory copies: one finding, every inventory named
w007=$ours/1.1/warn-objects/W007_no_user_repeated_in_four_inventories
run "$w007"
check_eq "repeated warning: exit 0" 0 "$rc"
check_eq "repeated warning: one line" 1 "$(grep -c '^W007 ' "$tmp/out")"
check_eq "repeated warning: the line names the other inventories" \
    "W007 inventory.json: version 'v1' has no user (also in v1/inventory.json, v2/inventory.json, v3/inventory.json)" \
    "$(cat "$tmp/out")"
run --json "$w007"
check_eq "--json: the finding lists its four inventories" \
    "inventory.json v1/inventory.json v2/inventory.json v3/inventory.json" \
    "$(json "$tmp/out" '" ".join(d["warnings"][0]["inventories"])')"

# --- the fixity of an earlier inventory counts
run --json "$ours/1.1/bad-objects/E093_fixity_wrong_in_v1_inventory"
check_eq "wrong fixity in v1/inventory.json only: exit 1" 1 "$rc"
check_eq "E093 on the file, in v1/inventory.json alone" \
    "E093 v1/content/a.txt v1/inventory.json" \
    "$(json "$tmp/out" '" ".join([d["errors"][0]["code"], d["errors"][0]["path"]] + d["errors"][0]["inventories"])')"
run --no-digests "$ours/1.1/bad-objects/E093_fixity_wrong_in_v1_inventory"
check_eq "wrong fixity, --no-digests: exit 0" 0 "$rc"

# --- an inventory file on its own
run "$fx/good-objects/spec-ex-full/inventory.json"
check_eq "a good inventory on its own: exit 0" 0 "$rc"
check_grep "inventory on its own: summary says so" "valid inventory, 0 errors" "$tmp/err"
run "$fx/bad-objects/E040_wrong_head_format/inventory.json"
check_eq "a bad inventory on its own: exit 1" 1 "$rc"
check_grep "bad inventory: E040 about the file" "E040 inventory.json: " "$tmp/out"
check_eq "bad inventory: nothing but inventory checks (no sidecar, no content)" "" \
    "$(grep -vE '^(E040|W007) ' "$tmp/out")"
run "$OCFL_SHARED/ocfl/fixtures/1.0/bad-objects/E040_wrong_head_format/inventory.json"
check_eq "a 1.0 inventory on its own: exit 1" 1 "$rc"
run --json "$OCFL_SHARED/ocfl/fixtures/1.0/bad-objects/E040_wrong_head_format/inventory.json"
check_eq "--json: type inventory, codes of its own 1.0 type" \
    "inventory https://ocfl.io/1.0/spec/#E040" "$(json "$tmp/out" 'd["type"] + " " + d["errors"][0]["url"]')"

# --- ROOT ID: the object found through the root's layout
mkdir -p "$tmp/root/extensions"
printf 'ocfl_1.1\n' >"$tmp/root/0=ocfl_1.1"
printf '{"extension": "0002-flat-direct-storage-layout", "description": "flat"}\n' \
    >"$tmp/root/ocfl_layout.json"
cp -r "$fx/good-objects/updates_all_actions" "$tmp/root/info:bb123cd4567"
cp -r "$fx/bad-objects/E058_no_sidecar" "$tmp/root/bad"
bad_id=$(json "$tmp/root/bad/inventory.json" 'd["id"]')
run "$tmp/root" info:bb123cd4567
check_eq "ROOT ID: exit 0" 0 "$rc"
check_eq "ROOT ID: the summary names root and id" \
    "$tmp/root info:bb123cd4567: valid object, 0 errors, 0 warnings" "$(cat "$tmp/err")"
run --json "$tmp/root" "$bad_id"
check_eq "ROOT ID of a damaged object: exit 1, found by a walk, its findings" \
    "1 bad E058" "$rc $(json "$tmp/out" 'd["object_path"] + " " + d["errors"][0]["code"]')"
run "$tmp/root" urn:no:such
check_eq "ROOT ID of no object: exit 1" 1 "$rc"
check_grep "no such object: says so" "no object 'urn:no:such'" "$tmp/err"
run "$tmp/plain" info:bb123cd4567
check_eq "ROOT ID where ROOT is no storage root: exit 1" 1 "$rc"

# --- --quiet: the errors alone; --no-warnings: no warning
run --quiet "$fx/warn-objects/W004_uses_sha256"
check_eq "--quiet, warnings only: exit 0, nothing printed" "0 ||" "$rc |$(cat "$tmp/out")|$(cat "$tmp/err")"
run --quiet "$fx/bad-objects/E058_no_sidecar"
check_eq "--quiet, bad object: exit 1" 1 "$rc"
check_eq "--quiet: error lines only, no summary" "E058|" \
    "$(cut -d' ' -f1 "$tmp/out" | sort -u | tr '\n' ' ' | sed 's/ $//')|$(cat "$tmp/err")"
run --no-warnings "$fx/warn-objects/W004_uses_sha256"
check_eq "--no-warnings: exit 0, no warning line" "0 " "$rc $(cat "$tmp/out")"
check_grep "--no-warnings: the summary says so" "valid object, 0 errors (warnings not shown)" "$tmp/err"
run --json --no-warnings "$fx/warn-objects/W004_uses_sha256"
check_eq "--json --no-warnings: no warnings key" "False" "$(json "$tmp/out" '"warnings" in d')"

done_testing
