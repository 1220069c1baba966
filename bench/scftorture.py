# SPDX-License-Identifier: GPL-2.0-only
"""The scftorture family (scenarios/smp.py, after kernel/scftorture.c) at 4 CPUs, searched exhaustively.

For a few seeds, the seeded random mix of cross-CPU calls (single with and
without wait, async, many, all; CPU 0 takes the last CPU offline and back
online) is explored by the ``dfs`` strategy at the family's preemption bound
(0) on v6.17 and on v3.10, each run under a time budget.  A run that finishes
is a complete search (``ok``) or a violation (``bug``, with what scftorture
would have counted); a run that hits the budget says how far it got
(executions).  Expected (issue 5): no violation on v6.17; violations on v3.10
once hotplug is on, for the seeds whose mix sends a call across the offline.

Run:  python bench/scftorture.py [--quick] [--budget SECONDS]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from kernel_port.engine.explorer import check  # noqa: E402
from kernel_port.scenario import ScenarioProgram, load_by_path  # noqa: E402
from kernel_port.variants import parse_variant, project_root  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="two seeds, 10 s budget")
    ap.add_argument("--budget", type=float, default=None, help="seconds per run (default 30, quick 10)")
    args = ap.parse_args(argv)
    budget = args.budget or (10.0 if args.quick else 30.0)
    seeds = [0, 5] if args.quick else [0, 1, 2, 5]
    smp = load_by_path(project_root() / "scenarios" / "smp.py", "kernel_port_scenarios")
    rows = []
    for seed in seeds:
        cls = smp.scf_torture(seed, cpus=4, nops=2)
        for variant in ("v6.17", "v3.10"):
            prog = ScenarioProgram(cls, parse_variant(variant), 0, cls.preemptions)
            t0 = time.perf_counter()
            r = check(prog, "dfs", preemptions=cls.preemptions, seconds=budget)
            row = {
                "seed": seed,
                "cpus": 4,
                "variant": variant,
                "verdict": r.verdict,
                "kind": r.kind,
                "message": r.message,
                "executions": r.executions,
                "complete": r.complete,
                "seconds": round(time.perf_counter() - t0, 2),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    v617_bugs = [r for r in rows if r["variant"] == "v6.17" and r["verdict"] == "bug"]
    doc = {
        "machine": f"Python {platform.python_version()}, {platform.platform()}",
        "budget_s": budget,
        "quick": args.quick,
        "rows": rows,
        "mainline_violations": len(v617_bugs),
        "v3_10_violations": sum(1 for r in rows if r["variant"] == "v3.10" and r["verdict"] == "bug"),
    }
    out = HERE / "results"
    (out / "scftorture.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    lines = [
        "# scftorture family at 4 CPUs, exhaustive dfs",
        "",
        f"{doc['machine']}; `python bench/scftorture.py" + (" --quick" if args.quick else "") + f"`; {budget:.0f} s "
        "budget per run; preemption bound 0 (the family's); CPU 0 takes CPU 3 offline and back online.",
        "",
        f"Violations on v6.17: {doc['mainline_violations']} (expected 0).  Violations on v3.10: "
        f"{doc['v3_10_violations']} of {len(seeds)} seeds.",
        "",
        "| seed | variant | verdict | executions | complete search | s | what |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        what = r["message"] if r["verdict"] != "inconclusive" else f"budget reached after {r['executions']} executions"
        lines.append(
            f"| {r['seed']} | {r['variant']} | {r['verdict']} | {r['executions']} | "
            f"{'yes' if r['complete'] else 'no'} | {r['seconds']} | {what} |"
        )
    (out / "scftorture.md").write_text("\n".join(lines) + "\n")
    return doc


if __name__ == "__main__":
    main()
