# SPDX-License-Identifier: GPL-2.0-only
"""Where a search's time goes (issue 17): the profile behind throughput.md's missed goals.

For each goal workload, in a child process of its own:

1. **search**: the DPOR search as kport runs it (``dpor.explore``), stopped after
   ``--executions`` executions (or at its end), CPU-timed after a warm-up search of three
   executions (imports, the world's builds); it keeps each execution's choices.
2. **replay**: the same executions again, each run from the restored world with a driver that
   only hands back the recorded choices (no DPOR at all): the machine and the ported kernel
   code, nothing else.  Its CPU time is what the search would cost if the DPOR bookkeeping
   were free.
3. **restore**: the world's restore alone, as often as there were executions.
4. **floor**: the bare two-greenlet ping-pong of throughput.py, as many switch pairs as steps.

From these: the DPOR bookkeeping's share (search - replay), its cost per step that the search
ran fresh (not replayed from an earlier execution's prefix), the machine's cost per step
against the floor, the share of steps that only replay a prefix (a stateless search re-runs
the prefix up to the branch point: DFS order, so an execution's replayed prefix is the
longest common prefix of its choices with the previous execution's), and under a preemption
bound how many executions ran per distinct trace.

    python bench/search_profile.py                # the goal workloads, 1,500 executions each
    python bench/search_profile.py --executions 300 --only 'hotplug*'

Results: bench/results/search_profile.{json,md}; throughput.md shows them (throughput.py
--render).  Never run by the test suite.
"""

from __future__ import annotations

import argparse
import fnmatch
import gc
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

EXECUTIONS = 1500


def workloads() -> list[dict[str, Any]]:
    return [
        {"id": "corpus:irq_work.lost-self-ipi@v6.17+herton-rfc", "kind": "corpus",
         "scenario": "irq_work.lost-self-ipi", "variant": "v6.17+herton-rfc"},
        {"id": "hotplug-v6.17-pb1", "kind": "scenario", "scenario": "smp.hotplug-lost-ipi",
         "variant": "v6.17", "preemptions": 1},
        {"id": "scftorture-4cpu-seed0", "kind": "scftorture", "seed": 0, "cpus": 4, "variant": "v6.17"},
        {"id": "rt-three-works@pre-b4c6f86+b4c6f86", "kind": "rt3", "variant": "pre-b4c6f86+b4c6f86"},
        {"id": "rt-three-works@v6.17", "kind": "rt3", "variant": "v6.17"},
    ]  # fmt: skip


class _Replay:
    """Hands back one execution's recorded choices, steps and values alike."""

    def __init__(self, choices: list[int]) -> None:
        self.choices = choices
        self.i = 0

    def pick(self, m: Any, enabled: list[int]) -> int | None:
        a = self.choices[self.i]
        self.i += 1
        return a

    def value(self, n: int, what: str) -> int:
        v = self.choices[self.i]
        self.i += 1
        return v


