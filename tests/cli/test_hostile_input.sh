#!/usr/bin/env bash
# test_hostile_input.sh: hostile input from the user: file names that are not UTF-8 and symlinks
# in put's DIR, odd object ids (/, %, leading '.', 300+ bytes, '..', not UTF-8), and usage
# errors for every subcommand.  Each is refused naming the path or id, or stored safely.
set -uo pipefail
. "$SOURCE_ROOT/tests/common/tap.sh"
. "$SOURCE_ROOT/tests/cli/hostile_lib.sh"

R=$HT/root
F=$HT/flat
"$OCFLFS" init "$R" >/dev/null || exit 1
"$OCFLFS" init "$F" --layout 0002-flat-direct-storage-layout >/dev/null || exit 1
mkdir -p "$HT/d"
echo a >"$HT/d/a.txt"
"$OCFLFS" put "$R" base "$HT/d" -m one >/dev/null || exit 1

# refused_put DESC DIR WANT-IN-STDERR: put of DIR onto 'base' exits 1, names WANT, changes nothing.
refused_put() {
    snapshot "$R" extensions/ocflfs >"$HT/before"
    "$OCFLFS" put "$R" base "$2" -m two >"$HT/out" 2>"$HT/err"
    check_eq "$1: put exits 1" 1 $?
    check_grep "$1: error names the path" "$3" "$HT/err"
    check_same "$1: root unchanged" "$HT/before" "$R" extensions/ocflfs
    check_eq "$1: no scratch left" "" "$(find "$R/extensions/ocflfs/scratch" -type f)"
}

# --- names that are not UTF-8 in DIR
mkdir -p "$HT/nu1" "$HT/nu2"
echo a >"$HT/nu1/a.txt"
echo x >"$HT/nu1/"$'b\xff.txt'
refused_put "file name not UTF-8" "$HT/nu1" "$HT/nu1/b"
grep -qF $'b\xff.txt' "$HT/err"
check_eq "file name not UTF-8: the raw name is quoted" 0 $?
check_grep "file name not UTF-8: says why" "not UTF-8" "$HT/err"
mkdir -p "$HT/nu2/"$'sub\xfe'
echo y >"$HT/nu2/"$'sub\xfe/y.txt'
refused_put "directory name not UTF-8" "$HT/nu2" "$HT/nu2/sub"
check_grep "directory name not UTF-8: says why" "not UTF-8" "$HT/err"

# --- symlinks and special files in DIR: refused (OCFL stores regular files only)
mkdir -p "$HT/sl1" "$HT/sl2/real" "$HT/sl3" "$HT/sp"
echo a >"$HT/sl1/a.txt"
ln -s /etc/passwd "$HT/sl1/link"
refused_put "symlink to a file outside" "$HT/sl1" "$HT/sl1/link"
check_grep "symlink: says it is a symbolic link" "symbolic link" "$HT/err"
echo r >"$HT/sl2/real/r.txt"
ln -s real "$HT/sl2/alias"
refused_put "symlink to a directory inside" "$HT/sl2" "$HT/sl2/alias"
ln -s "$HT/nowhere" "$HT/sl3/dangling"
refused_put "dangling symlink" "$HT/sl3" "$HT/sl3/dangling"
mkfifo "$HT/sp/fifo"
refused_put "a fifo" "$HT/sp" "$HT/sp/fifo"
check_grep "fifo: says not a regular file" "not a regular file" "$HT/err"
"$OCFLFS" put "$R" base "$HT/no-such-dir" -m x >/dev/null 2>"$HT/err"
check_eq "missing DIR: exits 1" 1 $?
check_grep "missing DIR: named" "$HT/no-such-dir" "$HT/err"

