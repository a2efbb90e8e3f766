#!/usr/bin/env bash
# test_write_tools.sh: ordinary tools through the writable mount, each step done the same way in
# a native reference tree; the view equals the reference before the commit, and the committed
# version equals it by an independent reading of the inventory (write_check.py); commit and
# discard by xattr and control file; new objects by mkdir; refusals (EPERM, EILSEQ, ENODATA).
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"
MAKE="$SOURCE_ROOT/tests/mount/make_object.py"
CHECK="$SOURCE_ROOT/tests/mount/write_check.py"
valid() { "$OCFLFS" validate "$1" >/dev/null 2>&1; }

root="$WORK/root"
mnt="$WORK/mnt"
ref="$WORK/ref"
src="$WORK/src"
make_root "$root"
python3 "$MAKE" "$root/a" "urn:test:a" --files 6 --per-dir 3 >/dev/null
start_mount "$root" "$mnt" --state "$WORK/state" --user "Test User" --address mailto:t@example.org ||
    tap_result 0 "mount" "$(cat "$mnt.log")"
obj="$mnt/urn:test:a"
cp -r "$obj" "$ref"

# a source tree for cp -r, rsync and tar
mkdir -p "$src/deep/er" "$src/empty"
for i in 1 2 3; do echo "src $i" >"$src/s$i.txt"; echo "deep $i" >"$src/deep/er/d$i.txt"; done
tar -C "$src" -cf "$WORK/src.tar" .
head -c $((64 << 20)) /dev/urandom >"$WORK/big.bin"

# both DESCRIPTION COMMAND: run COMMAND (a string using $D) in the mount and in the reference
both() {
    local what=$1 cmd=$2 rc1 rc2
    (D="$obj" && cd "$obj" && eval "$cmd") >"$WORK/out1" 2>&1
    rc1=$?
    (D="$ref" && cd "$ref" && eval "$cmd") >"$WORK/out2" 2>&1
    rc2=$?
    if [[ $rc1 == 0 && $rc2 == 0 ]] && diff -r "$obj" "$ref" >"$WORK/diff" 2>&1; then
        tap_result 1 "$what"
    else
        tap_result 0 "$what" "mount rc $rc1, native rc $rc2: $(head -c 400 "$WORK/out1") $(head -c 400 "$WORK/diff")"
    fi
}

