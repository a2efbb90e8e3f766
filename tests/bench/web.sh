#!/usr/bin/env bash
# web.sh [BUILD_DIR]: the web view's repository page on a root of OBJECTS (default 100,000)
# objects (issue 19), written directly as another tool would.  Measured: `ocflfs serve`
# building its listing by walking the root (no object index yet), then a mount with
# -o http= that has its object index, and there the repository page's first page, a page
# deep in the listing, and a search, each fetched REPEAT (5) times with curl (the best and
# the worst time of a whole request), against a plain `ocflfs ls --json` of the root.  Not
# part of `meson test`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
ocflfs=$build/fs/ocflfs
n=${OBJECTS:-100000}
repeat=${REPEAT:-5}
tmp=$(mktemp -d)
mnt=$tmp/mnt
sock=$tmp/web.sock
pid=""
cleanup() {
    [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    mountpoint -q "$mnt" 2>/dev/null && fusermount3 -u -z "$mnt"
    rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$mnt"
"$ocflfs" init "$tmp/big" >/dev/null
echo "writing $n objects (layout 0004) ..."
python3 "$here/mkroot.py" "$tmp/big" "$n"
sync
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
wait_built() { # wait_built CURL-ARGS...: until the listing is built; prints the document
    local doc
    for _ in $(seq 36000); do
        doc=$(curl -s "$@") && [[ $(field building <<<"$doc") == False ]] &&
            [[ $(field listing <<<"$doc") != walking ]] && { echo "$doc"; return 0; }
        sleep 0.1
    done
    return 1
}
# best and worst of $repeat fetches, in ms
fetch() {
    local what=$1
    shift
    local times=() out
    for _ in $(seq "$repeat"); do
        out=$(curl -s -o /dev/null -w '%{time_total} %{http_code} %{size_download}' "$@")
        [[ $out == *" 200 "* ]] || { echo "$what: not 200: $out" >&2; exit 1; }
        times+=("$out")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk -v w="$what" \
        'NR==1{b=$1} {l=$1; n=$3} END{printf "%-44s best %7.1f ms  worst %7.1f ms  (%d bytes)\n", w, b*1000, l*1000, n}'
}

t0=$(date +%s.%N)
"$ocflfs" ls "$tmp/big" --json >/dev/null
t1=$(date +%s.%N)
printf '%-44s %7.1f ms\n' "ocflfs ls --json (a walk, every inventory)" "$(echo "($t1 - $t0) * 1000" | bc)"

"$ocflfs" serve "$tmp/big" --listen "unix:$sock" >"$tmp/serve.out" 2>&1 &
pid=$!
for _ in $(seq 600); do [[ -S $sock ]] && break; sleep 0.1; done
doc=$(wait_built --unix-socket "$sock" "http://x/api/objects?limit=1")
printf '%-44s %7.1f ms  (%s objects)\n' "serve: listing built by a walk" "$(field built_ms <<<"$doc")" \
    "$(field total <<<"$doc")"
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=""

"$ocflfs" mount "$tmp/big" "$mnt" -o "http=unix:$sock" >/dev/null
. "$here/../common/listing.sh"
wait_listing "$mnt"
"$ocflfs" umount "$mnt" >/dev/null # the index is written; the next mount lists from it
"$ocflfs" mount "$tmp/big" "$mnt" -o "http=unix:$sock" >/dev/null
doc=$(wait_built --unix-socket "$sock" "http://x/api/objects?limit=1")
printf '%-44s %7.1f ms  (%s objects, from the %s)\n' "mount -o http: listing loaded" \
    "$(field built_ms <<<"$doc")" "$(field total <<<"$doc")" "$(field listing <<<"$doc")"
fetch "repository page, first 100 (HTML)" --unix-socket "$sock" "http://x/"
fetch "repository page at object 99,901 (HTML)" --unix-socket "$sock" "http://x/?offset=$((n - 100))"
fetch "search 'obj-00999' (HTML)" --unix-socket "$sock" "http://x/?q=obj-00999"
fetch "/api/objects, 500 a page (JSON)" --unix-socket "$sock" "http://x/api/objects?limit=500"
fetch "an object's page" --unix-socket "$sock" "http://x/object?id=urn%3Abench%3Aobj-0050000"
"$ocflfs" umount "$mnt" >/dev/null
