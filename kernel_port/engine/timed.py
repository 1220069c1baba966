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

There are no choices: arrivals and timers go first at equal times, then the lower CPU
number (a CPU with a deliverable interrupt takes it before its own next step), so a timed run
is deterministic.  Faults (lost IPIs) are choices of the explorer, not part of timed mode.

Probes registered with ``Machine.probe(name, fn)`` are sampled every ``sample_ns`` of virtual
time, with ``m.now`` at the sample's time; ``Machine.dmesg`` lines carry the virtual timestamp.

How it is run cheaply, with the same result as one trip through the driver loop per step
(``run_timed(step_by_step=True)``, which tests/test_timed.py compares against): the CPU the
driver starts goes on step after step in its own greenlet (Machine.timed_inline) while its
clock is before every other event the driver knew of and none of its stores freed a blocked
CPU; when it cannot, the next event is chosen from that greenlet (:meth:`_Driver.handoff`):
arrivals and timers are run there, another CPU's step or interrupt delivery is started by
switching straight to that CPU's greenlet, and only samples and the end go back to the loop.
When the run stopped just because the next CPU's time came, that CPU is found without a scan
if nothing the scan saw can have moved (:meth:`_Driver.quick_next`).
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


class _Driver:
    """The event loop's state, and the choice of the next event.

    The driver runs in the root greenlet; a CPU the driver runs goes on step after step in
    line (Machine.timed_inline) until another event could come first.  It then asks
    :meth:`handoff`: when the next event is another CPU's step, that CPU is started from
    here, straight from one CPU's greenlet to the other's, with the same choice and the same
    bookkeeping as the driver loop makes (one greenlet switch instead of two, and no trip
    through the loop); any other next event (an arrival, a timer, an interrupt delivery, a
    sample, the end) goes back to the driver loop."""

    def __init__(self, m: Machine, until_ns: int, wall_limit_s: float | None, t0: float) -> None:
        self.m = m
        self.n = m.ncpus
        self.cpus = m.cpus
        self.until_ns = until_ns
        self.wall_limit_s = wall_limit_s
        self.t0 = t0
        self.timers: list[tuple[int, int, int]] = []  # (ns, seq, source index)
        for i, src in enumerate(m.sources):
            if src.at_ns is not None and src.budget > 0:
                self.timers.append((src.at_ns, i, i))
        heapq.heapify(self.timers)
        self.arrivals = m.timed_arrivals
        self.irrs = [c.apic.irr for c in m.cpus]  # each APIC keeps its IRR set for good
        # CPUs that may have something to do: not halted with an empty IRR.
        self.live: set[int] = {c.id for c in m.cpus if not c.dead}
        self.order = sorted(self.live)  # ``live`` in CPU order
        self.dirty = False  # ``live`` changed since ``order`` was made
        self.next_sample = 0
        self.check_wall = 0
        self.step_by_step = False
        self.step_ns = m.timed.step_ns
        # What the last scan() found.
        self.best_t = INF
        self.best_actor = -1
        self.second_t = INF
        self.second_actor = -1
        self.third_t = INF
        self.ev_t = INF
        self.blocked: list[Any] = []

    def wake(self, cid: int) -> None:
        if cid not in self.live:
            self.live.add(cid)
            self.dirty = True

    def scan(self) -> None:
        """The earliest CPU-side event (ties go to the lower CPU number), the one after it,
        the earliest arrival or timer, and the CPUs that are blocked."""
        if self.dirty:
            self.order = sorted(self.live)
            self.dirty = False
        cpus = self.cpus
        n = self.n
        irq_enabled = self.m.irq_enabled
        best_t = INF
        second_t = INF
        third_t = INF
        best_actor = -1
        second_actor = -1
        now = self.m.now
        drop = None
        blocked = []  # spinning or awaiting: what a store of the CPU run next may wake
        irrs = self.irrs
        for cid in self.order:
            cpu = cpus[cid]
            if cpu.dead:
                if drop is None:
                    drop = []
                drop.append(cid)
                continue
            w = cpu.wait
            if w is not None:
                blocked.append(cpu)
            if irrs[cid] and irq_enabled(cpu):
                clock = cpu.clock
                if clock < now:
                    clock = now
                if clock < best_t:
                    third_t = second_t
                    second_t, second_actor = best_t, best_actor
                    best_t, best_actor = clock, n + cid
                elif clock < second_t:
                    third_t = second_t
                    second_t, second_actor = clock, n + cid
                elif clock < third_t:
                    third_t = clock
                continue
            if cpu.halted:
                if drop is None:
                    drop = []
                drop.append(cid)
                continue
            if w is not None:
                continue
            aw = cpu.awaiting
            if aw is not None and not aw():
                blocked.append(cpu)
                continue
            # A busy loop's clock is when it started (not stale): it ends busy_left later.
            busy = cpu.busy_left
            if busy:
                t = cpu.clock + busy
            else:
                t = cpu.clock
                if t < now:
                    t = now
            if t < best_t:
                third_t = second_t
                second_t, second_actor = best_t, best_actor
                best_t, best_actor = t, cid
            elif t < second_t:
                third_t = second_t
                second_t, second_actor = t, cid
            elif t < third_t:
                third_t = t
        if drop is not None:
            # Only halted CPUs with an empty IRR leave ``live``; they come back through an
            # arrival or a timer (wake()).  A spinning CPU stays.
            for cid in drop:
                self.live.discard(cid)
            self.dirty = True
        arrivals = self.arrivals
        timers = self.timers
        ev_t = arrivals[0][0] if arrivals else INF
        if timers and timers[0][0] < ev_t:
            ev_t = timers[0][0]
        self.best_t = best_t
        self.best_actor = best_actor
        self.second_t = second_t
        self.second_actor = second_actor
        self.third_t = third_t
        self.ev_t = ev_t
        self.blocked = blocked

    def set_horizon(self) -> None:
        """How far the CPU started now may run ahead in line: up to the next other event."""
        m = self.m
        horizon = self.second_t
        if self.ev_t < horizon:
            horizon = self.ev_t
        if self.next_sample < horizon:
            horizon = self.next_sample
        if self.until_ns + 1 < horizon:
            horizon = self.until_ns + 1
        if self.step_by_step:
            horizon = 0  # stop after one step
        m.fast_horizon = horizon
        m.fast_blocked = self.blocked

    def start_cpu(self, cpu: Any) -> None:
        """Set up the run of ``cpu``'s next step (the driver's choice ``best_actor``)."""
        m = self.m
        best_t = self.best_t
        m.now = best_t
        self.set_horizon()
        cpu.clock = best_t
        busy = cpu.busy_left
        cpu.busy_left = 0
        m.nsteps += 1
        m.values = []
        m.stores = []
        m.fast = cpu
        # A step that completes a busy loop costs nothing more: its time is on the clock.
        m.fast_ns = 0 if busy else m.timed_cost(cpu)
        m.fast_post = True

    def start_delivery(self, cpu: Any) -> int:
        """Set up the delivery of ``cpu``'s deliverable interrupt (the driver's choice
        ``n + cpu``) as a step run in line: what Machine.step() does for it, its cost
        (``step_ns``) accounted when the handler first parks.  Returns the vector."""
        m = self.m
        best_t = self.best_t
        m.now = best_t
        self.set_horizon()
        if cpu.busy_left and best_t > cpu.clock:
            cpu.busy_left -= best_t - cpu.clock
        cpu.clock = best_t
        m.nsteps += 1
        m.values = []
        vec: int = cpu.apic.accept()
        cpu.halted = False
        m.stores = [cpu.apic_key]
        m.fast = cpu
        m.fast_ns = self.step_ns
        m.fast_post = True
        m.fast_delivery = True
        return vec

    def event(self, ev_t: int) -> None:
        """Run the earliest arrival or timer (engine side)."""
        m = self.m
        m.now = ev_t
        arrivals = self.arrivals
        if arrivals and arrivals[0][0] == ev_t:
            _, _, target, vector = heapq.heappop(arrivals)
            tcpu = self.cpus[target]
            if not tcpu.dead:
                tcpu.apic.irr.add(vector)
                self.wake(target)
            return
        _, _, idx = heapq.heappop(self.timers)
        src = m.sources[idx]
        if m.source_enabled(src):
            m.step(2 * self.n + idx)
            if src.vector is not None:
                self.wake(src.cpu)
        # (a source guarded off this time fires again next period)
        if src.period_ns and src.budget > 0:
            heapq.heappush(self.timers, (ev_t + src.period_ns, idx, idx))

    def quick_next(self, cpu: Any) -> Any:
        """The next CPU to run when ``cpu`` stopped only because it reached the next CPU's time
        (Machine.timed_inline sets ``fast_horizon_stop``), found without a scan: if nothing
        the last scan saw has moved -- that CPU can still go at the same time, and it is
        strictly before the event after it, the next arrival or timer and the next sample --
        it comes next, and ``cpu`` (at its clock) or that event after it comes second.
        Returns None when any of that is not certain (the caller scans)."""
        m = self.m
        sa = self.second_actor
        if not 0 <= sa < self.n or self.check_wall >= 4095:
            return None
        s_t = self.second_t
        # The run may have sent IPIs: their arrivals are new events.
        arrivals = self.arrivals
        timers = self.timers
        ev_t = arrivals[0][0] if arrivals else INF
        if timers and timers[0][0] < ev_t:
            ev_t = timers[0][0]
        self.ev_t = ev_t
        if m.fast_horizon != s_t or not (
            s_t < self.third_t and s_t < ev_t and s_t < self.next_sample and s_t <= self.until_ns
        ):
            return None
        nxt = self.cpus[sa]
        if nxt is cpu or nxt.dead or nxt.halted or nxt.booting or nxt.wait is not None:
            return None
        if nxt.apic.irr and m.irq_enabled(nxt):
            return None
        aw = nxt.awaiting
        if aw is not None and not aw():
            return None
        busy = nxt.busy_left
        if busy:
            t = nxt.clock + busy
        else:
            t = nxt.clock
            if t < m.now:
                t = m.now
        c_t = cpu.clock
        if t != s_t or c_t < t or (c_t == t and cpu.id < sa):
            return None
        self.check_wall += 1
        self.best_t = t
        self.best_actor = sa
        if c_t < self.third_t:
            self.second_t = c_t
            self.second_actor = cpu.id
        else:
            self.second_t = self.third_t
            self.second_actor = -1  # not known without a scan
        return nxt

    def root_switch(self, cpu: Any) -> Any:
        """handoff() when running step by step: always back to the driver loop."""
        self.m.fast_horizon_stop = False
        return self.m.root.switch()

    def handoff(self, cpu: Any) -> Any:
        """Called by the CPU the driver was running (in its greenlet) when it cannot go on in
        line; its last step is accounted.  Runs what comes next as the driver loop would:
        arrivals and timers here, engine-side; another CPU's step or interrupt delivery by
        switching to that CPU's greenlet.  Samples, the end and the wall-time check go back
        to the driver loop.  Returns what the CPU's park() (or busy loop) gets back: None
        (its next step runs) or a vector to take."""
        m = self.m
        n = self.n
        if m.fast_horizon_stop:
            m.fast_horizon_stop = False
            target = self.quick_next(cpu)
            if target is not None:
                self.start_cpu(target)
                core.CUR = target
                return target.g.switch(None)
        while True:
            self.check_wall += 1
            if self.check_wall >= 4096:
                break
            self.scan()
            best_t = self.best_t
            ev_t = self.ev_t
            t = best_t if best_t < ev_t else ev_t
            if t >= self.next_sample or t > self.until_ns:
                break  # (also when nothing is left: t is INF)
            if ev_t <= best_t:
                core.CUR = None
                self.event(ev_t)
                core.CUR = cpu
                continue
            nxt = self.best_actor
            if nxt >= n:
                target = self.cpus[nxt - n]
                cmd = self.start_delivery(target)
            else:
                target = self.cpus[nxt]
                if target.booting:
                    break
                self.start_cpu(target)
                cmd = None
            if target is cpu:
                return cmd
            core.CUR = target
            g = target.g
            assert g is not None
            return g.switch(cmd)
        return m.root.switch()

    def run(self, res: TimedResult, sample_ns: int, step_ns: int) -> None:
        m = self.m
        n = self.n
        cpus = self.cpus
        probes = m.probes
        samples = res.samples
        until_ns = self.until_ns
        wall_limit_s = self.wall_limit_s
        while True:
            self.scan()
            best_t = self.best_t
            ev_t = self.ev_t
            t = best_t if best_t < ev_t else ev_t
            if t >= INF:
                res.stop = "quiescent"
                break
            if self.next_sample <= t:
                # Probes read the machine as it is at the sample's time (``m.now`` says so).
                now = m.now
                while self.next_sample <= t and self.next_sample <= until_ns:
                    m.now = self.next_sample
                    samples.append((self.next_sample, {name: float(fn()) for name, fn in probes}))
                    self.next_sample += sample_ns
                m.now = now
            if t > until_ns:
                res.stop = "time"
                break
            if ev_t <= best_t:
                self.event(ev_t)
                continue
            best_actor = self.best_actor
            if best_actor >= n:
                m.now = best_t
                cpu = cpus[best_actor - n]
                if cpu.busy_left and best_t > cpu.clock:
                    cpu.busy_left -= best_t - cpu.clock
                cpu.clock = best_t
                m.step(best_actor)
                cpu.clock += step_ns
            else:
                self.start_cpu(cpus[best_actor])
                m.timed_run_cpu(cpus[best_actor])
            self.check_wall += 1
            if self.check_wall >= 4096:
                self.check_wall = 0
                if wall_limit_s is not None and time.perf_counter() - self.t0 > wall_limit_s:
                    res.stop = "wall-limit"
                    res.message = f"stopped after {wall_limit_s:g} s of wall time"
                    break


