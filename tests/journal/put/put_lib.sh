# put_lib.sh: helpers of the `put` cache tests (sourced after tap.sh, with $R the storage root,
# $D the DIR put, $ID the object id, $tmp a temp dir; $objpath is set once the object exists).
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
inv() { echo "$R/$objpath/inventory.json"; }
head_of() { json "$(inv)" 'd["head"]'; }
# stored LOGICAL: the object's file for LOGICAL_PATH at the head
stored() {
    python3 - "$(inv)" "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
state = d["versions"][d["head"]]["state"]
for digest, paths in state.items():
    if sys.argv[2] in paths:
        print(d["manifest"][digest][0])
PY
}
# same_bytes LOGICAL: the head's copy of LOGICAL has DIR's bytes
same_bytes() { cmp -s "$D/$1" "$R/$objpath/$(stored "$1")"; }
# put ARGS...: put DIR as ID's next version; stdout in $tmp/out, stderr in $tmp/err
put() { "$OCFLFS" put "$R" "$ID" "$D" "$@" >"$tmp/out" 2>"$tmp/err"; }
# not_read: how many files the last put took from its cache ("" when none)
not_read() { sed -n 's/.*; \([0-9]*\) files unchanged since the last put, not read.*/\1/p' "$tmp/out"; }
settle() { sleep 2.2; } # older than the cache's settling time (2 s): cacheable
# find_objpath: set $objpath to the object's directory, relative to $R
find_objpath() {
    objpath=$(cd "$R" && dirname "$(find . -name '0=ocfl_object_1.1' | head -1)")
    objpath=${objpath#./}
}
