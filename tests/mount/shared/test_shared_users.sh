#!/usr/bin/env bash
# test_shared_users.sh: one storage root mounted for several local users (issue 13), with users
# made here (useradd): -o allow_other brings default_permissions, so the kernel checks every
# access against the modes and owners the mount shows; staged entries belong to whoever made
# them; a version names the user who committed it (passwd's full name and the address
# template, or the user map), and nobody else may sign for them; -o commit_group keeps
# commits and discards to its members, with the reason in .ocfl/commit; the root's status is
# not for everyone.  Needs root (useradd, su).
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"

if [[ $(id -u) != 0 ]] || ! command -v useradd >/dev/null; then
    echo "Bail out! needs root and useradd (shadow's passwd tools)"
    exit 1
fi
G=ocfltg$$
ANN=ocflann$$ BOB=ocflbob$$ EVE=ocfleve$$
drop_users() {
    for u in $ANN $BOB $EVE; do userdel "$u" >/dev/null 2>&1; done
    groupdel $G >/dev/null 2>&1
}
trap 'drop_users; cleanup' EXIT
groupadd $G
useradd -M -N -g nogroup -G $G -c "Ann Archivist,Room 1" -s /bin/sh $ANN
useradd -M -N -g nogroup -G $G -c "" -s /bin/sh $BOB
useradd -M -N -g nogroup -c "Eve Outsider" -s /bin/sh $EVE
as() { local u=$1; shift; su "$u" -s /bin/sh -c "umask 022; $*" 2>&1; }

chmod 755 "$WORK" # the mount point is reached by other users
root="$WORK/root"
mnt="$WORK/mnt"
make_root "$root"
cat >"$WORK/users.json" <<EOF
{"$BOB": {"name": "Bob Builder", "address": "mailto:bob@example.org"}}
EOF
start_mount "$root" "$mnt" --user "Root Admin" --address mailto:root@example.org \
    --user-map "$WORK/users.json" --address-template 'mailto:{login}@example.org' \
    -o allow_other,commit_group=$G || tap_result 0 "mount" "$(cat "$mnt.log")"
opts=$(awk -v m="$mnt" '$2 == m { print $4 }' /proc/mounts)
check_true "allow_other brought default_permissions ($opts)" \
    grep -q "default_permissions" <<<"$opts"

# who may make objects: the root is 0775, owned by the mounting user and the commit group
check_eq "the root: 775, group $G" "775 $G" "$(stat -c '%a %G' "$mnt")"
out=$(as $EVE "mkdir '$mnt/eve-obj'")
check_true "a user outside the group cannot make an object (${out//$'\n'/; })" test ! -d "$mnt/eve-obj"
as $ANN "mkdir '$mnt/ann-obj' && echo 'by ann' >'$mnt/ann-obj/a.txt'" >/dev/null
check_eq "a member's new object and file are hers, with the modes asked for" \
    "$ANN 755 $ANN 644" "$(stat -c '%U %a' "$mnt/ann-obj") $(stat -c '%U %a' "$mnt/ann-obj/a.txt")"

# others cannot write, commit or discard her object (the kernel checks the modes shown)
out=$(as $EVE "echo x >'$mnt/ann-obj/e.txt'")
check_true "another user cannot write in it (${out//$'\n'/; })" test ! -e "$mnt/ann-obj/e.txt"
out=$(as $EVE "setfattr -n user.ocfl.commit -v 'eve was here' '$mnt/ann-obj'")
check_true "nor commit it by the xattr (${out//$'\n'/; })" grep -qi "denied\|not permitted" <<<"$out"
out=$(as $EVE "echo 'eve was here' >'$mnt/ann-obj/.ocfl/commit'")
check_true "nor by the control file (${out//$'\n'/; })" grep -qi "denied" <<<"$out"
out=$(as $BOB "echo 'bob was here' >'$mnt/ann-obj/.ocfl/discard'")
check_true "nor discard it, a member of the group either (${out//$'\n'/; })" grep -qi "denied" <<<"$out"
check_true "nothing was written to the storage root" test -z "$(find "$root" -name inventory.json)"
check_eq "her staged file is intact" "by ann" "$(cat "$mnt/ann-obj/a.txt")"

# she commits: the version names her (passwd's full name, the template's address)
out=$(as $ANN "setfattr -n user.ocfl.commit -v 'first by ann' '$mnt/ann-obj'")
tap_result $([[ -z $out ]] && echo 1 || echo 0) "she commits" "$out $(cat "$mnt/ann-obj/.ocfl/commit")"
user_of() { # user_of OBJ: the head version's user as "name <address>"
    python3 -c 'import json,sys
inv = json.load(open(sys.argv[1] + "/inventory.json"))
u = inv["versions"][inv["head"]].get("user", {})
print("%s <%s>" % (u.get("name"), u.get("address")))' "$root/$1" # flat layout: the id is the path
}
check_eq "v1 is signed by Ann" "Ann Archivist <mailto:$ANN@example.org>" "$(user_of ann-obj)"
check_grep "the log says who committed, the plan and the version" "by uid $(id -u $ANN) ($ANN, signed 'Ann Archivist'): plan 1, v1" "$mnt.log"

