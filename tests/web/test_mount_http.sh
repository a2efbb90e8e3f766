#!/usr/bin/env bash
# test_mount_http.sh: the web view of a running mount (`-o http=ADDR`, issue 19): it serves
# while the mount does (here on a Unix socket), lists from the mount's object index, shows a
# commit made through the mount as a plan and a version, never serves what is only staged,
# and goes (its socket removed) with the unmount.  A bad address stops the mount at start.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/common/listing.sh"

tmp=$(mktemp -d)
M=$tmp/mnt
cleanup() {
    mountpoint -q "$M" 2>/dev/null && { "$OCFLFS" umount "$M" >/dev/null 2>&1 || umount -l "$M"; }
    rm -rf "$tmp"
}
trap cleanup EXIT
R=$tmp/root
S=$tmp/web.sock
mkdir -p "$tmp/d" "$M"
echo one >"$tmp/d/a.txt"
"$OCFLFS" init "$R" >/dev/null || exit 1
"$OCFLFS" put "$R" "obj/1" "$tmp/d" -m "first" --user Tester >/dev/null || exit 1
get() { curl -s --unix-socket "$S" "http://ocflfs/$1"; }
code() { curl -s -o /dev/null -w '%{http_code}' --unix-socket "$S" "http://ocflfs/$1"; }

"$OCFLFS" mount "$R" "$M" -o "http=unix:$S" >"$tmp/mount.out" 2>&1
check_eq "the mount with -o http=unix:PATH starts" 0 $?
wait_listing "$M"
check_true "its web view listens on the socket" test -S "$S"
check_eq "the repository page answers" 200 "$(code "")"
for _ in $(seq 600); do
    get "api/objects" | grep -q '"listing": "index"' && break
    sleep 0.1
done
check_grep "it lists from the mount's object index" '"listing": "index"' <(get "api/objects")
check_grep "with the object" '"id": "obj/1"' <(get "api/objects")

obj=$M/obj%2F1
echo staged >"$obj/staged.txt"
check_eq "a file only staged is no file of the object's versions" 404 \
    "$(code "file?id=obj%2F1&path=staged.txt")"
check_eq "nor downloadable" 404 "$(code "raw?id=obj%2F1&path=staged.txt")"
echo "add staged.txt" >"$obj/.ocfl/commit"
check_eq "the commit through the mount" 0 $?
check_grep "the web view shows the new head" '"head": "v2"' <(get "api/log?id=obj%2F1")
get "api/objects" >"$tmp/objects.json"
check_grep "the repository page too (the inventory is looked at, not only the index)" \
    '"head": "v2"' "$tmp/objects.json"
check_grep "with the object's two files" '"files": 2' "$tmp/objects.json"
get "raw?id=obj%2F1&path=staged.txt" >"$tmp/got"
check_eq "the committed file is served" staged "$(cat "$tmp/got")"
get "api/plans" >"$tmp/w.json"
"$OCFLFS" plans "$R" --all --json >"$tmp/c.json"
check_eq "its plans are plans --json's" \
    "$(python3 -c 'import json,sys; print([(p["id"], p["state"], p["message"]) for p in json.load(open(sys.argv[1]))["plans"]])' "$tmp/c.json")" \
    "$(python3 -c 'import json,sys; print([(p["id"], p["state"], p["message"]) for p in json.load(open(sys.argv[1]))["plans"]])' "$tmp/w.json")"
check_eq "a plan's page" 200 "$(code "plan?id=2")"

"$OCFLFS" umount "$M" >/dev/null 2>&1
check_eq "umount" 0 $?
check_true "the socket goes with the mount" test ! -e "$S"

check_eq "the background mount said where its web view is, once" 1 \
    "$(grep -c "web view of .* at unix:$S" "$tmp/mount.out")"

# any address, in the background: the URL and the warning on stderr before the parent exits
"$OCFLFS" mount "$R" "$M" -o "http=0.0.0.0:0" 2>"$tmp/any.err" >/dev/null
check_eq "a background mount with -o http=0.0.0.0:0 starts" 0 $?
check_eq "it says its URL once" 1 "$(grep -c 'web view of .* at http://0.0.0.0:[0-9]*/' "$tmp/any.err")"
check_eq "and that other hosts can reach it, once" 1 "$(grep -c 'reachable from other hosts' "$tmp/any.err")"
"$OCFLFS" umount "$M" >/dev/null 2>&1
check_eq "umount" 0 $?

# in the foreground: said once too
"$OCFLFS" mount "$R" "$M" --foreground -o "http=127.0.0.1:0" 2>"$tmp/fg.err" >/dev/null &
fg=$!
for _ in $(seq 600); do grep -q 'web view of' "$tmp/fg.err" && break; sleep 0.1; done
wait_listing "$M"
check_eq "a foreground mount says its URL once" 1 "$(grep -c 'http://127.0.0.1:' "$tmp/fg.err")"
check_eq "and no remote warning on loopback" 0 "$(grep -c 'reachable from other hosts' "$tmp/fg.err")"
"$OCFLFS" umount "$M" >/dev/null 2>&1
wait $fg
check_eq "the foreground mount ends with 0 at umount" 0 $?

"$OCFLFS" mount "$R" "$M" -o "http=not-an-address:x" >"$tmp/bad.out" 2>&1
check_eq "a bad -o http address stops the mount" 1 $?
check_grep "naming it" "not-an-address:x" "$tmp/bad.out"
check_true "nothing is mounted" bash -c "! mountpoint -q '$M'"
done_testing
