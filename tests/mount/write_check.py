#!/usr/bin/env python3
"""write_check.py: an independent reading of a committed object against a reference tree.

Reads OBJDIR/inventory.json with the json module, resolves every logical path of the head
state through the manifest, and checks that the set of paths equals the files below REFDIR
and that every file's bytes are equal and hash to the state's digest.  With --head VN the
head must be that version.  Prints one line about the first difference; exit 1 when any.

usage: write_check.py OBJDIR REFDIR [--head VN]
"""
import hashlib
import json
import os
import sys

obj, ref = sys.argv[1], sys.argv[2]
want_head = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--head" else None
inv = json.load(open(os.path.join(obj, "inventory.json"), "rb"))
if want_head and inv["head"] != want_head:
    print(f"head is {inv['head']}, expected {want_head}")
    sys.exit(1)
alg = inv["digestAlgorithm"]
state = inv["versions"][inv["head"]]["state"]
paths = {}
for digest, lps in state.items():
    for lp in lps:
        paths[lp] = (digest, os.path.join(obj, inv["manifest"][digest][0]))
files = set()
for dp, dn, fn in os.walk(ref):
    for f in fn:
        files.add(os.path.relpath(os.path.join(dp, f), ref))
if set(paths) != files:
    print("paths differ: only committed: %s; only in the reference: %s"
          % (sorted(set(paths) - files)[:5], sorted(files - set(paths))[:5]))
    sys.exit(1)
for lp, (digest, cp) in sorted(paths.items()):
    data = open(cp, "rb").read()
    if hashlib.new(alg, data).hexdigest() != digest.lower():
        print(f"{lp}: content {cp} does not hash to its digest")
        sys.exit(1)
    if data != open(os.path.join(ref, lp), "rb").read():
        print(f"{lp}: bytes differ from the reference")
        sys.exit(1)
print(f"{inv['head']}: {len(paths)} files as the reference")
