#!/usr/bin/env python3
"""call_circles.py: circles of source files that call or include each other.

usage: call_circles.py MAX BUILD_DIR [ROOM...]

The objects are those of BUILD_DIR's compile_commands.json whose source lies under one of the
ROOMs (default: ocfl journal cluster web fs), named by their source path.

A file uses another when its object file has an undefined symbol that the other's object
defines (nm: a function or a variable with external linkage; static ones never count).  Files
that reach each other through such uses, round and round, form a circle (a strongly connected
component of the graph).  Includes count the same way: a file (source or header) uses the
project header it includes, found by name.  Prints TAP: one line per circle, failing when one holds more than
MAX files; the names are the source files.  It also checks that calls run one way between
the rooms (ORDER: a file may use its own room and those before it).
"""
import json
import os
import subprocess
import sys


def symbols(obj):
    """(defined, undefined) external symbols of one object file."""
    out = subprocess.run(["nm", "-P", obj], check=True, capture_output=True, text=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            undefined.add(name)
        elif kind in "TDBRCGSV":  # upper case: external linkage
            defined.add(name)
    return defined, undefined


def circles(graph):
    """Strongly connected components (Tarjan, iterative), largest first."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    out.append(sorted(comp))
    return sorted(out, key=len, reverse=True)


def objects(build, rooms):
    """{source path relative to the source tree: object path} of the rooms' files."""
    with open(os.path.join(build, "compile_commands.json")) as f:
        cmds = json.load(f)
    out = {}
    for c in cmds:
        src = os.path.normpath(os.path.join(os.path.abspath(c["directory"]), c["file"]))
        for room in rooms:
            top = os.path.join(SOURCE, room) + os.sep
            if src.startswith(top) and "/tests/" not in src[len(SOURCE):]:
                out[os.path.relpath(src, SOURCE)] = os.path.join(c["directory"], c["output"])
    return out


# the layers, lowest first
ORDER = ["ocfl", "journal", "cluster", "web", "fs/core", "fs/read", "fs/write", "fs/cli"]


def room_of(path):
    best = None
    for i, room in enumerate(ORDER):
        if path.startswith(room + "/"):
            best = i
    return best


SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def include_graph(rooms):
    """Sources and headers of the rooms, each to the project headers it includes ("x.h",
    found by name among the rooms' headers)."""
    files = []
    for room in rooms:
        for d, _, names in os.walk(os.path.join(SOURCE, room)):
            files += [os.path.join(d, f) for f in names if f.endswith((".c", ".h"))]
    headers = {}
    for f in files:
        if f.endswith(".h"):
            headers.setdefault(os.path.basename(f), os.path.relpath(f, SOURCE))
    graph = {}
    for f in files:
        name = os.path.relpath(f, SOURCE)
        graph.setdefault(name, set())
        with open(f, errors="replace") as fh:
            for line in fh:
                line = line.strip()
                if line.startswith("#include \""):
                    inc = os.path.basename(line.split('"')[1])
                    if inc in headers and headers[inc] != name:
                        graph[name].add(headers[inc])
    for deps in list(graph.values()):
        for d in deps:
            graph.setdefault(d, set())
    return graph


def main():
    limit = int(sys.argv[1])
    rooms = sys.argv[3:] or ["ocfl", "journal", "cluster", "web", "fs"]
    objs = objects(sys.argv[2], rooms)
    if not objs:
        print("not ok 1 - no objects of %s in %s" % (" ".join(rooms), sys.argv[2]))
        print("1..1")
        return 1
    syms = {name: symbols(o) for name, o in sorted(objs.items())}
    owner = {}
    for name, (defined, _) in syms.items():
        for s in defined:
            owner.setdefault(s, name)
    graph = {name: set() for name in syms}
    for name, (_, undefined) in syms.items():
        for s in undefined:
            if s in owner and owner[s] != name:
                graph[name].add(owner[s])
    found = [c for c in circles(graph) if len(c) > 1]
    incs = include_graph(rooms)
    found_inc = [c for c in circles(incs) if len(c) > 1]
    n = 0
    for c in found_inc:
        n += 1
        print("%s %d - a circle of %d files including each other: %s" % (
            "ok" if len(c) <= limit else "not ok", n, len(c), " ".join(c)))
    # rooms call downward only: a file uses files of its own room or of rooms before it
    upward = []
    for g, how in ((graph, "calls"), (incs, "includes")):
        for a in sorted(g):
            for b in sorted(g[a]):
                ra, rb = room_of(a), room_of(b)
                if ra is not None and rb is not None and rb > ra:
                    upward.append("%s %s %s" % (a, how, b))
    n += 1
    print("%s %d - calls and includes run downward through %s" % ("not ok" if upward else "ok", n,
                                                     " <- ".join(ORDER)))
    for u in upward[:20]:
        print("#   " + u)
    # system headers that belong to one room: FUSE to fs/, SQLite not in ocfl/, the HTTP
    # server's only in web/
    wrong = []
    for room in rooms:
        for d, _, names in os.walk(os.path.join(SOURCE, room)):
            for f in names:
                if not f.endswith((".c", ".h")):
                    continue
                rel = os.path.relpath(os.path.join(d, f), SOURCE)
                with open(os.path.join(d, f), errors="replace") as fh:
                    for line in fh:
                        if not line.startswith("#include <"):
                            continue
                        inc = line.split("<")[1].split(">")[0]
                        if ((inc.startswith("fuse") and not rel.startswith("fs/")) or
                                (inc == "sqlite3.h" and rel.startswith("ocfl/")) or
                                (inc == "microhttpd.h" and not rel.startswith("web/"))):
                            wrong.append("%s includes <%s>" % (rel, inc))
    n += 1
    print("%s %d - FUSE headers only in fs/, SQLite's not in ocfl/, microhttpd.h only in web/" %
          ("not ok" if wrong else "ok", n))
    for u in wrong[:20]:
        print("#   " + u)
    for c in found:
        n += 1
        ok = len(c) <= limit
        print("%s %d - a circle of %d files: %s" % ("ok" if ok else "not ok", n, len(c),
                                                    " ".join(c)))
    n += 1
    print("ok %d - %d files, %d circles, the largest of %d" %
          (n, len(graph), len(found), len(found[0]) if found else 1))
    print("1..%d" % n)
    ok = all(len(c) <= limit for c in found + found_inc) and not upward and not wrong
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
