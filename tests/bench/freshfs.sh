#!/usr/bin/env bash
# freshfs.sh COMMAND [ARGS...]: run a benchmark with TMPDIR on a new ext4 file system (a sparse
# image in a loop device, made and removed here; root only).  On a file system where many files
# were deleted shortly before (other tests, other sessions, a benchmark's own earlier rounds),
# ext4's inode allocator scans for recently deleted inodes and a create costs up to ten times
# more, natively and through the mount alike: figures measured on such a file system say more
# about its history than about ocflfs.  FRESHFS_SIZE (default 32G, sparse) sizes the image.
set -euo pipefail
(($#)) || { echo "usage: freshfs.sh COMMAND [ARGS...]" >&2; exit 2; }
base=$(mktemp -d)
img=$base/fs.img
mnt=$base/mnt
cleanup() {
    mountpoint -q "$mnt" && umount "$mnt"
    rm -rf "$base"
}
trap cleanup EXIT
mkdir "$mnt"
truncate -s "${FRESHFS_SIZE:-32G}" "$img"
mkfs.ext4 -q -F "$img"
mount -o loop "$img" "$mnt"
echo "freshfs: TMPDIR=$mnt, a new ext4 of ${FRESHFS_SIZE:-32G}"
TMPDIR=$mnt "$@"
