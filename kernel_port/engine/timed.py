# SPDX-License-Identifier: GPL-2.0-only
"""Timed mode: the same machine and the same ported code, run as a discrete-event simulation.

Untimed mode (the explorer) asks only *which order*; timed mode asks *how long*.  Every step
has a cost in virtual nanoseconds (:class:`CostModel`), so each CPU has a clock, and the
driver always runs the actor whose next event is earliest:

* a CPU's next step starts at its clock; after it, the clock moves on by the step's cost
  (``step_ns`` plus an extra cost for accesses to named objects, e.g. a contended cache line);
* ``busy_loop(ns)`` is one step that completes ``ns`` later; an interrupt that arrives in
  between is taken at its arrival time and the rest of the loop continues after it (an
  interrupt stretches the interrupted code by its own duration, as on hardware);
* an interrupt is taken as soon as it is in the IRR and the CPU has interrupts on (before the
  CPU's next step at the same time), costing ``irq_entry_ns`` before the handler and
  ``irq_exit_ns`` after it;
* an IPI reaches the target's IRR ``ipi_latency_ns`` after it is sent (``self_ipi_latency_ns``
  for a self-IPI); a vector already in the IRR coalesces then;
* event sources with ``at_ns`` fire at that time and then every ``period_ns`` (timers);
* a halted or spinning CPU waits without time passing for it; when it can go again its clock
  jumps to the time of the event that let it go.

There are no choices: ties are broken by kind (arrivals and timers, then interrupt delivery,
then CPU steps) and then by CPU number, so a timed run is deterministic.  Faults (lost IPIs)
are choices of the explorer, not part of timed mode.

Probes registered with ``Machine.probe(name, fn)`` are sampled every ``sample_ns`` of virtual
time; ``Machine.dmesg`` lines carry the virtual timestamp.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from typing import Any

from . import core, memory
from .core import Machine
from .errors import KernelViolation, StepBudgetExceeded
from .execution import Program

INF = 1 << 62


@dataclass(frozen=True)
class CostModel:
    """Virtual-time costs.  Every figure is an input a scenario states (and says where it
    comes from); ``objects`` adds ``ns`` to each access of an object whose label starts with
    the given prefix (``rd.rto_lock``, ...), for cache lines many CPUs write."""

    step_ns: int = 20
    irq_entry_ns: int = 500
    irq_exit_ns: int = 500
    ipi_latency_ns: int = 1000
    self_ipi_latency_ns: int = 200
    objects: tuple[tuple[str, int], ...] = ()
    # Interrupts off with one pending for this long is reported as a hard lockup.
    hardlockup_ns: int = 10_000_000

    def describe(self) -> str:
        parts = [
            f"step {self.step_ns} ns",
            f"interrupt entry {self.irq_entry_ns} ns, exit {self.irq_exit_ns} ns",
            f"IPI latency {self.ipi_latency_ns} ns (self-IPI {self.self_ipi_latency_ns} ns)",
        ]
        parts += [f"each access to {p}* +{ns} ns" for p, ns in self.objects]
        return "; ".join(parts)


@dataclass
class TimedResult:
    """What a timed run produced."""

    until_ns: int
    reached_ns: int = 0
    steps: int = 0
    wall_s: float = 0.0
    stop: str = "time"  # "time", "quiescent", "wall-limit", "bug", "error"
    message: str = ""
    samples: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    dmesg: list[str] = field(default_factory=list)
    cost: CostModel | None = None


def _step_cost(m: Machine, cost: CostModel, acc: Any, cache: dict[Any, int]) -> int:
    if not acc:
        return 0  # the end of a busy loop: its time is already on the clock
    ns = cost.step_ns
    if cost.objects:
        for key, _kind in acc:
            extra = cache.get(key)
            if extra is None:
                label = m.key_label(key)
                extra = 0
                for prefix, add in cost.objects:
                    if label.startswith(prefix):
                        extra = add
                        break
                cache[key] = extra
            ns += extra
    return ns


def run_timed(
    program: Program,
    cost: CostModel,
    *,
    until_ns: int,
    sample_ns: int,
    wall_limit_s: float | None = None,
) -> TimedResult:
    """Run ``program`` in timed mode until ``until_ns`` of virtual time."""
    res = TimedResult(until_ns=until_ns, cost=cost)
    m = Machine(program.ncpus, step_budget=1 << 62, config=program.config, warn_fatal=program.warn_fatal)
    m.timed = cost
    # The machine stays the one objects name themselves in (kp_name) for the whole run.
    memory.BUILDING[0] = m
    t0 = time.perf_counter()
    try:
        entries = program.build(m)
        m.start(entries)
    except BaseException:
        memory.BUILDING[0] = None
        raise
    n = m.ncpus
    cpus = m.cpus
    timers: list[tuple[int, int, int]] = []  # (ns, seq, source index)
    for i, src in enumerate(m.sources):
        if src.at_ns is not None and src.budget > 0:
            timers.append((src.at_ns, i, i))
    heapq.heapify(timers)
    arrivals = m.timed_arrivals
    cache: dict[Any, int] = {}
    m.fast_cost = lambda acc: _step_cost(m, cost, acc, cache)
    # CPUs that may have something to do: not halted with an empty IRR.
    live: set[int] = {c.id for c in cpus if not c.dead}
    next_sample = 0
    probes = m.probes
    steps = 0
    check_wall = 0
    try:
        while True:
            # The earliest CPU-side event.
            best_t = INF
            second_t = INF
            best_actor = -1
            now = m.now
            drop = []
            for cid in sorted(live):
                cpu = cpus[cid]
                if cpu.dead:
                    drop.append(cid)
                    continue
                clock = cpu.clock if cpu.clock > now else now
                if cpu.apic.irr and m.irq_enabled(cpu):
                    if clock < best_t:
                        second_t = best_t
                        best_t, best_actor = clock, n + cid
                    elif clock < second_t:
                        second_t = clock
                    continue
                if cpu.halted:
                    drop.append(cid)
                    continue
                if cpu.wait is not None or (cpu.awaiting is not None and not cpu.awaiting()):
                    continue
                # A busy loop's clock is when it started (not stale): it ends busy_left later.
                t = cpu.clock + cpu.busy_left if cpu.busy_left else clock
                if t < best_t:
                    second_t = best_t
                    best_t, best_actor = t, cid
                elif t < second_t:
                    second_t = t
            for cid in drop:
                live.discard(cid)
            ev_t = INF
            if arrivals:
                ev_t = arrivals[0][0]
            if timers and timers[0][0] < ev_t:
                ev_t = timers[0][0]
            t = best_t if best_t < ev_t else ev_t
            if t >= INF:
                res.stop = "quiescent"
                break
            while next_sample <= t and next_sample <= until_ns:
                res.samples.append((next_sample, {name: float(fn()) for name, fn in probes}))
                next_sample += sample_ns
            if t > until_ns:
                res.stop = "time"
                break
            steps += 1
            if ev_t <= best_t:
                m.now = ev_t
                if arrivals and arrivals[0][0] == ev_t:
                    _, _, target, vector = heapq.heappop(arrivals)
                    tcpu = cpus[target]
                    if not tcpu.dead:
                        tcpu.apic.irr.add(vector)
                        live.add(target)
                else:
                    _, _, idx = heapq.heappop(timers)
                    src = m.sources[idx]
                    if m.source_enabled(src):
                        m.step(2 * n + idx)
                        if src.vector is not None:
                            live.add(src.cpu)
                    elif src.budget > 0 and src.period_ns:
                        pass  # guarded off this time; it fires again next period
                    if src.period_ns and src.budget > 0:
                        heapq.heappush(timers, (ev_t + src.period_ns, idx, idx))
                continue
            m.now = best_t
            if best_actor >= n:
                cpu = cpus[best_actor - n]
                if cpu.busy_left and best_t > cpu.clock:
                    cpu.busy_left -= best_t - cpu.clock
                cpu.clock = best_t
                m.step(best_actor)
                cpu.clock += cost.step_ns
            else:
                cpu = cpus[best_actor]
                # The CPU may run ahead, step after step, until the next other event.
                horizon = min(second_t, ev_t, next_sample, until_ns + 1)
                m.fast_horizon = horizon
                cpu.clock = best_t
                busy = bool(cpu.busy_left)
                cpu.busy_left = 0
                m.timed_step_cpu(cpu, busy)
            # Only halted CPUs with an empty IRR leave ``live``; they come back through an
            # arrival or a timer, which add them above.  (A spinning CPU stays in ``live``.)
            check_wall += 1
            if wall_limit_s is not None and check_wall >= 4096:
                check_wall = 0
                if time.perf_counter() - t0 > wall_limit_s:
                    res.stop = "wall-limit"
                    res.message = f"stopped after {wall_limit_s:g} s of wall time"
                    break
    except KernelViolation as e:
        res.stop = "bug"
        res.message = f"{e.kind} at {m.now / 1e9:.6f} s: {e.message}"
    except StepBudgetExceeded as e:  # pragma: no cover - the budget is effectively unlimited
        res.stop = "error"
        res.message = e.message
    finally:
        core.CUR = None
        memory.BUILDING[0] = None
    res.reached_ns = m.now
    res.steps = m.nsteps
    res.wall_s = time.perf_counter() - t0
    res.dmesg = list(m.dmesg)
    return res
