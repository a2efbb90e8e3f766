#!/usr/bin/env bash
# test_root.sh: `ocflfs validate` on storage roots built from the fixtures, one per root code.
set -u
source "$SOURCE_ROOT/tests/common/tap.sh"

fixtures=$OCFL_SHARED/ocfl/fixtures
[[ -d $fixtures/1.1/good-objects ]] || { echo "Bail out! no fixtures under $fixtures"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# vcheck DESCRIPTION WANT-CODES ROOT: the sorted distinct codes `validate --json` reports;
# $rc keeps the exit status.
vcheck() {
    "$OCFLFS" validate --json "$3" >"$tmp/out.json" 2>"$tmp/err.txt"
    rc=$?
    check_eq "$1" "$2" "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join(sorted({f["code"] for f in d["errors"] + d["warnings"]})))' "$tmp/out.json" 2>&1)"
}

# good ROOT: a 1.1 root, 0002 flat layout, two fixture objects at their ids
good() {
    local r=$1
    mkdir -p "$r/extensions/ocflfs"
    printf 'ocfl_1.1\n' >"$r/0=ocfl_1.1"
    printf '{"extension": "0002-flat-direct-storage-layout", "description": "flat"}\n' \
        >"$r/ocfl_layout.json"
    cp -r "$fixtures/1.1/good-objects/updates_all_actions" "$r/info:bb123cd4567"
    cp -r "$fixtures/1.1/good-objects/updates_three_versions_one_file" "$r/uri:something451"
    : >"$r/extensions/ocflfs/ocflfs.db"
}

good "$tmp/good"
vcheck "good root: only W016 (extensions/ocflfs)" "W016" "$tmp/good"
check_eq "good root: exit 0" 0 "$rc"
check_grep "good root: type root" '"type": "root"' "$tmp/out.json"
rm -rf "$tmp/good/extensions/ocflfs"
vcheck "good root without our state dir: no finding" "" "$tmp/good"

good "$tmp/r1"; rm "$tmp/r1/0=ocfl_1.1"; printf 'ocfl_2.0\n' >"$tmp/r1/0=ocfl_2.0"
vcheck "unknown declaration: E069 E079" "E069 E079 W016" "$tmp/r1"
check_eq "unknown declaration: exit 1" 1 "$rc"

good "$tmp/r2"; printf 'ocfl_1.0\n' >"$tmp/r2/0=ocfl_1.1"
vcheck "declaration contents: E080" "E080 W016" "$tmp/r2"

good "$tmp/r3"; printf '{"extension": "0002-flat-direct-storage-layout"}\n' >"$tmp/r3/ocfl_layout.json"
vcheck "layout without description: E070" "E070 W016" "$tmp/r3"

good "$tmp/r4"; printf '{"extension": "9999-no-such", "description": "x"}\n' >"$tmp/r4/ocfl_layout.json"
vcheck "unregistered layout: E071" "E071 W016" "$tmp/r4"

good "$tmp/r5"; mkdir -p "$tmp/r5/aa/bb"; cp -r "$fixtures/1.1/good-objects/spec-ex-minimal" "$tmp/r5/aa/bb/obj"
echo stray >"$tmp/r5/aa/stray.txt"
vcheck "file in an intermediate directory: E072 E084 (and mixed depths W015)" \
    "E072 E084 W015 W016" "$tmp/r5"

good "$tmp/r6"; mkdir -p "$tmp/r6/empty/deeper"
vcheck "empty directory: E073" "E073 W016" "$tmp/r6"

good "$tmp/r7"; ln -s "info:bb123cd4567" "$tmp/r7/link"
vcheck "symlink: E090" "E090 W016" "$tmp/r7"

good "$tmp/r8"; mkdir "$tmp/r8/info:bb123cd4567/extra"
cp -r "$fixtures/1.1/good-objects/spec-ex-minimal" "$tmp/r8/info:bb123cd4567/extra/inner"
vcheck "object inside an object: E001 E082" "E001 E082 W016" "$tmp/r8"

good "$tmp/r9"; rm "$tmp/r9/0=ocfl_1.1"; printf 'ocfl_1.0\n' >"$tmp/r9/0=ocfl_1.0"
vcheck "1.1 objects in a 1.0 root: E081" "E081" "$tmp/r9"

good "$tmp/r10"; echo x >"$tmp/r10/extensions/stray"
vcheck "file in extensions/: E112" "E112 W016" "$tmp/r10"

good "$tmp/r11"; cp -r "$tmp/r11/info:bb123cd4567" "$tmp/r11/copy"
vcheck "one id twice: E037 (and W014 for the misplaced copy)" "E037 W014 W016" "$tmp/r11"

good "$tmp/r12"; echo "readme" >"$tmp/r12/README.txt"
vcheck "unknown file at the top: ignored (E087)" "W016" "$tmp/r12"

# a root that lost its declaration is still a storage root (it has a layout, objects below it)
good "$tmp/r14"; rm "$tmp/r14/0=ocfl_1.1"
vcheck "no declaration: E069" "E069 W016" "$tmp/r14"
check_eq "no declaration: exit 1" 1 "$rc"
check_grep "no declaration: validated as a storage root" '"type": "root"' "$tmp/out.json"
rm "$tmp/r14/ocfl_layout.json"
vcheck "no declaration, no layout, objects below: E069 still" "E069 W016" "$tmp/r14"

# a 1.0 root gets the codes of 1.0: E086 for a file in extensions/, no W016 (1.1 only)
mkdir -p "$tmp/r15/extensions/ocflfs"
printf 'ocfl_1.0\n' >"$tmp/r15/0=ocfl_1.0"
printf '{"extension": "0002-flat-direct-storage-layout", "description": "flat"}\n' \
    >"$tmp/r15/ocfl_layout.json"
cp -r "$fixtures/1.0/good-objects/spec-ex-full" "$tmp/r15/ark:%2F12345%2Fbcd987"
echo x >"$tmp/r15/extensions/stray"
vcheck "1.0 root, file in extensions/: E086, and no W016" "E086" "$tmp/r15"

good "$tmp/r13"; echo "corrupt" >>"$tmp/r13/uri:something451/v1/content/a_file.txt"
vcheck "bad object in a root: its codes, with its path" "E092 W016" "$tmp/r13"
check_grep "finding path names the object" '"path": "uri:something451/v1/content/a_file.txt"' "$tmp/out.json"

# a file name that is not UTF-8: the JSON report still comes, the byte as U+FFFD
good "$tmp/r16"; touch "$tmp/r16/uri:something451/v1/content/bad$(printf '\xff')"
vcheck "a stray file whose name is not UTF-8: E023 in a JSON report" "E023 W016" "$tmp/r16"
check_grep "its name with U+FFFD" "content/bad$(printf '\xef\xbf\xbd')" "$tmp/out.json"

done_testing
