#!/usr/bin/env python3
"""race.py: writers racing commits through one mount, then every version checked.

usage: race.py MOUNT ROOT OBJ SECONDS SEED

Beside commits (every 0.1-0.6 s, xattr and control file in turn), on one object of the mount:
  - an appender: open O_APPEND, write one numbered line, fsync, close;
  - an offset writer: pwrite of random blocks into a 64 KiB file, fsync, close;
  - a truncater: rewrites a file with O_TRUNC, or cuts it with ftruncate and appends;
  - a renamer: creates a file, renames it, sometimes removes it;
  - a copier: copies files into a new directory (cp-like: create, write, close, rename).
  - a coherence pair on a committed file: a writer (pwrite at offsets, appends, one descriptor
    kept across commits) and a checker that, after each write returned, reads it back through a
    descriptor opened long before, while two more readers keep the file's pages cached;
  - an unlinker: opens a file, unlinks it, then writes, reads, fstats, truncates and fsyncs it
    through its descriptors, whose bytes must never reach a version.
All of this runs for SECONDS, then the last changes are committed and the mount's object
checked against what each worker knows it wrote:
  - no open, write, fsync or rename failed (ENOENT or EIO while a commit moved files);
  - no commit failed, above all not with a conflict (nothing else writes the object);
  - in every version, the appended file is exactly a prefix of the lines written, whole lines,
    no NUL byte; the offset file is the state after some number of its writes; the truncated
    file one of the contents it had; and the head holds what each worker finished with.
Prints TAP lines; the caller validates the object.
"""
import errno
import hashlib
import json
import os
import queue
import random
import sys
import threading
import time

mnt, root, oid, secs, seed = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(
    sys.argv[5])
obj = os.path.join(mnt, oid)
stop = threading.Event()
errors = []
lock = threading.Lock()
n = 0


def check(ok, what, detail=""):
    global n
    n += 1
    print(("ok %d - %s" if ok else "not ok %d - %s") % (n, what))
    if not ok and detail:
        for line in str(detail).splitlines()[:12]:
            print("#   " + line)
    sys.stdout.flush()
    return ok


def fail(who, what, e):
    with lock:
        errors.append("%s: %s: %s" % (who, what, e))


def appender(rng):
    lines = []
    p = os.path.join(obj, "log.txt")
    while not stop.is_set():
        line = b"line %06d %s\n" % (len(lines), b"x" * rng.randint(0, 30))
        try:
            fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            fail("appender", "open", e)
            continue
        try:
            if os.write(fd, line) != len(line):
                fail("appender", "write", "short write")
            lines.append(line)
            os.fsync(fd)
        except OSError as e:
            fail("appender", "write/fsync", e)
        finally:
            os.close(fd)
        time.sleep(rng.uniform(0, 0.01))
    return lines


def offset_writer(rng):
    p = os.path.join(obj, "blocks.bin")
    writes = []
    while not stop.is_set():
        off = rng.randrange(0, 60 << 10)
        b = rng.randbytes(rng.randint(1, 4096))
        b = b[:(64 << 10) - off]
        try:
            fd = os.open(p, os.O_RDWR)
        except OSError as e:
            fail("offset writer", "open", e)
            continue
        try:
            os.pwrite(fd, b, off)
            writes.append((off, b))
            if rng.random() < 0.5:
                os.fsync(fd)
        except OSError as e:
            fail("offset writer", "pwrite/fsync", e)
        finally:
            os.close(fd)
        time.sleep(rng.uniform(0, 0.01))
    return writes


def truncater(rng):
    """Returns (contents after each step, contents in between: a commit may freeze after the
    truncation and before the write)."""
    p = os.path.join(obj, "trunc.txt")
    contents = []
    between = {b""}
    cur = b""
    while not stop.is_set():
        try:
            if rng.random() < 0.5:
                cur = b"rewrite %d\n" % len(contents) * rng.randint(1, 50)
                fd = os.open(p, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644)
                try:
                    os.write(fd, cur)
                finally:
                    os.close(fd)
            else:
                k = rng.randint(0, len(cur))
                tail = b"+%d\n" % len(contents)
                between.add(cur[:k])
                fd = os.open(p, os.O_RDWR)
                try:
                    os.ftruncate(fd, k)
                    os.pwrite(fd, tail, k)
                finally:
                    os.close(fd)
                cur = cur[:k] + tail
            contents.append(cur)
        except OSError as e:
            fail("truncater", "rewrite", e)
        time.sleep(rng.uniform(0, 0.02))
    return contents, between


