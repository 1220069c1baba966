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
from kernel_port.engine import READ_ONCE, WRITE_ONCE, Machine, Struct, cpu_relax, field
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


class Data(Struct):
    """The data a queuer hands to the work's callback (irq_work.busy-flag-race)."""

    val = field(0)


class Handled(Struct):
    """What the callback runs saw: the scenario's evidence, not kernel state (no steps)."""

    newest = field(0, shared=False)
    runs = field(0, shared=False)


class BusyFlagRace(Scenario):
    """A queuer that finds the work still PENDING trusts the running callback to see its data.

    One CPU runs a work's callback, which reads shared data; another CPU writes new data and
    queues the same work.  The queuer's claim fails while the work is PENDING, on the promise
    that the run already queued has not started reading yet and so will see the new data; a
    claim that comes after the runner dropped PENDING succeeds and queues a new run.  Either
    way the newest data must be handled.

    Before c8446b75 (tree pre-c8446b75) the runner dropped PENDING with a plain store of BUSY
    and went straight into the callback, and the queuer gave up on a plain load of the flags
    made after its plain store of the data.  On x86 both stores can wait in store buffers:
    the runner's callback reads the old data while its BUSY store is still buffered, and the
    queuer reads PENDING from memory while its data store is still buffered.  That is the SB
    (store buffering) litmus test.  c8446b75 turns the runner's store into ``xchg()`` (a fence
    on that side only: still SB, with one fence); e0bbe2d8 (the claim fix) makes the queuer
    decide on a ``cmpxchg()`` result, which drains its buffer first.  v6.17 claims with
    ``atomic_fetch_or()`` and has ``smp_mb()`` after the PENDING clear in
    ``irq_work_single()``; the mutation no-mb-irq-work-single removes that barrier.

    CPU 0 queues the work (data 0) and takes its own irq_work interrupt, whose
    ``irq_work_run()`` runs the callback; CPU 1 writes data 1 and queues the work.  A claim by
    CPU 1 that succeeds queues the work on CPU 1, whose own interrupt runs it (the requeued
    run).  Property: the newest data (1) is handled by some run of the callback.

    Under sequential consistency the race cannot happen: the queuer's data store comes before
    its load of the flags, which comes before the runner's store of BUSY, which comes before
    the callback's read of the data.  So every ``sc`` cell is OK, and the BUG cells are the
    ``tso`` ones (memory model ``tso``, issue 18; ``expect`` keys ending in ``@tso``):

    =========================================  =====  =======
    variant                                    model  verdict
    =========================================  =====  =======
    pre-c8446b75                               tso    BUG
    pre-c8446b75                               sc     OK
    pre-c8446b75+c8446b75                      tso    BUG
    pre-c8446b75+c8446b75+e0bbe2d8             tso    OK
    v6.17                                      tso    OK
    v6.17+no-mb-irq-work-single                tso    BUG
    v6.17+no-mb-irq-work-single                sc     OK
    =========================================  =====  =======

    The two ``sc`` cells prove nothing about the patches alone (they show that SC cannot see
    the race); the scenario's BUG cells are the ``tso`` ones.
    """

    name = "irq_work.busy-flag-race"
    cpus = 2
    config = {"APIC": True}
    # A key without suffix is under the scenario's memory_model ("sc"); "@tso" cells run on
    # x86-TSO (store buffers, issue 18).
    expect = {
        "pre-c8446b75": OK,
        "v6.17+no-mb-irq-work-single": OK,
        "pre-c8446b75@tso": BUG,
        "pre-c8446b75+c8446b75@tso": BUG,
        "pre-c8446b75+c8446b75+e0bbe2d8@tso": OK,
        "v6.17@tso": OK,
        "v6.17+no-mb-irq-work-single@tso": BUG,
    }

    def setup(self, k: Any, m: Machine) -> None:
        self.data = Data(name="data")
        self.handled = Handled(name="handled")
        self.work = IRQ_WORK_INIT(self.work_func, name="work")
        m.eventually(
            "the newest data (1) was handled by a run of the callback",
            lambda: self.handled.newest == 1,
        )

    def work_func(self, work: irq_work) -> None:
        # The callback handles whatever data it reads now.
        val = READ_ONCE(self.data.val)
        self.handled.runs += 1
        self.handled.newest = max(self.handled.newest, val)

    def cpu0(self, k: Any) -> None:
        # The first queue: the run happens in this CPU's irq_work interrupt.
        k.irq_work_queue(self.work)

    def cpu1(self, k: Any) -> None:
        WRITE_ONCE(self.data, "val", 1)
        k.irq_work_queue(self.work)