# --- a file name that is odd but valid is stored exactly
mkdir -p "$HT/odd"
printf 'n' >"$HT/odd/"$'new\nline.txt'
printf 'b' >"$HT/odd/back\\slash.txt"
printf 's' >"$HT/odd/ sp ace "
"$OCFLFS" put "$R" base "$HT/odd" -m odd >/dev/null 2>"$HT/err"
check_eq "odd but valid names: put succeeds" 0 $?
OBJ=$(cd "$R" && dirname "$(grep -rl --include=inventory.json '"id": "base"' . | grep -v '/v[0-9]*/' | head -1)")
python3 - "$R/$OBJ/inventory.json" <<'PY'
import json, sys
inv = json.load(open(sys.argv[1]))
got = sorted(p for ps in inv["versions"][inv["head"]]["state"].values() for p in ps)
assert got == [" sp ace ", "back\\slash.txt", "new\nline.txt"], got
PY
check_eq "odd names kept exactly as logical paths" 0 $?
"$OCFLFS" validate "$R/$OBJ" >/dev/null 2>&1
check_eq "object with odd names valid" 0 $?

# --- odd ids, 0004 (hashed: everything UTF-8 is safe) and 0002 (the id is the directory)
long=$(printf 'L%.0s' {1..300})
declare -a IDS=('a/b' 'a%b' '.hidden' "$long" '..' '.' '../escape' 'a/../../b' 'extensions' '0=ocfl_1.1')
for id in "${IDS[@]}"; do
    short=${id:0:12}
    "$OCFLFS" put "$R" "$id" "$HT/d" -m one >/dev/null 2>"$HT/err"
    check_eq "0004: id '$short' stored" 0 $?
    "$OCFLFS" log "$R" "$id" --json >"$HT/log.json" 2>/dev/null
    check_eq "0004: id '$short' found again by log" v1 "$(json "$HT/log.json" 'd["versions"][0]["version"]' 2>/dev/null)"
done
"$OCFLFS" ls "$R" --json >"$HT/ls.json"
python3 - "$HT/ls.json" "$R" "${IDS[@]}" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1])); root = os.path.realpath(sys.argv[2])
ids = {o["id"]: o for o in d["objects"]}
for want in sys.argv[3:]:
    o = ids[want]
    p = os.path.realpath(os.path.join(root, o["path"]))
    assert p.startswith(root + "/") and "/extensions" not in p[len(root):], (want, p)
PY
check_eq "0004: every odd id listed exactly, each inside the root" 0 $?
"$OCFLFS" validate "$R" >/dev/null 2>&1
check_eq "0004 root with odd ids valid" 0 $?
"$OCFLFS" put "$R" $'bad\xffid' "$HT/d" -m one >/dev/null 2>"$HT/err"
check_eq "0004: id not UTF-8 refused" 1 $?
check_grep "0004: id not UTF-8 named" "not UTF-8" "$HT/err"
"$OCFLFS" put "$R" '' "$HT/d" -m one >/dev/null 2>"$HT/err"
check_eq "empty id refused" 1 $?
check_grep "empty id: says so" "empty object id" "$HT/err"

snapshot "$F" extensions/ocflfs >"$HT/flat.before"
for id in 'a/b' '..' '.' '../escape' 'a/../../b' "$long" 'extensions' '0=ocfl_1.1' $'bad\xffid'; do
    short=${id:0:12}
    "$OCFLFS" put "$F" "$id" "$HT/d" -m one >/dev/null 2>"$HT/err"
    check_eq "0002: id '$short' refused" 1 $?
    check_grep "0002: id '$short' named" "'$short" "$HT/err"
done
check_same "0002: refused ids wrote nothing" "$HT/flat.before" "$F" extensions/ocflfs
check_true "0002: nothing escaped the root" test ! -e "$HT/escape" -a ! -e "$HT/b"
for id in 'a%b' '.hidden'; do
    "$OCFLFS" put "$F" "$id" "$HT/d" -m one >/dev/null 2>"$HT/err"
    check_eq "0002: id '$id' stored" 0 $?
    check_true "0002: id '$id' is its own directory" test -f "$F/$id/0=ocfl_object_1.1"
done

