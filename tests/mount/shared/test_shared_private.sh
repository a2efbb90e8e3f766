#!/usr/bin/env bash
# test_shared_private.sh: the state directory (staged bytes and names) is the mounting user's
# alone: 0700 with its files 0600, made so from the start (mount and put), and put right at
# mount where an older ocflfs left it wider; another local user can read none of it.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"

root="$WORK/root"
mnt="$WORK/mnt"
make_root "$root"
state="$root/extensions/ocflfs" # the default state directory
start_mount "$root" "$mnt" --user "P Tester" --address mailto:p@example.org ||
    tap_result 0 "mount" "$(cat "$mnt.log")"
mkdir "$mnt/obj"
echo "a staged secret" >"$mnt/obj/secret.txt"
sync "$mnt/obj/secret.txt"
modes() { # every entry of the state directory whose mode lets anyone else in (config.json
    # is the storage root's public declaration of the extension directory)
    find "$state" \( -perm /077 \) ! -name config.json -printf '%m %P\n' | sort
}
check_eq "the state directory, database, WAL, lock and scratch: nothing open to others" "" "$(modes)"
check_eq "the state directory is 0700" 700 "$(stat -c %a "$state")"
check_eq "the database and its WAL are 0600" "600 600" \
    "$(stat -c %a "$state/ocflfs.db") $(stat -c %a "$state/ocflfs.db-wal")"
# another user finds nothing to read
if id nobody >/dev/null 2>&1; then
    out=$(su nobody -s /bin/sh -c "cat '$state/ocflfs.db' '$(find "$state/scratch" -type f | head -1)'" 2>&1)
    check_true "user nobody cannot read the database or a scratch file (${out//$'\n'/; })" test -n "$out"
    check_true "and got no bytes of the staged file" test "${out#*staged secret}" = "$out"
fi
stop_mount "$mnt"

# an older ocflfs left the directory, its database, WAL and lock world-readable (the files below
# scratch/ were always 0600, and a private directory keeps them private): the next mount puts
# it right
chmod 755 "$state" "$state/scratch"
chmod 644 "$state"/ocflfs.*
start_mount "$root" "$mnt" || tap_result 0 "remount" "$(cat "$mnt.log")"
check_eq "a mount makes a wider state directory private again" "" "$(modes)"
check_eq "and the staged file is still there" "a staged secret" "$(cat "$mnt/obj/secret.txt")"
stop_mount "$mnt"

# put with its own state directory: private from the start
mkdir -p "$WORK/src" && echo data >"$WORK/src/f.txt"
"$OCFLFS" put "$root" put-obj "$WORK/src" -m "by put" --user P --address mailto:p@example.org \
    --state "$WORK/put-state" >/dev/null 2>&1
check_eq "put's state directory: nothing open to others" "" \
    "$(find "$WORK/put-state" \( -perm /077 \) -printf '%m %P\n')"
check_eq "the storage root itself stays readable (0755)" 755 "$(stat -c %a "$root/extensions")"
done_testing
