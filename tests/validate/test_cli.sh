#!/usr/bin/env bash
# test_cli.sh: `ocflfs validate` as a user runs it: exit codes, line format, --json, a corrupted byte.
set -u
source "$SOURCE_ROOT/tests/common/tap.sh"

fx=$OCFL_SHARED/ocfl/fixtures/1.1
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
run "$tmp/plain" "$tmp/plain"
check_eq "two paths: exit 2" 2 "$rc"

done_testing
