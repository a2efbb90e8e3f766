#!/usr/bin/env bash
# posix.sh: pjdfstest inside a staged object of a fresh shared mount (-o allow_other, so that
# its tests can act as other users and the kernel checks permissions), then a commit of what it
# left and a check that the version holds exactly what the view shows.  The test files run are
# those of $OCFL_SHARED/tools/pjdfstest/pjd-ocfl-clean-list.txt (they apply as they are to a
# file system of regular files and directories owned by the mounting user) and those of
# tests/posix/shared-list.txt (other users, chown, set-ID bits).  A file listed in
# tests/posix/failing.txt is reported as a TODO (an expected failure, with its reason); one that
# passes while listed fails the suite, so the table stays true.  pjdfstest is built from
# $OCFL_SHARED/tools/pjdfstest into the build directory unless $PJDFSTEST names its source dir.
set -u
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/mount/mount_lib.sh"

if [[ -z ${PJDFSTEST:-} ]]; then
    if ! PJDFSTEST=$(bash "$OCFL_SHARED/tools/pjdfstest/build.sh" "$BUILD_ROOT/pjdfstest" \
        2>"$BUILD_ROOT/pjdfstest-build.log" | tail -1); then
        echo "Bail out! cannot build pjdfstest (see $BUILD_ROOT/pjdfstest-build.log)"
        exit 1
    fi
fi
list="$OCFL_SHARED/tools/pjdfstest/pjd-ocfl-clean-list.txt"
shared="$SOURCE_ROOT/tests/posix/shared-list.txt"
table="$SOURCE_ROOT/tests/posix/failing.txt"
[[ -r $list ]] || { echo "Bail out! no $list"; exit 1; }
chmod 755 "$WORK" # pjdfstest's other users reach the mount

root="$WORK/root"
mnt="$WORK/mnt"
make_root "$root"
start_mount "$root" "$mnt" --user "POSIX Tester" --address mailto:posix@example.org -o allow_other ||
    tap_result 0 "mount" "$(cat "$mnt.log")"
mkdir "$mnt/obj"

# the reason a listed test file still fails, or nothing
known() { awk -v t="$1" '$1 == t { $1 = ""; sub(/^ +/, ""); print; exit }' "$table"; }

files=0 failing=0
while read -r t; do
    [[ -z $t || $t == \#* ]] && continue
    files=$((files + 1))
    out=$(cd "$mnt/obj" && prove "$PJDFSTEST/tests/$t" 2>&1)
    rc=$?
    why=$(known "$t")
    if ((rc == 0)); then
        if [[ -n $why ]]; then
            tap_result 0 "pjdfstest $t passes, but tests/posix/failing.txt still lists it: drop the line"
        else
            tap_result 1 "pjdfstest $t"
        fi
    else
        failing=$((failing + 1))
        if [[ -n $why ]]; then
            tap_n=$((tap_n + 1))
            echo "not ok $tap_n - pjdfstest $t # TODO $why"
        else
            tap_result 0 "pjdfstest $t" "$(grep -E 'not ok|Failed|expected' <<<"$out" | head -8)"
        fi
    fi
done < <(cat "$list" "$shared")
echo "# $files test files, $failing failing"

# what pjdfstest left (it cleans up after itself: mostly nothing) plus a file of ours, committed;
# the version must equal the view
echo "after pjdfstest" >"$mnt/obj/marker.txt"
setfattr -n user.ocfl.commit -v "after pjdfstest" "$mnt/obj"
tap_result $(($? == 0)) "commit of what pjdfstest left" "$(cat "$mnt/obj/.ocfl/commit" 2>&1)"
head=$(head_of "$root/obj" 2>/dev/null)
diff_out=$(diff -r --exclude=.ocfl "$mnt/obj" "$mnt/obj/.ocfl/versions/$head" 2>&1)
tap_result $(($? == 0)) "the version ($head) equals the view" "$diff_out"
stop_mount "$mnt"
tap_result $(($? == 0)) "unmount"
out=$("$OCFLFS" validate "$root/obj" 2>&1)
tap_result $(($? == 0)) "the object validates" "$out"
done_testing
