# SPDX-License-Identifier: GPL-2.0-only
"""Throughput of real workloads (issue 17): executions/s and µs per step, beside the greenlet floor.

Each workload is an exhaustive ``dfs`` search run as ``kport check`` / ``kport matrix`` run it
(``kernel_port.matrix.run_cell`` for corpus cells, ``explorer.check(..., "dfs")`` for the
others), in a child process of its own, with a time cap.  The child reports: verdict, whether
the search completed, executions, steps (every execution the search ran, the counterexample's
minimisation included), wall seconds, executions/s, µs per step, its peak RSS
(``getrusage(RUSAGE_SELF).ru_maxrss``), and the *floor*: a bare greenlet round-robin (two
greenlets switching back and forth, the engine's greenlet-per-CPU design with nothing else)
doing as many switch pairs as the search made steps, timed in the same child right before and
right after the search (the best of the runs).  The ratio engine-µs-per-step / floor-µs-per-step
is the figure that does not depend on the machine's load; the goal (DESIGN.md) is <= 4.

Workloads: every corpus cell (``kport matrix``); smp.hotplug-lost-ipi v6.17 at preemption bounds
1 and 2; smp.lost-ipi-waiter with 3 CPUs and 2 faults and with 4 CPUs (v6.17, bench-built
subclasses as in time_to_verdict.py); scftorture seed 0 at 4 CPUs on v6.17; the two-CPU
PREEMPT_RT scenario with three irq_works (bench/rt_irq_work_three.py) on pre-b4c6f86 (BUG),
pre-b4c6f86+b4c6f86 and v6.17.

    python bench/throughput.py             # everything, 120 s cap per workload (resumable: --resume)
    python bench/throughput.py --quick     # smoke: three corpus cells and every big workload at 5 s
    python bench/throughput.py --only 'corpus:irq_work.*'   # a subset (fnmatch on the workload id)

Results: ``bench/results/throughput.{json,md}`` (``--out`` to write elsewhere), written after every
workload, so an interrupted full run is resumed with ``--resume`` (workloads already measured with
the same cap are kept).  A workload that reaches its cap is reported as "did not finish in N s,
X executions", never as a result.  Never run by the test suite (tests/test_throughput_smoke.py
runs one small cell in-process).
"""

from __future__ import annotations

import argparse
import fnmatch
import gc
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CAP = 120.0
QUICK_CAP = 5.0
FLOOR_MIN, FLOOR_MAX = 200_000, 2_000_000  # switch pairs timed for the floor (its per-pair cost is flat)


# -- the workloads ---------------------------------------------------------------------------


def workloads(quick: bool) -> list[dict[str, Any]]:
    from kernel_port.matrix import cells

    out: list[dict[str, Any]] = []
    corpus = cells([], [])
    if quick:
        corpus = [c for c in corpus if c[0].name == "irq_work.lost-self-ipi"][:3]
    for s, v, e in corpus:
        out.append({"id": f"corpus:{s.name}@{v}", "kind": "corpus", "scenario": s.name, "variant": v, "expected": e})
    for b in (1, 2):
        out.append(
            {
                "id": f"hotplug-v6.17-pb{b}",
                "kind": "scenario",
                "scenario": "smp.hotplug-lost-ipi",
                "variant": "v6.17",
                "preemptions": b,
            }
        )
    out.append({"id": "waiter-3cpu-2faults", "kind": "waiter", "cpus": 3, "faults": 2, "variant": "v6.17"})
    out.append({"id": "waiter-4cpu", "kind": "waiter", "cpus": 4, "faults": None, "variant": "v6.17"})
    out.append({"id": "scftorture-4cpu-seed0", "kind": "scftorture", "seed": 0, "cpus": 4, "variant": "v6.17"})
    for v in ("pre-b4c6f86", "pre-b4c6f86+b4c6f86", "v6.17"):
        out.append({"id": f"rt-three-works@{v}", "kind": "rt3", "variant": v})
    return out


