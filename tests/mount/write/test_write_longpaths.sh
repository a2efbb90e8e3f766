#!/usr/bin/env bash
# test_write_longpaths.sh: logical paths up to PATH_MAX-1 bytes (issue 12).  Their content paths
# ("<object>/vN/content/<path>") pass PATH_MAX, which no single system call takes: they are
# staged, committed, read back through versions/, validated, recovered after a kill and
# reverted after a conflict, byte for byte.  A rename that would push a path below past the
# limit is refused with ENAMETOOLONG and moves nothing.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"

root="$WORK/root"
mnt="$WORK/mnt"
state="$WORK/state"
make_root "$root"
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "mount" "$(cat "$mnt.log")"
mkdir "$mnt/obj"

# longpath.py DIR ACTION [ARGS]: walk the deep tree below DIR with directory descriptors (the
# kernel refuses whole paths of PATH_MAX bytes): 127-byte elements as pjdfstest makes them
LP="$WORK/longpath.py"
cat >"$LP" <<'PY'
import errno, hashlib, os, sys
top, action = sys.argv[1], sys.argv[2]
ELEM = "e" * 126
def chain(total):
    """elements of a relative path of exactly @total bytes"""
    names, used = [], 0
    while used + 1 + len(ELEM) + 1 < total:
        names.append(ELEM)
        used += len(ELEM) + 1
    names.append("f" * (total - used))
    return names
