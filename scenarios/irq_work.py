# SPDX-License-Identifier: GPL-2.0-only
"""irq_work on x86: the lost self-IPI and the tick-kick lockup (family ``irq_work.``).

Two sides of one trade-off.  With an irq_work interrupt, raised work runs only from that
interrupt (76a33061): a lost interrupt strands it (lost-self-ipi).  Letting the tick run it
again fixes that, but the tick runs inside its own hrtimer callback, and work that restarts
the tick from there cancels the running hrtimer (tick-kick-lockup).
"""

from __future__ import annotations

from typing import Any

from kernel_port.arch.x86.kernel.irq_work import IRQ_WORK_VECTOR
from kernel_port.engine import Machine, Struct, cpu_relax, field
from kernel_port.kernel.irq_work import IRQ_WORK_INIT, irq_work
from kernel_port.kernel.time.hrtimer import (
    CLOCK_MONOTONIC,
    HRTIMER_MODE_ABS_HARD,
    HRTIMER_NORESTART,
    arm_at_setup,
    hrtimer,
)
from kernel_port.kernel.time.tick_sched import BOOT_NS, TICK_DEP_BIT_SCHED, TICK_NSEC, TS_FLAG_STOPPED
from kernel_port.scenario import BUG, OK, Scenario


class Ran(Struct):
    """Which callbacks ran (the property's evidence)."""

    work0 = field(0)
    work1 = field(0)
    work2 = field(0)


class RanTwo(Struct):
    """Which of the two callbacks ran (irq_work.lost-self-ipi-idle-cpu)."""

    work0 = field(0)
    work1 = field(0)


class Task(Struct):
    """What the polling task on the nohz_full CPU waits for."""

    woken = field(0)


class LostSelfIpi(Scenario):
    """One lost irq_work self-IPI strands every later irq_work on that CPU.

    With a working local APIC, the raised list of a CPU is drained only by the irq_work
    self-IPI: ``irq_work_tick()`` skips it and ``irq_work_needs_cpu()`` does not keep the tick
    for it.  ``__irq_work_queue_local()`` raises the IPI only when ``llist_add()`` finds the
    list empty.  CPU 0 queues three works; the first self-IPI is lost (fault budget 1, only
    IRQ_WORK_VECTOR may be lost).  The later queues see ``llist_add() -> false`` and raise
    nothing; the CPU idles, and the nohz idle path stops the tick (only the timekeeping
    deferment keeps one far-off tick, which skips the raised list).

    Property: every queued irq_work eventually runs.

    The tick is modelled where the question is: it may fire (once) while the CPU idles, which
    is when it would have to rescue the stranded work.  One CPU suffices: the bug is local.
    """

    name = "irq_work.lost-self-ipi"
    cpus = 1
    faults = 1
    fault_kinds = ("lost-ipi",)
    config = {"APIC": True, "NO_HZ_IDLE": True}
    expect = {
        "v6.17": BUG,
        "v6.17+herton-rfc": OK,
        "v6.17+tick-reraise": OK,
        "pre-76a33061": OK,
    }

    def setup(self, k: Any, m: Machine) -> None:
        m.lossy_vectors = frozenset({IRQ_WORK_VECTOR})
        self.ran = Ran(name="ran")
        self.works = [IRQ_WORK_INIT(self.work_func, name=f"work{i}") for i in range(3)]
        k.tick_event_source(0, budget=1, idle_only=True)
        m.eventually(
            "every queued irq_work ran",
            lambda: all(self.ran.raw(w.kp_name) for w in self.works),
        )

    def work_func(self, work: irq_work) -> None:
        setattr(self.ran, work.kp_name, 1)

    def cpu0(self, k: Any) -> None:
        for work in self.works:
            k.irq_work_queue(work)


