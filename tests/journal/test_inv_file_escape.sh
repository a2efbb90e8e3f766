#!/usr/bin/env bash
# test_inv_file_escape.sh: a plan row whose inventory file names a path out of the state dir
# ("../../../victim": the journal lives in the storage root, so its rows are untrusted too)
# makes `cancel` remove nothing outside; the plan is still reverted.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OCFLFS_TEST_RETRY_MS=1
R=$tmp/root
mkdir -p "$tmp/d"
echo a >"$tmp/d/a"
"$OCFLFS" init "$R" >/dev/null || exit 1
"$OCFLFS" put "$R" urn:x "$tmp/d" -m one >/dev/null || exit 1
echo b >"$tmp/d/b"
echo precious >"$tmp/victim"
(OCFLFS_TEST_KILL_BEFORE_STEP=1 "$OCFLFS" put "$R" urn:x "$tmp/d" -m two >/dev/null 2>&1)
python3 - "$R/extensions/ocflfs/ocflfs.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
n = c.execute("UPDATE plans SET inventory_file = '../../../victim'"
              " WHERE state IN ('pending', 'running')").rowcount
c.commit()
print("# rows changed:", n)
PY
"$OCFLFS" cancel "$R" 2 >"$tmp/out" 2>&1
check_grep "the plan is cancelled and reverted" "cancelled and reverted" "$tmp/out"
check_true "the file outside the state dir is still there" test -f "$tmp/victim"
check_eq "with its bytes" precious "$(cat "$tmp/victim" 2>/dev/null)"
"$OCFLFS" validate "$R" >/dev/null 2>&1
check_eq "the storage root is valid" 0 $?

done_testing