def _program(spec: dict[str, Any]) -> Any:
    from kernel_port.scenario import ScenarioProgram, get_scenario, load_by_path, program
    from kernel_port.variants import parse_variant, project_root

    kind = spec["kind"]
    if kind in ("corpus", "scenario"):
        return program(spec["scenario"], spec["variant"], preemptions=spec.get("preemptions"))
    if kind == "waiter":
        from time_to_verdict import waiter_class

        cls = waiter_class(spec["cpus"])
        faults = spec["faults"] if spec["faults"] is not None else get_scenario("smp.lost-ipi-waiter").faults
        return ScenarioProgram(cls, parse_variant(spec["variant"]), faults, cls.preemptions)
    if kind == "scftorture":
        smp = load_by_path(project_root() / "scenarios" / "smp.py", "kernel_port_scenarios")
        cls = smp.scf_torture(spec["seed"], cpus=spec["cpus"], nops=2)
        return ScenarioProgram(cls, parse_variant(spec["variant"]), 0, cls.preemptions)
    if kind == "rt3":
        from rt_irq_work_three import three_works

        cls = three_works()
        return ScenarioProgram(cls, parse_variant(spec["variant"]), cls.faults, cls.preemptions)
    raise ValueError(kind)


# -- the floor -------------------------------------------------------------------------------


def greenlet_floor(n: int) -> float:
    """Seconds per switch pair of a bare two-greenlet ping-pong doing ``n`` pairs."""
    from greenlet import greenlet

    root = greenlet.getcurrent()

    def cpu() -> None:
        sw = root.switch
        for _ in range(n):
            sw()

    g = greenlet(cpu)
    gc.collect()
    t0 = time.process_time()
    g.switch()
    sw = g.switch
    for _ in range(n):
        sw()
    return (time.process_time() - t0) / max(1, n)


# -- one workload (in the child) -----------------------------------------------------------------


def run_workload(spec: dict[str, Any], cap: float, dpor_reuse: str = "auto") -> dict[str, Any]:
    from kernel_port.engine import dpor, execution, explorer, shortest
    from kernel_port.engine.explorer import check
    from kernel_port.matrix import run_cell
    from kernel_port.scenario import get_scenario

    counted = {"executions": 0, "steps": 0}
    real_run = execution.run

    def counting_run(*a: Any, **kw: Any) -> Any:
        out = real_run(*a, **kw)
        counted["executions"] += 1
        counted["steps"] += out.steps
        return out

    def dpor_run(*a: Any, **kw: Any) -> Any:
        # The DPOR search's own executions (dpor.search is this module's only caller of run):
        # with --dpor-reuse on, as dpor.search will run them once it passes reuse=True.
        if dpor_reuse == "on":
            kw["reuse"] = True
        elif dpor_reuse == "off":
            kw["reuse"] = False
        return counting_run(*a, **kw)

    saved = {mod: mod.run for mod in (dpor, explorer, shortest)}  # type: ignore[attr-defined]
    for mod in (explorer, shortest):
        mod.run = counting_run  # type: ignore[attr-defined]
    dpor.run = dpor_run  # type: ignore[attr-defined]
    try:
        prog = _program(spec)
        floor_before = min(greenlet_floor(FLOOR_MIN) for _ in range(3))
        t0, c0 = time.perf_counter(), time.process_time()
        if spec["kind"] == "corpus":
            r = run_cell(get_scenario(spec["scenario"]), spec["variant"], seconds=cap)
        else:
            r = check(prog, "dfs", preemptions=prog.preemption_bound, seconds=cap)
    finally:
        for mod, fn in saved.items():
            mod.run = fn  # type: ignore[attr-defined]
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    steps = counted["steps"]
    n = min(max(steps, FLOOR_MIN), FLOOR_MAX)
    floor = min([floor_before] + [greenlet_floor(n) for _ in range(2)])
    us_step = cpu / steps * 1e6 if steps else None
    kept = execution._KEPT[0]  # the program the search ran (run_cell makes its own)
    world = execution.world_info(kept.program) if kept is not None else {}
    row = {
        "id": spec["id"],
        "spec": spec,
        "cap_s": cap,
        "cpus": prog.ncpus,
        "faults": prog.faults,
        "preemption_bound": prog.preemption_bound,
        "verdict": r.verdict,
        "kind": r.kind,
        "complete": r.complete,
        "finished": r.complete or r.verdict == "bug",
        "search_executions": r.executions,
        "executions": counted["executions"],
        "steps": steps,
        "seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "executions_per_s": round(counted["executions"] / cpu, 1) if cpu else None,
        "wall_executions_per_s": round(counted["executions"] / wall, 1) if wall else None,
        "steps_per_execution": round(steps / counted["executions"], 1) if counted["executions"] else None,
        "us_per_step": round(us_step, 2) if us_step else None,
        "floor_us_per_step": round(floor * 1e6, 4),
        "ratio_to_floor": round(us_step / (floor * 1e6), 1) if us_step else None,
        "floor_executions_per_s": round(1 / (floor * steps / counted["executions"]), 1)
        if steps and counted["executions"]
        else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "world_reused": world.get("reused", False),
        "dpor_reuse": dpor_reuse,
        "message": r.message[:200],
    }
    return row


