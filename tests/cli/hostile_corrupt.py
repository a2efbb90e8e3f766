#!/usr/bin/env python3
"""hostile_corrupt.py ROOT SECRET: damage objects made by `ocflfs put` in a flat (0002) root.

Each object directory is named after its id; the damage is named by the id too.
SECRET is a file outside the root: symlinks point at it (or its directory), and the
inventories carry its real digest, so only "never follow a path out" protects it.
"""
import hashlib
import json
import os
import sys

root, secret = sys.argv[1], sys.argv[2]
secret_bytes = open(secret, "rb").read()
secret_digest = hashlib.sha512(secret_bytes).hexdigest()


def load(obj):
    with open(os.path.join(root, obj, "inventory.json"), "rb") as f:
        return json.load(f)


def store(obj, data, versions=("v1",)):
    """Write inventory bytes to the root and version copies with matching sidecars."""
    if isinstance(data, dict):
        data = json.dumps(data, indent=2).encode()
    for d in ("",) + tuple(versions):
        p = os.path.join(root, obj, d, "inventory.json")
        with open(p, "wb") as f:
            f.write(data)
        with open(p + ".sha512", "w") as f:
            f.write(hashlib.sha512(data).hexdigest() + "  inventory.json\n")


def with_content(inv, path, logical):
    """Make the inventory's only content the secret's digest at content path @path."""
    inv["manifest"] = {secret_digest: [path]}
    inv["versions"]["v1"]["state"] = {secret_digest: [logical]}
    return inv


# truncated JSON (sidecars left as they were: they no longer match either)
for d in ("", "v1"):
    p = os.path.join(root, "trunc", d, "inventory.json")
    data = open(p, "rb").read()
    open(p, "wb").write(data[:100])

# a sidecar that does not match
open(os.path.join(root, "sidecar", "inventory.json.sha512"), "w").write("0" * 128 + "  inventory.json\n")

# a content path with '..' leading out of the object, to the secret
inv = load("dotdot")
rel = os.path.relpath(secret, os.path.join(root, "dotdot"))
store("dotdot", with_content(inv, "v1/content/../../" + rel, "a.txt"))

# a content path that is a symlink out of the object
inv = load("symlink")
os.unlink(os.path.join(root, "symlink", "v1", "content", "a.txt"))
os.symlink(secret, os.path.join(root, "symlink", "v1", "content", "secret.txt"))
store("symlink", with_content(inv, "v1/content/secret.txt", "a.txt"))

# the content directory itself is a symlink out of the object
inv = load("symdir")
cdir = os.path.join(root, "symdir", "v1", "content")
os.unlink(os.path.join(cdir, "a.txt"))
os.rmdir(cdir)
os.symlink(os.path.dirname(secret), cdir)
store("symdir", with_content(inv, "v1/content/" + os.path.basename(secret), "a.txt"))

# huge numbers: a head far past any version, and a version number that overflows
inv = load("hugehead")
inv["head"] = "v99999999999999999999"
store("hugehead", inv)
inv = load("hugever")
inv["versions"]["v18446744073709551617"] = inv["versions"].pop("v1")
inv["head"] = "v18446744073709551617"
store("hugever", inv)

# an id that is not UTF-8
data = json.dumps(load("badutf"), indent=2).encode().replace(b'"badutf"', b'"bad\xffutf"')
store("badutf", data)

# JSON nested far deeper than any inventory
store("deep", b"[" * 200000 + b"]" * 200000)

# an inventory over the size bound (sparse: costs no disk)
for d in ("", "v1"):
    with open(os.path.join(root, "oversize", d, "inventory.json"), "r+b") as f:
        f.truncate(600 * 1024 * 1024)
