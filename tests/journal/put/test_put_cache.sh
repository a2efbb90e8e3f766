#!/usr/bin/env bash
# test_put_cache.sh: `put` does not read again the files of DIR its cache knows unchanged, and
# trusts that cache for nothing else: new bytes behind an old size and mtime, a file replaced,
# a file changed just before the put, a damaged cache, content the object does not have.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OCFLFS_TEST_RETRY_MS=1
ID="urn:test:put-cache"
N=40 # files in DIR
R=$tmp/root
D=$tmp/dir

. "$SOURCE_ROOT/tests/journal/put/put_lib.sh"

mkdir -p "$D/sub"
for i in $(seq 1 $N); do printf 'file %03d\n' "$i" >"$D/sub/f$i.txt"; done
printf 'alpha\n' >"$D/a.txt"
printf 'bravo\n' >"$D/b.txt"
total=$((N + 2))
"$OCFLFS" init "$R" >/dev/null || exit 1
settle
put -m one
check_eq "first put succeeds" 0 $?
check_eq "first put reads every file (no cache yet)" "" "$(not_read)"
find_objpath
cache="$R/extensions/ocflfs/cache/put-$(printf %s "$ID" | sha256sum | cut -d' ' -f1)"
check_true "the cache is saved under the id's SHA-256" test -s "$cache"

# --- new bytes, same size, mtime put back: the ctime tells
touch -r "$D/a.txt" "$tmp/ref"
printf 'ALPHA\n' >"$D/a.txt"
touch -r "$tmp/ref" "$D/a.txt"
put -m two
check_eq "put after an in-place change succeeds" 0 $?
check_grep "one file modified" "0 added, 1 modified, 0 removed" "$tmp/out"
check_eq "all other files come from the cache" $((total - 1)) "$(not_read)"
check_true "v2 holds the new bytes of a.txt" same_bytes a.txt
check_true "and the old ones of b.txt" same_bytes b.txt

# --- a file replaced by another with the same size and mtime (a new inode)
settle
printf 'BRAVO\n' >"$tmp/b.new"
touch -r "$D/b.txt" "$tmp/b.new"
mv "$tmp/b.new" "$D/b.txt"
put -m three
check_grep "a replaced file is seen" "0 added, 1 modified, 0 removed" "$tmp/out"
check_true "v3 holds its bytes" same_bytes b.txt
# a.txt changed just before the put of v2, which therefore did not cache it: read again
check_eq "a.txt and b.txt were read, no other file" $((total - 2)) "$(not_read)"

# --- a file changed just before a put is read by that put and by the next one
settle
printf 'file 1 changed\n' >"$D/sub/f1.txt"
put -m four
check_eq "v4 written" v4 "$(head_of)"
printf 'file 2 changed\n' >"$D/sub/f2.txt"
put -m five
check_eq "v5 written" v5 "$(head_of)"
check_eq "f1.txt (changed < 2 s before v4) was read again" $((total - 2)) "$(not_read)"
check_true "v5 holds f1.txt" same_bytes sub/f1.txt
check_true "and f2.txt" same_bytes sub/f2.txt

# --- nothing changed: nothing to commit
settle
put -m same
check_eq "unchanged DIR: exit 0" 0 $?
check_grep "unchanged DIR: nothing to commit" "nothing to commit" "$tmp/out"

# --- --rehash reads every file
printf 'alpha again\n' >"$D/a.txt"
put -m six --rehash
check_eq "put --rehash succeeds" 0 $?
check_eq "put --rehash reads every file" "" "$(not_read)"
check_true "v6 holds a.txt" same_bytes a.txt

# --- a damaged cache is not used (and the put is right)
settle
python3 - "$cache" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x55
open(p, "wb").write(bytes(b))
PY
printf 'alpha, third\n' >"$D/a.txt"
put -m seven
check_eq "put over a damaged cache succeeds" 0 $?
check_eq "and reads every file" "" "$(not_read)"
check_true "v7 holds a.txt" same_bytes a.txt
: >"$cache"
printf 'alpha, fourth\n' >"$D/a.txt"
put -m eight
check_eq "put over an empty cache file succeeds" 0 $?
check_eq "and reads every file" "" "$(not_read)"

# --- content the cache knows but the object does not: a put that is reverted still saves the
# cache (the digests hold); the next put must read and store the file, not just name it
printf 'new content\n' >"$D/new.txt"
settle
OCFLFS_TEST_FAIL_STEP=1:100 "$OCFLFS" put "$R" "$ID" "$D" -m nine >/dev/null 2>"$tmp/err"
check_eq "a put with a persistent fault fails" 1 $?
check_eq "and leaves the head at v8" v8 "$(head_of)"
put -m nine
check_eq "the next put succeeds" 0 $?
check_grep "new.txt is added" "1 added, 0 modified, 0 removed" "$tmp/out"
check_eq "new.txt was read although the cache knows it" $((total)) "$(not_read)"
check_true "v9 stores new.txt's bytes" same_bytes new.txt
"$OCFLFS" validate "$R/$objpath" >/dev/null 2>&1
check_eq "the object is valid" 0 $?

# --- a file that became a symbolic link is refused, cache or not
ln -sf a.txt "$D/b.txt"
put -m ten
check_eq "a symlink in DIR is refused" 1 $?
check_grep "and named" "b.txt" "$tmp/err"
check_eq "the head stays v9" v9 "$(head_of)"

# --- (not the cache, but also staging) scratch/ is the top of a hierarchy for ext4's Orlov
# allocator (chattr +T), where the file system has such flags at all
if flags=$(lsattr -d "$R/extensions/ocflfs/scratch" 2>/dev/null); then
    check_true "scratch/ has the T flag" grep -q T <<<"${flags%% *}"
fi

done_testing
