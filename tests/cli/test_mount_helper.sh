#!/usr/bin/env bash
# test_mount_helper.sh: ocflfs mounted the way a service is (issue 14): `mount -t fuse.ocflfs`
# and an fstab line (through mount.fuse3, which runs `ocflfs ROOT MOUNTPOINT -o OPTS`), every
# ocflfs option as -o; `ocflfs umount` waits for a running commit, then unmounts; the log;
# status and discard of staged changes without a mount.  mount(8)
# runs helpers with a fixed PATH: the binary under test is linked into /usr/local/sbin for
# the test (when nothing else is there) and the link removed after.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/cli/hostile_lib.sh"
need_root_mounts

LINK=/usr/local/sbin/ocflfs
made_link=0
if [[ ! -e $LINK ]]; then
    mkdir -p /usr/local/sbin && ln -s "$OCFLFS" "$LINK" && made_link=1
elif [[ $(realpath "$LINK") != $(realpath "$OCFLFS") ]]; then
    echo "Bail out! $LINK is another ocflfs than the one under test: mount(8) would run that"
    exit 1
fi
for other in /usr/local/bin/ocflfs /usr/sbin/ocflfs /usr/bin/ocflfs /sbin/ocflfs /bin/ocflfs; do
    if [[ -e $other && $(realpath "$other") != $(realpath "$OCFLFS") ]]; then
        echo "Bail out! $other (installed) may be what mount(8) runs: uninstall it to test this build"
        exit 1
    fi
done
trap '((made_link)) && rm -f "$LINK"; hostile_cleanup' EXIT
R=$HT/root
M=$HT/mnt
mkdir -p "$M"
"$OCFLFS" init "$R" >/dev/null || exit 1

out=$(mount -t fuse.ocflfs "$R" "$M" \
    -o 'committer=Service User,committer_address=mailto:svc@example.org,allow_other,state='"$HT/state" 2>&1)
tap_result $(($? == 0)) "mount -t fuse.ocflfs with ocflfs's options as -o" "$out"
check_true "it is mounted, as fuse.ocflfs" grep -q " $M fuse.ocflfs " /proc/mounts
mkdir "$M/obj" && echo one >"$M/obj/a.txt" && setfattr -n user.ocfl.commit -v "by mount -t" "$M/obj"
INV=$R/$(objdir_of "$R")/inventory.json
check_eq "a commit through it names the committer given as -o" "Service User <mailto:svc@example.org>" \
    "$(json "$INV" 'd["versions"]["v1"]["user"]["name"] + " <" + d["versions"]["v1"]["user"]["address"] + ">"' 2>&1)"
check_true "the state went where -o state= said" test -e "$HT/state/ocflfs.db"

# ocflfs umount waits for a commit that runs
head -c $((256 << 20)) /dev/urandom >"$M/obj/big.bin"
setfattr -n user.ocfl.commit -v "big, then umount" "$M/obj" & commit=$!
# on its way for sure before the stop (no guess of how fast this machine is): the object
# reports it committing, or it is already done
until [[ $(json "$M/obj/.ocfl/status" 'd["committing"]' 2>/dev/null) == True ]] ||
    ! kill -0 $commit 2>/dev/null; do sleep 0.05; done
out=$("$OCFLFS" umount "$M" 2>&1)
tap_result $(($? == 0)) "ocflfs umount" "$out"
wait $commit
check_eq "the commit running meanwhile succeeded" 0 $?
check_true "nothing is mounted there any more" test -z "$(awk -v m="$M" '$2 == m' /proc/mounts)"
check_eq "and its version is complete" "v2" "$(json "$INV" 'd["head"]' 2>&1)"
out=$("$OCFLFS" validate "$(dirname "$INV")" 2>&1)
tap_result $(($? == 0)) "the object validates" "$out"
out=$("$OCFLFS" umount "$M" 2>&1)
check_eq "ocflfs umount of what is not mounted: exit 1, saying so" "1 yes" \
    "$? $(grep -q "not mounted" <<<"$out" && echo yes)"

# an fstab line (an alternative fstab file: mount -T)
printf '%s %s fuse.ocflfs noauto,committer=Fstab\\040User,state=%s 0 0\n' "$R" "$M" "$HT/state" >"$HT/fstab"
out=$(mount -T "$HT/fstab" "$M" 2>&1)
tap_result $(($? == 0)) "mount of an fstab line of type fuse.ocflfs" "$out"
echo two >"$M/obj/b.txt" && setfattr -n user.ocfl.commit -v "by fstab" "$M/obj"
check_eq "signed by the fstab line's committer" "Fstab User" \
    "$(json "$INV" 'd["versions"]["v3"]["user"]["name"]' 2>&1)"
out=$(umount "$M" 2>&1)
tap_result $(($? == 0)) "umount(8) of it" "$out"
# umount(8) returns before the daemon has let go of its state directory: wait for that
for _ in $(seq 100); do flock -n "$HT/state/ocflfs.lock" true && break; sleep 0.1; done

# the daemon's log in a file of the user's choice (-o log= as well as --log)
out=$(mount -t fuse.ocflfs "$R" "$M" -o "state=$HT/state,log=$HT/daemon.log" 2>&1)
tap_result $(($? == 0)) "mount -t with -o log=FILE" "$out"
setfattr -n user.ocfl.commit -v '{"mesage": "typo"}' "$M/obj" 2>/dev/null
"$OCFLFS" umount "$M" >/dev/null 2>&1
check_grep "a refused commit is in that log, with the object and the reason" \
    "commit of object 'obj' by uid 0 refused: mesage: unknown key" "$HT/daemon.log"
check_eq "the log is the mounting user's alone" 600 "$(stat -c %a "$HT/daemon.log")"

# staged changes seen and dropped without a mount
"$OCFLFS" mount "$R" "$M" --state "$HT/state" >/dev/null 2>&1 && wait_listing "$M"
echo staged >"$M/obj/staged.txt"
check_eq "status ROOT lists the object with staged changes, while mounted" "obj" \
    "$("$OCFLFS" status "$R" --state "$HT/state" --json | python3 -c 'import json,sys; print(" ".join(o["object"] for o in json.load(sys.stdin)["staged"]))')"
check_eq "status ROOT ID: what is staged" "staged.txt" \
    "$("$OCFLFS" status "$R" obj --state "$HT/state" | python3 -c 'import json,sys; print(" ".join(a["path"] for a in json.load(sys.stdin)["added"]))')"
"$OCFLFS" discard "$R" obj --state "$HT/state" >/dev/null 2>"$HT/err"
check_eq "discard while the mount runs: refused, naming it" "1 yes" \
    "$? $(grep -q "mount on $M" "$HT/err" && echo yes)"
"$OCFLFS" umount "$M" >/dev/null 2>&1
out=$("$OCFLFS" discard "$R" obj --state "$HT/state" 2>&1)
tap_result $(($? == 0)) "discard once unmounted (umount waited for the daemon to go)" "$out"
check_eq "nothing staged any more" "nothing staged" "$("$OCFLFS" status "$R" --state "$HT/state")"
"$OCFLFS" mount "$R" "$M" --state "$HT/state" >/dev/null 2>&1 && wait_listing "$M"
check_true "and the next mount has no staged file" test ! -e "$M/obj/staged.txt"
"$OCFLFS" umount "$M" >/dev/null 2>&1
done_testing
