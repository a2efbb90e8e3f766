#!/usr/bin/env python3
"""make_many.py ROOT N SQL: N small valid objects (ids o000000...) in ROOT, a storage root of
the flat layout, and SQL, a file of COPY rows for the cluster's shared index (ocflfs_objects),
as the hosts' commits would have left it: a fresh host then lists them from the index."""
import hashlib
import json
import os
import sys

root, n, sql = sys.argv[1], int(sys.argv[2]), sys.argv[3]
content = b"small\n"
sha = hashlib.sha512(content).hexdigest()
# the files every object has alike are links of one (fewer files to make and remove: the
# test's time goes into making the root)
# (a new pair every 30,000 objects: ext4 allows 65,000 links of a file)
def templates(k):
    namaste, small = "%s.namaste%d" % (sql, k), "%s.small%d" % (sql, k)
    with open(namaste, "w") as f:
        f.write("ocfl_object_1.1\n")
    with open(small, "wb") as f:
        f.write(content)
    return namaste, small

with open(sql, "w") as out:
    out.write("COPY ocflfs_objects (object_id, path, head, inventory_digest, host) FROM stdin;\n")
    for i in range(n):
        if i % 30000 == 0:
            namaste, small = templates(i // 30000)
        oid = "o%06d" % i
        d = os.path.join(root, oid)
        os.makedirs(os.path.join(d, "v1", "content"))
        inv = {
            "id": oid,
            "type": "https://ocfl.io/1.1/spec/#inventory",
            "digestAlgorithm": "sha512",
            "head": "v1",
            "contentDirectory": "content",
            "manifest": {sha: ["v1/content/f.txt"]},
            "versions": {"v1": {"created": "2026-01-01T00:00:00Z", "message": "made",
                                "user": {"name": "Maker"}, "state": {sha: ["f.txt"]}}},
        }
        b = json.dumps(inv, indent=1).encode()
        dig = hashlib.sha512(b).hexdigest()
        os.link(namaste, os.path.join(d, "0=ocfl_object_1.1"))
        with open(os.path.join(d, "inventory.json"), "wb") as f:
            f.write(b)
        with open(os.path.join(d, "inventory.json.sha512"), "w") as f:
            f.write("%s  inventory.json\n" % dig)
        os.link(os.path.join(d, "inventory.json"), os.path.join(d, "v1", "inventory.json"))
        os.link(os.path.join(d, "inventory.json.sha512"), os.path.join(d, "v1", "inventory.json.sha512"))
        os.link(small, os.path.join(d, "v1", "content", "f.txt"))
        out.write("%s\t%s\tv1\t%s\tmaker\n" % (oid, oid, dig))
    out.write("\\.\n")
