#!/usr/bin/env bash
# test_put_cache_times.sh: `put` and its cache with file times far from now (years 2400 and
# 1000: seconds * 10^9 out of an int64): no undefined arithmetic (the sanitizer build stops on
# it), right bytes each time, and a file changed in place with such an mtime put back is read.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OCFLFS_TEST_RETRY_MS=1
ID="urn:test:put-cache-times"
R=$tmp/root
D=$tmp/dir

. "$SOURCE_ROOT/tests/journal/put/put_lib.sh"

mkdir -p "$D"
printf 'future\n' >"$D/future.txt"
printf 'past\n' >"$D/past.txt"
printf 'now\n' >"$D/now.txt"
touch -d '2400-01-01 00:00:00 UTC' "$D/future.txt"
touch -d '1000-01-01 00:00:00 UTC' "$D/past.txt"
"$OCFLFS" init "$R" >/dev/null || exit 1
sleep 2.2 # older than the cache's settling time
put -m one
check_eq "put of files with far times succeeds" 0 $?
check_true "without a sanitizer report" test ! -s "$tmp/err"
find_objpath

# the same bytes again: the cache is loaded, the files stat'ed and matched
put -m two
check_eq "a second put succeeds" 0 $?
check_grep "nothing to commit" "nothing to commit" "$tmp/out"
check_true "without a sanitizer report" test ! -s "$tmp/err"

# new bytes of the same size behind the same far mtimes: both read, both stored
sleep 2.2
printf 'FUTURE\n' >"$D/future.txt"
printf 'PAST\n' >"$D/past.txt"
touch -d '2400-01-01 00:00:00 UTC' "$D/future.txt"
touch -d '1000-01-01 00:00:00 UTC' "$D/past.txt"
put -m three
check_eq "a put after in-place changes succeeds" 0 $?
check_grep "both files modified" "0 added, 2 modified, 0 removed" "$tmp/out"
check_true "v2 holds future.txt's new bytes" same_bytes future.txt
check_true "and past.txt's" same_bytes past.txt
check_true "without a sanitizer report" test ! -s "$tmp/err"

done_testing
