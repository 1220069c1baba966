# SPDX-License-Identifier: GPL-2.0-only
"""Time to verdict: every matrix cell, and how cost grows on the smp scenarios.

Part 1 runs every cell of ``kport matrix`` (kernel_port.matrix.run_cell on
each cell of kernel_port.matrix.cells([], [])) and records executions and
seconds.  Goal (DESIGN): under 2 s per cell and under 60 s for the matrix
on one core (the script re-executes itself under ``taskset -c 0`` when
taskset exists and it is not already pinned; otherwise it says so).

Part 2 grows the smp scenarios.  The corpus classes are not edited: bench
subclasses here set the CPU count and fault budget.

* ``smp.lost-ipi-waiter`` at n CPUs: CPUs 0..n-2 each call
  ``smp_call_function_single(c+1, f, NULL, 1)`` (a chain of waiters), any
  CALL_FUNCTION_SINGLE IPI may be lost within the fault budget (1 or 2).
  Run on v6.17 (a bug: time to the first counterexample) and on
  v6.17+csdlock-debug (OK: a complete search, the expensive direction).
* ``smp.hotplug-lost-ipi`` at 3 and 4 CPUs (the scenario needs three roles:
  the hotplug caller, the completer and the victim; a 4th CPU only runs its
  stopper thread), at the scenario's stated preemption bound; it has no
  fault kind, so only 0 faults.

Every run has a time budget; a run that hits it is reported as
"budget reached" with the executions done so far.  Each run is a child
process limited to 4 GB of address space and 3x the budget of wall time
(the explorer's memory grew past 20 GB on a 4-CPU hotplug run).

Run:  python bench/time_to_verdict.py [--quick] [--budget SECONDS]
"""

from __future__ import annotations

import argparse
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

from kernel_port.engine.explorer import check  # noqa: E402
from kernel_port.matrix import WANT, cells, run_cell  # noqa: E402
from kernel_port.scenario import FIND, ScenarioProgram, get_scenario  # noqa: E402
from kernel_port.variants import parse_variant  # noqa: E402

CELL_GOAL = 2.0
MATRIX_GOAL = 60.0


def run_matrix() -> list[dict[str, Any]]:
    rows = []
    for cell in cells([], []):
        s, v, e = cell
        mm = cell.memory_model
        t0 = time.perf_counter()
        r = run_cell(s, v, memory_model=mm)
        wall = time.perf_counter() - t0
        recorded = s.found.get(s.expect_key(v, mm) or v) if e == FIND else None
        want = WANT.get(recorded or e)
        rows.append(
            {
                "scenario": s.name,
                "variant": v,
                "memory_model": mm,
                "expected": e,
                "verdict": r.verdict,
                "kind": r.kind,
                "match": want == r.verdict if want else None,
                "executions": r.executions,
                "seconds": round(wall, 3),
                "within_goal": wall < CELL_GOAL,
            }
        )
    return rows


def waiter_class(ncpus: int) -> type:
    base = get_scenario("smp.lost-ipi-waiter")

    def cpu_fn(c: int) -> Any:
        def fn(self: Any, k: Any) -> None:
            err = k.smp_call_function_single(c + 1, self.f, None, 1)
            assert err == 0
            assert self.v.ran_f >= 1, "the waiter returned before f ran"

        return fn

    attrs: dict[str, Any] = {"cpus": ncpus, "__doc__": base.__doc__}
    for c in range(ncpus - 1):
        attrs[f"cpu{c}"] = cpu_fn(c)
    return type(f"LostIpiWaiter{ncpus}", (base,), attrs)


def hotplug_class(ncpus: int) -> type:
    base = get_scenario("smp.hotplug-lost-ipi")
    attrs: dict[str, Any] = {"cpus": ncpus, "__doc__": base.__doc__}
    for c in range(3, ncpus):
        attrs[f"cpu{c}"] = lambda self, k: k.cpu_stopper_thread()
    return type(f"HotplugLostIpi{ncpus}", (base,), attrs)


def scaling_runs(quick: bool) -> list[tuple[str, type, str, int]]:
    runs: list[tuple[str, type, str, int]] = []
    for n in (2, 3, 4):
        for f in (1, 2):
            if quick and (n == 4 or f == 2):
                continue
            for v in ("v6.17", "v6.17+csdlock-debug"):
                runs.append(("smp.lost-ipi-waiter", waiter_class(n), v, f))
    for n in (3, 4):
        if quick and n == 4:
            continue
        for v in ("v3.10", "v3.10+8d056c48", "v6.17"):
            runs.append(("smp.hotplug-lost-ipi", hotplug_class(n), v, 0))
    return runs


MEM_LIMIT_GB = 4


