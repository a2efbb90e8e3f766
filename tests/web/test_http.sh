#!/usr/bin/env bash
# test_http.sh: `ocflfs serve` at the HTTP level (issue 19): every page and its JSON twin, the
# JSON the same as the command line's --json, hostile URLs (encoded dots and slashes, NUL,
# overlong and non-UTF-8 escapes, ids a layout maps into the state directory, paths outside
# the version), downloads of committed bytes only (a damaged file is cut off, never served
# whole), slow clients that do not stall the others, a Unix socket, what a non-loopback
# address says, and nothing written into the root.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/web/serve_lib.sh"

tmp=$(mktemp -d)
trap 'serve_stop; rm -rf "$tmp"' EXIT
R=$tmp/root
mkdir -p "$tmp/d/sub"
echo hello >"$tmp/d/a.txt"
printf 'one\ntwo\nthree\n' >"$tmp/d/sub/b.txt"
head -c 100000 /dev/urandom >"$tmp/d/data.bin"
"$OCFLFS" init "$R" >/dev/null || exit 1
"$OCFLFS" put "$R" "obj/1" "$tmp/d" -m "first version" --user "Ada Lovelace" \
    --address mailto:ada@example.org >/dev/null || exit 1
printf 'one\nTWO\nthree\nfour\n' >"$tmp/d/sub/b.txt"
mv "$tmp/d/a.txt" "$tmp/d/c.txt"
echo '<script>alert(1)</script>' >"$tmp/d/x.html"
"$OCFLFS" put "$R" "obj/1" "$tmp/d" -m "second <b>version</b>" --user "Bob" >/dev/null || exit 1
"$OCFLFS" put "$R" "other" "$tmp/d" -m "another object" --user "Bob" >/dev/null || exit 1

# SQLite's -shm and -wal beside ocflfs.db are made by any reader (`ocflfs plans` too) when no
# process has them: the one thing a reader adds, in the state directory
snapshot() {
    find "$1" -printf '%P %s %T@ %m\n' | grep -Ev '^extensions/ocflfs(/ocflfs.db-(shm|wal))? ' | sort
}
snapshot "$R" >"$tmp/before"

serve_start "$tmp/serve.out" "$R" --listen 127.0.0.1:0
check_true "serve starts and says where it listens" test -n "$URL"
check_grep "it listens on loopback by default and says so" "http://127.0.0.1:" "$tmp/serve.out"
if ! grep -q '"listing": "walk"' <(for _ in $(seq 600); do
    curl -s "${URL}api/objects" | grep -q '"building": false' && curl -s "${URL}api/objects" && break
    sleep 0.1
done); then
    tap_result 0 "the listing is built from a walk (no index: never mounted)" "$(curl -s "${URL}api/objects")"
else
    tap_result 1 "the listing is built from a walk (no index: never mounted)"
fi

# every page answers with HTML, its JSON twin with JSON
for page in "" "object?id=obj%2F1" "object?id=obj%2F1&v=v1" "file?id=obj%2F1&path=sub%2Fb.txt" \
    "file?id=obj%2F1&v=1&path=a.txt" "diff?id=obj%2F1" "diff?id=obj%2F1&from=1&to=2" \
    "log?id=obj%2F1&path=sub%2Fb.txt" "plans" "plan?id=1"; do
    check_eq "GET /$page is 200" 200 "$(http_code "$page")"
    api=${page:-objects}
    check_eq "GET /api/$api is 200 JSON" "200 application/json" \
        "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "${URL}api/$api")"
done

