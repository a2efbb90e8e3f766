#!/usr/bin/env python3
"""make_object.py: write a valid one-version OCFL 1.1 object with many files (tests, benchmarks).

usage: make_object.py OBJDIR ID [--files N] [--per-dir K] [--big-mib M]
  N small files "dNNNN/fNNNNNN.txt" (K per directory, K=0: all at the top),
  and with --big-mib a file "big.bin" of M MiB of pseudo-random bytes.
"""
import argparse
import hashlib
import json
import os

ap = argparse.ArgumentParser()
ap.add_argument("objdir")
ap.add_argument("id")
ap.add_argument("--files", type=int, default=0)
ap.add_argument("--per-dir", type=int, default=1000)
ap.add_argument("--big-mib", type=int, default=0)
a = ap.parse_args()

content = os.path.join(a.objdir, "v1", "content")
os.makedirs(content)
manifest, state = {}, {}


def add(logical, data_or_path, digest):
    manifest.setdefault(digest, []).append("v1/content/" + logical)
    state.setdefault(digest, []).append(logical)


made = set()
for i in range(a.files):
    logical = f"d{i // a.per_dir:04d}/f{i:06d}.txt" if a.per_dir else f"f{i:06d}.txt"
    d = os.path.dirname(logical)
    if d and d not in made:
        os.makedirs(os.path.join(content, d))
        made.add(d)
    data = f"file {i}\n".encode()
    with open(os.path.join(content, logical), "wb") as f:
        f.write(data)
    add(logical, data, hashlib.sha512(data).hexdigest())

if a.big_mib:
    h = hashlib.sha512()
    block = hashlib.shake_256(b"ocflfs").digest(1 << 20)
    with open(os.path.join(content, "big.bin"), "wb") as f:
        for i in range(a.big_mib):
            chunk = block[i % 4096:] + block[: i % 4096]
            f.write(chunk)
            h.update(chunk)
    add("big.bin", None, h.hexdigest())

inv = {
    "id": a.id,
    "type": "https://ocfl.io/1.1/spec/#inventory",
    "digestAlgorithm": "sha512",
    "head": "v1",
    "manifest": manifest,
    "versions": {
        "v1": {
            "created": "2024-05-06T07:08:09Z",
            "message": "made by make_object.py",
            "user": {"name": "Test", "address": "mailto:test@example.org"},
            "state": state,
        }
    },
}
data = json.dumps(inv, indent=1, sort_keys=True).encode()
sidecar = hashlib.sha512(data).hexdigest() + "  inventory.json\n"
for d in (a.objdir, os.path.join(a.objdir, "v1")):
    with open(os.path.join(d, "inventory.json"), "wb") as f:
        f.write(data)
    with open(os.path.join(d, "inventory.json.sha512"), "w") as f:
        f.write(sidecar)
with open(os.path.join(a.objdir, "0=ocfl_object_1.1"), "w") as f:
    f.write("ocfl_object_1.1\n")