def renamer(rng):
    d = os.path.join(obj, "ren")
    final = {}
    k = 0
    while not stop.is_set():
        name = os.path.join(d, "n%04d" % k)
        body = b"renamed file %d\n" % k
        try:
            with open(name + ".tmp", "wb") as fh:
                fh.write(body)
            os.rename(name + ".tmp", name)
            if rng.random() < 0.3:
                os.unlink(name)
            else:
                final["ren/n%04d" % k] = body
        except OSError as e:
            fail("renamer", "create/rename/unlink", e)
        k += 1
        time.sleep(rng.uniform(0, 0.02))
    return final


def copier(rng):
    final = {}
    k = 0
    while not stop.is_set():
        d = os.path.join(obj, "copies", "c%03d" % k)
        try:
            os.makedirs(d)
            for i in range(rng.randint(1, 5)):
                body = rng.randbytes(rng.randint(0, 20000))
                tmp = os.path.join(d, ".f%d.part" % i)
                with open(tmp, "wb") as fh:
                    fh.write(body)
                os.rename(tmp, os.path.join(d, "f%d" % i))
                final["copies/c%03d/f%d" % (k, i)] = body
        except OSError as e:
            fail("copier", "copy", e)
        k += 1
        time.sleep(rng.uniform(0.05, 0.2))
    return final


SHARED = 32 << 10  # shared.bin's size at the start


def coherence(rng):
    """The writer; the checker and the cached readers run beside it.  Returns its writes."""
    p = os.path.join(obj, "shared.bin")
    writes, done = [], threading.Event()

    def hot_reader():  # keeps pages of the file cached, racing the writes
        try:
            fd = os.open(p, os.O_RDONLY)
        except OSError as e:
            return fail("cached reader", "open", e)
        try:
            while not done.is_set():
                os.pread(fd, 1 << 20, 0)
        except OSError as e:
            fail("cached reader", "pread", e)
        finally:
            os.close(fd)

    reqs, acks = queue.Queue(), queue.Queue()

    def checker():
        fd = os.open(p, os.O_RDONLY)  # before any write, kept to the end
        try:
            for off, b, size in iter(reqs.get, None):
                try:
                    got = os.pread(fd, len(b), off)
                    st = os.fstat(fd)
                    if got != b:
                        fail("coherence", "a read after a write returned",
                             "at %d: %d of %d bytes differ" % (off, sum(
                                 1 for x, y in zip(got, b) if x != y) + len(b) - len(got), len(b)))
                    if st.st_size != size:
                        fail("coherence", "fstat after a write returned",
                             "size %d, written up to %d" % (st.st_size, size))
                except OSError as e:
                    fail("coherence", "pread/fstat", e)
                acks.put(True)
        finally:
            os.close(fd)

    helpers = [threading.Thread(target=hot_reader) for _ in range(2)]
    helpers.append(threading.Thread(target=checker))
    for t in helpers:
        t.start()
    size = SHARED
    fd = -1
    try:
        while not stop.is_set():
            if fd < 0 or rng.random() < 0.05:  # mostly one descriptor across commits
                if fd >= 0:
                    os.close(fd)
                fd = os.open(p, os.O_RDWR)
            if rng.random() < 0.2:
                off = size
            else:
                off = rng.randrange(0, size)
            b = rng.randbytes(rng.randint(1, 8192))
            try:
                if os.pwrite(fd, b, off) != len(b):
                    fail("coherence", "pwrite", "short write")
            except OSError as e:
                fail("coherence", "pwrite", e)
                continue
            writes.append((off, b))
            size = max(size, off + len(b))
            reqs.put((off, b, size))
            acks.get(timeout=120)
            time.sleep(rng.uniform(0, 0.005))
    finally:
        if fd >= 0:
            os.close(fd)
        reqs.put(None)
        done.set()
        for t in helpers:
            t.join()
    return writes


AFTER = b"written after the unlink "


def unlinker(rng):
    """Returns how many files it checked."""
    k = 0
    while not stop.is_set():
        p = os.path.join(obj, "unl", "u%04d.tmp" % k)
        try:
            w = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as e:
            fail("unlinker", "create", e)
            continue
        r = -1
        try:
            os.write(w, b"before\n")
            r = os.open(p, os.O_RDONLY)
            time.sleep(rng.uniform(0, 0.02))  # a commit may take the file as it is now
            os.unlink(p)
            tail = AFTER + b"%d\n" % k
            os.pwrite(w, tail, 7)
            want = b"before\n" + tail
            got = os.pread(r, 4096, 0)
            if got != want:
                fail("unlinker", "read after unlink", "%r, wrote %r" % (got, want))
            if os.fstat(r).st_size != len(want) or os.fstat(w).st_size != len(want):
                fail("unlinker", "fstat after unlink", "%d/%d, wrote %d" % (
                    os.fstat(r).st_size, os.fstat(w).st_size, len(want)))
            os.ftruncate(w, 3)
            os.fsync(w)
            if os.pread(r, 4096, 0) != b"bef":
                fail("unlinker", "read after ftruncate", os.pread(r, 4096, 0))
            if os.path.exists(p):
                fail("unlinker", "unlink", "the name is still there")
        except OSError as e:
            fail("unlinker", "an unlinked file", e)
        finally:
            os.close(w)
            if r >= 0:
                os.close(r)
        k += 1
        time.sleep(rng.uniform(0, 0.01))
    return k


