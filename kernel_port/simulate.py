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
  scheduled), and which CPU; and every such *stall*: each stretch of 20 s or more a CPU
  spent out of ``schedule()``, from its last scheduling point to its next one (or to the end
  of the run, still out);
* the soft lockups the watchdog reported (``BUG: soft lockup`` lines in dmesg): how many, and
  each report's time, CPU and "stuck for" figure, with how far that is past the watchdog's
  threshold (``get_softlockup_thresh()``: twice ``watchdog_thresh``);
* steps, wall time and the cost model.

The plot (``--plot``) has one panel per variant: the backlog over virtual time, one line per
CPU when the scenario has per-CPU backlog probes (named ``<backlog> CPU<n>``), else the total;
each stall shaded in its CPU's colour and each soft-lockup report marked on its CPU's line
with its "stuck for" figure.
"""

from __future__ import annotations

import json
import re
import traceback
from dataclasses import dataclass, field
from typing import Any

from . import hangcheck
from .engine.core import Machine
from .engine.errors import ScenarioError, Signalled, UsageError, WatchdogTimeout
from .engine.timed import TimedResult, run_timed
from .scenario import Scenario, TimedSpec, get_scenario
from .variants import Variant, parse_variant

STALL_NS = 20 * 1_000_000_000


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
        self.stalls: list[Stall] = []  # every stretch of stall_ns or more out of schedule()
        self.last_sched: list[int] = []  # per CPU: its clock at its last scheduling point
        self.machine: Machine | None = None
        self.config_override: dict[str, Any] = {}

    @property
    def config(self) -> dict[str, Any]:
        cfg = dict(self.scenario.config)
        cfg.update(self.spec.config)
        cfg.update(self.spec.size_config.get(self.size, {}))
        cfg.update(self.variant_obj.config)
        cfg.update(self.config_override)
        return cfg

    @property
    def softlockup_thresh_ns(self) -> int | None:
        """get_softlockup_thresh() of the run's watchdog (kernel/watchdog.c: twice
        watchdog_thresh), or None when the scenario does not arm the watchdog."""
        cfg = self.config
        if not cfg.get("SOFTLOCKUP_DETECTOR"):
            return None
        return 2 * int(cfg.get("watchdog_thresh", 10)) * 1_000_000_000

    def build(self, m: Machine) -> dict[int, Any]:
        hangcheck.arm(m)
        sc = self.scenario()
        k = self.variant_obj.instantiate(m)
        m.kernel = k
        progs = sc.timed_build(k, m, self.size)  # type: ignore[attr-defined]
        self.machine = m
        self.last_sched = _observe_schedule(
            m, self.first_stall, self.spec.stall_ns.get(self.size, STALL_NS), self.stalls
        )
        return {c: (lambda fn=fn: fn(k)) for c, fn in sorted(progs.items())}


@dataclass(frozen=True)
class Stall:
    """A stretch of at least the stall threshold a CPU spent out of schedule()."""

    cpu: int
    start_ns: int  # its last scheduling point before the stall
    end_ns: int  # its next one, or the end of the run
    ongoing: bool  # still out of schedule() when the run ended

    def to_json(self) -> dict[str, Any]:
        return {
            "cpu": self.cpu,
            "start_seconds": round(self.start_ns / 1e9, 3),
            "end_seconds": round(self.end_ns / 1e9, 3),
            "seconds": round((self.end_ns - self.start_ns) / 1e9, 3),
            "ongoing": self.ongoing,
        }


@dataclass(frozen=True)
class LockupReport:
    """One "BUG: soft lockup" line of the watchdog."""

    t_ns: int
    cpu: int
    stuck_for_s: int  # the report's figure: seconds in units of 2^30 ns (get_timestamp())

    def to_json(self, thresh_s: float | None) -> dict[str, Any]:
        past = None if thresh_s is None else round(self.stuck_for_s - thresh_s, 3)
        return {
            "t": round(self.t_ns / 1e9, 6),
            "cpu": self.cpu,
            "stuck_for_seconds": self.stuck_for_s,
            "past_threshold_seconds": past,
        }


_LOCKUP_RE = re.compile(r"\[\s*([0-9]+)\.([0-9]{6})\].*BUG: soft lockup - CPU#(\d+) stuck for (\d+)s!")


def lockup_reports(dmesg: list[str]) -> list[LockupReport]:
    """The watchdog's soft-lockup reports in a run's dmesg, in order."""
    out = []
    for line in dmesg:
        mt = _LOCKUP_RE.search(line)
        if mt is not None:
            t_ns = int(mt.group(1)) * 1_000_000_000 + int(mt.group(2)) * 1000
            out.append(LockupReport(t_ns, int(mt.group(3)), int(mt.group(4))))
    return out


def _observe_schedule(m: Machine, first: list[tuple[int, int]], stall_ns: int, stalls: list[Stall]) -> list[int]:
    """Engine-side bookkeeping (no steps): when each CPU last passed a scheduling point, and
    every stall (``stall_ns`` or more between two of a CPU's scheduling points).  Returns the
    per-CPU list of last scheduling points (the run's end closes the stalls still open)."""
    last = [0] * m.ncpus

    def hook(cpu: Any) -> None:
        if cpu.clock - last[cpu.id] >= stall_ns:
            stalls.append(Stall(cpu.id, last[cpu.id], cpu.clock, False))
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
    return last


def _open_stalls(prog: TimedProgram, reached_ns: int, stall_ns: int) -> list[Stall]:
    """The stalls still open when the run ended (a CPU out of schedule() since its last
    scheduling point; idle, offline and waiting stand-in CPUs are not out)."""
    m = prog.machine
    if m is None or not prog.last_sched:
        return []
    out = []
    for c in m.cpus:
        if c.halted or c.dead or c.local.get("timed_wait"):
            continue
        start = prog.last_sched[c.id]
        if reached_ns - start >= stall_ns:
            out.append(Stall(c.id, start, reached_ns, True))
    return out


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
    stalls: list[Stall] = field(default_factory=list)
    lockups: list[LockupReport] = field(default_factory=list)
    softlockup_thresh_ns: int | None = None
    preemption: str = "full"

    @property
    def longest_stall_ns(self) -> int:
        return max((st.end_ns - st.start_ns for st in self.stalls), default=0)

    @property
    def most_past_threshold_s(self) -> float | None:
        """How far the longest "stuck for" report is past the watchdog's threshold."""
        if not self.lockups or self.softlockup_thresh_ns is None:
            return None
        return max(lk.stuck_for_s for lk in self.lockups) - self.softlockup_thresh_ns / 1e9

    def to_json(self) -> dict[str, Any]:
        r = self.result
        thresh_s = None if self.softlockup_thresh_ns is None else self.softlockup_thresh_ns / 1e9
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
            "stalls": [st.to_json() for st in self.stalls],
            "longest_stall_seconds": round(self.longest_stall_ns / 1e9, 3),
            "soft_lockups": self.soft_lockups,
            "softlockup_threshold_seconds": thresh_s,
            "soft_lockup_reports": [lk.to_json(thresh_s) for lk in self.lockups],
            "preemption": self.preemption,
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
    name: str,
    variant: str,
    *,
    size: str = "full",
    until_s: float | None = None,
    wall_limit_s: float | None = None,
    config: dict[str, Any] | None = None,
) -> SimReport:
    """Run ``name``'s timed form on ``variant``.  ``config`` overrides configuration keys of
    the scenario, its size and the variant (e.g. ``{"PREEMPT_VOLUNTARY": False}`` runs the
    storm with full preemption)."""
    sc = get_scenario(name)
    spec: TimedSpec | None = getattr(sc, "timed", None)
    if spec is None:
        raise UsageError(f"scenario '{name}' has no timed form (kport simulate needs one; see docs/engine.md)")
    if size not in spec.cpus:
        raise UsageError(f"unknown size '{size}' for {name}; sizes: {', '.join(spec.cpus)}")
    v = parse_variant(variant)
    prog = TimedProgram(sc, v, size, spec)
    prog.config_override = dict(config or {})
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
    stall_ns = spec.stall_ns.get(size, STALL_NS)
    stalls = sorted(prog.stalls + _open_stalls(prog, res.reached_ns, stall_ns), key=lambda st: (st.start_ns, st.cpu))
    cfg = prog.config
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
        stall_ns=stall_ns,
        soft_lockups=lockups,
        calibration=spec.calibration,
        bounded_expected=v.name in spec.bounded_variants,
        stalls=stalls,
        lockups=lockup_reports(res.dmesg),
        softlockup_thresh_ns=prog.softlockup_thresh_ns,
        preemption=preemption_model(cfg),
    )
    return report


