#!/usr/bin/env bash
# test_shared_requests.sh: commit requests are checked before anything is written (issue 13):
# each malformed request is refused with EINVAL and a message naming the field, shown in
# .ocfl/commit (which always holds the latest outcome, failures included); a version is never
# written without a message and a user (a mount without --user signs with the passwd name);
# put and the mount's own options are checked the same way.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"

root="$WORK/root"
mnt="$WORK/mnt"
make_root "$root"
start_mount "$root" "$mnt" || tap_result 0 "mount without --user" "$(cat "$mnt.log")"
mkdir "$mnt/obj"
echo data >"$mnt/obj/f.txt"

error_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("error"))' "$mnt/obj/.ocfl/commit"; }
# request | what the error must name
while IFS='|' read -r req want; do
    [[ -z $req ]] && continue
    out=$(setfattr -n user.ocfl.commit -v "$req" "$mnt/obj" 2>&1)
    rc=$?
    why=$(error_of)
    tap_result $([[ $rc != 0 && $out == *"Invalid argument"* && $why == *"$want"* ]] && echo 1 || echo 0) \
        "refused with EINVAL: $req" "setfattr: $out; .ocfl/commit: $why"
done <<'EOF'
{"msg": "x"}|msg: unknown key
{"message": "x", "user": "J Doe"}|user: must be an object
{"message": "x", "user": {"name": "J Doe", "email": "j@x"}}|user.email: unknown key
{"message": "x", "user": {"address": "mailto:j@x"}}|user.name: missing
{"message": "x", "user": {"name": ""}}|user.name: a version needs
{"message": "x", "user": {"name": "J", "address": "not a uri"}}|user.address: 'not a uri' is not a URI
{"message": "x", "user": {"name": "J", "address": 7}}|user.address: must be a string
{"message": ""}|message: a version needs a message
{"message": "   "}|message: a version needs a message
{"message": 3}|message: must be a string
{"rebase": true}|message: missing
{"message": "x", "rebase": "yes"}|rebase: must be true or false
{"message": "x", "message": "y"}|not valid JSON
{"message": "x"|not valid JSON
EOF
check_true "nothing was committed" test ! -e "$root/obj/inventory.json"
out=$( (printf '\n' >"$mnt/obj/.ocfl/commit") 2>&1)
check_true "an empty control-file write is refused ($out)" grep -q "Invalid argument" <<<"$out"
check_eq ".ocfl/commit shows that latest failure" "message: a version needs a message (it is empty)" "$(error_of)"

# a valid request: a version with the message, signed by the mounting user's passwd name
setfattr -n user.ocfl.commit -v "first" "$mnt/obj"
tap_result $(($? == 0)) "a plain-text request commits" "$(cat "$mnt/obj/.ocfl/commit")"
who=$(python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["versions"]["v1"]; print(v["message"], "/", v["user"]["name"])' "$root/obj/inventory.json")
check_eq "without --user the version names the mounting user as passwd has them" \
    "first / $(getent passwd "$(id -u)" | cut -d: -f5 | cut -d, -f1 | grep . || id -un)" "$who"
# nothing staged: its own errno, and the reason
out=$(setfattr -n user.ocfl.commit -v "again" "$mnt/obj" 2>&1)
check_true "nothing staged: ENODATA ($out)" grep -q "No such attribute\|No data available" <<<"$out"
check_true "and .ocfl/commit says so" grep -q "nothing to commit" "$mnt/obj/.ocfl/commit"
# the mounting user may name the user, with an address or without (never one from elsewhere)
echo more >>"$mnt/obj/f.txt"
setfattr -n user.ocfl.commit -v '{"message": "named", "user": {"name": "J Doe"}}' "$mnt/obj"
check_eq "a request naming a user names the whole user (no address from elsewhere)" "{'name': 'J Doe'}" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["versions"]["v2"]["user"])' "$root/obj/inventory.json")"
stop_mount "$mnt"
out=$("$OCFLFS" validate "$root/obj" 2>&1)
tap_result $(($? == 0)) "the object validates" "$out"
check_true "with no W007 (every version has a user)" test "${out#*W007}" = "$out"

# the mount's own options
out=$("$OCFLFS" mount "$root" "$mnt" --user "A" --address "not a uri" 2>&1)
check_eq "mount --address that is not a URI: a usage error" "2 yes" \
    "$? $(grep -q "not a URI" <<<"$out" && echo yes)"
out=$("$OCFLFS" mount "$root" "$mnt" --address-template 'no scheme {login}' 2>&1)
check_eq "an address template that makes no URI: a usage error" "2 yes" \
    "$? $(grep -q "does not make a URI" <<<"$out" && echo yes)"
echo '{"jdoe": {"name": ""}}' >"$WORK/bad-map.json"
out=$("$OCFLFS" mount "$root" "$mnt" --user-map "$WORK/bad-map.json" 2>&1)
check_eq "a user map with a login without a name: refused, naming the file and login" "1 yes" \
    "$? $(grep -q "bad-map.json': login 'jdoe' has no name" <<<"$out" && echo yes)"
out=$("$OCFLFS" mount "$root" "$mnt" -o commit_group=no-such-group-here 2>&1)
check_eq "an unknown commit group: refused" "1 yes" "$? $(grep -q "no such group" <<<"$out" && echo yes)"
check_true "and none of them mounted" test -z "$(awk -v m="$mnt" '$2 == m' /proc/mounts)"

# put checks the same way
mkdir -p "$WORK/src" && echo p >"$WORK/src/p.txt"
for args in '-m ""|message: a version needs a message' \
    '-m "   "|message: a version needs a message' \
    '-m x --user ""|user.name: a version needs' \
    '-m x --user J --address "not a uri"|user.address: '"'"'not a uri'"'"' is not a URI'; do
    a=${args%%|*} want=${args#*|}
    out=$(eval "\"\$OCFLFS\" put \"\$root\" put-obj \"\$WORK/src\" $a" 2>&1)
    rc=$?
    tap_result $([[ $rc == 2 && $out == *"$want"* ]] && echo 1 || echo 0) "put $a: refused" "rc $rc: $out"
done
check_true "and nothing was written" test ! -e "$root/put-obj"
out=$("$OCFLFS" put "$root" put-obj "$WORK/src" -m "by put" 2>&1)
tap_result $(($? == 0)) "put without --user" "$out"
check_eq "names the user who ran it" "$(getent passwd "$(id -u)" | cut -d: -f5 | cut -d, -f1 | grep . || id -un)" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["versions"]["v1"]["user"]["name"])' "$root/put-obj/inventory.json")"
done_testing
