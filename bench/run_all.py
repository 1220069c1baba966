# SPDX-License-Identifier: GPL-2.0-only
"""Run every bench and write bench/results/*.{json,md} plus summary.{json,md}.

    python bench/run_all.py [--quick]

Each bench runs in its own process (time_to_verdict and spin_peer pin
themselves to one core with taskset; dpor_quality runs in full mode unless
--quick), one after the other so they do not disturb each other's timings.
Then this script writes the markdown reports and a summary saying, for each
goal, met or missed and by how much.  spin_peer writes its own markdown; when
spin or gcc is missing it exits 2 and the summary says so.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RES = HERE / "results"


DPOR_MEM_GB = 8


def sh(args: list[str], mem_gb: int | None = None) -> float:
    t0 = time.perf_counter()
    print("+", " ".join(args), flush=True)

    def limit() -> None:
        if mem_gb is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (mem_gb * 1024**3, mem_gb * 1024**3))

    subprocess.run([sys.executable, *args], check=True, cwd=HERE.parent, preexec_fn=limit)
    return time.perf_counter() - t0


def run_dpor_quality(quick: bool) -> tuple[float, str]:
    """Full mode under a memory limit; on failure, quick mode (and say so).
    Full mode enumerates up to 300,000 interleavings per program keeping
    every execution's events, which outgrew 20 GB on a 23 GB machine."""
    if quick:
        return sh(["bench/dpor_quality.py", "--quick"]), "quick"
    try:
        return sh(["bench/dpor_quality.py"], mem_gb=DPOR_MEM_GB), "full"
    except subprocess.CalledProcessError as e:
        print(f"dpor_quality full mode failed ({e}); falling back to --quick", flush=True)
        return sh(["bench/dpor_quality.py", "--quick"]), (
            f"quick (full mode failed under a {DPOR_MEM_GB} GB memory limit: its plain enumeration keeps the events "
            "of up to 300,000 executions per program; without a limit it was OOM-killed at >20 GB)"
        )


def run_spin_peer(quick: bool) -> tuple[float | None, str]:
    """The SPIN peer; exit 2 means spin or gcc is missing (results kept from
    an earlier run, if any), exit 1 means the verdicts disagree (results
    written, the summary reports it)."""
    t0 = time.perf_counter()
    try:
        return sh(["bench/spin_peer.py", *(["--quick"] if quick else [])]), "ran"
    except subprocess.CalledProcessError as e:
        if e.returncode == 2:
            return None, "not run: spin or gcc is not installed (apt-get install spin gcc)"
        if e.returncode == 1:
            return time.perf_counter() - t0, "ran (verdicts disagree)"
        raise


def storm_goal() -> dict[str, Any]:
    """DESIGN's scale goal for timed mode: the full-size storm in under 60 s of wall time."""
    goal = "Scale: timed storm at full size (192 CPUs, 120 s virtual) < 60 s wall (bench/storm_full.py)"
    if not (RES / "storm_full.json").exists():
        return {"goal": goal, "met": None, "detail": "not run (python bench/storm_full.py)"}
    rows = load("storm_full.json")
    done = [r for r in rows if r["stop"] == "time"]
    slow = [r for r in done if r["wall_seconds"] >= 60]
    detail = "; ".join(f"{r['variant']} {r['wall_seconds']} s ({r['steps']} steps)" for r in done)
    stopped = [r for r in rows if r["stop"] != "time"]
    if stopped:
        detail += "; stopped early: " + "; ".join(
            f"{r['variant']} ({r['stop']} at {r['virtual_seconds']} s)" for r in stopped
        )
    return {"goal": goal, "met": not slow, "detail": detail}