# -- the parent ------------------------------------------------------------------------------


def _child(spec: dict[str, Any], cap: float, dpor_reuse: str) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec), "--cap", str(cap)]
    cmd += ["--dpor-reuse", dpor_reuse]
    hard = cap * 2 + 120
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=hard)
    except subprocess.TimeoutExpired:
        return {
            "id": spec["id"],
            "spec": spec,
            "cap_s": cap,
            "verdict": "killed",
            "finished": False,
            "seconds": round(time.perf_counter() - t0, 1),
            "message": f"the child was killed after {hard:.0f} s (no figures)",
        }
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        tail = (p.stderr.strip().splitlines() or ["?"])[-1]
        return {
            "id": spec["id"],
            "spec": spec,
            "cap_s": cap,
            "verdict": "crashed",
            "finished": False,
            "message": f"exit {p.returncode}: {tail[:200]}",
        }
    row: dict[str, Any] = json.loads(lines[-1])
    return row


def what(row: dict[str, Any]) -> str:
    if row.get("verdict") in ("killed", "crashed"):
        return row.get("message", "")
    if row.get("verdict") == "bug":
        return f"bug ({row.get('kind')})" + ("; search complete" if row.get("complete") else "")
    if row.get("finished"):
        return f"{row['verdict']} (complete)"
    return f"did not finish in {row['cap_s']:g} s, {row.get('search_executions')} executions"