def run_one(name: str, ncpus: int, variant: str, faults: int, budget: float) -> dict[str, Any]:
    cls = waiter_class(ncpus) if name == "smp.lost-ipi-waiter" else hotplug_class(ncpus)
    prog = ScenarioProgram(cls, parse_variant(variant), faults, cls.preemptions)
    t0 = time.perf_counter()
    row: dict[str, Any] = {
        "scenario": name,
        "cpus": ncpus,
        "faults": faults,
        "preemption_bound": prog.preemption_bound,
        "variant": variant,
    }
    try:
        r = check(prog, "dfs", preemptions=prog.preemption_bound, seconds=budget)
    except MemoryError:
        row.update(verdict="memory limit reached", kind=None, executions=None, complete=False, message="")
    else:
        budget_hit = r.verdict == "inconclusive" and r.kind == "budget"
        row.update(
            verdict="budget reached" if budget_hit else r.verdict,
            kind=r.kind,
            executions=r.executions,
            complete=r.complete,
            message=r.message[:300],
        )
    row["seconds"] = round(time.perf_counter() - t0, 3)
    return row


def _limit_memory() -> None:
    import resource

    lim = MEM_LIMIT_GB * 1024**3
    resource.setrlimit(resource.RLIMIT_AS, (lim, lim))


def run_scaling(quick: bool, budget: float) -> list[dict[str, Any]]:
    """Each run in its own process, with an address-space limit and a hard
    wall-clock limit of 3x the budget (the explorer checks its time budget
    only between executions, and its memory grows on the 4-CPU runs)."""
    rows = []
    for name, cls, v, f in scaling_runs(quick):
        cmd = [sys.executable, __file__, "--one", name, str(cls.cpus), v, str(f), "--budget", str(budget)]
        t0 = time.perf_counter()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=3 * budget, preexec_fn=_limit_memory)
            if p.returncode == 0 and p.stdout.strip():
                row = json.loads(p.stdout.strip().splitlines()[-1])
            else:
                tail = (p.stderr.strip().splitlines() or ["?"])[-1]
                verdict = "memory limit reached" if "MemoryError" in p.stderr else f"crashed ({tail[:120]})"
                row = {"verdict": verdict, "kind": None, "executions": None, "complete": False, "message": tail[:300]}
        except subprocess.TimeoutExpired:
            row = {"verdict": "hard time limit (3x budget)", "kind": None, "executions": None, "complete": False}
            row["message"] = "killed: the explorer did not return within 3x its time budget"
        row.update(scenario=name, cpus=cls.cpus, faults=f, preemption_bound=cls.preemptions, variant=v)
        row["seconds"] = round(time.perf_counter() - t0, 3)
        rows.append(row)
        print(
            f"  {name} cpus={cls.cpus} faults={f} {v}: {row['verdict']} {row['executions']} execs {row['seconds']:.2f}s",
            flush=True,
        )
    return rows


def _pin() -> str:
    from pinning import pin_to_one_core  # bench/ is on sys.path when a bench runs as a script

    return pin_to_one_core()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--budget", type=float, default=None, help="seconds per scaling run (default 30, quick 10)")
    ap.add_argument("--no-pin", action="store_true")
    ap.add_argument("--one", nargs=4, metavar=("SCENARIO", "CPUS", "VARIANT", "FAULTS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        name, ncpus, variant, faults = args.one
        print(json.dumps(run_one(name, int(ncpus), variant, int(faults), args.budget or 30.0)))
        sys.exit(0)
    pin = "not pinned (--no-pin)" if args.no_pin else _pin()
    budget = args.budget or (10.0 if args.quick else 30.0)
    t0 = time.perf_counter()
    matrix = run_matrix()
    total = time.perf_counter() - t0
    scaling = run_scaling(args.quick, budget)
    slow = [c for c in matrix if not c["within_goal"]]
    out = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "pinning": pin,
        "cell_goal_s": CELL_GOAL,
        "matrix_goal_s": MATRIX_GOAL,
        "matrix_seconds": round(total, 3),
        "cells": len(matrix),
        "cells_over_goal": len(slow),
        "slowest_cell": max(matrix, key=lambda c: c["seconds"]),
        "goal_cells_met": not slow,
        "goal_matrix_met": total < MATRIX_GOAL,
        "mismatches": sum(1 for c in matrix if c["match"] is False),
        "matrix": matrix,
        "scaling_budget_s": budget,
        "scaling": scaling,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "time_to_verdict.json").write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    return out


if __name__ == "__main__":
    res = main()
    print(f"matrix: {res['cells']} cells in {res['matrix_seconds']} s; {res['cells_over_goal']} over {CELL_GOAL} s")