# nobody signs for someone else, unless the mount allows it
as $ANN "echo more >>'$mnt/ann-obj/a.txt'" >/dev/null
out=$(as $ANN "setfattr -n user.ocfl.commit -v '{\"message\": \"x\", \"user\": {\"name\": \"Mallory\"}}' '$mnt/ann-obj'")
check_true "a request naming another user is refused (${out//$'\n'/; })" grep -qi "denied" <<<"$out"
check_grep "and .ocfl/commit says why" "may not sign a version as someone else" "$mnt/ann-obj/.ocfl/commit"

# a user from the map file
as $BOB "mkdir '$mnt/bob-obj' && echo b >'$mnt/bob-obj/b.txt' && echo 'by bob' >'$mnt/bob-obj/.ocfl/commit'" >/dev/null
check_eq "a version by Bob: the user map's name and address" "Bob Builder <mailto:bob@example.org>" \
    "$(user_of bob-obj)"

# -o commit_group: a user outside the group may write where the modes allow, not commit
as $ANN "chmod 777 '$mnt/ann-obj'" >/dev/null
as $EVE "echo 'by eve' >'$mnt/ann-obj/e.txt'" >/dev/null
check_eq "with the object made 0777, Eve writes a file, which is hers" "by eve $EVE" \
    "$(cat "$mnt/ann-obj/e.txt") $(stat -c %U "$mnt/ann-obj/e.txt")"
out=$(as $EVE "setfattr -n user.ocfl.commit -v 'eve commits' '$mnt/ann-obj'")
check_true "but she may not commit: EACCES (${out//$'\n'/; })" grep -qi "denied" <<<"$out"
check_grep "and .ocfl/commit names the group" "is not a member of group '$G'" "$mnt/ann-obj/.ocfl/commit"
out=$(as $EVE "setfattr -n user.ocfl.discard -v 1 '$mnt/ann-obj'")
check_true "nor discard (${out//$'\n'/; })" grep -qi "denied" <<<"$out"
check_eq "nothing was committed or dropped" "v1 by eve" \
    "$(head_of "$root/ann-obj") $(cat "$mnt/ann-obj/e.txt")"
as $ANN "setfattr -n user.ocfl.commit -v 'second by ann' '$mnt/ann-obj'" >/dev/null
check_eq "a member commits what was staged, signed as the member" "Ann Archivist <mailto:$ANN@example.org>" \
    "$(user_of ann-obj)"
check_eq "and the owners stay after the commit" "$ANN $EVE 777" \
    "$(stat -c %U "$mnt/ann-obj/a.txt") $(stat -c %U "$mnt/ann-obj/e.txt") $(stat -c %a "$mnt/ann-obj")"

# private objects and the root's status
as $ANN "mkdir -m 700 '$mnt/private' && echo s >'$mnt/private/secret.txt'" >/dev/null
out=$(as $EVE "ls '$mnt/private'; cat '$mnt/private/.ocfl/status'")
check_true "an object made 0700 is closed to others (${out//$'\n'/; })" grep -qi "denied" <<<"$out"
out=$(as $EVE "cat '$mnt/.ocfl/status'")
check_true "the root's status (every staged object) is not for users outside the group (${out//$'\n'/; })" \
    grep -qi "denied" <<<"$out"
check_true "a member reads it" as $ANN "cat '$mnt/.ocfl/status' >/dev/null"

# chown as a local file system allows it
out=$(as $ANN "chown $BOB '$mnt/private/secret.txt'")
check_true "a user cannot give a file away (${out//$'\n'/; })" grep -qi "not permitted" <<<"$out"
chown $BOB "$mnt/private/secret.txt"
check_eq "root can" "$BOB" "$(stat -c %U "$mnt/private/secret.txt")"
# what was kept stays with the right entry: a private directory emptied stays private and
# hers; an empty directory a commit dropped leaves nothing for a later one at that path; a new
# object removed before its first commit leaves nothing for the next object of that id
as $ANN "mkdir -m 700 '$mnt/ann-obj/priv' && echo p >'$mnt/ann-obj/priv/p.txt' && mkdir -m 777 '$mnt/ann-obj/hollow' && setfattr -n user.ocfl.commit -v third '$mnt/ann-obj'" >/dev/null
as $ANN "rm '$mnt/ann-obj/priv/p.txt'" >/dev/null
check_eq "an emptied private directory keeps its mode and owner" "700 $ANN" "$(stat -c '%a %U' "$mnt/ann-obj/priv")"
check_true "the empty directory was not committed" test ! -e "$mnt/ann-obj/hollow"
as $ANN "mkdir -m 700 '$mnt/gone-obj' && rmdir '$mnt/gone-obj'" >/dev/null
stop_mount "$mnt"
mkdir -p "$WORK/later/hollow" && echo x >"$WORK/later/hollow/x.txt"
"$OCFLFS" put "$root" gone-obj "$WORK/later" -m "another tool" --user T >/dev/null 2>&1
start_mount "$root" "$mnt" -o allow_other,commit_group=$G || tap_result 0 "remount" "$(cat "$mnt.log")"
check_eq "a removed new object left nothing: the next object of its id is the mounting user's" \
    "root 775" "$(stat -c '%U %a' "$mnt/gone-obj")"
stop_mount "$mnt"
tap_result $(($? == 0)) "unmount"
for o in ann-obj bob-obj; do
    out=$("$OCFLFS" validate "$root/$o" 2>&1)
    tap_result $(($? == 0)) "$o validates" "$out"
done
done_testing
