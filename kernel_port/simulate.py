# SPDX-License-Identifier: GPL-2.0-only
"""``kport simulate``: a scenario's timed form, run as a discrete-event simulation.

A scenario with a timed form sets ``timed = TimedSpec(...)`` (sizes, virtual duration, the
cost model and how it was calibrated) and defines ``timed_build(k, m, size)`` returning each
CPU's program, as ``setup``/``cpuN`` do for the explorer; it registers its probes with
``m.probe(name, fn)``.  The first probe is the *backlog* the report is about.

The report (what the simulation measured; nothing in it is an input):

* the backlog over virtual time (a table, and a PNG with ``--plot``);
* its growth rate: the least-squares slope over the first half of the run, per second (a
  backlog with a ceiling, such as a tasklet pool, stops growing later; the maximum is reported
  beside it);
* when a CPU first stayed out of ``schedule()`` for 20 s or more (the engine's scheduling
  points, see Machine.sched_hooks; a halted CPU is in the idle loop, so it counts as
  scheduled), and which CPU;
* how many soft lockups the watchdog reported (``BUG: soft lockup`` lines in dmesg);
* steps, wall time and the cost model.
"""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass, field
from typing import Any

from . import hangcheck
from .engine.core import Machine
from .engine.errors import ScenarioError, Signalled, UsageError, WatchdogTimeout
from .engine.timed import CostModel, TimedResult, run_timed
from .scenario import Scenario, get_scenario
from .variants import Variant, parse_variant

STALL_NS = 20 * 1_000_000_000


@dataclass(frozen=True)
class TimedSpec:
    """A scenario's timed form."""

    cost: CostModel
    calibration: str  # how the cost model was calibrated (what figure, which parameter)
    cpus: dict[str, int]  # size name -> CPUs ("full", "small")
    until_ns: dict[str, int]  # size name -> virtual duration
    sample_ns: dict[str, int]
    config: dict[str, Any] = field(default_factory=dict)
    size_config: dict[str, dict[str, Any]] = field(default_factory=dict)  # size -> extra config
    # size -> how long out of schedule() counts as a stall (the soft-lockup threshold)
    stall_ns: dict[str, int] = field(default_factory=dict)
    bounded_variants: tuple[str, ...] = ()  # variants whose backlog the scenario expects to stay bounded


@dataclass
class TimedProgram:
    scenario: type[Scenario]
    variant_obj: Variant
    size: str
    spec: TimedSpec

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def ncpus(self) -> int:
        return self.spec.cpus[self.size]

    faults = 0
    fault_kinds: tuple[str, ...] = ()
    step_budget = 1 << 62
    warn_fatal = False

    def __post_init__(self) -> None:
        self.first_stall: list[tuple[int, int]] = []  # (when a CPU's stall reached 20 s, cpu)

    @property
    def config(self) -> dict[str, Any]:
        cfg = dict(self.scenario.config)
        cfg.update(self.spec.config)
        cfg.update(self.spec.size_config.get(self.size, {}))
        cfg.update(self.variant_obj.config)
        return cfg

    def build(self, m: Machine) -> dict[int, Any]:
        hangcheck.arm(m)
        sc = self.scenario()
        k = self.variant_obj.instantiate(m)
        m.kernel = k
        progs = sc.timed_build(k, m, self.size)  # type: ignore[attr-defined]
        _observe_schedule(m, self.first_stall, self.spec.stall_ns.get(self.size, STALL_NS))
        return {c: (lambda fn=fn: fn(k)) for c, fn in sorted(progs.items())}


def _observe_schedule(m: Machine, first: list[tuple[int, int]], stall_ns: int) -> None:
    """Engine-side bookkeeping (no steps): when each CPU last passed a scheduling point."""
    last = [0] * m.ncpus

    def hook(cpu: Any) -> None:
        last[cpu.id] = cpu.clock

    m.sched_hooks.append(hook)

    def longest_out() -> float:
        now = m.now
        worst = 0
        for c in m.cpus:
            # Idle, offline, or a scenario's stand-in waiting (primitives.timed_wait: the CPUs
            # it stands for keep scheduling): not out of schedule().
            if c.halted or c.dead or c.local.get("timed_wait"):
                last[c.id] = now
                continue
            out = now - last[c.id]
            if out >= stall_ns and not first:
                first.append((last[c.id] + stall_ns, c.id))
            worst = max(worst, out)
        return worst / 1e9

    m.probes.append(("longest out of schedule() (s)", longest_out))


