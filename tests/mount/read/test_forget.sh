#!/usr/bin/env bash
# test_forget.sh: the daemon frees the inodes the kernel forgets.  An object of 20,000 files
# (made with `ocflfs put`) is walked with find (head and versions/v1); after drop_caches the
# kernel sends FORGETs and the node count in .ocfl/status falls below a tenth of what the
# walk made.  After the drops: bytes and digests are right, a file held open across a drop
# still reads, a write/rename/unlink/commit makes the right version, and find racing with
# drop_caches for a few seconds does not bring the daemon down (nor a sanitizer report).
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"

if ! [[ -w /proc/sys/vm/drop_caches ]] || ! echo 2 >/proc/sys/vm/drop_caches 2>/dev/null; then
    echo "1..0 # SKIP /proc/sys/vm/drop_caches is not writable (needs root)"
    exit 77
fi

NFILES=${FORGET_FILES:-20000}
root="$WORK/root"
mnt="$WORK/mnt"
src="$WORK/src"
make_root "$root"
python3 - "$src" "$NFILES" <<'EOF'
import os, sys
src, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(src, "d%03d" % (i % 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.txt" % i), "w") as f:
        f.write("file %d\n" % i + "x" * (i % 97))
EOF
"$OCFLFS" put "$root" urn:test:big "$src" -m "20,000 files" --state "$WORK/state" \
    >/dev/null 2>"$WORK/put.err"
check_eq "put the object" 0 $?
start_mount "$root" "$mnt" --state "$WORK/state" --user "Test User" \
    --address mailto:t@example.org || tap_result 0 "mount" "$(cat "$mnt.log")"
obj="$mnt/urn:test:big"

status() { # status KEY
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
        "$mnt/.ocfl/status" "$1"
}
drop() { sync && echo 2 >/proc/sys/vm/drop_caches; }
# drop_until LIMIT: drop caches (the FORGETs arrive asynchronously) until the daemon has
# fewer than LIMIT nodes, 10 s at most; prints the last count
drop_until() {
    local i n
    for ((i = 0; i < 20; i++)); do
        drop
        sleep 0.5
        n=$(status nodes)
        ((n < $1)) && break
    done
    echo "$n"
}

# every walked file and directory gets a node; the kernel may forget some during a walk
# already (memory pressure), so count the nodes made: alive + freed
made() { echo $(($(status nodes) + $(status nodes_freed))); }
walked=$((2 * NFILES)) # head and v1
limit=$((walked / 10))
m0=$(made)
files=$(find "$obj" -type f | wc -l)
check_eq "find over the head sees every file" "$NFILES" "$files"
files=$(find "$obj/.ocfl/versions/v1" -type f | wc -l)
check_eq "find over versions/v1 sees every file" "$NFILES" "$files"
n1=$(status nodes)
m1=$(made)
check_true "the walks made a node per file ($m0 -> $m1 made, $n1 alive)" \
    test $((m1 - m0)) -ge "$walked"
n2=$(drop_until "$limit")
check_true "after drop_caches, nodes fall below a tenth of the walk's ($n1 -> $n2)" \
    test "$n2" -lt "$limit"
check_true "status counts freed nodes" test "$(status nodes_freed)" -gt $((walked - limit))

# again, twice: a walk after the drop makes new nodes, the next drop frees them again
# (a walk may find again the nodes still alive, kept idle after the drop)
for round in 1 2; do
    n0=$(status nodes)
    m1=$(made)
    find "$obj" "$obj/.ocfl/versions/v1" -type f >/dev/null
    n1=$(status nodes)
    m2=$(made)
    n2=$(drop_until "$limit")
    check_true "round $round: walk ($n0 alive, $((m2 - m1)) made, $n1 alive) then drop ($n2)" \
        test $((m2 - m1 + n0)) -ge "$walked" -a "$n2" -lt "$limit"
done

# bytes and digests after the drops: every 97th file, head and v1
bad=0
for ((i = 0; i < NFILES; i += 97)); do
    rel=$(printf 'd%03d/f%05d.txt' $((i % 100)) "$i")
    cmp -s "$src/$rel" "$obj/$rel" || bad=$((bad + 1))
    cmp -s "$src/$rel" "$obj/.ocfl/versions/v1/$rel" || bad=$((bad + 1))
done
check_eq "files read back after the drops (head and v1)" 0 "$bad"
bad=0
for i in 0 1 4999 12345 $((NFILES - 1)); do
    rel=$(printf 'd%03d/f%05d.txt' $((i % 100)) "$i")
    want="sha512:$(sha512sum <"$src/$rel" | cut -d' ' -f1)"
    got=$(getfattr --absolute-names --only-values -n user.ocfl.digest "$obj/$rel" 2>&1)
    [[ $got == "$want" ]] || bad=$((bad + 1))
    got=$(getfattr --absolute-names --only-values -n user.ocfl.digest "$obj/.ocfl/versions/v1/$rel" 2>&1)
    [[ $got == "$want" ]] || bad=$((bad + 1))
done
check_eq "digests after the drops (head and v1)" 0 "$bad"

# a file held open across drops keeps reading (its node is pinned by the handle)
python3 - "$obj/d007/f00007.txt" "$obj/.ocfl/versions/v1/d042/f00042.txt" \
    "$src/d007/f00007.txt" "$src/d042/f00042.txt" >"$WORK/held.out" 2>&1 <<'EOF'
import subprocess, sys, time
fa, fb, sa, sb = sys.argv[1:5]
fs = [open(fa, "rb"), open(fb, "rb")]
first = [f.read(3) for f in fs]
for _ in range(3):
    subprocess.run(["sh", "-c", "sync; echo 2 > /proc/sys/vm/drop_caches"], check=True)
    time.sleep(0.3)
rest = [f.read() for f in fs]
for f, head, tail, s in zip(fs, first, rest, [sa, sb]):
    want = open(s, "rb").read()
    print("same" if head + tail == want else "differs")
    f.seek(0)
    print("same" if f.read() == want else "differs")
EOF
check_eq "files held open across drops read the same bytes" "same same same same" \
    "$(tr '\n' ' ' <"$WORK/held.out" | sed 's/ $//')"

# staged changes after a drop, then a commit: the new version has them
drop
echo "new content" >"$obj/d001/new.txt"
mv "$obj/d002/f00002.txt" "$obj/d002/renamed.txt"
rm "$obj/d003/f00003.txt"
echo "changed" >"$obj/d004/f00004.txt"
drop_until 1000000 >/dev/null
check_eq "a staged file reads after a drop" "new content" "$(cat "$obj/d001/new.txt" 2>&1)"
check_eq "a renamed file reads after a drop" "$(cat "$src/d002/f00002.txt")" \
    "$(cat "$obj/d002/renamed.txt" 2>&1)"
check_true "an unlinked file stays gone after a drop" test ! -e "$obj/d003/f00003.txt"
# a staged directory read in small pieces across drops: its listing's snapshot holds its
# nodes, so every name comes once and its d_ino is the inode a lookup gives meanwhile
python3 - "$obj/d005" >"$WORK/dir.out" 2>&1 <<'EOF2'
import ctypes, os, struct, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
d = sys.argv[1]
fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
buf = ctypes.create_string_buffer(512)
seen, calls, bad_ino = {}, 0, 0
while True:
    k = libc.syscall(217, fd, buf, len(buf))  # getdents64
    if k <= 0:
        break
    calls += 1
    raw, pos = buf.raw[:k], 0
    while pos < k:
        ino, _, reclen, _ = struct.unpack_from("<QqHB", raw, pos)
        name = raw[pos + 19 : pos + reclen].split(b"\0", 1)[0].decode()
        pos += reclen
        if name not in (".", ".."):
            seen[name] = seen.get(name, 0) + 1
            if os.stat(os.path.join(d, name)).st_ino != ino:
                bad_ino += 1
    if calls % 3 == 0:
        subprocess.run(["sh", "-c", "sync; echo 2 > /proc/sys/vm/drop_caches"], check=True)
os.close(fd)
print(len(seen), max(seen.values()), bad_ino, "pieces" if calls > 3 else "one piece")
EOF2
check_eq "a staged directory read across drops: every name once, inode numbers stable" \
    "200 1 0 pieces" "$(cat "$WORK/dir.out")"
setfattr -n user.ocfl.commit -v "after forgetting" "$obj"
check_eq "commit after the drops" 0 $?
drop_until 1000000 >/dev/null
v2="$obj/.ocfl/versions/v2"
check_eq "v2: the new file" "new content" "$(cat "$v2/d001/new.txt" 2>&1)"
check_eq "v2: the renamed file" "$(cat "$src/d002/f00002.txt")" "$(cat "$v2/d002/renamed.txt" 2>&1)"
check_true "v2: the old name is gone" test ! -e "$v2/d002/f00002.txt"
check_true "v2: the unlinked file is gone" test ! -e "$v2/d003/f00003.txt"
check_eq "v2: the rewritten file" "changed" "$(cat "$v2/d004/f00004.txt" 2>&1)"
check_eq "v2: the head shows it too" "changed" "$(cat "$obj/d004/f00004.txt" 2>&1)"
check_eq "v2: file count" "$NFILES" "$(find "$v2" -type f | wc -l)"
check_eq "v1 is unchanged" "$(cat "$src/d003/f00003.txt")" \
    "$(cat "$obj/.ocfl/versions/v1/d003/f00003.txt" 2>&1)"
want="sha512:$(printf 'changed\n' | sha512sum | cut -d' ' -f1)"
check_eq "v2: digest of the rewritten file" "$want" \
    "$(getfattr --absolute-names --only-values -n user.ocfl.digest "$v2/d004/f00004.txt" 2>&1)"

# find and drop_caches racing for a few seconds
end=$((SECONDS + 4))
(while ((SECONDS < end)); do find "$obj" -type f >/dev/null 2>&1; done) &
f1=$!
(while ((SECONDS < end)); do
    find "$obj/.ocfl/versions/v1" "$obj/.ocfl/versions/v2" -name 'f0000*' -exec cat {} + \
        >/dev/null 2>&1
done) &
f2=$!
while ((SECONDS < end)); do
    drop
    sleep 0.2
done
wait $f1 $f2
check_true "the daemon survives find racing with drop_caches" kill -0 "$MOUNT_PID"
check_eq "and still serves the tree" "$NFILES" "$(find "$obj/.ocfl/versions/v1" -type f | wc -l)"
last=$(printf 'd%03d/f%05d.txt' $(((NFILES - 1) % 100)) $((NFILES - 1)))
check_eq "and its bytes" "$(cat "$src/$last")" "$(cat "$obj/$last" 2>&1)"
check_true "unmount (no sanitizer report)" stop_mount "$mnt"
done_testing