# --- the mount shows odd ids under their encoded names and gives the exact id back
"$OCFLFS" put "$R" base "$HT/d" -m back >/dev/null # head: a.txt only
M=$HT/mnt
if fuse_mount "$R" "$M"; then
    for pair in 'a/b=a%2Fb' 'a%b=a%25b' '.hidden=%2Ehidden' '../escape=%2E.%2Fescape'; do
        id=${pair%%=*} name=${pair#*=}
        check_eq "mount: '$id' is shown as '$name' with its id" "$id" \
            "$(getfattr --only-values -n user.ocfl.id "$M/$name" 2>/dev/null)"
    done
    n=$(ls "$M" | awk 'length($0) > 255' | wc -l)
    check_eq "mount: no name longer than 255 bytes" 0 "$n"
    lname=$(ls "$M" | grep '^LLLL' | head -1)
    check_eq "mount: the 300-byte id's truncated name gives the id back" "$long" \
        "$(getfattr --only-values -n user.ocfl.id "$M/$lname" 2>/dev/null)"
    check_eq "mount: a file of the 300-byte id reads" a "$(cat "$M/$lname/a.txt")"
    # hostile names through the mount: refused with an errno, nothing staged
    python3 - "$M" >"$HT/errnos" <<'PY'
import errno, os, sys
os.chdir(sys.argv[1])
def t(f):
    try:
        f()
        return "OK"
    except OSError as e:
        return errno.errorcode[e.errno]
print(t(lambda: os.close(os.open(b"base/b\xff", os.O_CREAT | os.O_WRONLY))))
print(t(lambda: os.mkdir(b"base/d\xff")))
print(t(lambda: os.rename("base/a.txt", b"base/a\xff")))
print(t(lambda: os.symlink("/etc/passwd", "base/link")))
print(t(lambda: os.link("base/a.txt", "base/a2")))
print(t(lambda: os.mkfifo("base/fifo")))
print(t(lambda: os.mkdir(b"new\xff")))
print(t(lambda: os.mkdir("%2E%2E")))
PY
    mapfile -t got <"$HT/errnos"
    i=0
    for what in "create a file named not UTF-8" "mkdir named not UTF-8" "rename to a name not UTF-8" \
        "symlink" "hard link" "mkfifo" "mkdir of an object whose id is not UTF-8" \
        "mkdir of an object whose id is '..'"; do
        check_true "mount: $what refused (${got[$i]:-none})" test -n "${got[$i]:-}" -a "${got[$i]:-OK}" != OK
        i=$((i + 1))
    done
    check_eq "mount: names not UTF-8 (create, mkdir, rename, object mkdir) all give EILSEQ" \
        "EILSEQ EILSEQ EILSEQ EILSEQ" "${got[0]:-} ${got[1]:-} ${got[2]:-} ${got[6]:-}"
    check_eq "mount: the object's files unchanged" "a.txt" "$(ls "$M/base" | tr '\n' ' ' | sed 's/ $//')"
    check_eq "mount: nothing staged" "0 0 0" \
        "$(json "$M/base/.ocfl/status" '"%d %d %d" % (len(d["added"]), len(d["modified"]), len(d["removed"]))')"
    check_eq "mount: no new object" 0 "$(ls "$M" | grep -c '^new')"
    fuse_umount "$M"
    check_eq "mount: daemon exits 0" 0 $?
else
    tap_result 0 "mount of a root with odd ids" "$(cat "$M.log")"
fi

# --- usage errors: exit 2 and a usage line, for every subcommand
declare -a BAD=(
    "init" "init --bogus $HT/x" "init $HT/x $HT/y" "init $HT/x --digest md5"
    "mount" "mount $R" "mount --bogus $R $HT/m"
    "validate" "validate --bogus $R" "validate $R id:1 id:2"
    "ls" "ls --bogus $R" "ls $R extra"
    "log" "log $R" "log --bogus $R base"
    "put" "put $R base" "put $R base $HT/d" "put --bogus $R base $HT/d -m x" "put $R base $HT/d -m"
    "plans" "plans --bogus $R" "plans $R extra"
    "plan" "plan $R" "plan $R notanumber" "plan --bogus $R 1"
    "resume" "resume --bogus $R" "resume $R 1 2"
    "cancel" "cancel $R" "cancel --bogus $R 1" "cancel $R notanumber"
)
for args in "${BAD[@]}"; do
    # shellcheck disable=SC2086
    "$OCFLFS" $args >"$HT/out" 2>"$HT/err"
    rc=$?
    shown=${args//$HT/T}
    check_eq "usage: 'ocflfs $shown' exits 2" 2 "$rc"
    check_grep "usage: 'ocflfs $shown' prints the usage" "usage: ocflfs ${args%% *}" "$HT/err"
done

done_testing