@dataclass
class SimReport:
    scenario: str
    variant: str
    size: str
    cpus: int
    result: TimedResult
    backlog_name: str
    growth_per_s: float
    max_backlog: float
    final_backlog: float
    first_stall_ns: int | None
    first_stall_cpu: int | None
    stall_ns: int
    soft_lockups: int
    calibration: str
    bounded_expected: bool

    def to_json(self) -> dict[str, Any]:
        r = self.result
        return {
            "scenario": self.scenario,
            "variant": self.variant,
            "size": self.size,
            "cpus": self.cpus,
            "virtual_seconds": r.reached_ns / 1e9,
            "until_seconds": r.until_ns / 1e9,
            "stop": r.stop,
            "message": r.message,
            "backlog": self.backlog_name,
            "growth_per_second": round(self.growth_per_s, 3),
            "max_backlog": self.max_backlog,
            "final_backlog": self.final_backlog,
            "first_stall_seconds": None if self.first_stall_ns is None else round(self.first_stall_ns / 1e9, 3),
            "first_stall_cpu": self.first_stall_cpu,
            "stall_threshold_seconds": self.stall_ns / 1e9,
            "soft_lockups": self.soft_lockups,
            "steps": r.steps,
            "cost_model": r.cost.describe() if r.cost else "",
            "calibration": self.calibration,
            "samples": [{"t": t / 1e9, **vals} for t, vals in r.samples],
        }


