# SPDX-License-Identifier: GPL-2.0-only
"""The verdict matrix: every expected cell of every scenario, run and compared.

A cell is one scenario on one variant with its expected verdict (``BUG`` or
``OK``; a ``find`` cell compares against the result recorded in the
scenario).  Each cell runs the exhaustive ``dfs`` strategy.  A cell matches
when ``BUG`` met verdict ``bug``, or ``OK`` met verdict ``ok`` (a complete
search).  An inconclusive or error verdict never matches.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .engine.explorer import Result, check
from .scenario import FIND, Scenario, get_scenario, program, scenarios
from .variants import parse_variant

WANT = {"BUG": "bug", "OK": "ok"}


def cells(names: list[str], variants: list[str]) -> list[tuple[type[Scenario], str, str]]:
    sc = [get_scenario(n) for n in names] if names else list(scenarios().values())
    for v in variants:
        parse_variant(v)  # unknown names are a usage error
    out = []
    for s in sc:
        for v, e in s.expect.items():
            if variants and v not in variants:
                continue
            out.append((s, v, e))
    return out


def run_cell(s: type[Scenario], v: str, seconds: float | None = None) -> Result:
    prog = program(s.name, v)
    return check(prog, "dfs", preemptions=prog.preemption_bound, seconds=seconds)


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


def run_matrix(args: argparse.Namespace) -> int:
    todo = cells(args.scenario, args.variant)
    results = []
    tty = sys.stderr.isatty()
    for i, (s, v, e) in enumerate(todo, 1):
        if tty:
            print(f"\r\x1b[2K[{i}/{len(todo)}] {s.name} on {v} ...", end="", file=sys.stderr, flush=True)
        r = run_cell(s, v, args.seconds)
        results.append(cell_json(s, v, e, r))
    if tty:
        print("\r\x1b[2K", end="", file=sys.stderr)
    bad = [c for c in results if c["match"] is False]
    if args.json:
        print(json.dumps({"cells": results, "mismatches": len(bad)}, indent=2, sort_keys=True))
    elif args.markdown:
        print("| scenario | variant | expected | verdict | executions | complete | seconds |")
        print("|---|---|---|---|---|---|---|")
        for c in results:
            print(
                f"| {c['scenario']} | {c['variant']} | {c['expected']} | {c['verdict']}"
                f"{' (' + c['kind'] + ')' if c['kind'] and c['verdict'] != 'ok' else ''} | {c['executions']} | "
                f"{'yes' if c['complete'] else 'no'} | {c['seconds']:.2f} |"
            )
    else:
        _table(results)
    return 0 if not bad else 1


def _table(results: list[dict[str, Any]]) -> None:
    w1 = max([len("scenario")] + [len(c["scenario"]) for c in results])
    w2 = max([len("variant")] + [len(c["variant"]) for c in results])
    print(f"{'scenario':<{w1}}  {'variant':<{w2}}  {'expected':<9} {'verdict':<22} {'execs':>7} {'secs':>6}  match")
    for c in results:
        verdict = c["verdict"] + (f" ({c['kind']})" if c["kind"] and c["verdict"] != "ok" else "")
        m = {True: "yes", False: "NO", None: "-"}[c["match"]]
        print(
            f"{c['scenario']:<{w1}}  {c['variant']:<{w2}}  {c['expected']:<9} {verdict:<22} "
            f"{c['executions']:>7} {c['seconds']:>6.2f}  {m}"
        )
    bad = sum(1 for c in results if c["match"] is False)
    print(f"\n{len(results)} cells, {len(results) - bad} as expected, {bad} differ")