def scftorture_goal() -> dict[str, Any]:
    """Issue 5's torture family at 4 CPUs: no violation on v6.17, violations on v3.10."""
    goal = "scftorture family at 4 CPUs (dfs): none on v6.17, found on v3.10 (bench/scftorture.py)"
    if not (RES / "scftorture.json").exists():
        return {"goal": goal, "met": None, "detail": "not run (python bench/scftorture.py)"}
    sc = load("scftorture.json")
    rows = sc["rows"]
    done = sum(1 for r in rows if r["complete"])
    detail = (
        f"{len(rows)} runs ({sc['budget_s']:.0f} s budget each): v6.17 violations {sc['mainline_violations']}, "
        f"v3.10 violations {sc['v3_10_violations']}; complete searches {done}, the others say how many executions "
        "they reached (scftorture.md)"
    )
    return {"goal": goal, "met": sc["mainline_violations"] == 0 and sc["v3_10_violations"] > 0, "detail": detail}


def parallel_goals() -> list[dict[str, Any]]:
    """DESIGN's parallel goals: >= 1.8x on 2 cores, and the distributed run's agreement."""
    goal = "Parallel: split search >= 1.8x on 2 cores, results identical to serial (bench/parallel.py)"
    dgoal = "Distributed: Dask cluster on loopback, same verdicts and execution counts (bench/parallel.py)"
    if not (RES / "parallel.json").exists():
        return [
            {"goal": goal, "met": None, "detail": "not run (python bench/parallel.py)"},
            {"goal": dgoal, "met": None, "detail": "not run"},
        ]
    par = load("parallel.json")
    rows = par["rows"]
    detail = "; ".join(f"{r['workload']}: {r['speedup']}x ({r['serial_s']} -> {r['parallel_s']} s)" for r in rows)
    detail += "; identical: " + ("all" if all(r["identical"] for r in rows) else "NO")
    d = par.get("dask") or {}
    if "skipped" in d or not d:
        dd = {"goal": dgoal, "met": None, "detail": d.get("skipped", "not run")}
    else:
        dd = {
            "goal": dgoal,
            "met": bool(d["identical"]),
            "detail": f"{d['workload']}: {d['executions']} executions, identical {d['identical']}, "
            f"{d['speedup']}x ({d['serial_s']} -> {d['parallel_s']} s)",
        }
    met = bool(par["goal_met"]) and all(r["identical"] for r in rows)
    return [{"goal": goal, "met": met, "detail": detail}, dd]


def spin_goal(status: str) -> dict[str, Any]:
    """The peer's summary row: do SPIN and kport give the same verdicts?"""
    goal = "SPIN side-by-side peer: SPIN and kport verdicts agree (bench/spin_peer.py)"
    if not (RES / "spin_peer.json").exists():
        return {"goal": goal, "met": None, "detail": status}
    sp = load("spin_peer.json")
    rows = sp["rows"]
    main_rows = [r for r in rows if r["kind"] == "corpus"]

    def rng(xs: list[float]) -> str:
        return f"{min(xs)}-{max(xs)}"

    bad = [r for r in rows if not r["agree"]]
    detail = (
        f"{sp['agreeing']} of {len(rows)} cells agree ({len(main_rows)} corpus cells of irq_work.lost-self-ipi and "
        f"smp.lost-ipi-waiter, {len(rows) - len(main_rows)} controls and probes); SPIN "
        f"{rng([r['spin']['states_stored'] for r in rows])} states stored, kport "
        f"{rng([r['kport']['executions'] for r in rows])} executions; time kport / SPIN "
        f"{rng([r['ratio_total'] for r in rows])} (SPIN incl. gcc), kport / pan alone "
        f"{rng([r['ratio_verify'] for r in rows])}"
    )
    if bad:
        detail += "; disagree: " + "; ".join(f"{r['scenario']} {r['variant']}: {', '.join(r['notes'])}" for r in bad)
    if status != "ran":
        detail += f" ({status}; results from the last run)"
    return {"goal": goal, "met": sp["all_agree"], "detail": detail}


def load(name: str) -> dict[str, Any]:
    return json.loads((RES / name).read_text())  # type: ignore[no-any-return]