both "cp a file" 'cp "$WORK/src/s1.txt" new.txt'
both "cp -r a tree" 'cp -r "$WORK/src/deep" copied'
both "append" 'echo more >>d0000/f000000.txt; echo again >>new.txt'
both "touch creates" 'touch touched.txt'
both "truncate grows and shrinks" 'truncate -s 100 d0000/f000001.txt; truncate -s 3 copied/er/d1.txt'
both "dd conv=notrunc at an offset" 'printf XYZ | dd of=d0000/f000002.txt bs=1 seek=2 conv=notrunc status=none'
both "sed -i" 'sed -i s/file/FILE/ d0001/f000003.txt'
both "an editor's save: temp, fsync, rename over" 'python3 -c "
import os
fd = os.open(\"d0001/.f000004.txt.swp\", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
os.write(fd, b\"saved by the editor\n\")
os.fsync(fd)
os.close(fd)
os.rename(\"d0001/.f000004.txt.swp\", \"d0001/f000004.txt\")
"'
both "mv a committed file" 'mv d0001/f000005.txt moved.txt'
both "mv a directory of committed files" 'mv d0000 renamed-dir'
both "mv a file over an existing one" 'mv moved.txt renamed-dir/f000000.txt'
both "mkdir -p" 'mkdir -p a/b/c && echo x >a/b/c/x.txt'
both "rm -r" 'rm -r copied'
both "rsync -rt" 'rsync -rt "$WORK/src/" synced/'
both "tar -x" 'mkdir untarred && tar -C untarred -xf "$WORK/src.tar"'
both "a 64 MiB file" 'cp "$WORK/big.bin" big.bin'
both "dd at an offset of the big file" 'printf ABC | dd of=big.bin bs=1 seek=$((40 << 20)) conv=notrunc status=none'
both "rmdir, unlink" 'mkdir gone && rmdir gone && rm touched.txt'

# a file written sequentially from 0 is hashed while written: its digest is recorded at close
head -c $((16 << 20)) /dev/urandom >"$WORK/seq.bin"
both "dd a 16 MiB file in 1 MiB blocks" 'dd if="$WORK/seq.bin" of=seq.bin bs=1M status=none'
both "a file written backwards" 'for i in 3 2 1 0; do dd if="$WORK/seq.bin" of=back.bin bs=1M skip=$i seek=$i count=1 conv=notrunc status=none; done'
staged_digest() {
    python3 -c "import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute('select digest from staged where object_id=? and path=?', ('urn:test:a', sys.argv[2])).fetchone(); print((r[0] or '') if r else 'no row')" \
        "$WORK/state/ocflfs.db" "$1"
}
# (hashed in the background: recorded once the hasher caught up after close)
for _ in $(seq 100); do [[ -n $(staged_digest seq.bin) ]] && break; sleep 0.1; done
check_eq "the sequential file's digest is known before the commit" \
    "$(sha512sum <"$WORK/seq.bin" | cut -d' ' -f1)" "$(staged_digest seq.bin)"
check_eq "the backwards file's digest is left to the commit" "" "$(staged_digest back.bin)"

check_eq "user.ocfl.staged of an added file" "added" "$(getfattr --only-values -n user.ocfl.staged "$obj/new.txt" 2>/dev/null)"
check_eq "user.ocfl.staged of a modified file" "modified" \
    "$(getfattr --only-values -n user.ocfl.staged "$obj/d0001/f000003.txt" 2>/dev/null)"
python3 -c "
import json, sys
s = json.load(open(sys.argv[1]))
assert any(a['path'] == 'big.bin' and a['size'] == 64 << 20 for a in s['added']), s['added']
assert any(r['path'] == 'd0001/f000005.txt' for r in s['removed']) or s['renamed'], s
" "$obj/.ocfl/status" 2>"$WORK/err"
check_eq ".ocfl/status lists added (with sizes) and removed" "" "$(cat "$WORK/err")"

# refusals
ln -s x "$obj/link" 2>/dev/null
check_eq "symlink: EPERM" 1 $?
ln "$ref/new.txt" "$obj/hard" 2>/dev/null; ln "$obj/new.txt" "$obj/hard" 2>"$WORK/err"
check_grep "link: EPERM" "not permitted" "$WORK/err"
mkfifo "$obj/fifo" 2>"$WORK/err"
check_grep "mknod: EPERM" "not permitted" "$WORK/err"
python3 -c "
import os, sys, errno
try:
    open(os.fsencode(sys.argv[1]) + b'/bad\xff', 'w')
except OSError as e:
    print(errno.errorcode[e.errno])
" "$obj" >"$WORK/err" 2>&1
check_eq "a name that is not UTF-8: EILSEQ" "EILSEQ" "$(cat "$WORK/err")"
{ echo x >"$mnt/file-at-root"; } 2>/dev/null
check_eq "no files at the mount's root" 1 $?
{ echo x >"$obj/.ocfl/versions/v1/nope"; } 2>/dev/null
check_eq "versions/ is read-only" 1 $?

# commit by xattr: returns when durable; the version equals the reference
setfattr -n user.ocfl.commit -v "tools" "$obj"
check_eq "setfattr user.ocfl.commit succeeds" 0 $?
check_eq "the commit's result names v2" "v2" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$obj/.ocfl/commit")"
check_eq "v2 equals the reference (independent reading)" 0 \
    "$(python3 "$CHECK" "$root/a" "$ref" --head v2 >"$WORK/chk" 2>&1; echo $?)"
check_eq "v2: user from --user" "Test User" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["versions"]["v2"]["user"]["name"])' "$root/a/inventory.json")"
check_true "the root validates after the commit" valid "$root/a"
find "$ref" -mindepth 1 -type d -empty -delete # a commit drops empty directories
check_true "the view still equals the reference (empty directories dropped)" diff -r "$obj" "$ref"
check_eq "nothing staged after the commit" "[] []" \
    "$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["added"], s["modified"])' "$obj/.ocfl/status")"

# nothing staged: no empty version
setfattr -n user.ocfl.commit -v "empty" "$obj" 2>"$WORK/err"
check_eq "commit with nothing staged fails" 1 $?
check_grep ".ocfl/commit says why" "nothing" "$obj/.ocfl/commit"
check_eq "no v3 was made" "v2" "$(getfattr --only-values -n user.ocfl.head "$obj" 2>/dev/null)"

# commit by the control file, JSON with a user
both "edits for v3" 'echo v3 >v3.txt && rm -r synced'
echo '{"message":"by file","user":{"name":"File User","address":"mailto:f@example.org"}}' >"$obj/.ocfl/commit"
check_eq "echo JSON > .ocfl/commit succeeds" 0 $?
check_eq "v3 equals the reference" 0 "$(python3 "$CHECK" "$root/a" "$ref" --head v3 >"$WORK/chk" 2>&1; echo $?)"
check_eq "v3: message and user from the JSON" "by file File User" \
    "$(python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["versions"]["v3"]; print(v["message"], v["user"]["name"])' "$root/a/inventory.json")"

# discard: the view goes back to the head
echo junk >"$obj/junk.txt"; echo changed >"$obj/v3.txt"; rm "$obj/new.txt"
echo x >"$obj/.ocfl/discard"
check_eq "discard succeeds" 0 $?
check_true "after discard the view equals the head again" diff -r "$obj" "$ref"
echo junk >"$obj/junk2.txt"
setfattr -n user.ocfl.discard -v 1 "$obj"
check_true "discard by xattr" test ! -e "$obj/junk2.txt"

# a new object: mkdir, files, commit makes v1; an empty new one can be removed
mkdir "$mnt/newobj" && mkdir -p "$mnt/newobj/sub" && echo hello >"$mnt/newobj/sub/hello.txt"
mkdir -p "$mnt/newobj/emptydir"
check_eq "a new object lists its files" "emptydir sub" "$(ls "$mnt/newobj" | xargs)"
setfattr -n user.ocfl.commit -v "first" "$mnt/newobj"
check_eq "the new object's commit succeeds" 0 $?
mkdir -p "$WORK/ref-new/sub" && echo hello >"$WORK/ref-new/sub/hello.txt"
check_eq "its v1 equals what was written" 0 "$(python3 "$CHECK" "$root/newobj" "$WORK/ref-new" --head v1 >"$WORK/chk" 2>&1; echo $?)"
check_grep "the empty directory was dropped and reported" "emptydir" "$mnt/newobj/.ocfl/commit"
check_true "the new object validates" valid "$root/newobj"
mkdir "$mnt/tmpobj" && rmdir "$mnt/tmpobj"
check_true "rmdir of an uncommitted new object removes it" test ! -e "$mnt/tmpobj"

stop_mount "$mnt"
check_eq "clean unmount" 0 $?
done_testing