def preemption_model(cfg: dict[str, Any]) -> str:
    """The preemption model a configuration selects (the engine's default is full)."""
    if cfg.get("PREEMPT_RT"):
        return "PREEMPT_RT"
    if cfg.get("PREEMPT_NONE"):
        return "PREEMPT_NONE"
    if cfg.get("PREEMPT_VOLUNTARY"):
        return "PREEMPT_VOLUNTARY"
    return "full (PREEMPT)"


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
        f"preemption model: {rep.preemption}",
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
    if rep.stalls:
        longest = rep.longest_stall_ns / 1e9
        out.append(f"stalls (out of schedule() for {thr} or more): {len(rep.stalls)}, longest {longest:.3f} s")
        for st in rep.stalls[:_LIST_MAX]:
            end = "still out at the end" if st.ongoing else f"to {st.end_ns / 1e9:.3f} s"
            out.append(f"  CPU{st.cpu}: from {st.start_ns / 1e9:.3f} s {end} ({(st.end_ns - st.start_ns) / 1e9:.3f} s)")
        if len(rep.stalls) > _LIST_MAX:
            out.append(f"  ... {len(rep.stalls) - _LIST_MAX} more (--json lists them all)")
    thresh = rep.softlockup_thresh_ns
    head = f"soft lockups reported: {rep.soft_lockups}"
    if thresh is not None and rep.lockups:
        head += f" (watchdog threshold {thresh / 1e9:g} s; most past it: +{rep.most_past_threshold_s:g} s)"
    out.append(head)
    for lk in rep.lockups[:_LIST_MAX]:
        past = "" if thresh is None else f", {lk.stuck_for_s - thresh / 1e9:+g} s past the threshold"
        out.append(f"  {lk.t_ns / 1e9:.3f} s: CPU{lk.cpu} stuck for {lk.stuck_for_s}s{past}")
    if len(rep.lockups) > _LIST_MAX:
        out.append(f"  ... {len(rep.lockups) - _LIST_MAX} more (--json lists them all)")
    out.append(f"steps: {r.steps}")
    return "\n".join(out)