class LostSelfIpiIdleCpu(Scenario):
    """irq_work.lost-self-ipi on a CPU that does not keep the time: only a kept tick rescues it.

    Two CPUs.  CPU 0 holds the timekeeping duty (``tick_do_timer_cpu``) and just idles; CPU 1
    queues two works, and its first irq_work self-IPI is lost (fault budget 1, only
    IRQ_WORK_VECTOR may be lost).  When CPU 1 idles, ``tick_nohz_next_event()`` gives it no
    timekeeping deferment (it is not, and was not last, the timekeeper): unless
    ``irq_work_needs_cpu()`` keeps its tick, the tick hrtimer is cancelled and CPU 1 never
    ticks again.  So a fix must both keep the tick for raised work and have the tick (or the
    interrupt it re-raises) run it.

    Property: every queued irq_work eventually runs.

    This is the scenario that tells herton-rfc from its ``irq_work_tick()`` hunk alone: on
    irq_work.lost-self-ipi the one CPU is the timekeeper and keeps a deferred tick, so the tick
    hunk alone is OK there; here it is BUG (``kport ablate herton-rfc``, and the ablation cells
    in tests/test_review.py).  The tick of CPU 1 may fire (once) while it idles.
    """

    name = "irq_work.lost-self-ipi-idle-cpu"
    cpus = 2
    faults = 1
    fault_kinds = ("lost-ipi",)
    config = {"APIC": True, "NO_HZ_IDLE": True}
    expect = {
        "v6.17": BUG,
        "v6.17+herton-rfc": OK,
        "v6.17+tick-reraise": OK,
    }

    def setup(self, k: Any, m: Machine) -> None:
        m.lossy_vectors = frozenset({IRQ_WORK_VECTOR})
        assert k.tick_do_timer.raw("tick_do_timer_cpu") == 0, "CPU 0 keeps the time"
        self.ran = RanTwo(name="ran")
        self.works = [IRQ_WORK_INIT(self.work_func, name=f"work{i}") for i in range(2)]
        k.tick_event_source(1, budget=1, idle_only=True)
        m.eventually(
            "every queued irq_work ran",
            lambda: all(self.ran.raw(w.kp_name) for w in self.works),
        )

    def work_func(self, work: irq_work) -> None:
        setattr(self.ran, work.kp_name, 1)

    def cpu1(self, k: Any) -> None:
        for work in self.works:
            k.irq_work_queue(work)


class TickKickLockup(Scenario):
    """The 2014 nohz_full lockup: the kick work cancels the tick hrtimer from its own callback.

    CPU 1 is nohz_full and runs one task, which polls for an event that a timer on CPU 1 will
    signal; its tick is stopped, and ``sched_timer`` is armed as the one-shot next-event timer.
    A task's hrtimer on CPU 1 expires just before it, so both run in the same local timer
    interrupt.  The first callback wakes a task (the scheduler sets
    the SCHED tick dependency), which kicks the CPU: ``tick_nohz_full_kick()`` queues the kick
    work on the raised list and raises the irq_work IPI, which cannot arrive yet (interrupts
    are off in the handler).  Then the tick's callback runs and reaches ``irq_work_tick()``.  If
    the tick runs the raised list there, the kick work runs inside the tick hrtimer's callback;
    the 2014 kick work restarted the tick, and ``hrtimer_cancel()`` on a timer whose callback is
    running waits for the callback to finish: forever, with interrupts off.

    Property: no CPU waits forever (deadlock).

    v6.17+herton-rfc is OK only because today's kick work is empty: the tick is restarted at
    interrupt exit, outside the callback.
    """

    name = "irq_work.tick-kick-lockup"
    cpus = 2
    config = {"APIC": True, "NO_HZ_FULL": True, "nohz_full": (1,)}
    expect = {
        "pre-76a33061": BUG,
        "pre-76a33061+76a33061": OK,
        "pre-76a33061+76a33061+herton-rfc": BUG,
        "v6.17": OK,
        "v6.17+herton-rfc": OK,
        "v6.17+tick-reraise": OK,
    }

    def setup(self, k: Any, m: Machine) -> None:
        self.k = k
        self.task = Task(name="task")
        next_event = BOOT_NS + 3 * TICK_NSEC
        # CPU 1: tick stopped since BOOT_NS, sched_timer armed for the next event.
        ts = k.tick_cpu_sched[1]
        ts.flags = ts.raw("flags") | TS_FLAG_STOPPED
        ts.last_tick = BOOT_NS
        ts.next_tick = next_event
        arm_at_setup(ts.sched_timer, next_event)
        # A sleeping task's hrtimer on CPU 1, due just before the tick.
        self.wakeup = hrtimer(name="wakeup_timer")
        k.hrtimer_setup(self.wakeup, self.hrtimer_wakeup, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD, cpu=1)
        arm_at_setup(self.wakeup, next_event - TICK_NSEC // 2)
        k.tick_event_source(1, budget=1)

    def hrtimer_wakeup(self, timer: hrtimer) -> int:
        # The woken task makes two runnable tasks on nohz_full CPU 1: the scheduler sets the
        # SCHED tick dependency, which kicks the CPU.  The polling task sees the event.
        self.k.tick_nohz_dep_set_cpu(1, TICK_DEP_BIT_SCHED)
        self.task.woken = 1
        return HRTIMER_NORESTART

    def cpu1(self, k: Any) -> None:
        # A user task polls (as nohz_full workloads do) for the event the timer signals; the
        # local timer interrupts it somewhere in the loop.
        while not self.task.woken:
            cpu_relax("the polling task waits for the timer's event")
