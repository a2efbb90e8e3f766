#!/usr/bin/env bash
# validate.sh [BUILD_DIR]: time `ocflfs validate` (digests on) against sha512sum over the same
# content (10,000 files, 1 GiB), both with a warm page cache.  Not part of `meson test`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
ocflfs=$build/fs/ocflfs
[[ -x $ocflfs ]] || { echo "no ocflfs at $ocflfs (give the build dir)" >&2; exit 2; }
nfiles=${NFILES:-10000}
bytes=${BYTES:-$((1024 * 1024 * 1024))}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "building an object of $nfiles files, $bytes bytes in $tmp ..."
python3 "$here/mkobject.py" "$tmp/obj" "$nfiles" "$bytes"

shasum_all() { (cd "$tmp/obj" && find v1/content -type f -print0 | xargs -0 sha512sum >/dev/null); }
validate() { "$ocflfs" validate "$tmp/obj" 2>/dev/null; }
secs() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }

# warm both equally: one untimed run each
shasum_all
validate || { echo "the generated object does not validate" >&2; "$ocflfs" validate "$tmp/obj" | head; exit 1; }

t_sum=$(secs shasum_all)
t_val=$(secs validate)
ratio=$(echo "scale=2; $t_val / $t_sum" | bc)
printf 'sha512sum (1 process via xargs): %.2f s\n' "$t_sum"
printf 'ocflfs validate (digests on):    %.2f s\n' "$t_val"
printf 'ratio validate / sha512sum:      %s (target <= 1.2)\n' "$ratio"