def table(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "| workload | CPUs | faults | bound | result | executions: counted / run | wall s | CPU s | exec/CPU s | steps/exec | µs/step | floor µs/step | ratio | peak RSS MB | world reused |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        pb = r.get("preemption_bound")
        out.append(
            f"| {r['id']} | {r.get('cpus', '')} | {r.get('faults', '')} | {'-' if pb is None else pb} | {what(r)} | "
            f"{r.get('search_executions', '')} / {r.get('executions', '')} | {r.get('seconds', '')} | {r.get('cpu_seconds', '')} | {r.get('executions_per_s', '')} | "
            f"{r.get('steps_per_execution', '')} | {r.get('us_per_step', '')} | {r.get('floor_us_per_step', '')} | "
            f"{r.get('ratio_to_floor', '')} | {r.get('peak_rss_mb', '')} | {'yes' if r.get('world_reused') else 'no'} |"
        )
    return out


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    corpus = [r for r in rows if r["id"].startswith("corpus:") and r.get("us_per_step")]
    ratios = sorted(r["ratio_to_floor"] for r in corpus)
    by = {r["id"]: r for r in rows}

    def fin(i: str) -> str:
        r = by.get(i)
        return "not run" if r is None else f"{what(r)} in {r.get('seconds')} s"

    floors = sorted(r["floor_us_per_step"] for r in corpus)
    steps = sum(r["steps"] for r in corpus)
    agg = sum(r["cpu_seconds"] for r in corpus) / steps * 1e6 if steps else None
    s: dict[str, Any] = {
        "corpus_cells": len(corpus),
        # Every cell's CPU time over every cell's steps: the per-step cost of the corpus as a
        # whole (a tiny cell's figure is mostly its search's fixed costs).
        "corpus_us_per_step_aggregate": round(agg, 2) if agg else None,
        "corpus_ratio_aggregate": round(agg / floors[len(floors) // 2], 1) if agg and floors else None,
        "corpus_ratio_median": ratios[len(ratios) // 2] if ratios else None,
        "corpus_ratio_max": ratios[-1] if ratios else None,
        "corpus_ratio_min": ratios[0] if ratios else None,
        "corpus_seconds_total": round(sum(r["seconds"] for r in corpus), 2),
        "corpus_cpu_seconds_total": round(sum(r.get("cpu_seconds", 0) for r in corpus), 2),
        "goal_ratio_le_4": bool(ratios) and ratios[-1] <= 4,
        "hotplug_pb1": fin("hotplug-v6.17-pb1"),
        "scftorture_4cpu": fin("scftorture-4cpu-seed0"),
        "rt_three_works": {v: fin(f"rt-three-works@{v}") for v in ("pre-b4c6f86", "pre-b4c6f86+b4c6f86", "v6.17")},
        "peak_rss_mb_max": max((r.get("peak_rss_mb") or 0) for r in rows) if rows else None,
    }
    return s


def write(path: Path, rows: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    doc = {**meta, "summary": summary(rows), "rows": rows}
    path.with_suffix(".json").write_text(json.dumps(doc, indent=1) + "\n")
    s = doc["summary"]
    md = [
        "<!-- SPDX-License-Identifier: GPL-2.0-only -->",
        "# Throughput of real workloads (bench/throughput.py)",
        "",
        f"Run {meta['date']} on {meta['machine']['platform']}, Python {meta['machine']['python']}, "
        f"{meta['machine']['cpus']} CPUs shared with other work (load average {meta.get('loadavg', '?')} at the start); "
        f"cap {meta['cap_s']:g} s per workload{' (--quick)' if meta['quick'] else ''}; commit {meta['commit']}; "
        f"--dpor-reuse {meta['dpor_reuse']}.",
        "",
        "Each workload ran in its own process.  *µs/step* is the search's CPU time (process time: the "
        "machine is shared, and CPU time is what load changes least; the counterexample's minimisation "
        "included) over every step of every execution it ran; *exec/CPU s* likewise; *floor* is a bare "
        "two-greenlet ping-pong doing as many switch pairs (at least 200,000, at most 2,000,000), CPU-timed "
        "in the same process just before and after (the best run); *ratio* is the one against the other "
        "(goal: <= 4).  *Executions: counted / run*: the executions the search reports (kport's figure) "
        "and the executions it ran: the difference is executions DPOR stopped as redundant (blocked: every "
        "enabled actor asleep) or beyond the preemption bound, and the counterexample's minimisation "
        "replays.  The cap is wall time (the search's --seconds), so a starved process reaches it "
        "sooner.  *World reused*: whether the search's executions restored the world built once instead "
        'of building it again (docs/engine.md, "Per-execution set-up"); with --dpor-reuse on the bench '
        "passes reuse=True to the DPOR search's run() calls, which is what dpor.search does once it "
        "passes it itself (auto: as the code is).",
        "",
        f"Corpus: {s['corpus_cells']} cells; all their CPU time over all their steps: "
        f"{s['corpus_us_per_step_aggregate']} µs per step, {s['corpus_ratio_aggregate']}x the floor; per cell "
        f"the ratio to the floor has median {s['corpus_ratio_median']}, "
        f"min {s['corpus_ratio_min']}, max {s['corpus_ratio_max']} (goal <= 4: "
        f"{'met' if s['goal_ratio_le_4'] else 'missed'}; the cells of a few executions are mostly the fixed costs "
        "of a search: imports on first use, two builds and the snapshot, the counterexample's minimisation); "
        f"the cells' searches took {s['corpus_seconds_total']} s wall, "
        f"{s['corpus_cpu_seconds_total']} s CPU in all (goal for the whole matrix: <= 4 s on one core).",
        f"smp.hotplug-lost-ipi v6.17 at preemption bound 1: {s['hotplug_pb1']} (goal <= 5 s).",
        f"scftorture at 4 CPUs on v6.17: {s['scftorture_4cpu']} (goal: complete in <= 120 s).",
        "Two-CPU PREEMPT_RT, three irq_works: "
        + "; ".join(f"{v}: {t}" for v, t in s["rt_three_works"].items())
        + " (goal: complete in <= 30 s on every variant).",
        f"Peak RSS of any workload: {s['peak_rss_mb_max']} MB (goal <= 500 MB).",
        "",
        *toy(),
        *table(rows),
        "",
        # (A run of a few workloads, --only, has no corpus to judge the goals by.)
        *(explained(s, rows) if s["corpus_cells"] else []),
    ]
    path.with_suffix(".md").write_text("\n".join(md))


def toy() -> list[str]:
    """bench/engine_speed.py, named for what it is: a toy workload, the engine's floor."""
    es = _load("engine_speed")
    if not es or not es.get("rows"):
        return []
    us = [r["engine_us_per_step"] for r in es["rows"]]
    return [
        f"For scale: bench/engine_speed.py's toy workload (one shared write per step, no ported code, no "
        f"search) runs at {min(us)}-{max(us)} µs per step (bench/results/engine_speed.md): the engine's own "
        "floor, not a figure of any real search.",
        "",
    ]


def _load(name: str) -> dict[str, Any] | None:
    p = HERE / "results" / f"{name}.json"
    try:
        doc: dict[str, Any] = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    return doc


def explained(s: dict[str, Any], rows: list[dict[str, Any]]) -> list[str]:
    """The profile behind each goal (bench/search_profile.py), what was measured of the levers
    (bench/compiled.py, bench/parallel.py), and what would close each missed goal."""
    prof = _load("search_profile")
    comp = _load("compiled")
    par = _load("parallel")
    by = {r["id"]: r for r in rows}
    out = ["## Where the time goes", ""]
    if prof is None:
        return out + ["(bench/results/search_profile.json is missing: run python bench/search_profile.py)", ""]
    # The profile's own rendering (bench/search_profile.py writes it beside its JSON).
    md = HERE / "results" / "search_profile.md"
    lines = md.read_text().splitlines() if md.exists() else []
    body = [ln for ln in lines if not ln.startswith(("<!--", "# "))]
    while body and not body[0]:
        body.pop(0)
    out += body + [""]
    pr = {r["id"]: r for r in prof["rows"]}
    mach = [r["machine_ratio_to_floor"] for r in prof["rows"]]
    dshare = [r["dpor_share"] for r in prof["rows"]]
    comp_rows = [r for r in (comp or {}).get("rows", []) if "ratio" in r]
    c_dpor = [r["ratio"] for r in comp_rows if r["modules"] == ["dpor"]]
    c_core = [r["ratio"] for r in comp_rows if r["modules"] == ["dpor", "core"]]
    big = [r for r in (par or {}).get("rows", []) if r.get("serial_s", 0) >= 5]
    hp = by.get("hotplug-v6.17-pb1", {})
    hp_tr = pr.get("hotplug-v6.17-pb1", {})
    scf = pr.get("scftorture-4cpu-seed0", {})
    lo = lambda xs: min(xs) if xs else "?"  # noqa: E731
    corpus = sorted((r for r in rows if r["id"].startswith("corpus:")), key=lambda r: -r.get("cpu_seconds", 0))
    c_total = sum(r.get("cpu_seconds", 0) for r in corpus) or 1.0
    m_top15 = round(100 * sum(r.get("cpu_seconds", 0) for r in corpus[:15]) / c_total)
    bugs = [r for r in corpus if r.get("verdict") == "bug"]
    m_bug_s = round(sum(r.get("cpu_seconds", 0) for r in bugs), 1)
    m_bug_run = sum(r.get("executions", 0) for r in bugs)
    m_bug_counted = sum(r.get("search_executions", 0) for r in bugs)
    m_bug_save = round(m_bug_s * (1 - m_bug_counted / m_bug_run), 1) if m_bug_run else 0.0
    m_both = round((c_total - m_bug_save) * (min(c_dpor) if c_dpor else 1.0), 1)
    # A longer run of it alone (python bench/throughput.py --only scftorture-4cpu-seed0 --cap 2100
    # --out bench/results/throughput_scftorture_long), when there is one.
    scf_long = "  Its total trace count is unknown."
    long = _load("throughput_scftorture_long")
    lr = next((r for r in (long or {}).get("rows", []) if r["id"] == "scftorture-4cpu-seed0"), None)
    if lr is not None:
        scf_long = (
            f"  Run alone with a {lr['cap_s']:g} s cap (bench/results/throughput_scftorture_long.md): "
            f"{what(lr)} ({lr.get('executions')} executions run); its total trace count is "
            + ("that." if lr.get("complete") else "still unknown.")
        )
    hp_one: Any = "?"
    hp_comp: Any = "?"
    if hp.get("executions") and hp.get("search_executions"):
        one = hp["cpu_seconds"] * hp["search_executions"] / hp["executions"]
        hp_one = round(one, 1)
        hp_comp = round(one * min(c_dpor), 1) if c_dpor else "?"
    hi = lambda xs: max(xs) if xs else "?"  # noqa: E731
    out += [
        "## The goals, and what would close the missed ones",
        "",
        f"* **µs per step <= 4x the floor: missed** ({s['corpus_ratio_aggregate']}x over the corpus).  "
        f"The same executions replayed with no DPOR at all cost {lo(mach)}-{hi(mach)}x the floor: the "
        "ported kernel code and the machine between two greenlet switches (atomic accessors, field "
        "descriptors, the access record each step leaves for the search) already miss the goal by "
        f"{round(lo(mach) / 4, 1) if mach else '?'}x or more before any DPOR work; the DPOR bookkeeping is "
        f"{round(100 * lo(dshare))}-{round(100 * hi(dshare))}% of a search on top.  Measured levers: compiling "
        f"dpor.py with mypyc takes {lo(c_dpor)}-{hi(c_dpor)} of the CPU time (bench/compiled.py); compiling "
        f"core.py too makes it slower ({lo(c_core)}-{hi(c_core)}: interpreted ported code then reads the "
        "machine's fields through native-class descriptors).  What would close it: running the ported "
        "code itself compiled or JIT-ed (PyPy has greenlets built in, but the PyPy this Debian offers is "
        "Python 3.9 and the project needs 3.11), i.e. a 5x or better cut of the interpreted per-step work "
        "of kernel_port/, which no engine-side change reaches.",
        f"* **Whole matrix <= 4 s on one core: missed** ({s['corpus_cpu_seconds_total']} s CPU over its cells).  "
        f"The 15 costliest cells are {m_top15}% of it; the BUG cells take {m_bug_s} s and ran {m_bug_run} "
        f"executions for the {m_bug_counted} their searches count: the rest is the counterexample's search "
        "(iterative preemption bounding, each bound run to its end) and a bounded search's re-runs.  Needs "
        f"about {round(s['corpus_cpu_seconds_total'] / 4, 1)}x per execution: beyond the measured levers combined "
        "(compiled DPOR at best about 1.4x); running only the counted executions of the BUG cells would save "
        f"about {m_bug_save} s more (a counterexample search that bounds traces, as for hotplug below): both "
        f"together still leave about {m_both} s.",
        f"* **smp.hotplug-lost-ipi v6.17 at bound 1 <= 5 s: missed** ({hp.get('seconds', '?')} s wall, "
        f"{hp.get('cpu_seconds', '?')} s CPU; {hp.get('executions', '?')} executions run for "
        f"{hp.get('search_executions', '?')} distinct traces).  A preemption-bounded search re-runs traces: "
        "bounded POR (Coons, Musuvathi, McKinley, OOPSLA 2013, which dpor.py implements) may put an explored "
        "sibling to sleep only when the bound pruned nothing below it, and adds a branch at the last free "
        "switch point of every reversal; both are needed for coverage within the bound (putting every explored "
        "sibling to sleep instead misses traces within the bound: tried, then discarded).  In the profile its first "
        f"{hp_tr.get('executions', '?')} executions already run {hp_tr.get('executions_per_trace', '?')} per "
        "trace, and a bounded search's DPOR cost per fresh step is the highest of the profile (the branches "
        "and prunings of the bound).  What would close it: bounding traces instead of schedules (explore each trace that "
        "has a linearization within the bound once; Marmanis, Kokologiannakis, Vafeiadis, TACAS 2023, in "
        "GenMC) would cut the executions to the trace count: "
        f"{hp_one} s of CPU at today's cost per execution, {hp_comp} s with DPOR compiled ({lo(c_dpor)}x).",
        f"* **scftorture at 4 CPUs complete in <= 120 s: missed** (bound 0: it ran "
        f"{scf.get('executions_per_trace', '?')} executions per trace in its first "
        f"{scf.get('executions', '?')}, at {scf.get('us_per_step', '?')} µs per step and "
        f"{by.get('scftorture-4cpu-seed0', {}).get('steps_per_execution', '?')} steps per execution).  The same bounded-search redundancy dominates; the trace-level bound above is what would "
        "close it." + scf_long,
    ]
    if big:
        jobs = (par or {}).get("jobs", 2)
        rts = [r for r in big if r["workload"].startswith("rt-three-works")]
        parts = []
        need = 1
        for b in rts:
            t1, tn = b["serial_s"], b["parallel_s"]
            w = b["worker_cpu_s"] / t1 if t1 else 1.0
            fixed = max(0.0, tn - b["worker_cpu_s"] / jobs)
            n4 = round(t1 * w / 4 + fixed, 1)
            if fixed < 30:
                need = max(need, math.ceil(b["worker_cpu_s"] / (30 - fixed)))
            variant = b["workload"].split("@")[1].split("(")[0].strip()
            parts.append(
                f"{variant}: {b['traces']:,} traces, {t1} s serial, {tn} s split over {jobs} workers "
                f"({b['speedup']}x, the same traces and violations; worker CPU {100 * (w - 1):+.0f}% against "
                f"the serial search, {round(fixed, 1)} s of start-up and tail), {n4} s predicted on 4 workers"
            )
        if rts:
            worst = max(r["serial_s"] for r in rts)
            out.append(
                "* **Two-CPU PREEMPT_RT, three irq_works, complete in <= 30 s on every variant: missed on one "
                "core.**  Optimal DPOR runs exactly one execution per trace here (1.0 in the profile), so the "
                "trace count is the cost.  Measured complete (bench/parallel.py --big): "
                + "; ".join(parts)
                + f".  On one core it needs {round(worst / 30, 1)}x per execution, beyond the measured levers; "
                'the scaling model of docs/engine.md ("Parallel and distributed exploration") puts every '
                f"variant under 30 s on {need} workers, which is what closes it today."
            )
        out.append(
            f"* **Parallel >= 1.8x on 2 workers for every search over 5 s: {'met' if all(r['speedup'] >= 1.8 for r in big) else 'missed'}** "
            + "; ".join(f"{r['workload']}: {r['speedup']}x" for r in big)
            + ".  Corpus-sized searches (under 1 s) stay at 0.7-1.2x: starting the pool costs more than the "
            "split gains.  Bounded searches run serially (their trace count depends on the order)."
        )
    out += [
        f"* **Peak RSS <= 500 MB: met** ({s['peak_rss_mb_max']} MB).",
        "",
        'Per-step work done for the issue (docs/engine.md, "Per-execution set-up" and "Per-step cost"): '
        "the world built once per program and restored per execution (restore above); the guard walk's "
        "quadratic status scan replaced by a bisection per actor, an interrupt's arrival with nothing pending "
        "no longer evaluated at every earlier step, fewer allocations per new step (against 9f5c323: "
        "scftorture 0.74x, RT three-work 0.83x, hotplug bound 1 0.82-0.89x the CPU time, farm-bench medians); "
        "tracing costs nothing in a search (every trace line is behind Machine.tracing).  Measured and left: "
        "keeping the enabled set incrementally (Machine.enabled() is about 4-8% of a search's CPU time, "
        "timed on rt-three-works, so at most that much to gain); compiling dpor.py (the gain above, against "
        "an editable install whose binary would shadow a later edit of dpor.py and classes the bench and "
        "tests can no longer patch).",
        "",
    ]
    return out


def _commit() -> str:
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE, timeout=10
            ).stdout.strip()
            or "?"
        )
    except (OSError, subprocess.SubprocessError):
        return "?"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"three corpus cells, every other workload at {QUICK_CAP:g} s")
    ap.add_argument(
        "--cap", type=float, default=None, help=f"seconds per workload (default {CAP:g}; quick {QUICK_CAP:g})"
    )
    ap.add_argument("--only", action="append", default=[], help="workload ids to run (fnmatch patterns)")
    ap.add_argument("--resume", action="store_true", help="keep the rows of the results file measured with this cap")
    ap.add_argument("--out", default=None, help="results path without suffix (default bench/results/throughput)")
    ap.add_argument(
        "--dpor-reuse",
        choices=("auto", "on", "off"),
        default="auto",
        help="the DPOR search's executions: as dpor.search runs them (auto), restoring the world "
        "built once (on: run(..., reuse=True)), or building it for each (off)",
    )
    ap.add_argument("--render", action="store_true", help="only write the .md again from the .json")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    cap = args.cap if args.cap is not None else (QUICK_CAP if args.quick else CAP)
    if args.worker is not None:
        row = run_workload(json.loads(args.worker), cap, args.dpor_reuse)
        print(json.dumps(row))
        return row
    default = HERE / "results" / ("throughput_quick" if args.quick else "throughput")
    out = Path(args.out) if args.out else default
    if args.render:
        doc = json.loads(out.with_suffix(".json").read_text())
        rows = doc.pop("rows")
        doc.pop("summary", None)
        write(out, rows, doc)
        return doc
    specs = [
        w for w in workloads(args.quick) if not args.only or any(fnmatch.fnmatchcase(w["id"], p) for p in args.only)
    ]
    kept: dict[str, dict[str, Any]] = {}
    if args.resume and out.with_suffix(".json").exists():
        old = json.loads(out.with_suffix(".json").read_text())
        kept = {
            r["id"]: r for r in old.get("rows", []) if r.get("cap_s") == cap and r.get("dpor_reuse") == args.dpor_reuse
        }
    meta = {
        "bench": "throughput",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": _commit(),
        "quick": args.quick,
        "cap_s": cap,
        "dpor_reuse": args.dpor_reuse,
        "loadavg": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
    }
    rows: list[dict[str, Any]] = []
    for spec in specs:
        if spec["id"] in kept:
            rows.append(kept[spec["id"]])
            continue
        row = _child(spec, cap, args.dpor_reuse)
        rows.append(row)
        print(
            f"{row['id']}: {what(row)}; {row.get('us_per_step')} us/step, ratio {row.get('ratio_to_floor')}, "
            f"{row.get('peak_rss_mb')} MB",
            flush=True,
        )
        write(out, rows, meta)
    write(out, rows, meta)
    return {**meta, "rows": rows}


if __name__ == "__main__":
    main()