def run_timed(
    program: Program,
    cost: CostModel,
    *,
    until_ns: int,
    sample_ns: int,
    wall_limit_s: float | None = None,
    step_by_step: bool = False,
) -> TimedResult:
    """Run ``program`` in timed mode until ``until_ns`` of virtual time.

    ``step_by_step``: no running ahead in line and no handing over between CPUs: one trip
    through the driver loop per step (slow; the reference tests/test_timed.py compares the
    fast paths against -- same results, byte for byte)."""
    res = TimedResult(until_ns=until_ns, cost=cost)
    m = Machine(program.ncpus, step_budget=1 << 62, config=program.config, warn_fatal=program.warn_fatal)
    m.timed_setup(cost)
    # The machine stays the one objects name themselves in (kp_name) for the whole run.
    memory.BUILDING[0] = m
    t0 = time.perf_counter()
    try:
        entries = program.build(m)
        m.start(entries)
    except BaseException:
        memory.BUILDING[0] = None
        raise
    driver = _Driver(m, until_ns, wall_limit_s, t0)
    driver.step_by_step = step_by_step
    m.timed_handoff = driver.root_switch if step_by_step else driver.handoff
    try:
        driver.run(res, sample_ns, cost.step_ns)
    except KernelViolation as e:
        res.stop = "bug"
        res.message = f"{e.kind} at {m.now / 1e9:.6f} s: {e.message}"
    except StepBudgetExceeded as e:  # pragma: no cover - the budget is effectively unlimited
        res.stop = "error"
        res.message = e.message
    finally:
        m.timed_handoff = core._no_handoff
        core.CUR = None
        memory.BUILDING[0] = None
    res.reached_ns = m.now
    res.steps = m.nsteps
    res.wall_s = time.perf_counter() - t0
    res.dmesg = list(m.dmesg)
    return res