def walk(names, create):
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for n in names[:-1]:
        if create and not os.path.exists(os.path.join("/proc/self/fd", str(fd), n)):
            os.mkdir(n, dir_fd=fd)
        nfd = os.open(n, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    return fd, names[-1]
def code(f):
    try:
        f()
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
if action == "write":       # write TOTAL SEED: a file at a path of TOTAL bytes
    fd, leaf = walk(chain(int(sys.argv[3])), True)
    data = hashlib.sha512(sys.argv[4].encode()).digest() * 1000
    f = os.open(leaf, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o640, dir_fd=fd)
    os.write(f, data)
    os.close(f)
    print(hashlib.sha256(data).hexdigest())
elif action == "sum":       # sum TOTAL: the digest of the file there, or the error
    try:
        fd, leaf = walk(chain(int(sys.argv[3])), False)
        f = os.open(leaf, os.O_RDONLY, dir_fd=fd)
        data = b""
        while chunk := os.read(f, 1 << 20):
            data += chunk
        print(hashlib.sha256(data).hexdigest())
    except OSError as e:
        print(errno.errorcode[e.errno])
elif action == "toolong":   # toolong TOTAL: creating a path of TOTAL bytes fails how
    fd, leaf = walk(chain(int(sys.argv[3])), True)
    print(code(lambda: os.close(os.open(leaf, os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd))))
elif action == "rename":    # rename OLD NEW: the top element renamed
    print(code(lambda: os.rename(os.path.join(top, sys.argv[3]), os.path.join(top, sys.argv[4]))))
PY

# a path of PATH_MAX-1 bytes below the object and one of PATH_MAX-50
s1=$(python3 "$LP" "$mnt/obj" write 4095 one)
s2=$(python3 "$LP" "$mnt/obj" write 4046 two)
check_true "a file at a path of 4,095 bytes (PATH_MAX-1) is staged" test -n "$s1"
check_eq "its bytes read back while staged" "$s1" "$(python3 "$LP" "$mnt/obj" sum 4095)"
check_eq "4,096 bytes (PATH_MAX) below the object: ENAMETOOLONG" ENAMETOOLONG \
    "$(python3 "$LP" "$mnt/obj" toolong 4096)"
# renaming the top element to a longer name would push the 4,095-byte path past the limit
check_eq "a rename that would make a path below too long: ENAMETOOLONG" ENAMETOOLONG \
    "$(python3 "$LP" "$mnt/obj" rename "$(printf 'e%.0s' $(seq 126))" "$(printf 'x%.0s' $(seq 130))")"
check_eq "and nothing moved" "$s1" "$(python3 "$LP" "$mnt/obj" sum 4095)"
# the same length is fine
check_eq "a rename to a name as long: done" ok \
    "$(python3 "$LP" "$mnt/obj" rename "$(printf 'e%.0s' $(seq 126))" "$(printf 'r%.0s' $(seq 126))")"
python3 "$LP" "$mnt/obj" rename "$(printf 'r%.0s' $(seq 126))" "$(printf 'e%.0s' $(seq 126))" >/dev/null

setfattr -n user.ocfl.commit -v "long paths" "$mnt/obj"
tap_result $(($? == 0)) "the commit takes content paths past PATH_MAX" "$(cat "$mnt/obj/.ocfl/commit" 2>&1)"
check_eq "v1 holds both files, byte for byte" "$s1 $s2" \
    "$(python3 "$LP" "$mnt/obj/.ocfl/versions/v1" sum 4095) $(python3 "$LP" "$mnt/obj/.ocfl/versions/v1" sum 4046)"
check_eq "the head shows them too" "$s1 $s2" \
    "$(python3 "$LP" "$mnt/obj" sum 4095) $(python3 "$LP" "$mnt/obj" sum 4046)"
out=$("$OCFLFS" validate "$root/obj" 2>&1 | cut -c -300)
tap_result $(($? == 0)) "the object validates" "$out"

# v2: the long file changed (its content goes to v2/content/…); its plan gives the switch step
s1b=$(python3 "$LP" "$mnt/obj" write 4095 one-b)
setfattr -n user.ocfl.commit -v "v2" "$mnt/obj"
tap_result $(($? == 0)) "a second version of the long file" "$(cat "$mnt/obj/.ocfl/commit" 2>&1)"
plan=$(ls "$mnt/.ocfl/plans/" | sort -n | tail -1)
switch=$(python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
print(next(s["index"] for s in p["step_list"] if s["dest"] == "inventory.json"))' "$mnt/.ocfl/plans/$plan" 2>&1)
check_eq "v2's bytes" "$s1b" "$(python3 "$LP" "$mnt/obj/.ocfl/versions/v2" sum 4095)"
stop_mount "$mnt"

# v3 killed before the switch, its content already moved; the object changed outside:
# the next mount reverts, and the staged bytes come back from a content path past PATH_MAX
OCFLFS_TEST_KILL_BEFORE_STEP=$switch start_mount "$root" "$mnt" --state "$state" ||
    tap_result 0 "mount with the kill hook" "$(cat "$mnt.log")"
s1c=$(python3 "$LP" "$mnt/obj" write 4095 one-c)
setfattr -n user.ocfl.commit -v "killed" "$mnt/obj" 2>/dev/null
kill_mount "$mnt"
check_true "the killed commit had moved content into v3 (a path past PATH_MAX)" test -d "$root/obj/v3"
python3 - "$root/obj" <<'PY'
import hashlib, json, os, sys
obj = sys.argv[1]
inv = json.load(open(os.path.join(obj, "inventory.json")))
inv["versions"]["v2"]["message"] = "changed by another tool"
data = json.dumps(inv, indent=2).encode()
for d in (obj, os.path.join(obj, "v2")):  # a valid change: root and v2 alike
    open(os.path.join(d, "inventory.json"), "wb").write(data)
    open(os.path.join(d, "inventory.json.sha512"), "w").write(hashlib.sha512(data).hexdigest() + "  inventory.json\n")
PY
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "remount after the conflict" "$(cat "$mnt.log")"
check_true "no v3 is left" test ! -e "$root/obj/v3"
check_eq "the staged long file is back, byte for byte" "$s1c" "$(python3 "$LP" "$mnt/obj" sum 4095)"
setfattr -n user.ocfl.commit -v '{"message": "v3 again", "rebase": true}' "$mnt/obj"
tap_result $(($? == 0)) "committed again, over the other tool's change" "$(cat "$mnt/obj/.ocfl/commit" 2>&1)"
check_eq "v3's bytes" "$s1c" "$(python3 "$LP" "$mnt/obj/.ocfl/versions/v3" sum 4095)"

# removal of the deep tree
rm -rf "$mnt/obj/$(printf 'e%.0s' $(seq 126))"
setfattr -n user.ocfl.commit -v "removed" "$mnt/obj"
tap_result $(($? == 0)) "the deep tree removed in v4" "$(cat "$mnt/obj/.ocfl/commit" 2>&1)"
check_eq "gone from the head, still in v3" "ENOENT $s1c" \
    "$(python3 "$LP" "$mnt/obj" sum 4095) $(python3 "$LP" "$mnt/obj/.ocfl/versions/v3" sum 4095)"
stop_mount "$mnt"
tap_result $(($? == 0)) "unmount"
out=$("$OCFLFS" validate "$root/obj" 2>&1 | cut -c -300)
tap_result $(($? == 0)) "the object validates" "$out"
done_testing
