#!/usr/bin/env bash
# all.sh [BUILD_DIR]: run every benchmark in turn against one build and keep the ratio lines.
# Each benchmark measures its own baseline in the same run (native file system, sha512sum,
# @ocfl/ocfl-fs); run on a quiet machine, the figures are ratios, not absolute times.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for b in validate put mount loadlock write large_root; do
    echo "=== $b"
    if [[ $b == mount || $b == loadlock ]]; then
        bash "$here/$b.sh" "$build/fs/ocflfs"
    else
        bash "$here/$b.sh" "$build"
    fi 2>&1 | tee -a "$log"
done
echo
echo "=== summary (lines with a ratio)"
grep -Ei 'ratio|[0-9]x|×' "$log"
