# SPDX-License-Identifier: GPL-2.0-only
"""The upstream C line of each access of a trace, not only of the function it is in.

A trace row is made by an engine primitive called from one line of a ported function.
:func:`sites` replays a counterexample and records, for every row, that Python line (the
innermost frame outside the engine).  :func:`c_line` maps it to the C line it ports: the
ported function and its C original are aligned line by line (:func:`align`: in order, each
Python line to the C line whose names it shares most -- ``llist_add(work.node.llist, lst)``
to ``if (!llist_add(&work->node.llist, list))``), and the Python line's text is looked up.

The C text comes from the kernel tree you point at (``--kernel-tree`` or
``$KPORT_KERNEL_TREE``, as for ``kport source``: no kernel source is shipped), else from the
table committed beside this module (``access_lines.json``: Python line text -> C line number,
per function, made by ``python -m kernel_port.report.lines --kernel-tree PATH`` from a
checkout at the pinned versions; it holds numbers, never kernel text).  Where neither knows a
line, a row keeps its function's first line, and says so.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import re
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from ..engine import core
from ..engine.kfunc import kfunc_of

TABLE = Path(__file__).with_name("access_lines.json")
_SKIP = ("kernel_port.engine", "kernel_port.report", "kernel_port.scenario_frames", "kernel_port.diagram")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NOISE = frozenset(
    re.split(
        r"\s+",
        "self if else elif not and or return is None True False in for while lambda def pass int bool "
        "struct const static inline void unsigned long char true false NULL goto break continue do "
        "k this_cpu_ptr per_cpu smp_processor_id cpu",
    )
)


# -- where each row's access was made -----------------------------------------------------------


@contextlib.contextmanager
def _recording(out: list[tuple[str, int] | None]) -> Iterator[None]:
    orig_emit = core.Machine.emit
    orig_on = core.Machine.emit_on

    def emit(self: core.Machine, cpu: core.CPU, kind: str, text: str) -> None:
        orig_emit(self, cpu, kind, text)
        out.append(_site())

    def emit_on(self: core.Machine, cpu_id: int, kind: str, text: str) -> None:
        orig_on(self, cpu_id, kind, text)
        out.append(None)

    core.Machine.emit = emit  # type: ignore[method-assign]
    core.Machine.emit_on = emit_on  # type: ignore[method-assign]
    try:
        yield
    finally:
        core.Machine.emit = orig_emit  # type: ignore[method-assign]
        core.Machine.emit_on = orig_on  # type: ignore[method-assign]


def _site() -> tuple[str, int] | None:
    f = sys._getframe(2)
    while f is not None:
        mod = str(f.f_globals.get("__name__", ""))
        if not mod.startswith(_SKIP):
            return (f.f_code.co_filename, f.f_lineno)
        f = f.f_back  # type: ignore[assignment]
    return None


def sites(prog: Any, choices: list[int]) -> list[tuple[str, int] | None]:
    """Replay ``choices`` on ``prog`` and return, per record of its trace, the Python file and
    line the access was made from (None for an event source's row)."""
    from ..engine.explorer import replay

    out: list[tuple[str, int] | None] = []
    with _recording(out):
        replay(prog, choices)
    return out


# -- aligning a port with its C original ----------------------------------------------------------


_STRING = re.compile(r"[rbuf]*(\"[^\"]*\"|'[^']*')")


def _names(line: str) -> set[str]:
    """The names a line uses, outside strings and comments, leading underscores dropped (a
    port spells ``__smp_call_single_queue`` as ``_smp_call_single_queue``)."""
    code = _STRING.sub(" ", line.split(" #", 1)[0].split("//", 1)[0])
    return {n.lstrip("_") for n in _NAME.findall(code) if n not in _NOISE and len(n.lstrip("_")) > 1}


def _norm(line: str) -> str:
    return " ".join(line.split())


def align(py_lines: list[str], c_lines: list[str], c_first: int) -> dict[str, int]:
    """Python line text -> C line number (``c_first`` is the number of ``c_lines[0]``): each
    Python line, in order, to the C line at or after the previous match whose names it shares
    most (a call or a field in common), if it shares any."""
    out: dict[str, int] = {}
    cnames = [_names(c) for c in c_lines]
    pos = 0
    for py in py_lines:
        names = _names(py)
        key = _norm(py)
        if not names or not key or key.startswith(("#", "@", "def ", '"""')) or key in out:
            continue
        best, best_i = 0.0, -1
        for order, rng in ((0, range(pos, len(c_lines))), (1, range(0, pos))):
            for i in rng:
                common = names & cnames[i]
                if not common:
                    continue
                score = len(common) / len(names) + 0.5 * sum(1 for n in common if "_" in n or n.isupper())
                score -= 0.25 * order  # going back is allowed, but costs
                if score > best:
                    best, best_i = score, i
        if best_i >= 0 and best >= 0.5:
            out[key] = c_first + best_i
            pos = max(pos, best_i)
    return out


@cache
def _table() -> dict[str, dict[str, dict[str, int]]]:
    try:
        data = json.loads(TABLE.read_text())
    except (OSError, ValueError):
        return {}
    return data.get("functions", {}) if isinstance(data, dict) else {}


def _key(file: str, version: str, name: str) -> str:
    return f"{file}@{version}:{name}"


@cache
def _from_tree(tree: str, file: str, name: str) -> tuple[tuple[str, ...], int] | None:
    from ..source import find_c_function

    path = Path(tree) / file
    if not path.is_file():
        return None
    try:
        cf = find_c_function(path, name)
    except Exception:  # tree-sitter missing or the file unreadable: no access lines from the tree
        return None
    if cf is None:
        return None
    return tuple(cf.text.splitlines()), cf.line


def _py_source(fn: Any) -> tuple[list[str], int, str] | None:
    try:
        raw = inspect.unwrap(fn)
        lines, start = inspect.getsourcelines(raw)
        return lines, start, inspect.getsourcefile(raw) or ""
    except (OSError, TypeError):
        return None


def mapping(fn: Any, tree: str | None = None) -> dict[str, int]:
    """Python line text -> C line for the ported function ``fn`` (a ``@kfunc``)."""
    fr = kfunc_of(fn)
    if fr is None:
        return {}
    if tree:
        got = _from_tree(tree, fr.file, fr.name)
        src = _py_source(fn)
        if got is not None and src is not None:
            return align(src[0], list(got[0]), got[1])
    return dict(_table().get(_key(fr.file, fr.version, fr.name), {}))


def c_lines(prog: Any, choices: list[int], rows: list[Any], tree: str | None = None) -> list[int | None]:
    """For each row of the trace (engine/trace.py ``rows``), the C line of its access (None where
    unknown: a function's own row, an event source, a line no table or tree maps)."""
    recs = sites(prog, choices)
    variant = getattr(prog, "variant_obj", None)
    funcs: dict[str, Any] = {}
    if variant is not None:
        from . import kfuncs_of

        funcs = {name: fn for name, (_attr, fn) in kfuncs_of(variant.cls).items()}
    by_file: dict[tuple[str, int], str] = {}
    maps: dict[str, dict[str, int]] = {}
    out: list[int | None] = []
    for r in rows:
        site = recs[r.rec] if 0 <= getattr(r, "rec", -1) < len(recs) else None
        fn = funcs.get(r.func)
        if site is None or fn is None or r.kind == "func":
            out.append(None)
            continue
        if r.func not in maps:
            maps[r.func] = mapping(fn, tree)
        text = by_file.get(site)
        if text is None:
            try:
                lines = Path(site[0]).read_text().splitlines()
                text = lines[site[1] - 1] if 0 < site[1] <= len(lines) else ""
            except OSError:
                text = ""
            by_file[site] = text
        out.append(maps[r.func].get(_norm(text)))
    return out


# -- the committed table ------------------------------------------------------------------------


def build_table(tree: str, variants: list[str]) -> dict[str, dict[str, int]]:
    """Every ported function of ``variants`` whose C original ``tree`` has, aligned."""
    from ..variants import parse_variant
    from . import kfuncs_of

    out: dict[str, dict[str, int]] = {}
    for v in variants:
        for _name, (_attr, fn) in kfuncs_of(parse_variant(v).cls).items():
            fr = kfunc_of(fn)
            if fr is None or not fr.line:
                continue
            got = _from_tree(tree, fr.file, fr.name)
            src = _py_source(fn)
            if got is None or src is None or got[1] != fr.line:
                continue  # not that version of the function in this tree
            m = align(src[0], list(got[0]), got[1])
            if m:
                out[_key(fr.file, fr.version, fr.name)] = m
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m kernel_port.report.lines",
        description="Refresh access_lines.json from a kernel checkout at the pinned versions.",
    )
    p.add_argument("--kernel-tree", required=True)
    p.add_argument("--variant", action="append", default=[], help="variants whose ports to align (default v6.17)")
    args = p.parse_args(argv)
    found = build_table(args.kernel_tree, args.variant or ["v6.17"])
    old = _table()
    merged = {**old, **found}
    TABLE.write_text(
        json.dumps(
            {
                "about": "Python line text of a ported function -> the C line it ports, per function "
                "(file@version:name); made by python -m kernel_port.report.lines --kernel-tree PATH. "
                "Numbers only: no kernel text.",
                "functions": merged,
            },
            indent=1,
            sort_keys=True,
        )
        + "\n"
    )
    print(f"{len(found)} functions aligned from {args.kernel_tree}; {len(merged)} in {TABLE.name}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
