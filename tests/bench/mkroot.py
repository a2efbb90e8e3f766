#!/usr/bin/env python3
"""mkroot.py ROOT N: N small valid objects (ids urn:bench:obj-0000000...) written into ROOT, a
storage root already initialised with layout 0004 (sha256, 3 tuples of 3), directly as
another tool would: no index or journal of ocflfs knows them."""
import hashlib
import json
import os
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: mkroot.py ROOT N")
    root, n = sys.argv[1], int(sys.argv[2])
    content = b"content of an object made by another tool\n"
    cd = hashlib.sha512(content).hexdigest()
    for k in range(n):
        oid = "urn:bench:obj-%07d" % k
        h = hashlib.sha256(oid.encode()).hexdigest()
        top = os.path.join(root, h[0:3], h[3:6], h[6:9], h)
        os.makedirs(os.path.join(top, "v1", "content"))
        inv = {"id": oid, "type": "https://ocfl.io/1.1/spec/#inventory",
               "digestAlgorithm": "sha512", "head": "v1", "contentDirectory": "content",
               "manifest": {cd: ["v1/content/a.txt"]},
               "versions": {"v1": {"created": "2024-01-01T00:00:00Z", "message": "bench",
                                   "user": {"name": "Bench", "address": "mailto:b@example.org"},
                                   "state": {cd: ["a.txt"]}}}}
        b = json.dumps(inv, indent=1).encode()
        d = hashlib.sha512(b).hexdigest()
        with open(os.path.join(top, "0=ocfl_object_1.1"), "w") as f:
            f.write("ocfl_object_1.1\n")
        with open(os.path.join(top, "v1", "content", "a.txt"), "wb") as f:
            f.write(content)
        for where in (top, os.path.join(top, "v1")):
            with open(os.path.join(where, "inventory.json"), "wb") as f:
                f.write(b)
            with open(os.path.join(where, "inventory.json.sha512"), "w") as f:
                f.write("%s inventory.json\n" % d)


if __name__ == "__main__":
    main()