def _slope(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    den = sum((p[0] - mx) ** 2 for p in points)
    if den == 0:
        return 0.0
    return sum((p[0] - mx) * (p[1] - my) for p in points) / den


def simulate(
    name: str, variant: str, *, size: str = "full", until_s: float | None = None, wall_limit_s: float | None = None
) -> SimReport:
    sc = get_scenario(name)
    spec: TimedSpec | None = getattr(sc, "timed", None)
    if spec is None:
        raise UsageError(f"scenario '{name}' has no timed form (kport simulate needs one; see docs/engine.md)")
    if size not in spec.cpus:
        raise UsageError(f"unknown size '{size}' for {name}; sizes: {', '.join(spec.cpus)}")
    v = parse_variant(variant)
    prog = TimedProgram(sc, v, size, spec)
    until = spec.until_ns[size] if until_s is None else int(until_s * 1e9)
    try:
        res = run_timed(prog, spec.cost, until_ns=until, sample_ns=spec.sample_ns[size], wall_limit_s=wall_limit_s)
    except BaseException as e:  # the scenario or a port raised: its defect (verdict error), not a finding
        if Signalled.is_stop(e):
            raise
        if isinstance(e, ScenarioError | WatchdogTimeout):
            kind, text = e.kind, str(e)
        else:
            kind, text = type(e).__name__, f"{type(e).__name__}: {_text(e)}"
        raise SimulationError(name, v.name, kind, text, traceback.format_exc()) from None
    if res.stop == "error":
        raise SimulationError(name, v.name, "error", res.message, "")
    names = list(res.samples[0][1]) if res.samples else []
    backlog = names[0] if names else ""
    pts = [(t / 1e9, vals[backlog]) for t, vals in res.samples] if backlog else []
    half = pts[: len(pts) // 2 + 1]
    first_ns, first_cpu = prog.first_stall[0] if prog.first_stall else (None, None)
    lockups = sum(1 for line in res.dmesg if "BUG: soft lockup" in line)
    report = SimReport(
        scenario=name,
        variant=v.name,
        size=size,
        cpus=prog.ncpus,
        result=res,
        backlog_name=backlog,
        growth_per_s=_slope(half),
        max_backlog=max((p[1] for p in pts), default=0.0),
        final_backlog=pts[-1][1] if pts else 0.0,
        first_stall_ns=first_ns,
        first_stall_cpu=first_cpu,
        stall_ns=spec.stall_ns.get(size, STALL_NS),
        soft_lockups=lockups,
        calibration=spec.calibration,
        bounded_expected=v.name in spec.bounded_variants,
    )
    return report


class SimulationError(Exception):
    """A timed run that the scenario or a port broke (verdict ``error``, exit 4)."""

    def __init__(self, scenario: str, variant: str, kind: str, message: str, tb: str) -> None:
        super().__init__(message)
        self.scenario, self.variant, self.kind, self.message, self.traceback = scenario, variant, kind, message, tb

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "variant": self.variant,
            "verdict": "error",
            "kind": self.kind,
            "message": self.message,
            "traceback": self.traceback or None,
        }

    def render(self) -> str:
        head = f"{self.scenario} on {self.variant}: ERROR ({self.kind}): {self.message}"
        return head + ("\n\n" + self.traceback.rstrip() if self.traceback else "")


def _text(e: BaseException) -> str:
    try:
        return str(e)
    except Exception:
        return f"<{type(e).__name__}: str() raised>"


def render_text(rep: SimReport, rows: int = 13) -> str:
    r = rep.result
    out = [
        f"{rep.scenario} on {rep.variant}: timed simulation, {rep.cpus} CPUs, "
        f"{r.reached_ns / 1e9:.3f} s of virtual time ({r.stop}{': ' + r.message if r.message else ''})",
        f"cost model: {r.cost.describe() if r.cost else '-'}",
        f"calibration: {rep.calibration}",
        "",
    ]
    names = list(r.samples[0][1]) if r.samples else []
    if names:
        step = max(1, (len(r.samples) - 1) // (rows - 1))
        picked = r.samples[::step]
        if picked[-1] is not r.samples[-1]:
            picked.append(r.samples[-1])
        header = ["t (s)", *names]
        table = [[f"{t / 1e9:.2f}", *(_num(vals[n]) for n in names)] for t, vals in picked]
        widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(header)]
        out.append("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
        for row in table:
            out.append("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
        out.append("")
    thr = f"{rep.stall_ns / 1e9:g} s"
    stall = (
        f"no CPU stayed out of schedule() for {thr}"
        if rep.first_stall_ns is None
        else f"CPU{rep.first_stall_cpu} first stayed out of schedule() for {thr} at {rep.first_stall_ns / 1e9:.3f} s"
    )
    out.append(
        f"{rep.backlog_name} growth: {rep.growth_per_s:+.1f} per second (first half); max {_num(rep.max_backlog)}"
    )
    out.append(stall)
    out.append(f"soft lockups reported: {rep.soft_lockups}")
    out.append(f"steps: {r.steps}")
    return "\n".join(out)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.3f}"


def plot(reports: list[SimReport], path: str) -> None:
    """A PNG of the backlog over virtual time, one line per report."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'kernel-port[plot]'") from None
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for rep in reports:
        xs = [t / 1e9 for t, _ in rep.result.samples]
        ys = [vals[rep.backlog_name] for _, vals in rep.result.samples]
        ax.plot(xs, ys, label=rep.variant)
    if reports:
        ax.set_title(f"{reports[0].scenario}: {reports[0].backlog_name} ({reports[0].cpus} CPUs, timed)")
        ax.set_ylabel(reports[0].backlog_name)
    ax.set_xlabel("virtual time (s)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)


def to_json_text(reports: list[Any]) -> str:
    data: Any = reports[0].to_json() if len(reports) == 1 else [r.to_json() for r in reports]
    return json.dumps(data, indent=2, sort_keys=True)


def cmd_simulate(args: Any) -> int:
    """``kport simulate``: exit 4 when the scenario or a port broke a run (verdict error),
    else 1 when a CPU stalled, a soft lockup fired or the run found a violation (a hard
    lockup, a BUG), else 3 when ``--wall-limit`` cut a run short, else 0."""
    from .matrix import writable
    from .scenario import default_variant

    variants = args.variant or [default_variant(get_scenario(args.scenario))]
    if args.plot:
        writable(args.plot, "--plot")
    results: list[SimReport | SimulationError] = []
    for v in variants:
        try:
            results.append(simulate(args.scenario, v, size=args.size, until_s=args.until, wall_limit_s=args.wall_limit))
        except SimulationError as e:
            results.append(e)
    reports = [r for r in results if isinstance(r, SimReport)]
    errors = [r for r in results if isinstance(r, SimulationError)]
    if args.plot and reports:
        plot(reports, args.plot)
    if args.json:
        print(to_json_text(results))
    else:
        print("\n\n".join(r.render() if isinstance(r, SimulationError) else render_text(r) for r in results))
    if errors:
        return 4
    stalled = any(r.soft_lockups or r.first_stall_ns is not None or r.result.stop == "bug" for r in reports)
    if stalled:
        return 1
    return 3 if any(r.result.stop == "wall-limit" for r in reports) else 0
