#!/usr/bin/env python3
"""Checks the module graph of src/: no import circle, and the core never imports login/.

Every `crate::…`, `super::…` and `self::…` path in a file (in `use` items and inline) is
resolved to the file that defines the module it names (the longest prefix that is a file);
an edge goes from the file that writes the path to that file. Two graphs are checked:

- files: no file imports a file that imports it back, directly or through others;
- top-level modules (`verify`, `tenant`, `provider`, …, each file at the root its own): no
  circle either, so that the data flow runs one way.

And the layering rules of ARCHITECTURE.md:

- nothing outside `login/` and `testing/` names `crate::login`;
- nothing outside `testing/` names `crate::testing` (the fuzz harness lives there).

Exit status 1 with the offending paths when a rule is broken. Usage: scripts/check-module-cycles.py
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "src"

# File → module path ("crate", "crate::verify", "crate::verify::jws", …). `#[path]` modules
# are mapped by hand below.
def module_of(path: pathlib.Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return "::".join(["crate"] + parts)


PATH_OVERRIDES = {"testing/fuzz.rs": "crate::__fuzz"}

files = {}
for p in sorted(ROOT.rglob("*.rs")):
    rel = str(p.relative_to(ROOT))
    files[PATH_OVERRIDES.get(rel, module_of(p))] = p
modules = set(files)


def strip_comments(text: str) -> str:
    # Unit-test modules (`#[cfg(test)] mod tests { use super::*; … }`) close the file.
    text = re.split(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text)[0]
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return text


def expand_use(tree: str):
    """Expands `a::{b, c::{d, e}}` into ['a::b', 'a::c::d', 'a::c::e']."""
    tree = re.sub(r"\s+", "", tree)
    out = []

    def rec(prefix, t):
        depth = 0
        start = 0
        items = []
        for i, ch in enumerate(t):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                items.append(t[start:i])
                start = i + 1
        items.append(t[start:])
        for item in items:
            if not item:
                continue
            m = re.match(r"^(.*?)::\{(.*)\}$", item)
            if m:
                rec(prefix + m.group(1) + "::", m.group(2))
            elif item.startswith("{") and item.endswith("}"):
                rec(prefix, item[1:-1])
            else:
                out.append(prefix + item.split(" as ")[0])

    rec("", tree)
    return out


def absolute(path: str, here: str) -> str:
    segs = path.split("::")
    base = here.split("::")
    if here in files and files[here].name not in ("mod.rs", "lib.rs"):
        parent_of_here = base[:-1]
    else:
        parent_of_here = base[:-1]
    if segs[0] == "crate":
        return path
    if segs[0] == "self":
        return "::".join(base + segs[1:])
    if segs[0] == "super":
        cur = base
        while segs and segs[0] == "super":
            cur = cur[:-1]
            segs = segs[1:]
        return "::".join(cur + segs)
    return ""


def target_file(path: str):
    segs = path.split("::")
    for n in range(len(segs), 0, -1):
        cand = "::".join(segs[:n])
        if cand in modules:
            return cand
    return None


edges = {m: set() for m in modules}
violations = []
for mod, p in files.items():
    text = strip_comments(p.read_text())
    paths = []
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        paths.extend(expand_use(m.group(1)))
    for m in re.finditer(r"\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)", text):
        paths.append(m.group(1))
    for raw in paths:
        if not raw.startswith(("crate", "super", "self")):
            continue
        full = absolute(raw, mod)
        tgt = target_file(full) if full else None
        if tgt and tgt != mod and not mod.startswith(tgt + "::") or (tgt and tgt == mod):
            pass
        if not tgt or tgt == mod:
            continue
        # A child naming its own parent module file counts as an import of that file.
        edges[mod].add(tgt)
        top = lambda m: "::".join(m.split("::")[:2])
        if top(tgt) == "crate::login" and top(mod) not in ("crate::login", "crate::testing", "crate::__fuzz"):
            violations.append(f"{p.relative_to(ROOT.parent)} imports {full} (the core never imports login/)")
        if top(tgt) == "crate::testing" and top(mod) not in ("crate::testing",):
            violations.append(f"{p.relative_to(ROOT.parent)} imports {full} (only tests use testing/)")


def find_cycles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            strong(v)
    return out


def top_level(m: str) -> str:
    return "::".join(m.split("::")[:2])


top_graph = {}
for a, bs in edges.items():
    for b in bs:
        ta, tb = top_level(a), top_level(b)
        if ta != tb:
            top_graph.setdefault(ta, set()).add(tb)
        top_graph.setdefault(tb, set())

ok = True
for comp in find_cycles(edges):
    ok = False
    print("import circle between files:", " -> ".join(comp))
for comp in find_cycles(top_graph):
    ok = False
    print("import circle between modules:", " -> ".join(comp))
for v in sorted(set(violations)):
    ok = False
    print(v)
if ok:
    n_edges = sum(len(v) for v in edges.values())
    print(f"module graph ok: {len(files)} files, {n_edges} imports, no circle; the core never imports login/")
    sys.exit(0)
sys.exit(1)
