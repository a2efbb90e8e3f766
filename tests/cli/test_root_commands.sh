#!/usr/bin/env bash
# test_root_commands.sh: `ocflfs init`, `ls` and `log` as a user runs them: bytes on disk,
# output against the inventories, exit codes and error messages.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fixtures=$OCFL_SHARED/ocfl/fixtures/1.1/good-objects

# --- usage errors
"$OCFLFS" >/dev/null 2>&1; check_eq "no command exits 2" 2 $?
"$OCFLFS" frobnicate >/dev/null 2>"$tmp/err"; check_eq "unknown command exits 2" 2 $?
check_grep "unknown command is named" "'frobnicate'" "$tmp/err"
"$OCFLFS" init >/dev/null 2>&1; check_eq "init without ROOT exits 2" 2 $?
"$OCFLFS" init "$tmp/x" --digest md5 >/dev/null 2>&1; check_eq "init --digest md5 exits 2" 2 $?

# --- init: the files a storage root starts with, byte for byte
"$OCFLFS" init "$tmp/root" >/dev/null; check_eq "init succeeds" 0 $?
check_eq "declaration content" "ocfl_1.1" "$(cat "$tmp/root/0=ocfl_1.1")"
check_eq "declaration ends in one newline" 9 "$(wc -c <"$tmp/root/0=ocfl_1.1")"
check_eq "layout is 0004 by default" "0004-hashed-n-tuple-storage-layout" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["extension"])' "$tmp/root/ocfl_layout.json")"
check_eq "layout config names its extension" "0004-hashed-n-tuple-storage-layout" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["extensionName"])' \
        "$tmp/root/extensions/0004-hashed-n-tuple-storage-layout/config.json")"
"$OCFLFS" init "$tmp/root" >/dev/null 2>"$tmp/err"; check_eq "init of a non-empty dir fails" 1 $?
check_grep "init failure names the path" "$tmp/root" "$tmp/err"
"$OCFLFS" init "$tmp/r2" --layout no-such-layout >/dev/null 2>"$tmp/err"
check_eq "unknown layout fails" 1 $?
check_grep "unknown layout is named" "no-such-layout" "$tmp/err"
check_eq "a failed init leaves nothing" "" "$(ls -A "$tmp/r2" 2>/dev/null)"

echo '{"extensionName":"0004-hashed-n-tuple-storage-layout","digestAlgorithm":"sha256","tupleSize":2,"numberOfTuples":2,"shortObjectRoot":true}' >"$tmp/cfg.json"
"$OCFLFS" init "$tmp/r3" --layout 0004-hashed-n-tuple-storage-layout --layout-config "$tmp/cfg.json" --digest sha256 >/dev/null
check_eq "init with a layout config" 0 $?
check_eq "layout config kept" 2 \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tupleSize"])' \
        "$tmp/r3/extensions/0004-hashed-n-tuple-storage-layout/config.json")"

# --- ls on a root made of the official good fixtures (placed as a flat hierarchy)
"$OCFLFS" init "$tmp/fx" --layout 0002-flat-direct-storage-layout >/dev/null
for d in "$fixtures"/*/; do cp -r "$d" "$tmp/fx/$(basename "$d")"; done
"$OCFLFS" ls "$tmp/fx" >"$tmp/ls.out" 2>"$tmp/ls.err"; check_eq "ls exits 0" 0 $?
python3 - "$fixtures" "$tmp/ls.out" >"$tmp/ls.want" <<'PY'
import json, os, sys
rows = []
for name in sorted(os.listdir(sys.argv[1])):
    inv = json.load(open(os.path.join(sys.argv[1], name, "inventory.json")))
    rows.append((inv["id"], inv["head"], name))
for r in sorted(rows):
    print("\t".join(r))
PY
check_eq "ls lists every object with its id and head" "$(cat "$tmp/ls.want")" "$(cat "$tmp/ls.out")"
"$OCFLFS" ls --json "$tmp/fx" >"$tmp/ls.json"; check_eq "ls --json exits 0" 0 $?
check_eq "ls --json has every object" "$(ls "$fixtures" | wc -l)" \
    "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["objects"]))' "$tmp/ls.json")"

# --- log: versions newest first, as the inventory says
obj=spec-ex-full
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$fixtures/$obj/inventory.json")
"$OCFLFS" log --json "$tmp/fx" "$id" >"$tmp/log.json"; check_eq "log exits 0" 0 $?
python3 - "$fixtures/$obj/inventory.json" "$tmp/log.json" <<'PY'
import json, sys
inv = json.load(open(sys.argv[1])); got = json.load(open(sys.argv[2]))
want = [k for k in sorted(inv["versions"], key=lambda v: int(v[1:]), reverse=True)]
assert [v["version"] for v in got["versions"]] == want, (got, want)
for v in got["versions"]:
    src = inv["versions"][v["version"]]
    assert v["created"] == src["created"] and v["message"] == src.get("message"), v
    assert v["user"] == src.get("user"), (v["user"], src.get("user"))
PY
check_eq "log --json matches the inventory" 0 $?
"$OCFLFS" log "$tmp/fx" "$id" >"$tmp/log.txt"
check_eq "log text starts with the head" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["head"])' "$fixtures/$obj/inventory.json")" \
    "$(head -n1 "$tmp/log.txt" | cut -d' ' -f1)"
"$OCFLFS" log "$tmp/fx" "no:such:object" >/dev/null 2>"$tmp/err"; check_eq "log of an unknown id exits 1" 1 $?
check_grep "unknown id is named" "no:such:object" "$tmp/err"

# --- not a storage root
mkdir "$tmp/plain"
"$OCFLFS" ls "$tmp/plain" >/dev/null 2>"$tmp/err"; check_eq "ls of a plain dir exits 1" 1 $?
check_grep "says it is not a storage root" "not an OCFL storage root" "$tmp/err"

done_testing
