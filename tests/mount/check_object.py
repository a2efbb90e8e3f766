#!/usr/bin/env python3
"""check_object.py: compare what a mount shows of one object with its inventory.

An independent reader: it reads OBJDIR/inventory.json with the json module and the
content files straight from OBJDIR, and checks, for the head and every version under
.ocfl/versions/, that the mounted tree has exactly the state's logical paths, that every
file's bytes equal its content file and hash to its digest, and that mtimes, sizes,
xattrs (user.ocfl.id, user.ocfl.head, user.ocfl.digest, user.ocfl.fixity.ALG) agree.
Prints TAP lines; exit 1 when a check failed.

usage: check_object.py MOUNT OBJDIR [CTL_NAME]
"""
import calendar
import hashlib
import json
import os
import re
import sys

mount, objdir = sys.argv[1], sys.argv[2]
ctl = sys.argv[3] if len(sys.argv) > 3 else ".ocfl"
n = 0
failed = 0


def check(ok, what, detail=""):
    global n, failed
    n += 1
    if ok:
        print(f"ok {n} - {what}")
    else:
        failed += 1
        print(f"not ok {n} - {what}")
        for line in str(detail).splitlines():
            print(f"#   {line}")


def encode(ident):
    out = []
    for i, ch in enumerate(ident):
        if ch == "%" or ch == "/" or (ch == "." and i == 0):
            out.append("%%%02X" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def created_epoch(text):
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)$", text)
    secs = calendar.timegm(tuple(int(m.group(i)) for i in range(1, 7)) + (0, 0, 0))
    tz = m.group(8)
    if tz not in ("Z", "z"):
        sign = -1 if tz[0] == "-" else 1
        secs -= sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    return secs


def walk_files(top):
    found = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for f in filenames:
            full = os.path.join(dirpath, f)
            found[os.path.relpath(full, top)] = full
    return found


inv = json.load(open(os.path.join(objdir, "inventory.json"), encoding="utf-8"))
alg = inv["digestAlgorithm"]
ident = inv["id"]
name = encode(ident)
top = os.path.join(mount, name)
manifest = {d.lower(): paths for d, paths in inv["manifest"].items()}
fixity = {a: {p: d for d, ps in block.items() for p in ps} for a, block in inv.get("fixity", {}).items()}
versions = sorted(inv["versions"], key=lambda v: int(v[1:]))
head = inv["head"]
ctldir = os.path.join(top, ctl)

check(os.path.isdir(top), f"{name}: object directory exists")
check(name in os.listdir(mount), f"{name}: listed in the mount's root")
check(ctl not in os.listdir(top), f"{name}: {ctl} is not listed")
check(os.getxattr(top, "user.ocfl.id").decode() == ident, f"{name}: user.ocfl.id")
check(os.getxattr(top, "user.ocfl.head").decode() == head, f"{name}: user.ocfl.head")
check(sorted(os.listdir(os.path.join(ctldir, "versions"))) == sorted(versions),
      f"{name}: versions/ lists every version", str(os.listdir(os.path.join(ctldir, "versions"))))
with open(os.path.join(ctldir, "inventory.json"), "rb") as f, \
        open(os.path.join(objdir, "inventory.json"), "rb") as g:
    check(f.read() == g.read(), f"{name}: .ocfl/inventory.json is the root inventory")
log = open(os.path.join(ctldir, "log"), encoding="utf-8").read().splitlines()
check([line.split("\t")[0] for line in log] == list(reversed(versions)), f"{name}: log newest first")


def introduced(vname, path):
    """The version that introduced the content path has in vname."""
    idx = versions.index(vname)
    digest = inv["versions"][vname]["state_of"][path]
    while idx > 0:
        prev = inv["versions"][versions[idx - 1]]["state_of"].get(path)
        if prev != digest:
            break
        idx -= 1
    return versions[idx]


for vname in versions:
    state_of = {}
    for d, paths in inv["versions"][vname]["state"].items():
        for p in paths:
            state_of[p] = d.lower()
    inv["versions"][vname]["state_of"] = state_of

views = [(os.path.join(ctldir, "versions", v), v) for v in versions] + [(top, head)]
for tree, vname in views:
    label = f"{name} {'head' if tree == top else vname}"
    state_of = inv["versions"][vname]["state_of"]
    found = walk_files(tree)
    check(sorted(found) == sorted(state_of), f"{label}: exactly the state's paths",
          f"mount {sorted(found)} inventory {sorted(state_of)}")
    bad_bytes, bad_meta = [], []
    for path, digest in state_of.items():
        full = os.path.join(tree, path)
        try:
            data = open(full, "rb").read()
        except OSError as e:
            bad_bytes.append(f"{path}: {e}")
            continue
        content = open(os.path.join(objdir, manifest[digest][0]), "rb").read()
        if data != content or hashlib.new(alg, data).hexdigest() != digest:
            bad_bytes.append(path)
        st = os.stat(full)
        want_mtime = created_epoch(inv["versions"][introduced(vname, path)]["created"])
        if st.st_size != len(content) or int(st.st_mtime) != want_mtime or st.st_nlink != 1:
            bad_meta.append(f"{path}: size {st.st_size} mtime {int(st.st_mtime)} want {want_mtime}")
        if os.getxattr(full, "user.ocfl.digest").decode() != f"{alg}:{digest}":
            bad_meta.append(f"{path}: user.ocfl.digest")
        names = set(os.listxattr(full))
        for falg, by_path in fixity.items():
            want = next((by_path[p] for p in manifest[digest] if p in by_path), None)
            xname = f"user.ocfl.fixity.{falg}"
            if want is None:
                if xname in names:
                    bad_meta.append(f"{path}: unexpected {xname}")
            elif xname not in names or os.getxattr(full, xname).decode() != want:
                bad_meta.append(f"{path}: {xname}")
    check(not bad_bytes, f"{label}: every file's bytes equal its content file", str(bad_bytes[:5]))
    check(not bad_meta, f"{label}: sizes, mtimes, link counts and xattrs", str(bad_meta[:5]))
    # directories: link count = 2 + subdirectories
    bad_dirs = []
    for dirpath, dirnames, _ in os.walk(tree):
        if os.stat(dirpath).st_nlink != 2 + len(dirnames):
            bad_dirs.append(dirpath)
    check(not bad_dirs, f"{label}: directory link counts", str(bad_dirs[:3]))

print(f"1..{n}")
sys.exit(1 if failed else 0)
