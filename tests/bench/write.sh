#!/usr/bin/env bash
# write.sh [BUILD_DIR]: the mount's write side, each ratio printed with its target (issue 16):
# (a) writing a 1 GiB file through the mount / natively (target >= 0.8); (a+b) that write plus
# an immediate commit / (the native write + sha512sum of the file): what a user waits for a
# durable version (target <= 1.1); (b') the commit of a file written a while earlier /
# sha512sum (target <= 0.05); (c) 10,000 small files created through the mount / natively
# (target <= 3); (d) committing those 10,000 staged files vs @ocfl/ocfl-fs importing the same
# tree (target >= 3x faster).  Not part of `meson test`.  Needs npm for (d).
# BIG_MIB and SMALL_FILES shrink the runs; NO_JS=1 skips ocfl-fs in (d); MOUNT_OPTS adds mount
# options (MOUNT_OPTS="-o nopassthrough").  On a shared machine
# one measurement is noise: (a) and (c) alternate native and mount runs REPEAT times (default 3)
# and compare the best of each (all times are printed).  For steady figures run it under
# freshfs.sh (a new ext4 file system as TMPDIR).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
ocflfs=$(cd "$build" && pwd)/fs/ocflfs
[[ -x $ocflfs ]] || { echo "no ocflfs at $ocflfs (give the build dir)" >&2; exit 2; }
big_mib=${BIG_MIB:-1024}
nsmall=${SMALL_FILES:-10000}
repeat=${REPEAT:-3}
tmp=$(mktemp -d)
mnt="$tmp/mnt"
cleanup() {
    mountpoint -q "$mnt" 2>/dev/null && fusermount3 -u -z "$mnt"
    rm -rf "$tmp"
}
trap cleanup EXIT

secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
ratio() { echo "scale=2; $1 / $2" | bc; }
min() { printf '%s\n' "$@" | sort -g | head -1; }

"$ocflfs" init "$tmp/root" --layout 0002-flat-direct-storage-layout >/dev/null
mkdir -p "$mnt"
# MOUNT_OPTS: more options of the mount under test
# shellcheck disable=SC2086
"$ocflfs" mount "$tmp/root" "$mnt" --state "$tmp/state" --user Bench --address mailto:b@example.org \
    ${MOUNT_OPTS:-}
echo "mount options: ${MOUNT_OPTS:-(none)}"
mkdir "$mnt/big" "$mnt/small"

# --- (a) one big file: dd with 1 MiB blocks from a file in the page cache
echo "(a) writing $big_mib MiB ..."
head -c $((big_mib << 20)) /dev/urandom >"$tmp/src.bin"
sha512sum "$tmp/src.bin" >/dev/null # warm the cache
write_native() { dd if="$tmp/src.bin" of="$tmp/native.bin" bs=1M conv=fsync status=none; }
write_mount() { dd if="$tmp/src.bin" of="$mnt/big/big.bin" bs=1M conv=fsync status=none; }
ns=() ms=()
for ((i = 1; i <= repeat; i++)); do
    rm -f "$tmp/native.bin" "$mnt/big/big.bin"
    ns+=("$(secs write_native)")
    ms+=("$(secs write_mount)")
done
t_native=$(min "${ns[@]}")
t_mount=$(min "${ms[@]}")
printf '(a) native %s s, through the mount %s s\n' "${ns[*]}" "${ms[*]}"
printf '(a) best: native %.2f s, through the mount %.2f s: speed ratio %s (target >= 0.8)\n' \
    "$t_native" "$t_mount" "$(ratio "$t_native" "$t_mount")"
cmp "$tmp/src.bin" "$mnt/big/big.bin" || echo "(a) warning: the staged bytes differ"

# --- (b') commit of the big file written a while earlier (its digest made meanwhile)
t_sum=$(secs sha512sum "$tmp/native.bin")
sleep 2
t_commit=$(secs setfattr -n user.ocfl.commit -v big "$mnt/big")
printf "(b') sha512sum %.2f s, commit of a file written earlier %.2f s: ratio %s (target <= 0.05)\n" \
    "$t_sum" "$t_commit" "$(ratio "$t_commit" "$t_sum")"