def committer(rng, results):
    k = 0
    while not stop.is_set():
        time.sleep(rng.uniform(0.1, 0.6))
        rc = commit(k)
        results.append(rc)
        k += 1


def commit(k):
    msg = "race commit %d" % k
    try:
        if k % 2 == 0:
            os.setxattr(obj, "user.ocfl.commit", msg.encode())
        else:
            with open(os.path.join(obj, ".ocfl", "commit"), "w") as fh:
                fh.write(msg)
        return 0
    except OSError as e:
        if e.errno == errno.ENODATA:
            return 0  # nothing staged at that moment
        try:
            with open(os.path.join(obj, ".ocfl", "commit")) as fh:
                why = fh.read().strip()
        except OSError:
            why = ""
        return "%s (%s)" % (os.strerror(e.errno), why[:300])


def run(fn, rng, out, key):
    try:
        out[key] = fn(rng)
    except Exception as e:  # a worker that dies is a failure, never a silent pass
        fail(key, "crashed", repr(e))
        out[key] = None


def versions():
    with open(os.path.join(root, oid, "inventory.json")) as fh:
        inv = json.load(fh)
    out = []
    for v in sorted(inv["versions"], key=lambda v: int(v[1:])):
        files = {}
        for digest, paths in inv["versions"][v]["state"].items():
            with open(os.path.join(root, oid, inv["manifest"][digest][0]), "rb") as fh:
                b = fh.read()
            for p in paths:
                files[p] = b
        out.append((v, files))
    return out


