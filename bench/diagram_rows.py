# SPDX-License-Identifier: GPL-2.0-only
"""Race diagrams and tokens of every corpus BUG cell (issue 20).

For each cell of the corpus whose expected verdict is BUG: the exhaustive ``dfs`` search finds
the counterexample (as ``kport check`` does), and ``kport diagram`` draws it.  Recorded per
cell: the counterexample's steps, the slice's steps, the steps the diagram draws, its rows
(header and wrapped lines included) and widest line, whether its steps replayed as a partial
schedule reach the same violation, the seconds the diagram took; and the counterexample's
token in the format before issue 20 (``kp2``, with a label per choice) and today's (``kp3``),
with the ratio.

Goals (issue 20): every diagram <= 25 rows and <= 72 columns, every one checked by its replay,
every token at least 3x shorter than before.

Writes results/diagram_rows.json and results/diagram_rows.md (which also shows every diagram).

Run:  python bench/diagram_rows.py
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from kernel_port import diagram as D  # noqa: E402
from kernel_port.engine.explorer import check, schedule_labels  # noqa: E402
from kernel_port.engine.token import Schedule  # noqa: E402
from kernel_port.scenario import BUG, program, scenarios  # noqa: E402

RES = HERE / "results"
ROWS_GOAL = D.MAX_ROWS
WIDTH_GOAL = D.WIDTH
TOKEN_GOAL = 3.0


def cells() -> list[tuple[str, str]]:
    """The BUG cells under each scenario's own memory model (the diagrams of ``kport diagram``
    without ``--memory-model``)."""
    return sorted(
        (name, v)
        for name, sc in scenarios().items()
        for v, mm, _e in sc.cells()
        if mm == sc.own_memory_model() and sc.expected(v, mm) == BUG
    )


def measure(name: str, variant: str) -> dict[str, Any]:
    prog = program(name, variant)
    r = check(prog, "dfs", preemptions=prog.preemption_bound)
    ce = r.counterexample
    assert r.verdict == "bug" and ce is not None and r.token, (name, variant, r.verdict)
    t0 = time.perf_counter()
    d = D.build(prog, ce.choices)
    secs = time.perf_counter() - t0
    labels = schedule_labels(prog, ce.choices)
    kp2 = Schedule(name, variant, prog.faults, ce.choices, labels=labels).token_kp2()
    return {
        "scenario": name,
        "variant": variant,
        "kind": r.kind,
        "steps": len(d.sl.ex.steps),
        "slice": len(d.sl.steps),
        "drawn": len(d.shown),
        "rows": len(d.text),
        "width": max(len(line) for line in d.text),
        "checked": bool(d.verified),
        "seconds": round(secs, 3),
        "kp2_chars": len(kp2),
        "kp3_chars": len(r.token),
        "ratio": round(len(kp2) / len(r.token), 1),
        "token": r.token,
        "diagram": d.text,
    }


def markdown(res: dict[str, Any]) -> str:
    rows = res["cells"]
    worst_rows = max(rows, key=lambda c: c["rows"])
    worst_w = max(rows, key=lambda c: c["width"])
    worst_t = min(rows, key=lambda c: c["ratio"])
    unchecked = [c for c in rows if not c["checked"]]
    ok = lambda b: "MET" if b else "MISSED"  # noqa: E731
    out = [
        "# Race diagrams and tokens of the corpus BUG cells",
        "",
        f"{res['python']}, {res['platform']}; engine at commit {res['commit']}.  `python bench/diagram_rows.py`.",
        "",
        f"**Goal: every diagram <= {ROWS_GOAL} rows: {ok(worst_rows['rows'] <= ROWS_GOAL)}** "
        f"(largest: {worst_rows['rows']} rows, {worst_rows['scenario']} on {worst_rows['variant']}).",
        "",
        f"**Goal: every diagram <= {WIDTH_GOAL} columns: {ok(worst_w['width'] <= WIDTH_GOAL)}** "
        f"(widest line: {worst_w['width']}).",
        "",
        f"**Goal: every diagram checked by replaying its steps as a partial schedule: {ok(not unchecked)}** "
        f"({len(rows) - len(unchecked)} of {len(rows)}).",
        "",
        f"**Goal: tokens >= {TOKEN_GOAL:g}x shorter than kp2: {ok(worst_t['ratio'] >= TOKEN_GOAL)}** "
        f"(smallest gain {worst_t['ratio']}x, {worst_t['scenario']} on {worst_t['variant']}: "
        f"{worst_t['kp2_chars']} -> {worst_t['kp3_chars']} characters).",
        "",
        "| scenario | variant | kind | steps | slice | drawn | rows | width | checked | s | kp2 | kp3 | x |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in rows:
        out.append(
            f"| {c['scenario']} | {c['variant']} | {c['kind']} | {c['steps']} | {c['slice']} | {c['drawn']} | "
            f"{c['rows']} | {c['width']} | {'yes' if c['checked'] else 'NO'} | {c['seconds']} | "
            f"{c['kp2_chars']} | {c['kp3_chars']} | {c['ratio']} |"
        )
    out += [
        "",
        "*steps*: the counterexample; *slice*: the steps the violation depends on; *drawn*: the steps the "
        "diagram draws (a call row stands for its first step); *checked*: those steps, replayed in their "
        "order as a partial schedule with nothing else forced and no other fault, end in the same kind of "
        "violation.",
        "",
        "## The diagrams",
        "",
    ]
    for c in rows:
        out += [f"### {c['scenario']} on {c['variant']} ({c['kind']})", "", "```", *c["diagram"], "```", ""]
    return "\n".join(out) + "\n"


def main() -> None:
    commit = os.environ.get("KPORT_COMMIT", "")
    try:
        commit = (
            commit
            or subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE.parent, check=False
            ).stdout.strip()
        )
    except OSError:
        commit = "?"
    res = {
        "python": f"Python {platform.python_version()}",
        "platform": platform.platform(),
        "commit": commit or "?",
        "cells": [measure(n, v) for n, v in cells()],
    }
    RES.mkdir(exist_ok=True)
    (RES / "diagram_rows.json").write_text(json.dumps(res, indent=1, sort_keys=True) + "\n")
    (RES / "diagram_rows.md").write_text(markdown(res))
    print(markdown(res).split("| scenario |")[0])


if __name__ == "__main__":
    main()