# --- (a+b) a write and an immediate commit vs a native write and sha512sum of it
wc_native() { write_native && sha512sum "$tmp/native.bin" >/dev/null; }
wc_mount() { write_mount && setfattr -n user.ocfl.commit -v "big again" "$mnt/big"; }
ns=() ms=()
for ((i = 1; i <= repeat; i++)); do
    # new bytes each round (a content the object has already would only be released)
    printf 'round %04d' "$i" | dd of="$tmp/src.bin" conv=notrunc status=none
    rm -f "$tmp/native.bin"
    ns+=("$(secs wc_native)")
    ms+=("$(secs wc_mount)")
done
printf '(a+b) native write + sha512sum %s s, write + commit through the mount %s s\n' "${ns[*]}" "${ms[*]}"
printf '(a+b) best: %.2f s vs %.2f s: ratio %s (target <= 1.1)\n' "$(min "${ns[@]}")" \
    "$(min "${ms[@]}")" "$(ratio "$(min "${ms[@]}")" "$(min "${ns[@]}")")"
rm -f "$tmp/src.bin" "$tmp/native.bin"

# --- (c) many small files through the mount vs natively
mkfiles() {
    python3 - "$1" "$2" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    sub = os.path.join(d, "d%02d" % (i % 100))
    os.makedirs(sub, exist_ok=True)
    head = b"file %d\n" % i
    with open(os.path.join(sub, "f%06d.txt" % i), "wb") as f:
        f.write(head + b"x" * (4096 - len(head)))
PY
}
echo "(c) $nsmall files of 4 KiB ..."
ns=() ms=()
for ((i = 1; i <= repeat; i++)); do
    # earlier mount runs go to objects of their own; the last one is 'small', committed in (d)
    dst="$mnt/small"
    ((i < repeat)) && dst="$mnt/small-r$i" && mkdir "$dst"
    rm -rf "$tmp/native"
    ns+=("$(secs mkfiles "$tmp/native" "$nsmall")")
    ms+=("$(secs mkfiles "$dst" "$nsmall")")
done
t_native=$(min "${ns[@]}")
t_mount=$(min "${ms[@]}")
printf '(c) native %s s, through the mount %s s\n' "${ns[*]}" "${ms[*]}"
printf '(c) best: native %.2f s, through the mount %.2f s: ratio %s (target <= 3)\n' \
    "$t_native" "$t_mount" "$(ratio "$t_mount" "$t_native")"

# --- (d) commit of the staged small files vs @ocfl/ocfl-fs importing the same tree
t_commit=$(secs setfattr -n user.ocfl.commit -v small "$mnt/small")
"$ocflfs" validate "$tmp/root/small" >/dev/null 2>&1 || echo "(d) warning: the commit does not validate"
if [[ -z ${NO_JS:-} ]] && (mkdir -p "$tmp/js" && cd "$tmp/js" &&
    npm install --silent --no-audit --no-fund @ocfl/ocfl-fs >/dev/null 2>&1); then
    cat >"$tmp/js/put.js" <<'JS'
const ocfl = require('@ocfl/ocfl-fs');
(async () => {
  const [root, id, src] = process.argv.slice(2);
  const storage = ocfl.storage({root, workspace: root + '-ws',
                                layout: {extensionName: '0004-hashed-n-tuple-storage-layout'}});
  await storage.create();
  await storage.object(id).import(src, 'REPLACE');
})().catch(e => { console.error(e); process.exit(1); });
JS
    sync
    t_js=$(secs bash -c "cd '$tmp/js' && node put.js '$tmp/jsroot' small '$tmp/native'")
    printf '(d) ocfl-fs %.2f s, commit %.2f s: the commit is %sx faster (target >= 3)\n' "$t_js" \
        "$t_commit" "$(ratio "$t_js" "$t_commit")"
else
    printf '(d) commit %.2f s; no @ocfl/ocfl-fs (NO_JS, or npm install failed): no comparison\n' \
        "$t_commit"
fi
fusermount3 -u "$mnt"