# the JSON has the command line's names and values
jsame() { # jsame DESCRIPTION CLI-JSON-FILE WEB-JSON-FILE [KEY]: every member of the CLI's doc
    # (or of its KEY) equal in the web's
    if python3 - "$2" "$3" "${4:-}" <<'PY'; then tap_result 1 "$1"; else tap_result 0 "$1" "$(cat "$tmp/jdiff")"; fi
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
key = sys.argv[3]
if key:
    a, b = a[key], b[key]
def sub(x, y, where):
    if isinstance(x, dict):
        if not isinstance(y, dict):
            return [where + ": not an object"]
        out = []
        for k in x:
            out += sub(x[k], y.get(k, "<missing>"), where + "." + k)
        return out
    if isinstance(x, list):
        if not isinstance(y, list) or len(x) != len(y):
            return [where + ": lists differ"]
        return [e for i in range(len(x)) for e in sub(x[i], y[i], "%s[%d]" % (where, i))]
    return [] if x == y else ["%s: %r != %r" % (where, x, y)]
errs = sub(a, b, "")
open(sys.argv[1] + ".diff", "w").write("\n".join(errs))
sys.exit(1 if errs else 0)
PY
}
curl -s "${URL}api/log?id=obj%2F1" >"$tmp/w.json"
"$OCFLFS" log "$R" obj/1 --json >"$tmp/c.json"
jsame "/api/log is log --json" "$tmp/c.json" "$tmp/w.json"
curl -s "${URL}api/log?id=obj%2F1&path=sub%2Fb.txt" >"$tmp/w.json"
"$OCFLFS" log "$R" obj/1 sub/b.txt --json >"$tmp/c.json"
jsame "/api/log with a path is log ROOT ID PATH --json" "$tmp/c.json" "$tmp/w.json"
curl -s "${URL}api/show?id=obj%2F1&v=1" >"$tmp/w.json"
"$OCFLFS" show "$R" obj/1 -v 1 --json >"$tmp/c.json"
jsame "/api/show is show --json" "$tmp/c.json" "$tmp/w.json"
curl -s "${URL}api/diff?id=obj%2F1&from=1&to=2" >"$tmp/w.json"
"$OCFLFS" diff "$R" obj/1 1 2 --json >"$tmp/c.json"
jsame "/api/diff is diff --json" "$tmp/c.json" "$tmp/w.json"
curl -s "${URL}api/plans" >"$tmp/w.json"
"$OCFLFS" plans "$R" --all --json >"$tmp/c.json"
jsame "/api/plans is plans --all --json" "$tmp/c.json" "$tmp/w.json"
curl -s "${URL}api/plan?id=2" >"$tmp/w.json"
"$OCFLFS" plan "$R" 2 --json >"$tmp/c.json"
jsame "/api/plan is plan --json" "$tmp/c.json" "$tmp/w.json"
"$OCFLFS" ls "$R" --json >"$tmp/c.json"
curl -s "${URL}api/objects" >"$tmp/w.json"
jsame "/api/objects has ls --json's objects" "$tmp/c.json" "$tmp/w.json" objects
check_grep "the text diff shows the changed line" '"diff": "@@ -1,3 +1,4 @@\n one\n-two\n+TWO\n three\n+four\n"' \
    <(curl -s "${URL}api/diff?id=obj%2F1")
curl -s "${URL}api/objects?q=OBJ" >"$tmp/w.json"
check_grep "search by id (any case) finds it" '"total": 1' "$tmp/w.json"
curl -s "${URL}api/objects?limit=1&offset=1" >"$tmp/w.json"
check_grep "a page of one, the second" '"id": "other"' "$tmp/w.json"

# downloads: the committed bytes, named, never run as our page
curl -s -D "$tmp/h" -o "$tmp/got" "${URL}raw?id=obj%2F1&path=data.bin"
check_true "a download is the committed bytes" cmp "$tmp/got" "$tmp/d/data.bin"
check_grep "it is an attachment" 'Content-Disposition: attachment; filename="data.bin"' "$tmp/h"
curl -s -D "$tmp/h" -o "$tmp/got" "${URL}raw?id=obj%2F1&path=x.html"
check_grep "HTML from an object is sandboxed" "Content-Security-Policy: sandbox" "$tmp/h"
curl -s -D "$tmp/ph" -o /dev/null "${URL}object?id=obj%2F1"
check_grep "a page allows no <base>" "base-uri 'none'" "$tmp/ph"
check_grep "and forms only to itself" "form-action 'self'" "$tmp/ph"
check_grep "with its type" "Content-Type: text/html" "$tmp/h"
curl -s "${URL}file?id=obj%2F1&path=x.html" >"$tmp/page"
check_grep "a file's text is escaped on its page" "&lt;script&gt;alert(1)&lt;/script&gt;" "$tmp/page"
curl -s "${URL}object?id=obj%2F1" >"$tmp/page"
check_grep "a message is escaped" "second &lt;b&gt;version&lt;/b&gt;" "$tmp/page"