def _common(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    k = 0
    while k < n and a[k] == b[k]:
        k += 1
    return k


def profile(spec: dict[str, Any], executions: int) -> dict[str, Any]:
    from throughput import _program, greenlet_floor

    from kernel_port.engine import dpor, execution
    from kernel_port.engine.execution import run

    prog = _program(spec)
    bound = prog.preemption_bound
    choices: list[list[int]] = []
    steps = [0]

    def keep(out: Any) -> None:
        choices.append(list(out.choices))
        steps[0] += out.steps

    # Warm up first (imports on first use, the world's two builds and its snapshot): the
    # replay below runs warm, so the search is timed warm too.
    dpor.explore(prog, preemption_bound=bound, max_executions=3)
    gc.collect()
    c0 = time.process_time()
    st = dpor.explore(prog, preemption_bound=bound, max_executions=executions, on_outcome=keep)
    t_search = time.process_time() - c0
    gc.collect()
    c0 = time.process_time()
    for ch in choices:
        run(prog, _Replay(ch), reuse=True)
    t_replay = time.process_time() - c0
    kept = execution._KEPT[0]
    world = kept.world if kept is not None else None
    t_restore = None
    if world is not None:
        c0 = time.process_time()
        for _ in choices:
            world.restore()
        t_restore = time.process_time() - c0
    n = len(choices)
    total_choices = sum(len(c) for c in choices)
    replayed = sum(_common(choices[k - 1], choices[k]) for k in range(1, n))
    nsteps = steps[0]
    floor = min(greenlet_floor(min(max(nsteps, 200_000), 2_000_000)) for _ in range(3))
    fresh_steps = nsteps * (1 - replayed / total_choices) if total_choices else 0
    dpor_s = max(0.0, t_search - t_replay)
    return {
        "id": spec["id"],
        "spec": spec,
        "preemption_bound": bound,
        "executions": n,
        "traces": st.traces,
        "exhausted": st.exhausted,
        "steps": nsteps,
        "search_cpu_s": round(t_search, 3),
        "replay_cpu_s": round(t_replay, 3),
        "restore_cpu_s": round(t_restore, 3) if t_restore is not None else None,
        "us_per_step": round(t_search / nsteps * 1e6, 2),
        "machine_us_per_step": round(t_replay / nsteps * 1e6, 2),
        "dpor_us_per_step": round(dpor_s / nsteps * 1e6, 2),
        "dpor_us_per_fresh_step": round(dpor_s / fresh_steps * 1e6, 2) if fresh_steps else None,
        "dpor_share": round(dpor_s / t_search, 3) if t_search else None,
        "restore_ms_per_execution": round(t_restore / n * 1e3, 3) if t_restore is not None and n else None,
        "replayed_step_share": round(replayed / total_choices, 3) if total_choices else None,
        "executions_per_trace": round(n / st.traces, 2) if st.traces else None,
        "floor_us_per_step": round(floor * 1e6, 4),
        "machine_ratio_to_floor": round(t_replay / nsteps / floor, 1),
    }


def render(doc: dict[str, Any]) -> list[str]:
    """The profile as markdown lines (throughput.py puts them into throughput.md)."""
    rows = doc["rows"]
    out = [
        f"Profile: `python bench/search_profile.py` ({doc['date']}, commit {doc['commit']}, the first "
        f"{doc['executions']:,} executions of each search).  *machine*: the same executions replayed "
        "from the restored world with no DPOR (ported kernel code + machine + greenlet switches, the "
        "world's restore included); *DPOR*: the rest of the search's CPU time (the exploration stack, "
        "happens-before, races, guards' feasibility, wakeup trees); *replayed*: the share of steps that "
        "re-run the prefix up to the branch point (a stateless search cannot resume a greenlet stack); "
        "*exec/trace*: executions per distinct Mazurkiewicz trace (above 1: the same trace run again).",
        "",
        "| workload | bound | executions | exec/trace | µs/step | machine µs/step | machine / floor | DPOR µs/step | "
        "DPOR µs per fresh step | DPOR share | replayed | restore ms/exec |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        pb = r.get("preemption_bound")
        out.append(
            f"| {r['id']} | {'-' if pb is None else pb} | {r['executions']} | {r['executions_per_trace']} | "
            f"{r['us_per_step']} | {r['machine_us_per_step']} | {r['machine_ratio_to_floor']}x | "
            f"{r['dpor_us_per_step']} | {r['dpor_us_per_fresh_step']} | {round(100 * r['dpor_share'])}% | "
            f"{round(100 * r['replayed_step_share'])}% | {r['restore_ms_per_execution']} |"
        )
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--executions", type=int, default=EXECUTIONS)
    ap.add_argument("--only", action="append", default=[], help="workload ids (fnmatch patterns)")
    ap.add_argument("--out", default=str(HERE / "results" / "search_profile"))
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    from throughput import _commit

    if args.worker is not None:
        row = profile(json.loads(args.worker), args.executions)
        print(json.dumps(row))
        return row
    rows = []
    for spec in workloads():
        if args.only and not any(fnmatch.fnmatchcase(spec["id"], p) for p in args.only):
            continue
        cmd = [sys.executable, __file__, "--worker", json.dumps(spec), "--executions", str(args.executions)]
        p = subprocess.run(cmd, capture_output=True, text=True)
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
        if p.returncode != 0 or not lines:
            tail = (p.stderr.strip().splitlines() or ["?"])[-1]
            print(f"{spec['id']}: failed: {tail}", file=sys.stderr)
            continue
        row = json.loads(lines[-1])
        rows.append(row)
        print(
            f"{row['id']}: {row['us_per_step']} µs/step = machine {row['machine_us_per_step']} + "
            f"DPOR {row['dpor_us_per_step']}; replayed {row['replayed_step_share']}; "
            f"exec/trace {row['executions_per_trace']}",
            flush=True,
        )
    doc = {
        "bench": "search_profile",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": _commit(),
        "executions": args.executions,
        "loadavg": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "rows": rows,
    }
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(doc, indent=1) + "\n")
    out.with_suffix(".md").write_text(
        "\n".join(
            ["<!-- SPDX-License-Identifier: GPL-2.0-only -->", "# Where a search's time goes", "", *render(doc), ""]
        )
    )
    return doc


if __name__ == "__main__":
    main()