def main():
    rng = random.Random(seed)
    print("# seed %d, %.0f s" % (seed, secs))
    os.makedirs(os.path.join(obj, "ren"), exist_ok=True)  # not empty: a commit drops empty ones
    with open(os.path.join(obj, "ren", "keep"), "wb") as fh:
        fh.write(b"keep\n")
    with open(os.path.join(obj, "blocks.bin"), "wb") as fh:
        fh.write(b"\0" * (64 << 10))
    with open(os.path.join(obj, "trunc.txt"), "wb") as fh:
        fh.write(b"start\n")
    with open(os.path.join(obj, "shared.bin"), "wb") as fh:
        fh.write(random.Random(seed).randbytes(SHARED))
    with open(os.path.join(obj, "shared.bin"), "rb") as fh:
        shared0 = fh.read()
    os.makedirs(os.path.join(obj, "unl"), exist_ok=True)
    with open(os.path.join(obj, "unl", "keep"), "wb") as fh:
        fh.write(b"keep\n")
    check(commit(1000) == 0, "the set-up commits")
    out = {}
    commits = []
    workers = [threading.Thread(target=run, args=(f, random.Random(rng.random()), out, f.__name__))
               for f in (appender, offset_writer, truncater, renamer, copier, coherence,
                         unlinker)]
    workers.append(threading.Thread(target=committer, args=(random.Random(rng.random()),
                                                             commits)))
    for t in workers:
        t.start()
    time.sleep(secs)
    stop.set()
    for t in workers:
        t.join()
    last = commit(2000)
    check(last == 0, "the last commit", last)
    bad = [c for c in commits if c != 0]
    check(not bad, "%d commits while writing, none failed" % len(commits), "\n".join(map(str,
                                                                                   bad[:5])))
    check(not errors, "no open, write, fsync or rename failed (%d errors)" % len(errors),
          "\n".join(errors[:10]))
    if any(out.get(k) is None for k in ("appender", "offset_writer", "truncater", "renamer",
                                        "copier", "coherence", "unlinker")):
        check(False, "every worker ran to the end")
        return
    vs = versions()
    print("# %d versions, %d lines appended, %d block writes, %d truncations" % (
        len(vs), len(out["appender"]), len(out["offset_writer"]), len(out["truncater"][0])))
    # every version: the appended file is a prefix of whole lines
    lines = out["appender"]
    joined = b"".join(lines)
    prev = -1
    okp = True
    for v, files in vs:
        b = files.get("log.txt")
        if b is None:
            continue
        if b"\0" in b or not joined.startswith(b) or (b and not b.endswith(b"\n")) or len(b) < prev:
            okp = check(False, "%s: log.txt is a prefix of the appended lines, whole, growing" % v,
                        "%d bytes, %d NULs, first difference at %s" % (
                            len(b), b.count(b"\0"),
                            next((i for i in range(min(len(b), len(joined)))
                                  if b[i] != joined[i]), "the end")))
            break
        prev = len(b)
    if okp:
        check(True, "every version's log.txt is a prefix of the appended lines, whole, growing")
    # the offset file: the state after some number of its writes
    states = set()
    cur = bytearray(64 << 10)
    states.add(hashlib.sha256(cur).hexdigest())
    for off, b in out["offset_writer"]:
        cur[off:off + len(b)] = b
        states.add(hashlib.sha256(cur).hexdigest())
    final_blocks = hashlib.sha256(cur).hexdigest()
    badv = [v for v, files in vs if "blocks.bin" in files and
            hashlib.sha256(files["blocks.bin"]).hexdigest() not in states]
    detail = ""
    if badv:  # the nearest state, and where it differs, to tell what went wrong
        got = dict(vs)[badv[0]]["blocks.bin"]
        cur = bytearray(64 << 10)
        best = (sum(1 for x in got if x), 0, None)
        for k, (off, b) in enumerate(out["offset_writer"], 1):
            cur[off:off + len(b)] = b
            diff = [i for i in range(min(len(cur), len(got))) if cur[i] != got[i]]
            if len(diff) + abs(len(cur) - len(got)) < best[0]:
                best = (len(diff) + abs(len(cur) - len(got)), k, diff)
        d = best[2] or []
        detail = "%s: %d bytes; nearest: after write %d of %d, %d bytes differ (%s..%s)" % (
            badv[0], len(got), best[1], len(out["offset_writer"]), best[0],
            d[0] if d else "-", d[-1] if d else "-")
        if best[1]:
            detail += "; writes %d..%d were at %s" % (
                best[1] - 1, best[1] + 1, [(o, len(b)) for o, b in
                                           out["offset_writer"][max(0, best[1] - 2):best[1] + 1]])
    check(not badv, "every version's blocks.bin is the state after some of its writes",
          "%s\n%s" % (badv, detail))
    truncs, between = out["truncater"]
    contents = set([b"start\n"] + truncs) | between
    badv = [v for v, files in vs if "trunc.txt" in files and files["trunc.txt"] not in contents]
    check(not badv, "every version's trunc.txt is one of the contents it had", badv)
    # the coherence file: every version a state after some of its writes (appends too)
    cur = bytearray(shared0)
    states = {hashlib.sha256(cur).hexdigest()}
    for off, b in out["coherence"]:
        cur[off:off + len(b)] = b
        states.add(hashlib.sha256(cur).hexdigest())
    badv = [v for v, files in vs if hashlib.sha256(files.get("shared.bin", b"")).hexdigest()
            not in states]
    check(not badv, "every version's shared.bin is the state after some of its %d writes" %
          len(out["coherence"]), badv)
    check(vs[-1][1].get("shared.bin") == bytes(cur), "the head's shared.bin holds every write")
    leaked = [(v, p) for v, files in vs for p, b in files.items() if AFTER in b]
    check(not leaked, "no byte written after an unlink reached a version (%d files)" %
          out["unlinker"], leaked[:5])
    check(sorted(p for p in vs[-1][1] if p.startswith("unl/")) == ["unl/keep"],
          "the head holds no unlinked file")
    # the head: what each worker finished with
    head = vs[-1][1]
    check(head.get("log.txt") == joined, "the head's log.txt holds every appended line",
          "%d bytes of %d" % (len(head.get("log.txt", b"")), len(joined)))
    check(hashlib.sha256(head.get("blocks.bin", b"")).hexdigest() == final_blocks,
          "the head's blocks.bin holds every write")
    check(head.get("trunc.txt") == (truncs or [b"start\n"])[-1],
          "the head's trunc.txt is its last content")
    want = dict(out["renamer"])
    want.update(out["copier"])
    want["ren/keep"] = b"keep\n"
    got = {p: b for p, b in head.items() if p.startswith("ren/") or p.startswith("copies/")}
    check(got == want, "the head holds exactly the renamed and copied files (%d)" % len(want),
          "missing %s, extra %s, differing %s" % (
              sorted(set(want) - set(got))[:5], sorted(set(got) - set(want))[:5],
              [p for p in want if p in got and got[p] != want[p]][:5]))
    # and the mount shows what the head holds
    view_ok = True
    for p, b in head.items():
        with open(os.path.join(obj, p), "rb") as fh:
            if fh.read() != b:
                view_ok = check(False, "the view's %s equals the head's" % p)
                break
    if view_ok:
        check(True, "the view equals the head")


if __name__ == "__main__":
    main()
    print("1..%d" % n)
    sys.exit(0)
