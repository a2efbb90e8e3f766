#!/usr/bin/env bash
# test_errors.sh: an object that fails to load gives EIO and a log line naming it, while its
# neighbours read fine; a content path through a symlink out of the object is never opened.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"

G="$OCFL_SHARED/ocfl/fixtures/1.1/good-objects"
root="$WORK/root"
mnt="$WORK/mnt"
make_root "$root"
cp -r "$G/spec-ex-full" "$root/good"                  # ark:/12345/bcd987
cp -r "$G/updates_all_actions" "$root/corrupt"        # info:bb123cd4567
cp -r "$G/minimal_mixed_digests" "$root/missing"      # http://example.org/minimal_mixed_digests
cp -r "$G/updates_three_versions_one_file" "$root/hostile" # uri:something451
# corrupt: the inventory no longer matches its sidecar
sed -i 's/First version/First versioN/' "$root/corrupt/inventory.json"
# missing: one content file is gone
rm "$root/missing/v1/content/a_file.txt"
# hostile: a content file replaced by a symlink that leads out of the object
echo "secret outside the object" >"$WORK/outside.txt"
hfile=$(find "$root/hostile/v3/content" -type f | head -1)
rm "$hfile"
ln -s "$WORK/outside.txt" "$hfile"

start_mount "$root" "$mnt" --state "$WORK/state" || tap_result 0 "mounts" "$(cat "$mnt.log")"
log="$mnt.log"

check_eq "all four objects are listed" 4 "$(ls "$mnt" | wc -l)"
ls "$mnt/info:bb123cd4567" >/dev/null 2>"$WORK/err"
check_grep "corrupt object: its directory gives EIO" "Input/output error" "$WORK/err"
check_grep "corrupt object: log line names the object" "info:bb123cd4567" "$log"
check_grep "corrupt object: log line says why" "inventory.json" "$log"
check_eq "good neighbour reads fine" "$(cat "$root/good/v2/content/foo/bar.xml" | sha256sum)" \
    "$(cat "$mnt/ark:%2F12345%2Fbcd987/foo/bar.xml" | sha256sum)"
check_grep "mount status lists the failed object" '"id": "info:bb123cd4567"' "$mnt/.ocfl/status"

m="$mnt/http:%2F%2Fexample.org%2Fminimal_mixed_digests"
cat "$m/a_file.txt" >/dev/null 2>"$WORK/err2"
check_grep "missing content file: EIO on that file" "Input/output error" "$WORK/err2"
check_grep "missing content file: log line names object and path" "a_file.txt" "$log"

h="$mnt/uri:something451/a_file.txt"
if out=$(cat "$h" 2>"$WORK/err3"); then :; fi
check_true "symlinked content is not served" test "$out" != "secret outside the object"
check_grep "symlinked content: EIO" "Input/output error" "$WORK/err3"
check_eq "older version of the hostile object still reads" "Hello! I am " \
    "$(cat "$mnt/uri:something451/.ocfl/versions/v1/a_file.txt" | head -c 12)"

# repairing the object outside the mount makes it readable again (reloaded on access)
cp "$G/updates_all_actions/inventory.json" "$root/corrupt/inventory.json"
sleep 2.2
check_true "repaired object reads after reload" \
    cmp -s "$mnt/info:bb123cd4567/my_content/poe-nevermore.txt" \
    "$root/corrupt/v3/content/my_content/poe-nevermore.txt"
check_true "the daemon is still serving" mountpoint -q "$mnt"
stop_mount "$mnt"
check_eq "daemon exits 0" 0 $?
done_testing
