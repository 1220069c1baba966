# SPDX-License-Identifier: GPL-2.0-only
"""The verdict matrix: every expected cell of every scenario, run and compared.

A cell is one scenario on one variant with its expected verdict (``BUG`` or
``OK``; a ``find`` cell compares against the result recorded in the
scenario).  Each cell runs the exhaustive ``dfs`` strategy.  A cell matches
when ``BUG`` met verdict ``bug``, or ``OK`` met verdict ``ok`` (a complete
search).  An inconclusive or error verdict never matches.

Output: a rich table on a terminal, plain text otherwise, ``--markdown``,
``--json`` (an object with a ``cells`` list; the public contract in
DESIGN.md), or ``--html FILE`` (the self-contained report with a trace viewer
for every BUG cell; the table still goes to stdout).  ``--scenario`` and
``--variant`` take exact names or shell patterns (``'irq_work.*'``,
``'v6.17*'``).  Progress (cell, executions, rate, depth) goes to stderr on a
terminal only.  Exit 0 only when every cell matches.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .engine.errors import UsageError
from .engine.explorer import Result, check
from .scenario import FIND, Scenario, get_scenario, program, scenarios
from .variants import parse_variant

WANT = {"BUG": "bug", "OK": "ok"}


def _is_pattern(s: str) -> bool:
    return any(ch in s for ch in "*?[")


def cells(names: list[str], variants: list[str]) -> list[tuple[type[Scenario], str, str]]:
    every = scenarios()
    if names:
        sc: list[type[Scenario]] = []
        for n in names:
            if _is_pattern(n):
                hit = [s for k, s in every.items() if fnmatch.fnmatchcase(k, n)]
                if not hit:
                    raise UsageError(f"no scenario matches '{n}'; 'kport list' shows them all")
                sc += [s for s in hit if s not in sc]
            elif (s := get_scenario(n)) not in sc:
                sc.append(s)
    else:
        sc = list(every.values())
    exact = [v for v in variants if not _is_pattern(v)]
    for v in exact:
        parse_variant(v)  # unknown names are a usage error
    pats = [v for v in variants if _is_pattern(v)]
    known = {v for s in every.values() for v in s.expect}
    for p in pats:
        if not any(fnmatch.fnmatchcase(v, p) for v in known):
            raise UsageError(f"no variant matches '{p}'; 'kport list' shows them all")
    out = []
    for s in sc:
        for v, e in s.expect.items():
            if variants and v not in exact and not any(fnmatch.fnmatchcase(v, p) for p in pats):
                continue
            out.append((s, v, e))
    return out


def run_cell(
    s: type[Scenario], v: str, seconds: float | None = None, progress: Callable[[str], None] | None = None
) -> Result:
    prog = program(s.name, v)
    return check(prog, "dfs", preemptions=prog.preemption_bound, seconds=seconds, progress=progress)


def cell_json(s: type[Scenario], v: str, e: str, r: Result) -> dict[str, Any]:
    recorded = s.found.get(v) if e == FIND else None
    want = WANT.get(recorded or e)
    match = (want == r.verdict) if want is not None else None
    ce = r.counterexample
    return {
        "scenario": s.name,
        "variant": v,
        "expected": e if recorded is None else f"find ({recorded})",
        "verdict": r.verdict,
        "kind": r.kind,
        "match": match,
        "executions": r.executions,
        "complete": r.complete,
        "seconds": round(r.seconds, 3),
        "token": r.token if r.verdict in ("bug", "error", "inconclusive") else None,
        "coverage": r.coverage,
        "message": r.message,
        "counterexample": None
        if ce is None
        else {"steps": ce.steps, "preemptions": ce.preemptions, "faults": ce.faults},
    }


class _Progress:
    """A rich progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, total: int) -> None:
        self.bar: Any = None
        if not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[detail]}"),
            console=Console(stderr=True),
            transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("matrix", total=total, detail="")

    def cell(self, name: str) -> Callable[[str], None] | None:
        if self.bar is None:
            return None
        self.bar.update(self.task, description=name, detail="")

        def show(text: str) -> None:
            self.bar.update(self.task, detail=text)

        return show

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run(todo: list[tuple[type[Scenario], str, str]], seconds: float | None, traces: bool) -> list[dict[str, Any]]:
    """Run the cells; with ``traces``, each BUG cell also carries its annotated trace."""
    from .report import annotated_trace

    results = []
    bar = _Progress(len(todo))
    try:
        for s, v, e in todo:
            r = run_cell(s, v, seconds, bar.cell(f"{s.name} on {v}"))
            c = cell_json(s, v, e, r)
            if traces and r.verdict == "bug":
                tr = annotated_trace(program(s.name, v), r)
                if tr is not None:
                    tr.pop("machine", None)
                    c["trace"] = tr
            results.append(c)
            bar.advance()
    finally:
        bar.stop()
    return results


def run_matrix(args: argparse.Namespace) -> int:
    from .report import table

    todo = cells(args.scenario, args.variant)
    html = getattr(args, "html", None)
    results = run(todo, args.seconds, traces=bool(html))
    bad = [c for c in results if c["match"] is False]
    if args.json:
        print(json.dumps({"cells": results, "mismatches": len(bad)}, indent=2, sort_keys=True))
    elif args.markdown:
        table.markdown(results, sys.stdout)
    else:
        if html:
            from .report.html import write_report

            write_report(Path(html), results)
            print(f"kport: wrote {html}", file=sys.stderr)
        if sys.stdout.isatty():
            table.rich_table(results, sys.stdout)
        else:
            table.plain(results, sys.stdout)
    return 0 if not bad else 1
