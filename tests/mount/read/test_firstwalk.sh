#!/usr/bin/env bash
# test_firstwalk.sh: a first mount of a root (no object index yet) serves at once (issue 16):
# while its walk of the root is held after 100 objects (OCFLFS_TEST_WALK_GATE), an object is
# read by its name through the layout, the root's listing shows the objects found so far and
# .ocfl/status says "walking"; once the walk goes on, the listing is complete and says so;
# the next mount lists everything from the index at once.  Order of events, no timing.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"

N=400
root=$WORK/root
mnt=$WORK/mnt
"$OCFLFS" init "$root" >/dev/null || exit 1
# objects where the layout (0004) puts them, written as another tool would
python3 - "$root" "$N" <<'PY'
import hashlib, json, os, sys
root, n = sys.argv[1], int(sys.argv[2])
for k in range(n):
    oid = "urn:walk:%04d" % k
    body = ("object %d\n" % k).encode()
    cd = hashlib.sha512(body).hexdigest()
    h = hashlib.sha256(oid.encode()).hexdigest()
    top = os.path.join(root, h[0:3], h[3:6], h[6:9], h)
    os.makedirs(os.path.join(top, "v1", "content"))
    inv = {"id": oid, "type": "https://ocfl.io/1.1/spec/#inventory", "digestAlgorithm": "sha512",
           "head": "v1", "contentDirectory": "content", "manifest": {cd: ["v1/content/f.txt"]},
           "versions": {"v1": {"created": "2024-01-01T00:00:00Z", "message": "m",
                               "user": {"name": "U", "address": "mailto:u@example.org"},
                               "state": {cd: ["f.txt"]}}}}
    b = json.dumps(inv).encode()
    d = hashlib.sha512(b).hexdigest()
    open(os.path.join(top, "0=ocfl_object_1.1"), "w").write("ocfl_object_1.1\n")
    open(os.path.join(top, "v1", "content", "f.txt"), "wb").write(body)
    for where in (top, os.path.join(top, "v1")):
        open(os.path.join(where, "inventory.json"), "wb").write(b)
        open(os.path.join(where, "inventory.json.sha512"), "w").write(d + " inventory.json\n")
# and one that is not where the layout puts its id
top = os.path.join(root, "zz-misplaced")
os.makedirs(os.path.join(top, "v1", "content"))
oid = "urn:walk:misplaced"
body = b"misplaced\n"
cd = hashlib.sha512(body).hexdigest()
inv = {"id": oid, "type": "https://ocfl.io/1.1/spec/#inventory", "digestAlgorithm": "sha512",
       "head": "v1", "contentDirectory": "content", "manifest": {cd: ["v1/content/f.txt"]},
       "versions": {"v1": {"created": "2024-01-01T00:00:00Z", "message": "m",
                           "user": {"name": "U", "address": "mailto:u@example.org"},
                           "state": {cd: ["f.txt"]}}}}
b = json.dumps(inv).encode()
open(os.path.join(top, "0=ocfl_object_1.1"), "w").write("ocfl_object_1.1\n")
open(os.path.join(top, "v1", "content", "f.txt"), "wb").write(body)
for where in (top, os.path.join(top, "v1")):
    open(os.path.join(where, "inventory.json"), "wb").write(b)
    open(os.path.join(where, "inventory.json.sha512"), "w").write(hashlib.sha512(b).hexdigest() + " inventory.json\n")
PY
listing() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["listing"])' "$mnt/.ocfl/status" 2>&1; }

gate=$WORK/gate
NO_WAIT_LISTING=1 OCFLFS_TEST_WALK_GATE=$gate start_mount "$root" "$mnt" --state "$WORK/state" ||
    { echo "Bail out! cannot mount"; exit 1; }
# the walk holds after 100 objects: wait for it to get there (order, not time)
for _ in $(seq 3000); do
    (($(ls -f "$mnt" | grep -c '^urn:walk:') >= 100)) && break
    sleep 0.1
done
check_eq "while the walk runs, .ocfl/status says walking" walking "$(listing)"
shown=$(ls -f "$mnt" | grep -c '^urn:walk:')
check_true "the listing shows the objects found so far ($shown of $N)" test "$shown" -ge 100 -a "$shown" -lt "$N"
check_eq "an object not listed yet reads by its name (through the layout)" "object 399" \
    "$(cat "$mnt/urn:walk:0399/f.txt" 2>&1)"
check_eq "and one listed already" "object 0" "$(cat "$mnt/urn:walk:0000/f.txt" 2>&1)"
# a new object during the walk: mkdir waits for it (the walk may find that id elsewhere)
mkdir "$mnt/urn:walk:brand-new" 2>"$WORK/mkdir-new.err" &
mk_new=$!
mkdir "$mnt/urn:walk:misplaced" 2>"$WORK/mkdir-mis.err" &
mk_mis=$!
sleep 0.5
check_true "mkdir of a new object waits while the walk is held" kill -0 $mk_new
touch "$gate"
wait $mk_new
check_eq "  then makes it" 0 $?
wait $mk_mis
check_eq "mkdir of the id of an object the walk found elsewhere: EEXIST, no second object" "1 yes" \
    "$? $(grep -q "File exists" "$WORK/mkdir-mis.err" && echo yes)"
check_eq "  and that object reads" misplaced "$(cat "$mnt/urn:walk:misplaced/f.txt" 2>&1)"
for _ in $(seq 3000); do [[ $(listing) == complete ]] && break; sleep 0.1; done
check_eq "once the walk ends: complete" complete "$(listing)"
check_eq "and every object is listed (with the misplaced and the new one)" "$((N + 2))" "$(ls -f "$mnt" | grep -c '^urn:walk:')"
check_eq "the object read by name is listed once" 1 "$(ls -f "$mnt" | grep -c '^urn:walk:0399$')"
stop_mount "$mnt"
check_eq "unmount" 0 $?

NO_WAIT_LISTING=1 OCFLFS_TEST_WALK_GATE=$WORK/never start_mount "$root" "$mnt" --state "$WORK/state" ||
    { echo "Bail out! cannot mount again"; exit 1; }
check_eq "the next mount: complete at once, from the index (its refresh may hold)" complete "$(listing)"
check_eq "  with every object (and the staged new one)" "$((N + 2))" "$(ls -f "$mnt" | grep -c '^urn:walk:')"
stop_mount "$mnt"
check_eq "an unmount while a walk is held stops it (exit 0)" 0 $?
done_testing
