#!/usr/bin/env python3
"""mkobject.py DIR NFILES TOTAL_BYTES: write a valid OCFL 1.1 object (one version, sha512)
with NFILES content files of pseudo-random bytes totalling about TOTAL_BYTES."""
import hashlib
import json
import os
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: mkobject.py DIR NFILES TOTAL_BYTES")
    root, nfiles, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    size = max(1, total // nfiles)
    content = os.path.join(root, "v1", "content")
    manifest, state = {}, {}
    block = os.urandom(1 << 20)
    for i in range(nfiles):
        rel = "d%03d/f%05d.bin" % (i % 100, i)
        path = os.path.join(content, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # distinct bytes per file: a counter prefix, then a slice of the random block
        head = i.to_bytes(8, "little")
        body = (block * (size // len(block) + 1))[: size - len(head)]
        data = head + body
        with open(path, "wb") as f:
            f.write(data)
        digest = hashlib.sha512(data).hexdigest()
        manifest.setdefault(digest, []).append("v1/content/" + rel)
        state.setdefault(digest, []).append(rel)
    inv = {
        "id": "urn:bench:validate",
        "type": "https://ocfl.io/1.1/spec/#inventory",
        "digestAlgorithm": "sha512",
        "head": "v1",
        "contentDirectory": "content",
        "manifest": manifest,
        "versions": {"v1": {"created": "2024-01-01T00:00:00Z", "message": "bench",
                            "user": {"name": "bench", "address": "mailto:bench@example.org"},
                            "state": state}},
    }
    text = json.dumps(inv, indent=2, sort_keys=True).encode()
    side = hashlib.sha512(text).hexdigest() + "  inventory.json\n"
    for d in (root, os.path.join(root, "v1")):
        with open(os.path.join(d, "inventory.json"), "wb") as f:
            f.write(text)
        with open(os.path.join(d, "inventory.json.sha512"), "w") as f:
            f.write(side)
    with open(os.path.join(root, "0=ocfl_object_1.1"), "w") as f:
        f.write("ocfl_object_1.1\n")


if __name__ == "__main__":
    main()