def engine_md(es: dict[str, Any]) -> str:
    sys.path.insert(0, str(HERE))
    from engine_speed import GOAL, profile_table, table

    worst = es["worst_ratio"]
    bd = es["breakdown"]
    parts = dict(bd["parts_us"])
    rem = "step()/park()/field.__set__ bookkeeping and run() loop (remainder)"
    # Use the main table's rate for the same size (best of more repetitions)
    # as the total, so the breakdown and the table agree.
    same = [r for r in es["rows"] if (r["cpus"], r["writes_per_cpu"]) == (bd["cpus"], bd["writes_per_cpu"])]
    tot = same[0]["engine_us_per_step"] if same else bd["engine_us_per_step"]
    parts[rem] = round(tot - sum(v for k, v in parts.items() if k != rem), 3)
    floor_ratio = max(r["greenlet_ratio"] for r in es["rows"])
    lines = [
        "# Engine speed on a toy workload: the floor (steps per second vs a bare generator round-robin)",
        "",
        "A toy, and reported as one: one shared write per step, no ported kernel code, no search.  It "
        "measures the engine's floor; what real workloads cost per step (corpus cells, hotplug, scftorture, "
        "the RT three-work scenario), beside the greenlet floor of the same run, is in throughput.md.",
        "",
        f"Python {es['machine']['python']}, {es['machine']['platform']}; best of {es['reps']} interleaved repetitions.",
        "",
        "Workload: N CPUs each write one shared field K times, driven by a round-robin driver "
        "(`kernel_port.engine.execution.run`, every step switches CPU).  Baseline in the same run: N generators "
        "doing the same write and yielding K times, advanced round robin.  *Greenlet floor*: N greenlets doing "
        "the write and switching back to a root round-robin, i.e. the engine's greenlet-per-CPU design with "
        "no engine at all.",
        "",
        f"**Goal: ratio >= {GOAL}.  {'MET' if es['goal_met'] else 'MISSED'}**: ratio {worst}-{es['best_ratio']}, "
        f"i.e. {GOAL / worst:.0f}x short at the worst size.",
        "",
        *table(es),
        "",
        "## Why it misses",
        "",
        f"* The greenlet floor alone reaches only {floor_ratio} of the generator baseline: one greenlet switch pair "
        f"per step ({parts['greenlet switch pair + loop (bare greenlet round-robin)']} µs) costs about 6x a "
        "generator resume.  With one switch pair per step, the 0.25 goal is out of reach on CPython 3.11 even for a "
        "zero-cost engine.  Meeting it needs either generator-based CPUs (ported code would have to `yield`, against "
        "the design's plain-call ports) or several steps per switch (see proposal 4).",
        f"* The engine itself costs about {tot} µs per step (N={bd['cpus']}, K={bd['writes_per_cpu']}); the parts "
        "below are timed in isolation on a live machine, the remainder is the rest:",
        "",
        "| part of a step | µs per step | share |",
        "|---|---|---|",
        *[f"| {k} | {v} | {100 * v / tot:.0f}% |" for k, v in parts.items()],
        "",
        "The remainder is the per-step bookkeeping in `field.__set__` → `CPU.park` → `Machine.step` → "
        "`Machine._run_cpu`: building the key tuple, the `pending + (ctl_read,)` concatenation, fresh "
        "`values`/`stores` lists, the version/wake-up loop over all CPUs, the `CUR` global save/restore, and "
        "`run()`'s per-step appends to `actors` and `enabled_log`.",
        "",
        "## Profile (cProfile) of the round-robin run (N=4, K=5000)",
        "",
        "cProfile charges time across greenlet switches to the switching frame, so `field.__set__`/`park` absorb "
        "part of the switch cost; the isolated timings above are the more reliable split.",
        "",
        *profile_table(es["profile_round_robin"]),
        "",
        "## Inside a DPOR search",
        "",
        "| cell | executions | steps | s | steps/s | executions/s | µs/step |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| {d['cell']} | {d['executions']} | {d['steps']} | {d['seconds']} | {d['steps_per_s']:,} | "
            f"{d['executions_per_s']} | {d['us_per_step']} |"
            for d in es["dfs"]
        ],
        "",
        "In exploration a step costs 4-5x a round-robin step: the DPOR driver (node per step with its sleep set, "
        "access map and enabled set; race analysis with vector clocks after each execution) dominates.  "
        "Profile of `irq_work.lost-self-ipi` on v6.17+herton-rfc:",
        "",
        *profile_table(es["profile_dfs"]),
        "",
        "## Proposed engine optimisations (not made: the engine belongs to the lead)",
        "",
        f"1. **Incremental enabled set.** `Machine.enabled()` rebuilds the list every step "
        f"({parts['Machine.enabled() (rebuilt every step)']} µs, "
        f"{100 * parts['Machine.enabled() (rebuilt every step)'] / tot:.0f}% of a round-robin step).  Only the "
        "stepped CPU, woken spinners and targets of IPIs change state; keep a set updated in `step()`.  "
        "Measured potential: up to that share.",
        f"2. **Preemptions are counted online** (`Preemptions.before`, done): "
        f"{parts['Preemptions.before (online, per step)']} µs per step.",
        "3. **Leaner access path.** Precompute `(oid, name)` keys per object and field; store `pending` with the "
        "`ctl` read already appended (saves one tuple concatenation in `step()` and one in `accesses()`); reuse the "
        "`values`/`stores` lists; skip the all-CPU wake-up loop when no CPU waits (a counter of waiting CPUs).  "
        f"Potential: part of the {parts['step()/park()/field.__set__ bookkeeping and run() loop (remainder)']} µs "
        "remainder; a prototype would be needed to measure it, the remainder being 55-80% of a step.",
        "4. **Several steps per switch.** When the driver's choice is already known -- the replayed prefix of a "
        "DPOR execution, or the default 'keep running the CPU that ran last' -- let the CPU greenlet run on "
        "without switching back to the root (checking `enabled` on the CPU side).  This is the only route past the "
        f"greenlet floor ({floor_ratio}); in DFS the replayed prefix is most of every execution.",
        "5. **DPOR per-step costs.** `DporDriver.pick` and `Node.__init__` are ~30% of a DFS search: `Node` "
        "builds `set(enabled)`, an accesses dict for all enabled actors and a per-CPU irq tuple at every step; "
        "build them lazily (only races need them) or share them with the parent when unchanged.",
        "6. **Set-up per execution.** Every execution rebuilds the kernel (`Struct.__init__`, variant "
        "instantiation); snapshotting the built state once per program (copying the object dicts) would remove it "
        "from every execution after the first.",
        "",
    ]
    return "\n".join(lines)


