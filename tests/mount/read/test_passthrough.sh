#!/usr/bin/env bash
# test_passthrough.sh: files of versions/ (immutable) are read through the kernel's passthrough
# (no FUSE read reaches the daemon) when libfuse and the kernel offer it; head files are served
# by the daemon, so that a reader opened before a write sees the written bytes; bytes stay
# right; -o nopassthrough turns passthrough off.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"
MAKE="$SOURCE_ROOT/tests/mount/make_object.py"

root="$WORK/root"
mnt="$WORK/mnt"
make_root "$root"
python3 "$MAKE" "$root/a" "urn:test:a" --files 4 --big-mib 8
big_sum=$(sha256sum <"$root/a/v1/content/big.bin" | cut -d' ' -f1)
obj="$mnt/urn:test:a"

# status KEY: a number or boolean of MOUNT/.ocfl/status
status() {
    python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(str(v).lower())' \
        "$mnt/.ocfl/status" "$1"
}

start_mount "$root" "$mnt" --state "$WORK/state"
check_true "mounted" mountpoint -q "$mnt"
expect=${OCFLFS_EXPECT_PASSTHROUGH:-0}
if [[ $expect == 1 ]] && grep -q "kernel does not offer it" "$mnt.log"; then
    expect=0 # libfuse can, this kernel cannot: the log says so
fi
pt=$(status passthrough)
check_eq "status says whether passthrough is on" "$([[ $expect == 1 ]] && echo true || echo false)" "$pt"
check_grep "the log says whether passthrough is on" "kernel passthrough: $([[ $expect == 1 ]] && echo on || echo off)" "$mnt.log"

r0=$(status fuse_reads)
check_eq "versions/v1: right bytes" "$big_sum" "$(sha256sum <"$obj/.ocfl/versions/v1/big.bin" | cut -d' ' -f1)"
check_eq "versions/v1, small file: right bytes" "file 1" "$(cat "$obj/.ocfl/versions/v1/d0000/f000001.txt")"
r1=$(status fuse_reads)
check_eq "big file: right bytes" "$big_sum" "$(sha256sum <"$obj/big.bin" | cut -d' ' -f1)"
check_eq "small file: right bytes" "file 1" "$(cat "$obj/d0000/f000001.txt")"
r2=$(status fuse_reads)
if [[ $pt == true ]]; then
    check_eq "passthrough: reading 8 MiB of versions/ costs no FUSE read" 0 $((r1 - r0))
    check_true "passthrough: opens are counted" test "$(status passthrough_opens)" -ge 2
else
    check_true "no passthrough: reads of versions/ go through the daemon" test $((r1 - r0)) -gt 0
fi
check_true "head files are read through the daemon" test $((r2 - r1)) -gt 0

# two readers of the same inode share its backing file
exec 3<"$obj/.ocfl/versions/v1/big.bin"
exec 4<"$obj/.ocfl/versions/v1/big.bin"
check_eq "two open readers: right bytes" "$big_sum" "$(sha256sum <&4 | cut -d' ' -f1)"
exec 4<&-
check_eq "the first reader still reads after the second closed" "$big_sum" "$(sha256sum <&3 | cut -d' ' -f1)"
exec 3<&-

# a head file open for reading is written meanwhile: copy-up works, the reader sees the write
f="$obj/d0000/f000000.txt"
want=$(cat "$root/a/v1/content/d0000/f000000.txt"; printf ' more')
exec 3<"$f"
check_true "append to a file a reader holds open" sh -c "printf ' more' >>'$f'"
check_eq "the written file reads back (while the reader is open)" "$want" "$(cat "$f")"
check_eq "the reader opened before sees the written bytes" "$want" "$(cat <&3)"
check_eq "versions/v1 keeps the committed bytes" "file 0" "$(cat "$obj/.ocfl/versions/v1/d0000/f000000.txt")"
exec 3<&-
check_eq "after the reader closed: still the staged bytes" "$want" "$(cat "$f")"

# a staged file open (cached) while the commit makes it committed content: later opens work
printf 'new bytes' >"$obj/new.txt"
exec 4<"$obj/new.txt"
echo "passthrough test" >"$obj/.ocfl/commit"
check_eq "commit made v2" v2 \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$obj/.ocfl/commit")"
check_eq "a committed file open from before the commit: right bytes" "new bytes" "$(cat "$obj/new.txt")"
check_eq "the old handle still reads" "new bytes" "$(cat <&4)"
exec 4<&-
check_eq "after the commit: the written file" "$want" "$(cat "$f")"
check_eq "after the commit: the new file" "new bytes" "$(cat "$obj/new.txt")"
r0=$(status fuse_reads)
check_eq "after the commit: versions/v1 keeps the old bytes" "file 0" "$(cat "$obj/.ocfl/versions/v1/d0000/f000000.txt")"
check_eq "after the commit: versions/v2 has the new bytes" "new bytes" "$(cat "$obj/.ocfl/versions/v2/new.txt")"
r1=$(status fuse_reads)
if [[ $pt == true ]]; then
    check_eq "passthrough of versions/ after a commit: no FUSE read" 0 $((r1 - r0))
fi
check_true "unmount" stop_mount "$mnt"

# -o nopassthrough
start_mount "$root" "$mnt" --state "$WORK/state" -o nopassthrough
check_eq "-o nopassthrough: status says off" false "$(status passthrough)"
check_grep "-o nopassthrough: the log says off" "kernel passthrough: off" "$mnt.log"
r0=$(status fuse_reads)
check_eq "-o nopassthrough: right bytes" "$big_sum" "$(sha256sum <"$obj/big.bin" | cut -d' ' -f1)"
r1=$(status fuse_reads)
check_true "-o nopassthrough: reads go through the daemon" test $((r1 - r0)) -gt 0
check_true "unmount" stop_mount "$mnt"

done_testing