# hostile URLs
hostile=(
    "404 object?id=%2e%2e"
    "404 object?id=..%2F..%2Fetc"
    "404 object?id=extensions%2Focflfs"
    "400 object?id=obj%00"
    "400 object?id=obj%2F1%00x"
    "400 object?id=%ff%fe"
    "400 object?id=%C0%AE%C0%AE"
    "400 object?id=%ED%A0%80"
    "400 object?id=%zz"
    "400 object?id=%2"
    "400 object?id=a%0Ab"
    "404 file?id=obj%2F1&path=..%2F..%2Finventory.json"
    "404 file?id=obj%2F1&path=%2Fetc%2Fpasswd"
    "404 raw?id=obj%2F1&path=..%2Finventory.json"
    "404 raw?id=obj%2F1&path=v1%2Fcontent%2Fa.txt"
    "404 raw?id=obj%2F1&path=extensions%2Focflfs%2Focflfs.db"
    "404 ../../etc/passwd"
    "404 %2e%2e/%2e%2e/etc/passwd"
    "404 static/..%2f..%2fetc%2fpasswd"
    "404 object?id=nosuch"
    "404 object?id=obj%2F1&v=v9"
    "400 object?id=obj%2F1&offset=-1"
    "400 plan?id=-1"
    "400 plan?id=1e3"
    "404 plan?id=99"
    "404 api/events?plan=99"
    "400 object"
)
for h in "${hostile[@]}"; do
    check_eq "GET /${h#* } is ${h%% *}" "${h%% *}" "$(http_code "${h#* }")"
done
long=$(head -c 5000 /dev/zero | tr '\0' a)
check_eq "an id longer than 4096 bytes is refused" 414 "$(http_code "object?id=$long")"
huge=$(head -c 100000 /dev/zero | tr '\0' a)
code=$(http_code "object?id=$huge")
check_true "a URL of 100 kB is refused ($code)" test "$code" -ge 400 -a "$code" -lt 500
# messages cut on a character boundary: a long id of é characters, a version and a number
# that quote their first 40 bytes (a cut é made the JSON fail: 500 "out of memory")
e650=$(printf '%%C3%%A9%.0s' $(seq 650))
check_eq "a long id of é characters is 404" 404 "$(http_code "object?id=$e650")"
check_eq "and its JSON too" 404 "$(http_code "api/object?id=$e650")"
check_grep "which says so, cut on a character" "no object" <(curl -s "${URL}api/object?id=x$e650")
check_eq "a version of é characters is 404" 404 "$(http_code "api/show?id=obj%2F1&v=a$e650")"
check_eq "a plan number of é characters is 400" 400 "$(http_code "api/events?plan=a$e650")"
check_eq "POST is not allowed" 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL")"

# DNS rebinding: a loopback listener answers only to its own names in Host
lport=${URL##*:}
lport=${lport%/}
hcode() { curl -s -o /dev/null -w '%{http_code}' -H "Host: $1" "${URL}$2"; }
check_eq "Host: evil.example is refused (421)" 421 "$(hcode evil.example api/objects)"
check_eq "Host: evil.example:PORT too" 421 "$(hcode "evil.example:$lport" "object?id=obj%2F1")"
check_eq "and a download" 421 "$(hcode evil.example "raw?id=obj%2F1&path=sub%2Fb.txt")"
check_eq "Host: localhost:PORT is answered" 200 "$(hcode "localhost:$lport" api/objects)"
check_eq "Host: [::1]:PORT is answered" 200 "$(hcode "[::1]:$lport" api/objects)"
check_eq "Host: 127.0.0.1:PORT is answered" 200 "$(hcode "127.0.0.1:$lport" api/objects)"

# a layout that maps ids to paths as they are: ids naming the state dir or a way out
F=$tmp/flat
"$OCFLFS" init "$F" --layout 0002-flat-direct-storage-layout >/dev/null
"$OCFLFS" put "$F" "a" "$tmp/d" -m "flat" --user Bob >/dev/null
serve_stop
check_eq "serve ends with 0 on SIGTERM, after all of that" 0 $?
grep -qv '^serving ' "$tmp/serve.out" && tap_diag "$(grep -v '^serving ' "$tmp/serve.out" | head -20)"
serve_start "$tmp/serve2.out" "$F" --listen 127.0.0.1:0
check_eq "flat layout: the object by id" 200 "$(http_code "object?id=a")"
for id in extensions extensions%2Focflfs %2E%2E . %2E "a%2F..%2Fa" "%2Fetc" "a%2F"; do
    check_eq "flat layout: id '$id' reaches nothing" 404 "$(http_code "object?id=$id")"
done
snapshot "$F" >"$tmp/flat.before"

# an id the layout cannot map, or any id in a root without a layout, is looked up without
# reading the other objects' inventories (the library would walk the root on every request):
# counted with strace, once the background listing is built
inv_opens() { grep -c 'openat2(.*inventory.json",' "$tmp/trace"; }
traced_stop() { # strace does not pass SIGTERM on: the server it runs is stopped
    local child
    child=$(pgrep -P "$SERVE_PID")
    [[ -n $child ]] && kill -TERM $child
    wait "$SERVE_PID"
    SERVE_PID=""
}
traced_serve() { # traced_serve ROOT: serve it under strace; sets SERVE_PID, URL
    strace -f -qq -e trace=openat2 -o "$tmp/trace" "$OCFLFS" serve "$1" --listen 127.0.0.1:0 \
        >"$tmp/traced.out" 2>&1 &
    SERVE_PID=$!
    URL=""
    for _ in $(seq 600); do
        grep -q '^serving ' "$tmp/traced.out" && break
        sleep 0.1
    done
    URL=$(awk '/^serving /{print $4; exit}' "$tmp/traced.out")
    for _ in $(seq 600); do
        curl -s "${URL}api/objects" | grep -q '"building": false' && break
        sleep 0.1
    done
}
serve_stop
if strace -qq -e trace=none true 2>/dev/null; then
    F2=$tmp/flat2
    cp -a "$F" "$F2"
    "$OCFLFS" put "$F2" "b" "$tmp/d" -m "flat" --user Bob >/dev/null
    traced_serve "$F2"
    n0=$(inv_opens)
    for id in extensions "a%2Fb" "0%3Dx"; do
        check_eq "flat layout: '$id', which the layout cannot map, is 404" 404 "$(http_code "object?id=$id")"
    done
    check_eq "and no inventory was read for them" 0 $(($(inv_opens) - n0))
    traced_stop
    N=$tmp/nolayout
    cp -a "$R" "$N"
    rm "$N/ocfl_layout.json"
    traced_serve "$N"
    check_eq "no layout: an object by id (from the listing)" 200 "$(http_code "object?id=obj%2F1")"
    n0=$(inv_opens)
    check_eq "no layout: an id not in the listing is 404" 404 "$(http_code "object?id=nope")"
    check_eq "and no inventory was read for it" 0 $(($(inv_opens) - n0))
    traced_stop
else
    tap_diag "no strace here (or no ptrace): the inventory reads are not counted"
fi

# slow clients: seventy connections from 127.0.0.1 that never finish their request, and one
# that reads nothing of a large download: one peer holds at most 16 of the 64 connections,
# so a client from another address (127.0.0.2) is still answered
serve_stop
serve_start "$tmp/serve3.out" "$R" --listen 127.0.0.1:0
port=${URL##*:}
port=${port%/}
python3 - "$port" "$tmp/slow.ready" "$tmp/slow.done" <<'PY' &
import socket, sys, time, os
port, ready, done = int(sys.argv[1]), sys.argv[2], sys.argv[3]
socks = []
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.sendall(b"GET /raw?id=obj%2F1&path=data.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # never reads
socks.append(s)
for i in range(70):
    try:
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /object?id=obj%2F1 HTTP/1.1\r\nHost: x\r\n")  # never ends the request
        socks.append(s)
    except OSError:
        pass  # refused beyond the peer's limit
open(ready, "w").close()
for _ in range(1200):
    if os.path.exists(done):
        break
    time.sleep(0.1)
PY
slow=$!
for _ in $(seq 600); do [[ -e $tmp/slow.ready ]] && break; sleep 0.1; done
other() { curl -s -m 20 --interface 127.0.0.2 -o /dev/null -w '%{http_code}' "$URL$1"; }
check_eq "while one peer holds all it may, a page is answered to another" 200 "$(other "object?id=obj%2F1")"
check_eq "and the plans page" 200 "$(other "plans")"
touch "$tmp/slow.done"
wait $slow
serve_stop
check_eq "and after the slow clients" 0 $?

# a damaged content file: its page says so, its download is cut off, never whole
D=$tmp/damaged
cp -a "$R" "$D"
opath=$("$OCFLFS" ls "$D" --json | python3 -c 'import json,sys; print([o["path"] for o in json.load(sys.stdin)["objects"] if o["id"] == "obj/1"][0])')
cfile=$D/$opath/v1/content/data.bin
python3 - "$cfile" <<'PY' # one byte changed, whatever it was
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(10)
    b = f.read(1)
    f.seek(10)
    f.write(bytes([b[0] ^ 0xFF]))
PY
serve_stop
serve_start "$tmp/serve4.out" "$D" --listen 127.0.0.1:0
curl -s -o "$tmp/got" "${URL}raw?id=obj%2F1&path=data.bin"
rc=$?
check_true "a damaged file's download fails (curl $rc)" test "$rc" -ne 0
serve_stop

# a Unix socket, for a reverse proxy
serve_start "$tmp/serve5.out" "$R" --listen "unix:$tmp/web.sock"
check_grep "a Unix socket is said" "unix:$tmp/web.sock" "$tmp/serve5.out"
check_eq "a page through the socket" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$tmp/web.sock" http://x/plans)"
check_eq "any Host through the socket (a proxy's)" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: evil.example' --unix-socket "$tmp/web.sock" http://x/plans)"
serve_stop
check_true "the socket is gone after the server" test ! -e "$tmp/web.sock"

# any address: only when asked, and said
serve_start "$tmp/serve6.out" "$R" --listen 0.0.0.0:0
check_grep "a non-loopback address is said on start-up" "reachable from other hosts" "$tmp/serve6.out"
check_eq "an explicit non-loopback address answers any Host" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: evil.example' "http://127.0.0.1:$(awk '/^serving /{print $4; exit}' "$tmp/serve6.out" | sed 's/.*://; s,/,,')/plans")"
serve_stop
"$OCFLFS" serve "$R" --listen "nonsense:address:x" >"$tmp/bad.out" 2>&1
check_eq "a bad address fails" 1 $?
check_grep "naming it" "nonsense:address:x" "$tmp/bad.out"
"$OCFLFS" serve "$tmp/nothing" >"$tmp/bad.out" 2>&1
check_eq "no storage root fails" 1 $?
"$OCFLFS" serve >/dev/null 2>&1
check_eq "no ROOT is a usage error" 2 $?

# event streams: at most 8 at once (the 9th is 503), and a server with streams open still
# stops at once on SIGTERM; a plan kept running by a step that fails and waits to retry
E=$tmp/events
"$OCFLFS" init "$E" >/dev/null
OCFLFS_TEST_FAIL_STEP=2:100 OCFLFS_TEST_RETRY_MS=120000 "$OCFLFS" put "$E" ev "$tmp/d" -m ev \
    --user Bob >/dev/null 2>&1 &
putpid=$!
for _ in $(seq 600); do
    "$OCFLFS" plans "$E" --json 2>/dev/null | grep -q '"state": "running"' && break
    sleep 0.1
done
serve_start "$tmp/serve7.out" "$E" --listen 127.0.0.1:0
check_true "serve starts on a root with no object yet" test -n "$URL"
streams=()
for i in 1 2 3 4 5 6 7 8; do
    curl -s -N -m 100 "${URL}api/events?plan=1" >"$tmp/ev$i" &
    streams+=($!)
done
for _ in $(seq 600); do
    [[ $(cat "$tmp"/ev? | grep -c '^event: progress') == 8 ]] && break
    sleep 0.1
done
check_eq "eight event streams are open" 8 "$(cat "$tmp"/ev? | grep -c '^event: progress')"
check_eq "a ninth is 503" 503 "$(http_code "api/events?plan=1")"
check_eq "pages are still answered" 200 "$(http_code "plan?id=1")"
kill "${streams[0]}"
wait "${streams[0]}" 2>/dev/null
got=""
for _ in $(seq 100); do
    got=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "${URL}api/events?plan=1")
    [[ $got == 200 ]] && break
    sleep 0.1
done
check_eq "once one ends, another may open" 200 "$got"
timeout 60 bash -c "kill -TERM $SERVE_PID; while kill -0 $SERVE_PID 2>/dev/null; do sleep 0.1; done"
check_eq "SIGTERM ends the server while seven streams wait (generous bound)" 0 $?
wait "$SERVE_PID"
check_eq "with 0" 0 $?
SERVE_PID=""
kill "${streams[@]:1}" 2>/dev/null
wait "${streams[@]:1}" 2>/dev/null
kill "$putpid"
wait "$putpid" 2>/dev/null
# a stored last error cut inside a character (as an older ocflfs did) keeps its plan listed
python3 - "$E/extensions/ocflfs/ocflfs.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE plans SET last_error = CAST(X'6375742061C3' AS TEXT) WHERE id = 1")
db.commit()
PY
serve_start "$tmp/serve8.out" "$E" --listen 127.0.0.1:0
check_grep "a plan whose stored error is not UTF-8 is still listed" '"last_error": "cut a' \
    <(curl -s "${URL}api/plans")
check_eq "and its page answers" 200 "$(http_code "plan?id=1")"
serve_stop

snapshot "$R" >"$tmp/after"
check_true "nothing in the root (or its state dir) changed" diff "$tmp/before" "$tmp/after"
snapshot "$F" >"$tmp/flat.after"
check_true "nothing in the flat root changed" diff "$tmp/flat.before" "$tmp/flat.after"
done_testing
