#!/usr/bin/env bash
# test_plans_watch.sh: `ocflfs plans ROOT --watch` (issue 14) while a put runs whose content
# step fails twice and is retried: on a terminal (a pty) the screen is redrawn with the plan's
# line and progress bar until the plan is done, and SIGINT ends it with exit 0; elsewhere a
# block is printed only when something changed, the last one the plan done at 100%.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
R=$tmp/root
mkdir -p "$tmp/d"
head -c 300000 /dev/urandom >"$tmp/d/a.bin"
echo small >"$tmp/d/b.txt"
"$OCFLFS" init "$R" >/dev/null || exit 1
# content steps come after declare and version-dirs: step 2 fails twice, 300 ms apart
slow_put() {
    OCFLFS_TEST_FAIL_STEP=2:2 OCFLFS_TEST_RETRY_MS=300 "$OCFLFS" put "$R" "$1" "$tmp/d" -m "$1" \
        --user Watcher >/dev/null 2>"$tmp/put.err"
}

# on a terminal; the put starts once the watcher has drawn its first screen (so that it sees
# the plan unfinished however slow this machine is)
python3 - "$OCFLFS" "$R" "$tmp/tty.out" "$tmp/watching" <<'PY' &
import os, pty, signal, sys, time
ocflfs, root, out, flag = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(ocflfs, [ocflfs, "plans", root, "--watch", "--interval", "0.1"])
buf = b""
deadline = time.time() + 120
while time.time() < deadline:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    buf += chunk
    if b"no unfinished plans" in buf and not os.path.exists(flag):
        open(flag, "w").close()
    last = buf.rsplit(b"\x1b[H\x1b[2J", 1)[-1]
    if b" done " in last and b"100%" in last:
        break
os.kill(pid, signal.SIGINT)
try:
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
except OSError:
    pass
_, status = os.waitpid(pid, 0)
open(out, "wb").write(buf)
sys.exit(os.waitstatus_to_exitcode(status))
PY
watcher=$!
for _ in $(seq 1200); do [[ -e $tmp/watching ]] && break; sleep 0.1; done
slow_put obj1
check_eq "the slow put succeeds" 0 $?
wait $watcher
check_eq "SIGINT ends --watch with exit 0" 0 $?
screens=$(grep -o $'\e\[H\e\[2J' "$tmp/tty.out" | wc -l)
check_true "the screen was redrawn ($screens times)" test "$screens" -ge 2
check_true "a screen showed the plan running, with its bar" \
    grep -qa "running     v1     .* obj1" "$tmp/tty.out"
check_true "the last screen shows it done at 100%" python3 -c '
import sys
last = open(sys.argv[1], "rb").read().rsplit(b"\x1b[H\x1b[2J", 1)[-1]
sys.exit(0 if b" done " in last and b"obj1" in last and b"100%" in last else 1)' "$tmp/tty.out"
check_true "each screen names the root" grep -qa "ocflfs plans $R " "$tmp/tty.out"

# not on a terminal: a block per change
"$OCFLFS" plans "$R" --watch --interval 0.1 >"$tmp/pipe.out" 2>&1 &
watcher=$!
for _ in $(seq 1200); do grep -q "no unfinished plans" "$tmp/pipe.out" && break; sleep 0.1; done
check_true "a watcher started after obj1's plan ended does not show it" \
    test "$(grep -c obj1 "$tmp/pipe.out")" = 0
slow_put obj2
check_eq "the second slow put succeeds" 0 $?
# the watcher's next look shows it done (no guess at how long that takes)
for _ in $(seq 1200); do grep -q " done .*obj2" "$tmp/pipe.out" && break; sleep 0.1; done
kill -INT $watcher
wait $watcher
check_eq "SIGINT ends it with exit 0 off a terminal too" 0 $?
check_true "no escape sequences off a terminal" test "$(grep -c $'\e' "$tmp/pipe.out")" = 0
check_true "no block repeats the one before it" python3 -c '
import sys
blocks = open(sys.argv[1]).read().split("-- ")[1:]
bodies = [b.split("\n", 1)[1] for b in blocks]
sys.exit(0 if len(bodies) >= 2 and all(a != b for a, b in zip(bodies, bodies[1:])) else 1)' "$tmp/pipe.out"
check_true "the last block shows obj2 done at 100%" python3 -c '
import sys
last = open(sys.argv[1]).read().split("-- ")[-1]
sys.exit(0 if " done " in last and "obj2" in last and "100%" in last else 1)' "$tmp/pipe.out"
out=$("$OCFLFS" plans "$R" --watch --json 2>&1)
check_eq "--watch with --json: a usage error" 2 $?
out=$("$OCFLFS" plans "$R" --watch --interval 0 2>&1)
check_eq "--interval 0: a usage error" 2 $?
out=$("$OCFLFS" plans "$tmp/nothing" --watch 2>&1)
check_eq "--watch on what is no storage root: exit 1" 1 $?
done_testing
