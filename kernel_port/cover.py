# SPDX-License-Identifier: GPL-2.0-only
"""``kport cover --variant V``: does any scenario run the lines the variant's patches change?

The functions a variant changes are the methods defined in its patches' mixin classes
(``Patch.cls``) and, for an older tree, in the tree's own class (the functions where it
states its differences from mainline).  Every scenario with an expected cell for the variant
runs (exhaustive ``dfs``, as in the matrix) under coverage.py with one dynamic context per
scenario (``Coverage.switch_context``), measuring greenlets (each CPU is one).  The report
lists, for each changed function, every executable line of its body with the scenarios that
executed it, and the lines no scenario reached.  ``--fail-under N`` (a percentage from 0 to
100) exits 1 when fewer than N percent of those lines ran, for CI.  ``--scenario`` takes
names or shell patterns, as ``kport matrix`` does.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import inspect
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine.errors import UsageError
from .engine.kfunc import kfunc_of
from .matrix import run_cell
from .scenario import Scenario, get_scenario, scenarios
from .variants import Variant, parse_variant


@dataclass
class Changed:
    name: str  # the kernel's name of the function
    owner: str  # the patch (or tree) that defines it
    file: str
    start: int  # first line of the definition (decorators included)
    end: int
    body: list[int] = field(default_factory=list)  # executable lines of the body
    source: dict[int, str] = field(default_factory=dict)
    ran: dict[int, list[str]] = field(default_factory=dict)  # line -> scenarios
    shadowed_by: str = ""  # a later patch of the variant overrides it again: it never runs here


def _functions(cls: type) -> list[tuple[str, str, Any]]:
    out = []
    for attr, obj in vars(cls).items():
        fn = inspect.unwrap(obj) if callable(obj) else None
        if fn is not None and inspect.isfunction(fn):
            fr = kfunc_of(obj)
            out.append((fr.name if fr is not None else attr, attr, fn))
    return out


def changed_functions(v: Variant) -> list[Changed]:
    owners: list[tuple[str, type]] = [(p.name, p.cls) for p in v.patches]
    if v.tree.base is not None:
        owners.append((v.tree.name, v.tree.cls))
    out: list[Changed] = []
    for owner, cls in owners:
        for name, attr, fn in _functions(cls):
            path = inspect.getsourcefile(fn)
            if path is None:
                continue
            lines, start = inspect.getsourcelines(fn)
            c = Changed(name, owner, os.path.realpath(path), start, start + len(lines) - 1)
            runs = getattr(v.cls, attr, None)
            if runs is not None and inspect.unwrap(runs) is not fn:
                c.shadowed_by = next((o for o, k in owners if attr in vars(k)), "?")
            out.append(c)
    return out


def _body_ranges(path: str) -> dict[int, tuple[int, int]]:
    """Definition start (first decorator) -> (first body line after a docstring, last line)."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = min([d.lineno for d in node.decorator_list] + [node.lineno])
            body = node.body
            if (
                len(body) > 1
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                body = body[1:]
            out[start] = (body[0].lineno, node.end_lineno or body[-1].lineno)
    return out


def cells_for(v: str, names: list[str]) -> list[type[Scenario]]:
    """The scenarios with a cell for variant ``v``, among ``names`` (names or shell patterns,
    as ``kport matrix --scenario`` takes them; a pattern that matches nothing is an error)."""
    if not names:
        return [s for s in scenarios().values() if v in s.variants()]
    every = scenarios()
    sc: list[type[Scenario]] = []
    for n in names:
        if any(ch in n for ch in "*?["):
            hit = [s for k, s in every.items() if fnmatch.fnmatchcase(k, n)]
            if not hit:
                raise UsageError(f"no scenario matches '{n}'; 'kport list' shows them all")
        else:
            hit = [get_scenario(n)]
        sc += [s for s in hit if s not in sc]
    return [s for s in sc if v in s.variants()]


def cover(variant: str, names: list[str] | None = None) -> dict[str, Any]:
    try:
        import coverage
    except ImportError:
        raise UsageError("kport cover needs coverage.py: pip install 'kernel-port[cover]'") from None

    v = parse_variant(variant)
    funcs = changed_functions(v)
    todo = cells_for(variant, names or [])
    if not todo:
        raise UsageError(f"no scenario has an expected cell for '{variant}'; 'kport list' shows the cells")
    shadowed = [f for f in funcs if f.shadowed_by]
    funcs = [f for f in funcs if not f.shadowed_by]
    files = sorted({f.file for f in funcs})
    verdicts: dict[str, str] = {}
    if funcs:
        cov = coverage.Coverage(
            data_file=None, include=files, concurrency=["greenlet"], config_file=False, branch=False
        )
        cov.start()
        try:
            for s in todo:
                cov.switch_context(s.name)
                verdicts[s.name] = run_cell(s, variant).verdict
        finally:
            cov.stop()
        data = cov.get_data()
        for path in files:
            statements = set(cov.analysis2(path)[1])
            ranges = _body_ranges(path)
            text = Path(path).read_text(encoding="utf-8").splitlines()
            ctx = data.contexts_by_lineno(path)
            for f in funcs:
                if f.file != path:
                    continue
                lo, hi = ranges.get(f.start, (f.start + 1, f.end))
                f.body = sorted(ln for ln in statements if lo <= ln <= hi)
                f.source = {ln: text[ln - 1].strip() for ln in f.body}
                f.ran = {ln: sorted(c for c in ctx.get(ln, []) if c) for ln in f.body}
    total = sum(len(f.body) for f in funcs)
    hit = sum(1 for f in funcs for ln in f.body if f.ran.get(ln))
    return {
        "variant": variant,
        "scenarios": [s.name for s in todo],
        "verdicts": verdicts,
        "functions": [
            {
                "function": f.name,
                "owner": f.owner,
                "file": os.path.relpath(f.file),
                "first_line": f.start,
                "last_line": f.end,
                "lines": [{"line": ln, "text": f.source[ln], "scenarios": f.ran.get(ln, [])} for ln in f.body],
            }
            for f in funcs
        ],
        "shadowed": [{"function": f.name, "owner": f.owner, "by": f.shadowed_by} for f in shadowed],
        "lines": total,
        "covered": hit,
        "percent": round(100.0 * hit / total, 1) if total else 100.0,
    }


def render(rep: dict[str, Any]) -> str:
    out = [
        f"kport cover {rep['variant']}: {len(rep['scenarios'])} scenario(s) with a cell for this variant: "
        + ", ".join(f"{s} ({rep['verdicts'].get(s, 'not run')})" for s in rep["scenarios"]),
        "",
    ]
    if not rep["functions"] and not rep["shadowed"]:
        out.append(f"{rep['variant']} changes no function (no patch, and the tree is mainline): nothing to cover.")
        return "\n".join(out) + "\n"
    for f in rep["functions"]:
        n = sum(1 for ln in f["lines"] if ln["scenarios"])
        out.append(f"{f['function']}()  [{f['owner']}]  {f['file']}:{f['first_line']}-{f['last_line']}")
        w = max([len(ln["text"]) for ln in f["lines"]] + [20])
        w = min(w, 60)
        for ln in f["lines"]:
            who = ", ".join(ln["scenarios"]) if ln["scenarios"] else "-- no scenario reaches this line"
            out.append(f"  {ln['line']:>5}  {ln['text'][:w]:<{w}}  {who}")
        out.append(f"  {n} of {len(f['lines'])} line(s) reached")
        out.append("")
    for sh in rep["shadowed"]:
        out.append(f"{sh['function']}()  [{sh['owner']}]  not run in this variant: {sh['by']} overrides it again")
    if rep["shadowed"]:
        out.append("")
    missed = [(f, ln) for f in rep["functions"] for ln in f["lines"] if not ln["scenarios"]]
    out.append(
        f"Total: {rep['covered']} of {rep['lines']} line(s) of the changed functions reached by some scenario "
        f"({rep['percent']:.1f}%)."
    )
    if missed:
        out.append("Lines no scenario reaches:")
        for f, ln in missed:
            out.append(f"  {f['file']}:{ln['line']}  {f['function']}(): {ln['text']}")
    return "\n".join(out) + "\n"


def cmd_cover(args: argparse.Namespace) -> int:
    rep = cover(args.variant, args.scenario)
    if args.json:
        print(json.dumps(rep, indent=2, sort_keys=True))
    else:
        print(render(rep), end="")
    if args.fail_under is not None and rep["percent"] < args.fail_under:
        if not args.json:
            print(f"kport: coverage {rep['percent']:.1f}% is under --fail-under {args.fail_under:g}")
        return 1
    return 0