_LIST_MAX = 12


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.3f}"


@dataclass
class PlotPanel:
    """What one panel of the plot draws (kept apart from matplotlib so it can be tested)."""

    title: str
    lines: list[tuple[str, int | None, list[float], list[float]]]  # (label, cpu or None, xs, ys)
    spans: list[tuple[int, float, float]]  # (cpu, start s, end s): stalls
    marks: list[tuple[int, float, float, str]]  # (cpu, t s, y, label): soft-lockup reports


_PER_CPU_RE = re.compile(r" CPU(\d+)$")


def plot_panel(rep: SimReport) -> PlotPanel:
    """One report's panel: the per-CPU backlog lines (``<backlog> CPU<n>`` probes; the total
    when there are none), its stalls and its soft-lockup reports."""
    samples = rep.result.samples
    names = list(samples[0][1]) if samples else []
    xs = [t / 1e9 for t, _ in samples]
    per_cpu = []
    for n in names:
        mt = _PER_CPU_RE.search(n)
        if n.startswith(rep.backlog_name + " CPU") and mt is not None:
            per_cpu.append((f"CPU{mt.group(1)}", int(mt.group(1)), n))
    series = per_cpu or [(rep.backlog_name, None, rep.backlog_name)]
    lines = [(label, cpu, xs, [vals[n] for _, vals in samples]) for label, cpu, n in series]
    by_cpu = {cpu: ys for _, cpu, _, ys in lines if cpu is not None}
    total = lines[0][3] if lines[0][1] is None else None

    def y_at(cpu: int, t_ns: int) -> float:
        ys = by_cpu.get(cpu, total)
        if not ys:
            return 0.0
        i = min(range(len(xs)), key=lambda j: (abs(xs[j] - t_ns / 1e9), j))
        return ys[i]

    spans = [(st.cpu, st.start_ns / 1e9, st.end_ns / 1e9) for st in rep.stalls]
    marks = [(lk.cpu, lk.t_ns / 1e9, y_at(lk.cpu, lk.t_ns), f"{lk.stuck_for_s}s") for lk in rep.lockups]
    stop = "" if rep.result.stop == "time" else f"; stopped at {rep.result.reached_ns / 1e9:.3f} s ({rep.result.stop})"
    title = f"{rep.variant} ({rep.preemption}): {len(rep.stalls)} stall(s), {len(rep.lockups)} soft lockup(s){stop}"
    return PlotPanel(title, lines, spans, marks)


