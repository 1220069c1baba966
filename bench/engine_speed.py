# SPDX-License-Identifier: GPL-2.0-only
"""Engine speed: steps per second, as a ratio to a bare generator round-robin.

Workload: N CPUs each doing K writes to one shared field (``cell.v = i``).
The engine runs it through ``kernel_port.engine.execution.run`` with a
round-robin driver (every step switches CPU: N*K steps, N*K - 1 switches).
The baseline, timed in the same run, is N plain Python generators each doing
the same write and yielding K times, advanced round robin: the same number of
context switches with no engine at all.  Goal (DESIGN): engine / baseline
>= 0.25.

Beside the ratio: a bare greenlet round-robin (the floor of the engine's
greenlet-per-CPU design), steps per second inside a DPOR search of the
slowest corpus cell, and a cProfile of both (what dominates).  Each rate is
the best of ``--reps`` interleaved repetitions (engine, baseline, greenlet
alternate, so machine noise hits all of them alike).

Run:  python bench/engine_speed.py [--quick]   (writes bench/results/engine_speed.{json,md})
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import platform
import pstats
import sys
import time
from pathlib import Path
from typing import Any

from greenlet import greenlet

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from kernel_port.engine import SimpleProgram, Struct, field  # noqa: E402
from kernel_port.engine.execution import run  # noqa: E402

GOAL = 0.25
SIZES = [(2, 2000), (4, 1000), (4, 5000), (8, 1000), (16, 500)]
QUICK_SIZES = [(2, 1000), (4, 1000), (8, 500)]


class Cell(Struct):
    v = field(0)


def program(n: int, k: int) -> SimpleProgram:
    def build(m: Any) -> Any:
        cell = Cell(name="cell")

        def cpu() -> None:
            for i in range(k):
                cell.v = i

        return {c: cpu for c in range(n)}

    return SimpleProgram(f"writes({n}x{k})", n, build, step_budget=n * k + 10)


class RoundRobin:
    """Driver: the next enabled actor after the one that ran last."""

    def __init__(self) -> None:
        self.last = -1

    def pick(self, m: Any, enabled: list[int]) -> int | None:
        for a in enabled:
            if a > self.last:
                self.last = a
                return a
        self.last = enabled[0]
        return self.last

    def value(self, n: int, what: str) -> int:
        return 0


def time_engine(n: int, k: int) -> tuple[float, int]:
    prog = program(n, k)
    t0 = time.perf_counter()
    out = run(prog, RoundRobin())
    dt = time.perf_counter() - t0
    assert out.status == "complete", out.message
    return dt, out.steps


class Obj:
    v = 0


def time_generators(n: int, k: int) -> tuple[float, int]:
    cell = Obj()

    def cpu() -> Any:
        for i in range(k):
            cell.v = i
            yield

    t0 = time.perf_counter()
    gens = [cpu() for _ in range(n)]
    steps = 0
    live = list(gens)
    while live:
        nxt = []
        for g in live:
            try:
                next(g)
                steps += 1
                nxt.append(g)
            except StopIteration:
                pass
        live = nxt
    dt = time.perf_counter() - t0
    return dt, steps


def time_greenlets(n: int, k: int) -> tuple[float, int]:
    cell = Obj()
    root = greenlet.getcurrent()

    def cpu() -> None:
        for i in range(k):
            root.switch()
            cell.v = i

    t0 = time.perf_counter()
    gs = [greenlet(cpu) for _ in range(n)]
    for g in gs:
        g.switch()  # up to the first switch, as Machine.start does
    steps = 0
    live = list(gs)
    while live:
        nxt = []
        for g in live:
            g.switch()
            steps += 1
            if not g.dead:
                nxt.append(g)
        live = nxt
    dt = time.perf_counter() - t0
    return dt, steps


def best_rate(fn: Any, n: int, k: int) -> tuple[float, int, float]:
    gc.collect()
    dt, steps = fn(n, k)
    return steps / dt, steps, dt


def measure(sizes: list[tuple[int, int]], reps: int) -> list[dict[str, Any]]:
    rows = []
    for n, k in sizes:
        eng: list[float] = []
        gen: list[float] = []
        grn: list[float] = []
        steps = {}
        for _ in range(reps):
            r, s, _dt = best_rate(time_engine, n, k)
            eng.append(r)
            steps["engine"] = s
            r, s, _dt = best_rate(time_generators, n, k)
            gen.append(r)
            steps["generators"] = s
            r, s, _dt = best_rate(time_greenlets, n, k)
            grn.append(r)
            steps["greenlets"] = s
        # The generator loop counts the final StopIteration pass separately;
        # the step counts must agree.
        assert steps["engine"] == steps["generators"] == steps["greenlets"] == n * k, steps
        e, g, gr = max(eng), max(gen), max(grn)
        rows.append(
            {
                "cpus": n,
                "writes_per_cpu": k,
                "steps": n * k,
                "switches": n * k - 1,
                "engine_steps_per_s": round(e),
                "generator_steps_per_s": round(g),
                "greenlet_steps_per_s": round(gr),
                "ratio": round(e / g, 4),
                "greenlet_ratio": round(gr / g, 4),
                "engine_us_per_step": round(1e6 / e, 3),
                "generator_us_per_step": round(1e6 / g, 3),
                "greenlet_us_per_step": round(1e6 / gr, 3),
            }
        )
    return rows


def _explore_cell(name: str, variant: str) -> Any:
    from kernel_port.engine.dpor import explore
    from kernel_port.scenario import program as sprogram

    prog = sprogram(name, variant)
    return explore(prog, preemption_bound=prog.preemption_bound)


def dfs_rate(name: str, variant: str) -> dict[str, Any]:
    """Steps per second inside a real DPOR search (analysis included)."""
    from kernel_port.engine.dpor import explore
    from kernel_port.scenario import program as sprogram

    prog = sprogram(name, variant)
    gc.collect()
    t0 = time.perf_counter()
    st = explore(prog, preemption_bound=prog.preemption_bound)
    dt = time.perf_counter() - t0
    return {
        "cell": f"{name} on {variant}",
        "executions": st.executions,
        "steps": st.steps,
        "seconds": round(dt, 3),
        "steps_per_s": round(st.steps / dt),
        "executions_per_s": round(st.executions / dt, 1),
        "us_per_step": round(1e6 * dt / st.steps, 2),
    }


def profile(fn: Any, top: int = 12) -> dict[str, Any]:
    """cProfile self time per function and per module.  Caveat: cProfile's
    deterministic timers charge time across greenlet switches to the frame
    that switched (CPU.park, Machine._run_cpu), so the round-robin step is
    also broken down by isolated timings (breakdown()).  pyinstrument was
    tried: with a greenlet per CPU its call tree fragments into one root per
    switch and processing it took minutes, so it is not used here."""
    return _cprofile(fn, top)


def _cprofile(fn: Any, top: int) -> dict[str, Any]:
    pr = cProfile.Profile()
    pr.enable()
    fn()
    pr.disable()
    st = pstats.Stats(pr, stream=io.StringIO())
    total = st.total_tt  # type: ignore[attr-defined]
    rows = []
    by_module: dict[str, float] = {}
    for (file, line, func), (_cc, _nc, tt, _ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        short = (
            file.split("/kernel_port/")[-1] if "/kernel_port/" in file else ("~" if file == "~" else Path(file).name)
        )
        rows.append(
            {"function": f"{short}:{line}({func})", "self_s": round(tt, 4), "self_pct": round(100 * tt / total, 1)}
        )
        by_module[short] = by_module.get(short, 0.0) + tt
    rows.sort(key=lambda r: -r["self_s"])
    mods = sorted(((m, round(100 * t / total, 1)) for m, t in by_module.items()), key=lambda x: -x[1])
    return {"profiler": "cProfile", "total_s": round(total, 3), "top": rows[:top], "by_module_pct": mods[:10]}


def _per_call(fn: Any, n: int) -> float:
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, time.perf_counter() - t0)
    return 1e6 * best / n


def breakdown(n: int = 4, k: int = 5000) -> dict[str, Any]:
    """Where one round-robin step's time goes (µs per step), by timing the
    engine's per-step pieces in isolation on a live machine, and the greenlet
    switch pair from the bare greenlet round-robin."""
    from kernel_port.engine import memory
    from kernel_port.engine.core import Machine
    from kernel_port.engine.execution import Preemptions

    total = 1e6 / max(best_rate(time_engine, n, k)[0] for _ in range(3))
    floor = 1e6 / max(best_rate(time_greenlets, n, k)[0] for _ in range(3))
    gen = 1e6 / max(best_rate(time_generators, n, k)[0] for _ in range(3))
    prog = program(n, k)
    m = Machine(n, step_budget=10**9)
    memory.BUILDING[0] = m
    try:
        m.start(prog.build(m))
        enabled_us = _per_call(m.enabled, 20000)
        en = m.enabled()
        rr = RoundRobin()
        pick_us = _per_call(lambda: rr.pick(m, en), 20000)
        pre = Preemptions()
        t0 = time.perf_counter()
        for i in range(20000):
            pre.before(m, i % n, en)
        cp_us = 1e6 * (time.perf_counter() - t0) / 20000
    finally:
        memory.BUILDING[0] = None
    parts = {
        "Machine.enabled() (rebuilt every step)": round(enabled_us, 3),
        "driver pick (RoundRobin)": round(pick_us, 3),
        "Preemptions.before (online, per step)": round(cp_us, 3),
        "greenlet switch pair + loop (bare greenlet round-robin)": round(floor, 3),
    }
    rest = total - sum(parts.values())
    parts["step()/park()/field.__set__ bookkeeping and run() loop (remainder)"] = round(rest, 3)
    return {
        "cpus": n,
        "writes_per_cpu": k,
        "engine_us_per_step": round(total, 3),
        "generator_us_per_step": round(gen, 3),
        "parts_us": parts,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int, default=None)
    args = ap.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else SIZES
    reps = args.reps or (3 if args.quick else 5)
    rows = measure(sizes, reps)
    worst = min(r["ratio"] for r in rows)
    best = max(r["ratio"] for r in rows)
    dfs = [dfs_rate("irq_work.lost-self-ipi", "v6.17+herton-rfc"), dfs_rate("x86.vector-overwrite", "v6.17")]
    bd = breakdown()
    prof_rr = profile(lambda: run(program(4, 5000), RoundRobin()))
    prof_dfs = profile(lambda: _explore_cell("irq_work.lost-self-ipi", "v6.17+herton-rfc"))
    out = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "goal": f"engine steps/s / generator round-robin steps/s >= {GOAL}",
        "goal_met": worst >= GOAL,
        "worst_ratio": worst,
        "best_ratio": best,
        "reps": reps,
        "rows": rows,
        "dfs": dfs,
        "breakdown": bd,
        "profile_round_robin": prof_rr,
        "profile_dfs": prof_dfs,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "engine_speed.json").write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    return out


def table(out: dict[str, Any]) -> list[str]:
    lines = [
        "| CPUs x writes | steps | engine steps/s | generator steps/s | ratio | greenlet floor steps/s | greenlet/generator | engine µs/step |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in out["rows"]:
        lines.append(
            f"| {r['cpus']} x {r['writes_per_cpu']} | {r['steps']} | {r['engine_steps_per_s']:,} | "
            f"{r['generator_steps_per_s']:,} | **{r['ratio']}** | {r['greenlet_steps_per_s']:,} | "
            f"{r['greenlet_ratio']} | {r['engine_us_per_step']} |"
        )
    return lines


def profile_table(p: dict[str, Any]) -> list[str]:
    lines = [
        f"Profiler: {p['profiler']}, {p['total_s']} s profiled.",
        "",
        "| function | self s | self % |",
        "|---|---|---|",
    ]
    for r in p["top"]:
        lines.append(f"| `{r['function']}` | {r['self_s']} | {r['self_pct']} |")
    lines.append("")
    lines.append("Self time by module: " + ", ".join(f"{m} {pct}%" for m, pct in p["by_module_pct"]) + ".")
    if p.get("cumulative_pct"):
        lines.append("")
        lines.append("Cumulative share: " + ", ".join(f"{f} {pct}%" for f, pct in p["cumulative_pct"].items()) + ".")
    return lines


if __name__ == "__main__":
    res = main()
    print("\n".join(table(res)))
    for d in res["dfs"]:
        print(d)
    print(res["breakdown"])
    print("\n".join(profile_table(res["profile_round_robin"])))
    print("\n".join(profile_table(res["profile_dfs"])))
