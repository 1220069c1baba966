# SPDX-License-Identifier: GPL-2.0-only
"""DPOR quality: executions explored per Mazurkiewicz trace.

For each program: the executions DPOR (source sets + sleep sets) explores,
split into complete / violating and sleep-set-blocked ones; the number of
Mazurkiewicz traces counted by brute force (plain enumeration of every
interleaving, classified by the per-location order of conflicting
accesses) where enumeration fits the budget; and plain enumeration's
execution count beside it.  Goal (DESIGN): explored / traces <= 1.05.

Run:  python bench/dpor_quality.py [--quick]   (writes bench/results/dpor_quality.{json,md})
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from programs import filesystem, indexer, lastzero, philosophers, readers_writers  # noqa: E402

from kernel_port.engine.dpor import explore  # noqa: E402
from tests.propfamily import interleavings, make, signature  # noqa: E402


def measure(prog: Any, naive_budget: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    dp = explore(prog)
    t_dpor = time.perf_counter() - t0
    row: dict[str, Any] = {
        "program": prog.name,
        "dpor_executions": dp.executions,
        "dpor_complete_or_violating": dp.complete + dp.bugs,
        "dpor_blocked": dp.blocked,
        "dpor_seconds": round(t_dpor, 3),
        "dpor_exhausted": dp.exhausted,
    }
    t0 = time.perf_counter()
    nv = explore(prog, reduction=False, keep_events=True, max_executions=naive_budget)
    t_naive = time.perf_counter() - t0
    if nv.exhausted:
        traces = {signature(o.events) for o in nv.all_outcomes if o.status in ("complete", "bug")}
        row["traces"] = len(traces)
        row["traces_source"] = "brute force"
        row["naive_executions"] = nv.executions
        row["naive_seconds"] = round(t_naive, 3)
    else:
        row["traces"] = None
        row["traces_source"] = f"enumeration exceeded {naive_budget} executions"
        row["naive_executions"] = f">{naive_budget}"
    if row["traces"]:
        row["ratio_explored"] = round(dp.executions / row["traces"], 4)
        row["ratio_complete"] = round(row["dpor_complete_or_violating"] / row["traces"], 4)
    return row


def random_programs(n: int, seed: int) -> list[dict[str, Any]]:
    """The property-test program family, sampled with a fixed seed."""
    rng = random.Random(seed)
    rows = []
    got = 0
    tries = 0
    while got < n and tries < 50 * n:
        tries += 1
        spec = _draw(rng)
        if interleavings(spec) > 3000:
            continue
        res: dict[str, Any] = {"finals": set()}
        dp = explore(make(spec, res))
        nv = explore(make(spec, {"finals": set()}), reduction=False, keep_events=True, max_executions=60000)
        if not nv.exhausted:
            continue
        traces = len({signature(o.events) for o in nv.all_outcomes if o.status == "complete"})
        rows.append(
            {
                "executions": dp.executions,
                "complete": dp.complete,
                "blocked": dp.blocked,
                "traces": traces,
                "naive": nv.executions,
            }
        )
        got += 1
    return rows


def _draw(rng: random.Random) -> Any:
    """A program of the property-test family (tests/propfamily.py)."""

    def op() -> tuple[Any, ...]:
        k = rng.choice(["r", "w", "add", "cas", "ipi", "cli"])
        v = rng.randrange(4)
        return {
            "r": ("r", v),
            "w": ("w", v, rng.randint(1, 2)),
            "add": ("add", v),
            "cas": ("cas", v, rng.randint(0, 1), rng.randint(1, 2)),
            "ipi": ("ipi", rng.randrange(3)),
            "cli": ("cli", rng.randint(1, 2)),
        }[k]

    ncpus = rng.randint(2, 3)
    progs = [[op() for _ in range(rng.randint(0, 5))] for _ in range(3)]
    handler = [(rng.choice(["r", "w", "add"]), rng.randrange(4)) for _ in range(rng.randint(0, 2))]
    return (ncpus, progs, handler)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    budget = 20000 if args.quick else 300000
    progs = [
        indexer(11),
        indexer(12),
        indexer(13),
        *([] if args.quick else [indexer(14)]),
        lastzero(3),
        lastzero(4),
        lastzero(5),
        *([] if args.quick else [lastzero(6)]),
        filesystem(14),
        filesystem(16),
        *([] if args.quick else [filesystem(18)]),
        readers_writers(2, 2),
        readers_writers(3, 2),
        philosophers(3),
        *([] if args.quick else [philosophers(4)]),
    ]
    rows = [measure(p, budget) for p in progs]
    rnd = random_programs(40 if args.quick else 200, seed=1)
    tot_exec = sum(r["executions"] for r in rnd)
    tot_traces = sum(r["traces"] for r in rnd)
    tot_complete = sum(r["complete"] for r in rnd)
    tot_naive = sum(r["naive"] for r in rnd)
    summary = {
        "random_programs": len(rnd),
        "random_executions": tot_exec,
        "random_complete": tot_complete,
        "random_traces": tot_traces,
        "random_ratio_explored": round(tot_exec / tot_traces, 4),
        "random_worst_ratio": round(max(r["executions"] / r["traces"] for r in rnd), 4),
        "random_naive_executions": tot_naive,
    }
    out = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor(),
        },
        "benchmarks": rows,
        "random_family": summary,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "dpor_quality.json").write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    lines = [
        "# DPOR quality (executions explored per Mazurkiewicz trace)",
        "",
        f"Python {platform.python_version()}, {platform.platform()}.  Goal: explored / traces <= 1.05.",
        "",
        "| program | DPOR explored | complete+violating | sleep-set blocked | traces | explored/traces | plain enumeration | DPOR s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['program']} | {r['dpor_executions']} | {r['dpor_complete_or_violating']} | {r['dpor_blocked']} | "
            f"{r['traces'] if r['traces'] is not None else 'n/a'} | {r.get('ratio_explored', 'n/a')} | "
            f"{r['naive_executions']} | {r['dpor_seconds']} |"
        )
    lines += [
        "",
        f"Random property-test programs ({summary['random_programs']}, seed 1): {summary['random_executions']} explored, "
        f"{summary['random_complete']} complete, {summary['random_traces']} traces: ratio {summary['random_ratio_explored']} "
        f"(worst single program {summary['random_worst_ratio']}); plain enumeration {summary['random_naive_executions']}.",
        "",
    ]
    (HERE / "results" / "dpor_quality.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