def plot(reports: list[SimReport], path: str) -> None:
    """A PNG: one panel per report, the backlog over virtual time per CPU; each stall (out of
    schedule() for the stall threshold or more) is a bar in its CPU's colour along the bottom
    of the panel, each soft-lockup report a cross on its CPU's line with its "stuck for"
    figure."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'kernel-port[plot]'") from None
    n = max(1, len(reports))
    fig, axes = plt.subplots(n, 1, figsize=(10, 1.0 + 2.6 * n), dpi=100, sharex=True, squeeze=False)
    other = "0.5"

    def colour(cpu: int | None) -> str:
        return f"C{cpu % 10}" if cpu is not None and cpu < 10 else other

    for ax, rep in zip(axes[:, 0], reports, strict=False):
        panel = plot_panel(rep)
        for label, cpu, xs, ys in panel.lines:
            ax.plot(xs, ys, label=label, color=colour(cpu), linewidth=1.2)
        drawn = [cpu for _, cpu, _, _ in panel.lines if cpu is not None]
        # Stall bars: one row per CPU along the bottom (in axes units, under the lines' range).
        rows = {cpu: i for i, cpu in enumerate(sorted(set(drawn) | {c for c, _, _ in panel.spans}))}
        for cpu, a, b in panel.spans:
            ax.broken_barh(
                [(a, b - a)],
                (0.02 + 0.05 * rows[cpu], 0.035),
                transform=ax.get_xaxis_transform(),
                color=colour(cpu) if cpu in drawn else other,
                alpha=0.55,
            )
        ax.set_ylim(bottom=ax.get_ylim()[0] - 0.06 * (1 + len(rows)) * (ax.get_ylim()[1] - ax.get_ylim()[0]))
        for cpu, t, y, text in panel.marks:
            c = colour(cpu) if cpu in drawn else other
            ax.plot([t], [y], marker="X", markersize=8, color=c, markeredgecolor="black", markeredgewidth=0.6)
            ax.annotate(text, (t, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7)
        if rep.result.stop != "time":
            ax.text(0.5, 0.5, rep.result.message[:90], transform=ax.transAxes, ha="center", va="center", fontsize=7)
        ax.set_title(panel.title, fontsize=9)
        ax.set_ylabel(rep.backlog_name, fontsize=8)
        ax.grid(True, alpha=0.3)
        handles, _ = ax.get_legend_handles_labels()
        thr = f"{rep.stall_ns / 1e9:g} s"
        handles += [
            Patch(color=other, alpha=0.55, label=f"stall (bar): out of\nschedule() >= {thr}"),
            Line2D([], [], marker="X", linestyle="", color=other, markeredgecolor="black", label="soft lockup report"),
        ]
        ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    if reports:
        fig.suptitle(f"{reports[0].scenario}: {reports[0].backlog_name} per CPU ({reports[0].cpus} CPUs, timed)")
    axes[-1, 0].set_xlabel("virtual time (s)")
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
    from .cliutil import writable
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
