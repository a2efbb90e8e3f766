#!/usr/bin/env bash
# test_lifecycle.sh: daemon start, second daemon refused, unmount and remount, SIGTERM
# unmounts, the object index in the state dir is written and follows changes made outside.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"
MAKE="$SOURCE_ROOT/tests/mount/make_object.py"

root="$WORK/root"
mnt="$WORK/mnt"
mnt2="$WORK/mnt2"
state="$WORK/state"
mkdir -p "$mnt" "$mnt2"
make_root "$root"
python3 "$MAKE" "$root/a" "urn:test:a" --files 3
python3 "$MAKE" "$root/b" "urn:test:b" --files 3
index_rows() {
    python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from objects').fetchone()[0])" "$state/ocflfs.db"
}

# a daemon: the command returns once the mount is up
MOUNTS+=("$mnt" "$mnt2")
"$OCFLFS" mount "$root" "$mnt" --state "$state" 2>"$WORK/daemon.err"
check_eq "daemon: exits 0 once mounted" 0 $?
check_true "daemon: mounted when the command returns" mountpoint -q "$mnt"
wait_listing "$mnt" # a first mount: its listing fills in from a walk
check_eq "daemon: serves files" "file 2" "$(cat "$mnt/urn:test:a/d0000/f000002.txt")"

"$OCFLFS" mount "$root" "$mnt2" --state "$state" 2>"$WORK/second.err"
check_eq "second daemon on the same root: exit 1" 1 $?
check_grep "second daemon: clear error naming the state dir" "$state" "$WORK/second.err"
check_true "second daemon: did not mount" sh -c "! mountpoint -q '$mnt2'"
check_true "first daemon still serves" test -d "$mnt/urn:test:b"

fusermount3 -u "$mnt"
check_true "fusermount3 -u unmounts" wait_unmounted "$mnt"
check_eq "index holds every object" 2 "$(index_rows)"

# after the daemon is gone, the lock is free again: a new mount works
ok=0
for i in $(seq 1 40); do
    if "$OCFLFS" mount "$root" "$mnt" --state "$state" 2>/dev/null; then ok=1; break; fi
    sleep 0.1
done
check_eq "remount after unmount" 1 "$ok"
check_eq "remount: same bytes" "file 0" "$(cat "$mnt/urn:test:b/d0000/f000000.txt")"
fusermount3 -u "$mnt"
wait_unmounted "$mnt"
sleep 0.3

# changes outside while unmounted: the list is refreshed after a mount from the index
python3 "$MAKE" "$root/c" "urn:test:c" --files 1
rm -rf "$root/a"
start_mount "$root" "$mnt" --state "$state" || tap_result 0 "foreground mount" "$(cat "$mnt.log")"
seen=""
for i in $(seq 1 50); do
    seen=$(ls "$mnt" | xargs)
    [[ $seen == "urn:test:b urn:test:c" ]] && break
    sleep 0.1
done
check_eq "objects added and removed outside are seen" "urn:test:b urn:test:c" "$seen"
check_eq "index follows" 2 "$(index_rows)"

# an object created outside while mounted, where the layout puts it, opens by name at once
python3 "$MAKE" "$root/urn:test:d" "urn:test:d" --files 2
check_eq "object created outside opens by name (layout lookup)" "file 1" \
    "$(cat "$mnt/urn:test:d/d0000/f000001.txt" 2>&1)"
check_eq "... and is added to the index" 3 "$(index_rows)"

# an object updated outside while mounted is reloaded
python3 - "$root/b" <<'PY'
import hashlib, json, os, sys
obj = sys.argv[1]
inv = json.load(open(os.path.join(obj, "inventory.json")))
data = b"version two\n"
d = hashlib.sha512(data).hexdigest()
os.makedirs(os.path.join(obj, "v2", "content"))
open(os.path.join(obj, "v2", "content", "new.txt"), "wb").write(data)
inv["manifest"][d] = ["v2/content/new.txt"]
inv["versions"]["v2"] = dict(inv["versions"]["v1"], created="2025-01-01T00:00:00Z", state=dict(inv["versions"]["v1"]["state"], **{d: ["new.txt"]}))
inv["head"] = "v2"
raw = json.dumps(inv, indent=1).encode()
side = hashlib.sha512(raw).hexdigest() + "  inventory.json\n"
for where in (obj, os.path.join(obj, "v2")):
    open(os.path.join(where, "inventory.json"), "wb").write(raw)
    open(os.path.join(where, "inventory.json.sha512"), "w").write(side)
PY
got=""
for i in $(seq 1 80); do
    got=$(cat "$mnt/urn:test:b/new.txt" 2>/dev/null)
    [[ $got == "version two" ]] && break
    sleep 0.1
done
check_eq "an object updated outside shows its new head" "version two" "$got"
check_eq "... and its new version directory" "v1 v2" "$(ls "$mnt/urn:test:b/.ocfl/versions" | xargs)"

# SIGTERM unmounts cleanly
kill -TERM "$MOUNT_PID"
wait "$MOUNT_PID"
check_eq "SIGTERM: daemon exits 0" 0 $?
check_true "SIGTERM: unmounted" wait_unmounted "$mnt"

# listing the root walks it again (-o refresh=0: every listing) while mounted
start_mount "$root" "$mnt" --state "$state" -o refresh=0 || tap_result 0 "mount with refresh=0"
ls "$mnt" >/dev/null
python3 "$MAKE" "$root/elsewhere/e" "urn:test:e" --files 1
rm -rf "$root/c"
seen=""
for i in $(seq 1 50); do
    seen=$(ls "$mnt" | xargs)
    [[ $seen == "urn:test:b urn:test:d urn:test:e" ]] && break
    sleep 0.1
done
check_eq "a listing notices objects added and removed while mounted" \
    "urn:test:b urn:test:d urn:test:e" "$seen"
stop_mount "$mnt"
check_eq "daemon exits 0" 0 $?
done_testing
