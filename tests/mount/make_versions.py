#!/usr/bin/env python3
"""make_versions.py: write a valid OCFL 1.1 object whose inventory is large but whose content
is small: N files in v1, then V versions with the same state (tests of inventory loading).

usage: make_versions.py OBJDIR ID N V
"""
import hashlib, json, os, sys
objdir, oid, nfiles, nversions = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
content = os.path.join(objdir, "v1", "content")
manifest, state = {}, {}
for i in range(nfiles):
    logical = f"d{i // 1000:03d}/f{i:06d}.txt"
    path = os.path.join(content, logical)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = f"file {i}\n".encode()
    with open(path, "wb") as f:
        f.write(data)
    d = hashlib.sha512(data).hexdigest()
    manifest[d] = ["v1/content/" + logical]
    state[d] = [logical]
versions = {}
for v in range(1, nversions + 1):
    versions[f"v{v}"] = {"created": f"2024-05-06T07:08:{v:02d}Z", "message": f"version {v}",
                         "user": {"name": "Test", "address": "mailto:test@example.org"},
                         "state": state}
    os.makedirs(os.path.join(objdir, f"v{v}"), exist_ok=True)
inv = {"id": oid, "type": "https://ocfl.io/1.1/spec/#inventory", "digestAlgorithm": "sha512",
       "head": f"v{nversions}", "manifest": manifest, "versions": versions}
data = json.dumps(inv, indent=1).encode()
side = hashlib.sha512(data).hexdigest() + "  inventory.json\n"
for d in (objdir, os.path.join(objdir, f"v{nversions}")):
    open(os.path.join(d, "inventory.json"), "wb").write(data)
    open(os.path.join(d, "inventory.json.sha512"), "w").write(side)
open(os.path.join(objdir, "0=ocfl_object_1.1"), "w").write("ocfl_object_1.1\n")
