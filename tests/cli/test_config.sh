#!/usr/bin/env bash
# test_config.sh: settings a site sets once (issue 20): `ocflfs config` shows each key's value
# and where it came from; the system file, the user file, the root's file and options override
# one another in that order; a bad value is refused with its file, line and key; security-
# relevant keys only from the system file or the command line; a root's file only when its
# owner's and not writable by others; what the settings change: the signing user, init's
# layout and digest, a plan's retry policy (kept when resumed after the file changed), a
# mount's -o defaults.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"

T=$(mktemp -d)
MNT=()
cleanup() {
    local m
    for m in "${MNT[@]}"; do
        mountpoint -q "$m" 2>/dev/null && fusermount3 -u -z "$m" 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# the machine's own files play no part
export HOME=$T/home OCFLFS_SYSTEM_CONFIG=$T/etc/ocflfs.conf
unset XDG_CONFIG_HOME OCFLFS_TEST_RETRY_MS
USERF=$HOME/.config/ocflfs/config
mkdir -p "$HOME" "$T/etc" "$T/d"
echo one >"$T/d/a.txt"

# jq-free reads of the JSON: python3 is what the other tests use
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("/"): d=d[int(k)] if isinstance(d,list) else d[k]
print(d)' "$1"; }

# ---- defaults, and each source over the one before ----
out=$("$OCFLFS" config --json)
check_eq "no file: a key at its default" "100ms default" \
    "$(jget settings/retry.content.initial_interval/value <<<"$out") $(jget settings/retry.content.initial_interval/source <<<"$out")"
check_eq "config --json names the files it reads" "$OCFLFS_SYSTEM_CONFIG $USERF" \
    "$(jget files/system <<<"$out") $(jget files/user <<<"$out")"
"$OCFLFS" init "$T/r" >/dev/null || exit 1
check_true "config --system KEY VALUE" "$OCFLFS" config --system threads.content 2
check_eq "the system file's value" "2" "$("$OCFLFS" config threads.content)"
check_true "config KEY VALUE (the user file by default)" "$OCFLFS" config threads.content 3
check_true "config --user KEY VALUE" "$OCFLFS" config --user threads.hashing 5
check_eq "the user file over the system file" "3" "$("$OCFLFS" config threads.content)"
check_true "config --root ROOT KEY VALUE" "$OCFLFS" config --root "$T/r" threads.content 4
check_eq "the root's file over the user file (with --root)" "4" \
    "$("$OCFLFS" config --root "$T/r" threads.content)"
check_eq "without --root the root's file is not read" "3" "$("$OCFLFS" config threads.content)"
out=$("$OCFLFS" config --root "$T/r" --json)
check_eq "--json: the root's value, its source and its place" \
    "4 root $T/r/extensions/ocflfs/ocflfs.conf:2" \
    "$(jget settings/threads.content/value <<<"$out") $(jget settings/threads.content/source <<<"$out") $(jget settings/threads.content/where <<<"$out")"
check_eq "--json: a key only the root's file does not set comes from the user file" "5 user" \
    "$(jget settings/threads.hashing/value <<<"$out") $(jget settings/threads.hashing/source <<<"$out")"
out=$("$OCFLFS" config --root "$T/r")
check_grep "the text listing: key, value and where it came from" \
    "threads.content = 4  # root $T/r/extensions/ocflfs/ocflfs.conf:2" <(echo "$out")
check_grep "the text listing: a default says so" "init.digest = sha512  # default" <(echo "$out")
check_eq "the root's file as config wrote it" $'[threads]\ncontent = 4' \
    "$(cat "$T/r/extensions/ocflfs/ocflfs.conf")"
check_true "config of a path that is no storage root fails" \
    bash -c '! "$0" config --root "$1" threads.content 1 2>/dev/null' "$OCFLFS" "$T/d"

# ---- a root's file only when its owner's and nobody else may write it ----
chmod g+w "$T/r/extensions/ocflfs/ocflfs.conf"
out=$("$OCFLFS" config --root "$T/r" threads.content 2>"$T/err")
check_eq "a group-writable root file is not read" "3" "$out"
check_grep "... and a warning says why" "group- or world-writable: not read" "$T/err"
chmod g-w "$T/r/extensions/ocflfs/ocflfs.conf"
if [[ $(id -u) == 0 ]]; then
    chown nobody "$T/r/extensions/ocflfs/ocflfs.conf"
    out=$("$OCFLFS" config --root "$T/r" threads.content 2>"$T/err")
    check_eq "a root file someone else owns is not read" "3" "$out"
    check_grep "... and a warning says why" "is not owned by uid 0: not read" "$T/err"
    chown 0 "$T/r/extensions/ocflfs/ocflfs.conf"
fi

# ---- bad values refused with their place ----
printf '[threads]\ncontent = 3\n[retry.content]\nmaximum_attempts = zero\n' >"$USERF"
out=$("$OCFLFS" config 2>&1)
rc=$?
check_eq "a bad value in the user file: config fails" 1 $rc
check_grep "... naming the file, the line and the key" \
    "$USERF:4: 'retry.content.maximum_attempts': 'zero' is no count" <(echo "$out")
out=$("$OCFLFS" put "$T/r" obj "$T/d" -m one 2>&1)
check_eq "... and so does put, writing nothing" "1 no" "$? $([[ -e $T/r/extensions/ocflfs/ocflfs.db ]] && echo yes || echo no)"
check_grep "... with the same place" "$USERF:4:" <(echo "$out")
printf '[threads]\ncontnet = 3\n' >"$USERF"
check_grep "an unknown key is refused by name" "$USERF:2: 'threads.contnet': no such key" \
    <("$OCFLFS" config 2>&1)
: >"$USERF"
out=$("$OCFLFS" config retry.switch.backoff_coefficient 0.5 2>&1)
check_eq "config KEY VALUE with a bad value: a usage error" 2 $?
check_grep "... saying what is wanted" "'0.5' is no number from 1 to 100" <(echo "$out")
check_true "... and the file is left as it was" test ! -s "$USERF"

# ---- a FIFO (or any file not regular) at a config path: refused, not waited for ----
rm -f "$USERF" && mkfifo "$USERF"
out=$(timeout 20 "$OCFLFS" config threads.content 2>&1)
rc=$?
check_true "a FIFO as the user file: the command does not hang" test "$rc" != 124
check_grep "... and is refused with a message" "$USERF' is not a regular file" <(echo "$out")
out=$(timeout 20 "$OCFLFS" config threads.content 2 2>&1)
rc=$?
check_true "config KEY VALUE into a FIFO: no hang" test "$rc" != 124
check_grep "... refused" "$USERF' is not a regular file: not written" <(echo "$out")
rm -f "$USERF" && : >"$USERF"

# ---- what config KEY VALUE writes: modes kept, the umask's no part, links ----
"$OCFLFS" config threads.content 3 && chmod 600 "$USERF"
"$OCFLFS" config threads.hashing 4
check_eq "a 0600 user file stays 0600" 600 "$(stat -c %a "$USERF")"
: >"$USERF"
rm -f "$OCFLFS_SYSTEM_CONFIG"
(umask 077 && "$OCFLFS" config --system threads.content 2)
check_eq "under umask 077 a new system file is 0644 (every user reads it)" 644 \
    "$(stat -c %a "$OCFLFS_SYSTEM_CONFIG")"
rm -rf "$T/xdg"
(umask 077 && XDG_CONFIG_HOME=$T/xdg "$OCFLFS" config threads.content 2)
check_eq "... and the directories made for a user file 0755" 755 "$(stat -c %a "$T/xdg/ocflfs")"
mv "$USERF" "$T/real-config" && ln -s "$T/real-config" "$USERF"
"$OCFLFS" config threads.content 6
check_true "a symlinked user file stays a link" test -L "$USERF"
check_eq "... and its target gets the value" "6" "$("$OCFLFS" config threads.content)"
rm -f "$USERF" && : >"$USERF"
cp "$OCFLFS_SYSTEM_CONFIG" "$T/sys-target" && rm "$OCFLFS_SYSTEM_CONFIG" &&
    ln -s "$T/sys-target" "$OCFLFS_SYSTEM_CONFIG"
out=$("$OCFLFS" config --system threads.content 5 2>&1)
check_true "a symlinked system file: config --system refuses it" test $? != 0
check_grep "... saying so" "is a symbolic link: not written" <(echo "$out")
check_true "... and leaves the link and its target" \
    bash -c 'test -L "$0" && ! grep -q 5 "$1"' "$OCFLFS_SYSTEM_CONFIG" "$T/sys-target"
rm -f "$OCFLFS_SYSTEM_CONFIG" && mv "$T/sys-target" "$OCFLFS_SYSTEM_CONFIG"
"$OCFLFS" init "$T/rl" >/dev/null && mkdir -p "$T/elsewhere" &&
    rm -rf "$T/rl/extensions/ocflfs" && ln -s "$T/elsewhere" "$T/rl/extensions/ocflfs"
out=$("$OCFLFS" config --root "$T/rl" threads.content 2 2>&1)
check_true "a symlinked state directory: config --root refuses it" test $? != 0
check_grep "... saying so" "is a symbolic link: not written into" <(echo "$out")
check_true "... and writes nothing there" test ! -e "$T/elsewhere/ocflfs.conf"
# two writers at once of one file: neither update lost, no half-written file; a temporary
# file a killed writer left is removed by the next one
echo "[threads" >"$(dirname "$USERF")/.config.tmp-0123456789ab"
lost=0
for i in $(seq 1 15); do
    : >"$USERF"
    "$OCFLFS" config threads.content 7 &
    "$OCFLFS" config threads.hashing 8 &
    wait
    [[ $("$OCFLFS" config threads.content) == 7 && $("$OCFLFS" config threads.hashing) == 8 ]] ||
        lost=$((lost + 1))
done
check_eq "two writers in parallel, 15 times: both keys every time" 0 "$lost"
check_true "... and no temporary file is left" \
    bash -c '! ls -A "$0" | grep -q tmp' "$(dirname "$USERF")"
: >"$USERF"

# ---- security-relevant keys: the system file and the command line only ----
out=$("$OCFLFS" config mount.address_template 'mailto:{login}@example.org' 2>&1)
check_eq "address_template in the user file: refused" 2 $?
check_grep "... saying where it may be set" "taken only from the system file or the command line" <(echo "$out")
out=$("$OCFLFS" config --root "$T/r" mount.options ctl=.c,allow_other 2>&1)
check_eq "allow_other in a root's mount.options: refused" 2 $?
check_grep "... naming the option" "option 'allow_other' is taken only" <(echo "$out")
# FUSE un-escapes backslashes after ocflfs compared the names: none taken, from anywhere
out=$("$OCFLFS" config --system mount.options 'allow\_other' 2>&1)
check_eq "a backslash in the system file's mount.options: refused" 2 $?
check_grep "... naming the option" "option 'allow\\_other': a backslash is refused" <(echo "$out")
printf '[mount]\noptions = \\141llow_other\n' >"$USERF"
check_grep "an escaped allow_other written into the user file by hand: refused where it is" \
    "$USERF:2: 'mount.options': option '\\141llow_other': a backslash is refused" <("$OCFLFS" config 2>&1)
: >"$USERF"
mkdir -p "$T/mb"
MNT+=("$T/mb")
out=$("$OCFLFS" mount "$T/r" "$T/mb" -o 'ro,allow\_other' 2>&1)
check_eq "a backslash in the command line's -o: a usage error" 2 $?
check_grep "... naming the option" "option 'allow\\_other': a backslash is refused" <(echo "$out")
check_true "... and nothing is mounted" bash -c '! mountpoint -q "$0"' "$T/mb"
printf '[mount]\noptions = commit_group=staff\n' >"$USERF"
check_grep "commit_group written into the user file by hand: refused where it is" \
    "$USERF:2: 'mount.options': option 'commit_group' is taken only" <("$OCFLFS" config 2>&1)
: >"$USERF"
check_true "the system file may set them" "$OCFLFS" config --system mount.address_template 'mailto:{login}@example.org'
"$OCFLFS" config --system mount.address_template "" >/dev/null

# ---- the signing user ----
"$OCFLFS" config user.name "Cfg User" && "$OCFLFS" config user.address mailto:cfg@example.org
"$OCFLFS" put "$T/r" obj "$T/d" -m one >/dev/null 2>&1
out=$("$OCFLFS" log "$T/r" obj --json)
check_eq "put without --user signs as user.name and user.address" "Cfg User mailto:cfg@example.org" \
    "$(jget versions/0/user/name <<<"$out") $(jget versions/0/user/address <<<"$out")"
echo two >"$T/d/a.txt"
"$OCFLFS" put "$T/r" obj "$T/d" -m two --user "Cli User" >/dev/null 2>&1
out=$("$OCFLFS" log "$T/r" obj --json)
check_eq "--user overrides them, and takes no address of theirs" "Cli User None" \
    "$(jget versions/0/user/name <<<"$out") $(python3 -c 'import json,sys; print(json.load(sys.stdin)["versions"][0]["user"].get("address"))' <<<"$out")"

# ---- init's layout and digest ----
"$OCFLFS" config --system init.layout 0002-flat-direct-storage-layout
"$OCFLFS" config init.digest sha256
out=$("$OCFLFS" init "$T/r2")
check_grep "init takes the layout and digest of the settings" \
    "(layout 0002-flat-direct-storage-layout, digest sha256)" <(echo "$out")
check_grep "... and the root has that layout" "0002-flat-direct-storage-layout" "$T/r2/ocfl_layout.json"
out=$("$OCFLFS" init "$T/r3" --digest sha512)
check_grep "--digest overrides init.digest" "digest sha512)" <(echo "$out")

# ---- a plan's retry policy: recorded, shown, kept when resumed ----
"$OCFLFS" config retry.content.initial_interval 1ms
"$OCFLFS" config retry.content.maximum_attempts 2
# a new object's steps: 0 declare, 1 version-dirs, 2 content; its content fails 5 times
out=$(OCFLFS_TEST_FAIL_STEP=2:5 "$OCFLFS" put "$T/r" pol "$T/d" -m p 2>&1)
check_eq "a content step that keeps failing: the put fails" 1 $?
pj=$("$OCFLFS" plan "$T/r" 3 --json)
check_eq "... after the configured 2 attempts" "2 reverted" \
    "$(jget step_list/2/attempts <<<"$pj") $(jget state <<<"$pj")"
check_eq "plan --json shows the policy it ran under" "2 1 True" \
    "$(jget retry/content/maximum_attempts <<<"$pj") $(jget retry/content/initial_interval_ms <<<"$pj") $(jget retry_recorded <<<"$pj")"
check_grep "plan shows it too" "content   1ms, backoff 2, at most 30000ms, 2 attempts" \
    <("$OCFLFS" plan "$T/r" 3)
# killed before its content step under 4 attempts; resumed after the file says 1
"$OCFLFS" config retry.content.maximum_attempts 4
{ (OCFLFS_TEST_KILL_BEFORE_STEP=2 exec "$OCFLFS" put "$T/r" kept "$T/d" -m k >/dev/null); } 2>/dev/null
"$OCFLFS" config retry.content.maximum_attempts 1
out=$(OCFLFS_TEST_FAIL_STEP=2:3 "$OCFLFS" resume "$T/r" 4 2>&1)
check_eq "a plan resumed after the file changed keeps its own policy: done" 0 $?
pj=$("$OCFLFS" plan "$T/r" 4 --json)
check_eq "... its content step after 4 attempts (the file now allows 1)" "4 done 4" \
    "$(jget step_list/2/attempts <<<"$pj") $(jget state <<<"$pj") $(jget retry/content/maximum_attempts <<<"$pj")"

# ---- a mount's defaults: -o options per root, the command line over them ----
if [[ $(id -u) != 0 ]] || [[ ! -e /dev/fuse ]]; then
    tap_diag "no FUSE as this user: the mount part is skipped"
    done_testing
fi
: >"$USERF"
"$OCFLFS" config --system mount.options ctl=.sys,nonempty
"$OCFLFS" config --root "$T/r" mount.options ctl=.meta
out=$("$OCFLFS" config --root "$T/r" --json)
where=$(jget settings/mount.options/where <<<"$out")
check_eq "-o lists add up: the system file's, then the root's" "ctl=.sys,nonempty,ctl=.meta" \
    "$(jget settings/mount.options/value <<<"$out")"
check_true "... and their place names both files" \
    grep -Eq "^$OCFLFS_SYSTEM_CONFIG:[0-9]+, $T/r/extensions/ocflfs/ocflfs.conf:[0-9]+\$" <<<"$where"
"$OCFLFS" config --root "$T/r" user.name "Root File User"
mkdir -p "$T/m"
MNT+=("$T/m")
touch "$T/m/left-here"
out=$("$OCFLFS" mount "$T/r" "$T/m" 2>&1)
tap_result $(($? == 0)) "mount with the root's settings" "$out"
check_true "the root's mount.options apply (-o ctl=.meta)" test -f "$T/m/obj/.meta/status"
check_true "... over the system file's ctl=.sys" test ! -e "$T/m/obj/.sys/status"
check_true "... and with its nonempty (the mount point had a file)" mountpoint -q "$T/m"
echo three >"$T/m/obj/a.txt"
echo "through the mount" >"$T/m/obj/.meta/commit"
out=$("$OCFLFS" log "$T/r" obj --json)
check_eq "a commit signs as the root file's user.name" "Root File User" \
    "$(jget versions/0/user/name <<<"$out")"
check_eq "the mount's plans/N.json shows each plan's own policy" "4 5" \
    "$(jget retry/content/maximum_attempts <"$T/m/.meta/plans/4.json") $(jget retry/content/maximum_attempts <"$T/m/.meta/plans/5.json")"
"$OCFLFS" umount "$T/m" --ctl .meta >/dev/null 2>&1
# the daemon lets go of the state directory after the unmount: wait for its lock
flock -w 300 "$T/r/extensions/ocflfs/ocflfs.lock" true
out=$("$OCFLFS" mount "$T/r" "$T/m" -o ctl=.other 2>&1)
tap_result $(($? == 0)) "mount with -o ctl=.other" "$out"
check_true "the command line's -o overrides the root's" test -f "$T/m/obj/.other/status"
check_true "... and the root's value is gone" test ! -e "$T/m/obj/.meta/status"
"$OCFLFS" umount "$T/m" --ctl .other >/dev/null 2>&1
flock -w 300 "$T/r/extensions/ocflfs/ocflfs.lock" true
# the system file's address template names the mounting user when no user.name does
"$OCFLFS" config --root "$T/r" user.name ""
"$OCFLFS" config --system mount.address_template 'mailto:{login}@example.org'
out=$("$OCFLFS" mount "$T/r" "$T/m" 2>&1)
tap_result $(($? == 0)) "mount with the system file's address template" "$out"
echo four >"$T/m/obj/a.txt"
echo "templated" >"$T/m/obj/.meta/commit"
out=$("$OCFLFS" log "$T/r" obj --json)
check_eq "a commit's address made by mount.address_template" "mailto:$(id -un)@example.org" \
    "$(jget versions/0/user/address <<<"$out")"
"$OCFLFS" umount "$T/m" --ctl .meta >/dev/null 2>&1
flock -w 300 "$T/r/extensions/ocflfs/ocflfs.lock" true
done_testing
