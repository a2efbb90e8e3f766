#!/usr/bin/env bash
# test_browser.sh: the web view in a real browser (issue 19): Debian's chromium, headless,
# driven by puppeteer-core (tests/web/package.json, installed by `npm ci` into the build
# directory); browser.mjs clicks through the pages of a root made here and checks them
# against the command line.  Screenshots go to BUILD_ROOT/web-screenshots/ (said in the
# output).  No chromium, or no puppeteer-core to be had, is a failure, not a skip.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/web/serve_lib.sh"

chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [[ -z $chromium ]]; then
    echo "not ok 1 - chromium is installed (.ci/setup installs Debian's chromium)"
    echo "1..1"
    exit 1
fi
node_dir=$BUILD_ROOT/tests/web/node
mkdir -p "$node_dir"
if ! cmp -s "$SOURCE_ROOT/tests/web/package-lock.json" "$node_dir/package-lock.json" ||
    [[ ! -d $node_dir/node_modules/puppeteer-core ]]; then
    cp "$SOURCE_ROOT/tests/web/package.json" "$SOURCE_ROOT/tests/web/package-lock.json" "$node_dir/"
    # chromium comes from Debian: puppeteer-core downloads no browser of its own
    if ! (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error </dev/null >&2); then
        echo "not ok 1 - npm ci installs puppeteer-core (the npm registry must be reachable)"
        echo "1..1"
        exit 1
    fi
fi
cp "$SOURCE_ROOT/tests/web/browser.mjs" "$node_dir/"

tmp=$(mktemp -d)
trap 'serve_stop; rm -rf "$tmp"' EXIT
R=$tmp/root
mkdir -p "$tmp/d/docs" "$tmp/big"
printf 'Title\n\nThe first draft.\nIt has three lines.\n' >"$tmp/d/docs/readme.txt"
echo 'id,name' >"$tmp/d/table.csv"
head -c 5000 /dev/urandom >"$tmp/d/image.bin"
"$OCFLFS" init "$R" >/dev/null || exit 1
"$OCFLFS" put "$R" "obj/one" "$tmp/d" -m "first deposit" --user "Ada Lovelace" \
    --address mailto:ada@example.org >/dev/null || exit 1
printf 'Title\n\nThe second draft.\nIt has three lines.\nAnd a fourth.\n' >"$tmp/d/docs/readme.txt"
echo '1,one' >>"$tmp/d/table.csv"
mv "$tmp/d/image.bin" "$tmp/d/picture.bin"
"$OCFLFS" put "$R" "obj/one" "$tmp/d" -m "second draft, a renamed picture" --user "Grace Hopper" \
    >/dev/null || exit 1
rm "$tmp/d/table.csv"
"$OCFLFS" put "$R" "obj/one" "$tmp/d" -m "the table goes" --user "Ada Lovelace" >/dev/null || exit 1
for i in 1 2 3; do
    "$OCFLFS" put "$R" "other/$i" "$tmp/d" -m "object $i" --user "Bob" >/dev/null || exit 1
done
# the large commit: content steps that take a moment each
for i in 1 2 3 4; do head -c 8000000 /dev/urandom >"$tmp/big/part$i.bin"; done

shots=$BUILD_ROOT/web-screenshots
rm -rf "$shots"
mkdir -p "$shots"
echo "# screenshots: $shots"
serve_start "$tmp/serve.out" "$R" --listen 127.0.0.1:0 || {
    echo "not ok 1 - serve starts"
    cat "$tmp/serve.out" | sed 's/^/#   /'
    echo "1..1"
    exit 1
}
CHROMIUM=$chromium URL=$URL OCFLFS=$OCFLFS ROOT=$R SHOTS=$shots BIGDIR=$tmp/big \
    node "$node_dir/browser.mjs"