def ttv_md(tv: dict[str, Any]) -> str:
    lines = [
        "# Time to verdict",
        "",
        f"Python {tv['machine']['python']}, {tv['machine']['platform']}, {tv['machine']['cpus']} CPUs; "
        f"{tv['pinning']}.",
        "",
        f"**Goal: every cell < {tv['cell_goal_s']} s: {'MET' if tv['goal_cells_met'] else 'MISSED'}** "
        f"({tv['cells_over_goal']} of {tv['cells']} cells over; slowest {tv['slowest_cell']['scenario']} on "
        f"{tv['slowest_cell']['variant']}: {tv['slowest_cell']['seconds']} s, "
        f"{tv['slowest_cell']['seconds'] / tv['cell_goal_s']:.1f}x the goal).",
        "",
        f"**Goal: whole matrix < {tv['matrix_goal_s']} s: {'MET' if tv['goal_matrix_met'] else 'MISSED'}** "
        f"({tv['matrix_seconds']} s).  Verdict mismatches: {tv['mismatches']}.",
        "",
        "| scenario | variant | expected | verdict | executions | s | < 2 s |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in tv["matrix"]:
        v = c["verdict"] + (f" ({c['kind']})" if c["kind"] and c["verdict"] != "ok" else "")
        lines.append(
            f"| {c['scenario']} | {c['variant']} | {c['expected']} | {v} | {c['executions']} | {c['seconds']} | "
            f"{'yes' if c['within_goal'] else '**no**'} |"
        )
    slow = [c for c in tv["matrix"] if not c["within_goal"]]
    if slow:
        lines += [
            "",
            "Why cells miss: the slow cells are the smp ones, whose complete searches need thousands of executions "
            "(three CPUs spinning through stop_machine; the csd-lock debug resend path) at 1-3 ms each "
            "(engine_speed.md: ~13 µs per DFS step and 100+ steps per execution).  The engine proposals in "
            "engine_speed.md (per-step DPOR node cost, per-execution set-up) are the levers; so is the parallel "
            "exploration of issue 9.",
        ]
    lines += [
        "",
        f"## How cost grows (smp scenarios; {tv['scaling_budget_s']} s budget per run)",
        "",
        "Bench-built variants (subclasses in bench/time_to_verdict.py; the corpus is unchanged): the waiter "
        "scenario at n CPUs is a chain of n-1 waiters (CPU c calls CPU c+1 with wait=1); the hotplug scenario gets "
        "extra CPUs that only run their stopper thread, at its stated preemption bound, with no fault kind.",
        "",
        "A `bug` verdict comes from the first preemption-bound level with a failure; the explorer finishes that "
        "level before choosing the shortest counterexample, so a bug run can still hit the budget.  Each run is a "
        "child process (4 GB address-space limit, 3x budget hard limit): seconds include ~0.2 s of start-up, and "
        "runs overshoot the budget by ~20% because the explorer checks it only between executions.  "
        "2 CPUs with 2 faults on csdlock-debug is a genuine bug (the IPI and its debug resend are both lost).  "
        "Without the memory limit, a 4-CPU hotplug run grew past 20 GB within ~130 s and was OOM-killed: "
        "the explorer's memory grows with the search (wakeup trees / kept outcomes), worth a look.",
        "",
        "| scenario | CPUs | faults | preemption bound | variant | verdict | executions | s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in tv["scaling"]:
        v = r["verdict"] + (f" ({r['kind']})" if r["verdict"] == "bug" else "")
        if r["verdict"] != "budget reached" and r["seconds"] >= 0.99 * tv["scaling_budget_s"]:
            v += "; budget reached (the level's search was cut; the bug was found before)"
        pb = "none" if r["preemption_bound"] is None else r["preemption_bound"]
        lines.append(
            f"| {r['scenario']} | {r['cpus']} | {r['faults']} | {pb} | {r['variant']} | {v} | {r['executions']} | "
            f"{r['seconds']} |"
        )
    odd = [r for r in tv["scaling"] if r["variant"].endswith("csdlock-debug") and r["verdict"] == "bug"]
    if odd:
        lines += [
            "",
            "Note: on the chained-waiter variant with csdlock-debug the search reports a deadlock (message: "
            f'"{odd[0]["message"]}").  This is a bench-built shape, not a corpus claim; whether the csd-lock debug '
            "resend should rescue a waiter whose target is itself waiting needs a look by the smp port's owner.",
        ]
    lines.append("")
    return "\n".join(lines)


def dpor_goal(dq: dict[str, Any]) -> tuple[bool, str]:
    ratios = [(r["program"], r["ratio_explored"]) for r in dq["benchmarks"] if r.get("ratio_explored") is not None]
    rf = dq["random_family"]
    worst = max(ratios, key=lambda x: x[1]) if ratios else ("-", 0.0)
    met = all(x <= 1.05 for _, x in ratios) and rf["random_ratio_explored"] <= 1.05
    over = [r for r in dq["benchmarks"] if (r.get("ratio_explored") or 0) > 1.05]
    why = "; ".join(
        f"{r['program']} misses by {r['ratio_explored'] - 1.05:.4f}: {r['dpor_blocked']} sleep-set-blocked "
        f"execution(s) on {r['traces']} traces (complete executions / traces = {r.get('ratio_complete')})"
        for r in over
    )
    txt = (why + "; " if why else "") + (
        f"countable benchmarks: worst {worst[0]} {worst[1]}; random family aggregate {rf['random_ratio_explored']} "
        f"(worst single program {rf['random_worst_ratio']}); programs whose traces could not be enumerated have no ratio"
    )
    return met, txt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--report-only", action="store_true", help="rewrite the markdown from the existing json")
    RES.mkdir(exist_ok=True)
    ap.add_argument("--only", nargs="*", default=None, help="run only these benches (others: keep their results)")
    old: dict[str, Any] = {}
    if (RES / "summary.json").exists():
        old = json.loads((RES / "summary.json").read_text())
    secs: dict[str, float] = dict(old.get("bench_seconds", {}))
    dmode = str(old.get("dpor_quality_mode", "?"))
    args = ap.parse_args()
    q = ["--quick"] if args.quick else []
    # --report-only rewrites the summary of the last run, which says how it ran.
    quick = bool(old.get("quick", False)) if args.report_only else args.quick
    todo = (
        []
        if args.report_only
        else (
            args.only
            or ["engine_speed", "time_to_verdict", "dpor_quality", "spin_peer", "storm_full", "parallel", "scftorture"]
        )
    )
    if "engine_speed" in todo:
        secs["engine_speed"] = sh(["bench/engine_speed.py", *q])
    if "time_to_verdict" in todo:
        secs["time_to_verdict"] = sh(["bench/time_to_verdict.py", *q])
    if "dpor_quality" in todo:
        secs["dpor_quality"], dmode = run_dpor_quality(args.quick)
    spin_status = "ran" if (RES / "spin_peer.json").exists() else "not run (python bench/spin_peer.py)"
    if "spin_peer" in todo:
        t_spin, spin_status = run_spin_peer(args.quick)
        if t_spin is not None:
            secs["spin_peer"] = t_spin
    if "storm_full" in todo:
        # --quick runs the scaled-down storm (results/storm_small.*); the goal row reads the full size.
        secs["storm_full"] = sh(["bench/storm_full.py", "--size", "small" if args.quick else "full"])
    if "parallel" in todo:
        # Not pinned: it measures two worker processes on the two cores.
        secs["parallel"] = sh(["bench/parallel.py", *q])
    if "scftorture" in todo:
        secs["scftorture"] = sh(["bench/scftorture.py", *q])
    es = load("engine_speed.json")
    tv = load("time_to_verdict.json")
    dq = load("dpor_quality.json")
    (RES / "engine_speed.md").write_text(engine_md(es))
    (RES / "time_to_verdict.md").write_text(ttv_md(tv))
    dmet, dtxt = dpor_goal(dq)
    goals = [
        {"goal": "DPOR quality: explored / traces <= 1.05", "met": dmet, "detail": f"{dtxt}; mode: {dmode}"},
        {
            "goal": "Engine speed: steps/s ratio to generator round-robin >= 0.25",
            "met": es["goal_met"],
            "detail": f"ratio {es['worst_ratio']}-{es['best_ratio']} ({0.25 / es['worst_ratio']:.0f}x short); "
            f"bare greenlet floor {max(r['greenlet_ratio'] for r in es['rows'])}",
        },
        {
            "goal": "Time to verdict: every cell < 2 s on one core",
            "met": tv["goal_cells_met"],
            "detail": f"{tv['cells_over_goal']} of {tv['cells']} cells over; slowest "
            f"{tv['slowest_cell']['scenario']} on {tv['slowest_cell']['variant']} {tv['slowest_cell']['seconds']} s",
        },
        {
            "goal": "Time to verdict: whole matrix < 60 s on one core",
            "met": tv["goal_matrix_met"],
            "detail": f"{tv['matrix_seconds']} s ({tv['pinning']})",
        },
        spin_goal(spin_status),
        storm_goal(),
        *parallel_goals(),
        scftorture_goal(),
    ]
    summary = {
        "quick": quick,
        "bench_seconds": {k: round(v, 1) for k, v in secs.items()},
        "dpor_quality_mode": dmode,
        "goals": goals,
    }
    (RES / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    mark = {True: "met", False: "**MISSED**", None: "not measured"}
    lines = ["# Bench summary", "", "`python bench/run_all.py`" + (" --quick" if quick else ""), ""]
    lines += ["| goal | status | detail |", "|---|---|---|"]
    lines += [f"| {g['goal']} | {mark[g['met']]} | {g['detail']} |" for g in goals]
    lines += [
        "",
        "Details: engine_speed.md, time_to_verdict.md, dpor_quality.md, spin_peer.md, storm_full.md, parallel.md, scftorture.md.  "
        "Bench wall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in secs.items()) + ".",
        "",
    ]
    (RES / "summary.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
