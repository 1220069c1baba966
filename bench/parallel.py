# SPDX-License-Identifier: GPL-2.0-only
"""Parallel and distributed exploration: speed-up, and the same results.

For each workload, the serial DPOR search and the same search split over
worker processes (``dpor.explore(jobs=N)``, kernel_port/engine/parallel.py)
run one after the other in this process; the table gives both wall times,
the speed-up, how the search was cut (tasks committed, tasks dispatched on
a wrong guess and thrown away, probes) and whether the two searches agree
execution for execution (counts of each kind, every bad outcome's
schedule).  Goal (DESIGN): >= 1.8x on 2 cores.

The workloads are complete unbounded searches (the split search covers
those; bounded ones run serially): corpus cells, bigger versions of the smp
scenarios (time_to_verdict.py's bench subclasses: the lost-IPI waiter chain
at 3 CPUs with two faults and at 4 CPUs with one) and the DPOR benchmarks'
philosophers(3).  Agreement is checked on what does not depend on the
order: the set of traces (fingerprints) and the violations found.  With ``distributed`` installed, one more
row runs a workload on a Dask ``LocalCluster`` on loopback (two worker
processes), checking the same agreement.

Run:  python bench/parallel.py [--quick] [--big] [--jobs N]   (--big: plus a complete search of minutes)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from kernel_port.engine import dpor, parallel  # noqa: E402
from kernel_port.scenario import ScenarioProgram, program  # noqa: E402
from kernel_port.variants import parse_variant  # noqa: E402

GOAL = 1.8


def bugs(s: dpor.DporStats) -> set[tuple[Any, str]]:
    return {(o.kind, o.message) for o in s.outcomes if o.status == "bug"}


def workloads(quick: bool, big: bool = False) -> list[tuple[str, Callable[[], Any]]]:
    from programs import philosophers
    from rt_irq_work_three import three_works
    from time_to_verdict import waiter_class

    def corpus(name: str, variant: str) -> Callable[[], Any]:
        return lambda: program(name, variant)

    def bench_cls(cls: type, variant: str, faults: int) -> Callable[[], Any]:
        return lambda: ScenarioProgram(cls, parse_variant(variant), faults, cls.preemptions)

    out: list[tuple[str, Callable[[], Any]]] = [
        ("irq_work.lost-self-ipi @ v6.17+herton-rfc (corpus)", corpus("irq_work.lost-self-ipi", "v6.17+herton-rfc")),
        ("irq_work.tick-kick-lockup @ v6.17 (corpus)", corpus("irq_work.tick-kick-lockup", "v6.17")),
        ("philosophers(3) (DPOR benchmark)", lambda: philosophers(3)),
        (
            "smp.lost-ipi-waiter @ v6.17+csdlock-debug (corpus)",
            corpus("smp.lost-ipi-waiter", "v6.17+csdlock-debug"),
        ),
        ("x86.vector-overwrite @ v6.17 (corpus)", corpus("x86.vector-overwrite", "v6.17")),
    ]
    if not quick:
        out += [
            (
                "smp.lost-ipi-waiter, 3 CPUs, 2 faults @ v6.17+csdlock-debug",
                bench_cls(waiter_class(3), "v6.17+csdlock-debug", 2),
            ),
            (
                "smp.lost-ipi-waiter, 4 CPUs, 1 fault @ v6.17+csdlock-debug",
                bench_cls(waiter_class(4), "v6.17+csdlock-debug", 1),
            ),
        ]
    if big:
        # Complete searches of minutes (about 57,000 and 96,000 traces): issue 17's two-CPU
        # PREEMPT_RT scenario with three irq_works (bench/rt_irq_work_three.py).
        rt3 = three_works()
        for v in ("pre-b4c6f86+b4c6f86", "v6.17"):
            out.append((f"rt-three-works @ {v} (bench scenario)", bench_cls(rt3, v, rt3.faults)))
    return out


def measure(
    label: str, make: Callable[[], Any], jobs: int, pool_for: Callable[[Any], Any] | None = None
) -> dict[str, Any]:
    """The serial search, then the split one (pool start-up included), each to its end."""
    prog = make()
    t0 = time.perf_counter()
    serial = dpor.explore(prog)
    ts = time.perf_counter() - t0
    prog = make()
    t0 = time.perf_counter()
    c0 = time.process_time()
    pool = pool_for(prog) if pool_for is not None else parallel.ProcessPool(prog, jobs)
    try:
        split = parallel.explore(prog, pool=pool)
    finally:
        pool.close()
    tp = time.perf_counter() - t0
    controller = time.process_time() - c0  # this process: the controller (and the pool's start)
    ps = split.parallel
    return {
        "workload": label,
        "traces": serial.traces,
        "serial_executions": serial.executions,
        "split_executions": split.executions,
        "serial_s": round(ts, 3),
        "parallel_s": round(tp, 3),
        "speedup": round(ts / tp, 2) if tp else None,
        "tasks": ps.tasks,
        "handed": ps.handed,
        "forwarded": ps.forwarded,
        "dropped": ps.dropped,
        "worker_cpu_s": round(ps.worker_seconds, 3),
        "controller_cpu_s": round(controller, 3),
        "identical": serial.exhausted
        and split.exhausted
        and serial.fingerprints == split.fingerprints
        and bugs(serial) == bugs(split),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the three corpus-sized workloads only")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--big", action="store_true", help="add the complete searches of minutes (rt-three-works)")
    args = ap.parse_args(argv)
    rows = []
    for label, make in workloads(args.quick, args.big):
        r = measure(label, make, args.jobs)
        rows.append(r)
        print(json.dumps(r), flush=True)
    dask_row = None
    if not args.no_dask:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            dask_row = {"workload": "dask", "skipped": "distributed is not installed (pip install 'kernel-port[dist]')"}
        else:
            with (
                LocalCluster(
                    n_workers=args.jobs, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
                ) as cluster,
                Client(cluster, set_as_default=False) as client,
            ):
                label, make = workloads(True)[0]
                dask_row = measure(
                    label + " on Dask (loopback)", make, args.jobs, lambda p: parallel.DaskPool(client, p)
                )
                print(json.dumps(dask_row), flush=True)
    ok = [r for r in rows if r["identical"]]
    best = max((r["speedup"] for r in rows), default=0)
    big = [r for r in rows if r["serial_s"] >= 5]
    goal_rows = big or rows
    met = all(r["speedup"] >= GOAL for r in goal_rows)
    doc = {
        "machine": f"Python {platform.python_version()}, {platform.platform()}, {os.cpu_count()} CPUs",
        "load_average_at_end": os.getloadavg()[0],
        "jobs": args.jobs,
        "goal_speedup": GOAL,
        "goal_met": met,
        "rows": rows,
        "dask": dask_row,
        "identical": len(ok) == len(rows) and (dask_row is None or dask_row.get("identical", True)),
        "best_speedup": best,
        "quick": args.quick,
        "big": args.big,
    }
    out = HERE / "results"
    (out / "parallel.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    (out / "parallel.md").write_text(render(doc))
    return doc


def render(doc: dict[str, Any]) -> str:
    rows = doc["rows"]
    lines = [
        "# Parallel and distributed exploration",
        "",
        f"{doc['machine']}; {doc['jobs']} worker processes; `python bench/parallel.py"
        + (" --quick" if doc["quick"] else "")
        + (" --big" if doc.get("big") else "")
        + "`.",
        "",
        f"**Goal: >= {doc['goal_speedup']}x on 2 cores: {'MET' if doc['goal_met'] else 'MISSED'}** "
        "(judged on the workloads whose serial search takes 5 s or more, else on all).  "
        f"Every split search identical to the serial one: {'yes' if doc['identical'] else 'NO'}.",
        "",
        "| workload | traces | serial s | split s | speed-up | tasks | handed out | forwarded (dropped) "
        "| worker CPU s | controller CPU s | same traces and violations |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    all_rows = rows + ([doc["dask"]] if doc.get("dask") and "skipped" not in doc["dask"] else [])
    for r in all_rows:
        lines.append(
            f"| {r['workload']} | {r['traces']} | {r['serial_s']} | {r['parallel_s']} | {r['speedup']}x | "
            f"{r['tasks']} | {r['handed']} | {r['forwarded']} ({r['dropped']}) | {r['worker_cpu_s']} | "
            f"{r.get('controller_cpu_s', '')} | "
            f"{'yes' if r['identical'] else 'NO'} |"
        )
    if doc.get("dask") and "skipped" in doc["dask"]:
        lines += ["", f"Dask: skipped ({doc['dask']['skipped']})."]
    lines += ["", NOTES]
    return "\n".join(lines) + "\n"


NOTES = """How the split works (kernel_port/engine/parallel.py, docs/engine.md): tasks are subtrees of the
DPOR tree with their root's sleep set; a task running longer than 0.25 s hands every branch waiting at its
nodes out as new tasks; races whose reversal lies above a task's root go to the controller, which applies the
optimal-DPOR test against the sleepers and the branches claimed there.  No serial commit order and no guessing:
workers never wait for each other.  What the split costs: each task replays the path to its root (one partial
execution), and a branch claimed by a running task is not yet a sleeper for the searches of other tasks, so
the split search may run a few sleep-set-blocked executions the serial one does not (split executions against
serial ones in the JSON).  Unbounded searches only: under a preemption bound kport check runs serially (a
bounded search's trace count depends on its order).  The speed-up is measured on a machine that was also
running other jobs (the load is in the JSON); the ratio of the two wall times is what the row says."""


if __name__ == "__main__":
    main()
