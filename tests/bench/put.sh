#!/usr/bin/env bash
# put.sh [BUILD_DIR]: time `ocflfs put` (a) one 1 GiB file vs sha512sum of it; (b) 10,000 files of
# 4 KiB vs @ocfl/ocfl-fs importing the same tree; (c) one changed file in an object of 100,000
# files vs @ocfl/ocfl-fs (put's cache spares reading unchanged files; the same with --rehash, which
# reads all, is printed too).  Not part of `meson test`.  Needs npm (ocfl-fs goes into a temp dir).
# BIG_MIB, SMALL_FILES and LARGE_FILES shrink the runs; ONLY=a (or b, c, ab, ...) runs only those
# parts (npm is needed only for (b) and (c)).  RUNS=N repeats (a) N times.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
ocflfs=$(cd "$build" && pwd)/fs/ocflfs
[[ -x $ocflfs ]] || { echo "no ocflfs at $ocflfs (give the build dir)" >&2; exit 2; }
big_mib=${BIG_MIB:-1024}
nsmall=${SMALL_FILES:-10000}
nlarge=${LARGE_FILES:-100000}
only=${ONLY:-abc}
runs=${RUNS:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
ratio() { echo "scale=2; $1 / $2" | bc; }
# cpu CMD...: "WALL CPU" seconds (CPU = user + system, all threads), less noisy on a busy machine
cpu() {
    local TIMEFORMAT='%R %U %S' t
    t=$({ time "$@" >/dev/null 2>&1; } 2>&1)
    set -- $t
    echo "$1 $(echo "$2 + $3" | bc)"
}

mkdir -p "$tmp/js"
if [[ $only == *[bc]* ]]; then
    echo "installing @ocfl/ocfl-fs into $tmp/js ..."
    (cd "$tmp/js" && npm install --silent --no-audit --no-fund @ocfl/ocfl-fs >/dev/null 2>&1) ||
        { echo "npm install @ocfl/ocfl-fs failed" >&2; exit 1; }
fi
# js.sh ROOT ID MODE SOURCE...: MODE init (new storage root), replace (SOURCE dir becomes
# the next version), merge (SOURCE file at logical path TARGET)
cat >"$tmp/js/put.js" <<'JS'
const ocfl = require('@ocfl/ocfl-fs');
(async () => {
  const [root, id, mode, src, target] = process.argv.slice(2);
  const storage = ocfl.storage({root, workspace: root + '-ws',
                                layout: {extensionName: '0004-hashed-n-tuple-storage-layout'}});
  if (mode === 'init') { await storage.create(); return; }
  await storage.load();
  const o = storage.object(id);
  if (mode === 'replace') await o.import(src, 'REPLACE');
  else await o.import([[src, target]], 'MERGE');
})().catch(e => { console.error(e); process.exit(1); });
JS
js() { (cd "$tmp/js" && node put.js "$@"); }

# --- (a) one big file
if [[ $only == *a* ]]; then
mkdir -p "$tmp/a"
echo "(a) writing a $big_mib MiB file ..."
head -c $((big_mib << 20)) /dev/urandom >"$tmp/a/big.bin"
for ((run = 1; run <= runs; run++)); do
    sync # start clean: neither tool should pay for flushing its input (or the last run's output)
    sha512sum "$tmp/a/big.bin" >/dev/null # warm the cache for both
    "$ocflfs" init "$tmp/ra" >/dev/null
    read -r t_sum c_sum < <(cpu sha512sum "$tmp/a/big.bin")
    read -r t_put c_put < <(cpu "$ocflfs" put "$tmp/ra" big "$tmp/a" -m big)
    printf '(a) sha512sum %.2f s, ocflfs put %.2f s: ratio %s (target <= 1.3); cpu %.2f s, %.2f s\n' \
        "$t_sum" "$t_put" "$(ratio "$t_put" "$t_sum")" "$c_sum" "$c_put"
    stored=$(find "$tmp/ra" -path '*/v1/content/big.bin')
    [[ -n $stored ]] && cmp "$tmp/a/big.bin" "$stored" ||
        echo "(a) warning: the stored content differs from the source"
    rm -rf "$tmp/ra"
done
rm -rf "$tmp/a"
fi

# mkfiles DIR N SIZE: N files of SIZE bytes (unique content) in 100 subdirectories
mkfiles() {
    python3 - "$1" "$2" "$3" <<'PY'
import os, sys
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    sub = os.path.join(d, "d%02d" % (i % 100))
    os.makedirs(sub, exist_ok=True)
    head = b"file %d\n" % i
    with open(os.path.join(sub, "f%06d.txt" % i), "wb") as f:
        f.write(head + b"x" * max(0, size - len(head)))
PY
}

if [[ $only == *b* ]]; then
# --- (b) many small files, a new object
echo "(b) $nsmall files of 4 KiB ..."
mkfiles "$tmp/b" "$nsmall" 4096
sync
"$ocflfs" init "$tmp/rb" >/dev/null
js "$tmp/jb" x init
t_ours=$(secs "$ocflfs" put "$tmp/rb" small "$tmp/b" -m small)
t_js=$(secs js "$tmp/jb" small replace "$tmp/b")
"$ocflfs" validate "$tmp/rb" >/dev/null 2>&1 || echo "(b) warning: ocflfs result does not validate"
printf '(b) ocfl-fs %.2f s, ocflfs put %.2f s: ocflfs is %sx faster (target >= 3)\n' "$t_js" \
    "$t_ours" "$(ratio "$t_js" "$t_ours")"
rm -rf "$tmp/b" "$tmp/rb" "$tmp/jb" "$tmp/jb-ws"

fi

if [[ $only == *c* ]]; then
# --- (c) one changed file in an object of many files
echo "(c) one change in an object of $nlarge files ..."
mkfiles "$tmp/c" "$nlarge" 100
sync
"$ocflfs" init "$tmp/rc" >/dev/null
js "$tmp/jc" x init
"$ocflfs" put "$tmp/rc" large "$tmp/c" -m v1 >/dev/null
js "$tmp/jc" large replace "$tmp/c"
echo "changed" >"$tmp/c/d00/f000000.txt"
sync
t_ours=$(secs "$ocflfs" put "$tmp/rc" large "$tmp/c" -m v2)
t_js=$(secs js "$tmp/jc" large replace "$tmp/c")
echo "changed again" >"$tmp/c/d00/f000000.txt"
t_rehash=$(secs "$ocflfs" put "$tmp/rc" large "$tmp/c" -m v3 --rehash)
t_jsm=$(secs js "$tmp/jc" large merge "$tmp/c/d00/f000000.txt" d00/f000000.txt)
"$ocflfs" validate "$tmp/rc" >/dev/null 2>&1 || echo "(c) warning: ocflfs result does not validate"
printf '(c) ocflfs put (whole tree) %.2f s (target < 1 s)\n' "$t_ours"
printf '    ocfl-fs whole tree %.2f s: ocflfs is %sx faster (target >= 3)\n' "$t_js" \
    "$(ratio "$t_js" "$t_ours")"
printf '    ocfl-fs one-file merge %.2f s: ocflfs is %sx faster\n' "$t_jsm" \
    "$(ratio "$t_jsm" "$t_ours")"
printf '    ocflfs put --rehash (every file read again, v3) %.2f s: %sx faster than ocfl-fs whole tree\n' \
    "$t_rehash" "$(ratio "$t_js" "$t_rehash")"
fi
