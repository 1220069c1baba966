# SPDX-License-Identifier: GPL-2.0-only
"""irq_work on PREEMPT_RT: which context runs a callback (family ``irq_work.``, RT part)."""

from __future__ import annotations

from typing import Any

from kernel_port.engine import Machine
from kernel_port.engine.locks import spin_lock, spin_unlock, spinlock_t
from kernel_port.kernel.irq_work import IRQ_WORK_INIT, irq_work
from kernel_port.scenario import BUG, FIND, OK, Scenario


class RtSleepingLock(Scenario):
    """A PREEMPT_RT irq_work callback takes a spinlock_t, a sleeping lock, in hard interrupt context.

    On PREEMPT_RT a ``spinlock_t`` is an rt_mutex: taking it may sleep, so it must not be taken
    in hard interrupt context.  Some irq_work callbacks take one.  Two works (flags 0, not
    IRQ_WORK_HARD_IRQ) share one callback that takes a ``spinlock_t``: CPU 0 queues ``local``
    on itself with ``irq_work_queue()`` and ``remote`` on CPU 1 with ``irq_work_queue_on()``.

    Property: no sleeping lock is taken in hard interrupt context (the engine's might_sleep
    check in ``spin_lock()``), and every queued work runs.

    Before b4c6f86 (v5.15) irq_work knows nothing of RT: the local work is run by the irq_work
    self-interrupt (``sysvec_irq_work`` -> ``irq_work_run``) and the remote one by CPU 1's
    call-function interrupt (``irq_work_single`` from the queue flush), both in hard interrupt
    context, so the first callback to run takes the sleeping lock there.  b4c6f86 (as merged,
    and so v6.17) puts non-HARD work on the lazy list, run by the per-CPU thread irq_work/N at
    SCHED_FIFO 1, which the interrupt wakes (local work) or the HARD wake-up work
    ``irq_work_wakeup[1]`` wakes (remote work).

    pre-b4c6f86+rt-thread-v2, the v2 posting (find, recorded OK): the tool finds no violation; every interleaving runs
    both callbacks in the irq_work threads.  In this scenario each lazy list has one queuer, so
    the posted remote path always sees ``llist_add() -> true`` on CPU 1's empty lazy list and
    takes the wake-up branch, which is the merged behaviour.  The v2 defect (review by Peter
    Zijlstra: when the target's lazy list is already non-empty, ``llist_add()`` has linked the
    node and returns false, and the ``else`` branch links the same node again onto the
    target's call_single_queue, where it runs in hard interrupt context) needs a second work
    already waiting on the target's lazy list; a scenario with that shape (CPU 1 queueing
    locally while CPU 0 queues remotely to it) reports BUG on v2 (pinned in
    tests/test_irq_work_rt.py), but its OK cells take 3-4 s, over the 2 s budget, so it is not
    a corpus scenario yet (docs/bugs/irq_work.rt-sleeping-lock.md).
    """

    name = "irq_work.rt-sleeping-lock"
    cpus = 2
    config = {"PREEMPT_RT": True}
    expect = {
        "pre-b4c6f86": BUG,
        "pre-b4c6f86+rt-thread-v2": FIND,
        "pre-b4c6f86+b4c6f86": OK,
        "v6.17": OK,
    }
    found = {"pre-b4c6f86+rt-thread-v2": OK}

    def setup(self, k: Any, m: Machine) -> None:
        # Which callbacks ran: bookkeeping for the property, updated in the step it follows
        # (not machine state, so it adds no steps).
        self.ran: set[str] = set()
        self.lock = spinlock_t(name="lock")
        self.local = IRQ_WORK_INIT(self.work_func, name="local")
        self.remote = IRQ_WORK_INIT(self.work_func, name="remote")
        m.eventually("every queued irq_work ran", lambda: self.ran == {"local", "remote"})

    def work_func(self, work: irq_work) -> None:
        # A callback not marked IRQ_WORK_HARD_IRQ: on RT it may take a spinlock_t.
        spin_lock(self.lock)
        self.ran.add(work.kp_name)
        spin_unlock(self.lock)

    def cpu0(self, k: Any) -> None:
        k.irq_work_queue(self.local)
        k.irq_work_queue_on(self.remote, 1)
