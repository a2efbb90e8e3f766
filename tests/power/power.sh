#!/usr/bin/env bash
# power.sh [PART]: run the power-loss suite (power.py), or one part of it (a regex of scenario
# names), with LazyFS: $LAZYFS, or built here from $OCFL_SHARED/tools/lazyfs into the build
# directory (about 2 minutes, once; the parts run side by side and build it one at a time).
set -euo pipefail
if [[ -z ${LAZYFS:-} ]]; then
    if ! LAZYFS=$(flock "$BUILD_ROOT/lazyfs.lock" bash "$OCFL_SHARED/tools/lazyfs/build.sh" \
        "$BUILD_ROOT/lazyfs" 2>>"$BUILD_ROOT/lazyfs-build.log" | tail -1); then
        echo "Bail out! cannot build LazyFS (see $BUILD_ROOT/lazyfs-build.log)"
        exit 1
    fi
fi
export LAZYFS
exec python3 "$(dirname "$0")/power.py" "$@"
