# SPDX-License-Identifier: GPL-2.0-only
"""irq_work on PREEMPT_RT: which context runs a callback (family ``irq_work.``, RT part)."""

from __future__ import annotations

from typing import Any

from kernel_port.engine import Machine
from kernel_port.engine.locks import spin_lock, spin_unlock, spinlock_t
from kernel_port.kernel.irq_work import IRQ_WORK_INIT, irq_work
from kernel_port.scenario import BUG, FIND, OK, Scenario
from kernel_port.scenario_helpers import lists_holding


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

    pre-b4c6f86+rt-thread-v2, the v2 posting (find, recorded OK): the tool finds no
    violation; every interleaving runs both callbacks in the irq_work threads.  In this
    scenario each lazy list has one queuer and one work, so the posted remote path always
    sees ``llist_add() -> true`` on CPU 1's empty lazy list and takes the wake-up branch,
    which is the merged behaviour.  The v2 defect (review by Peter Zijlstra: when the
    target's lazy list is already non-empty, ``llist_add()`` has linked the node and returns
    false, and the ``else`` branch links the same node again onto the target's
    call_single_queue, where it runs in hard interrupt context) needs a second work on the
    target's lazy list: that is the corpus scenario irq_work.rt-remote-double-queue, BUG on
    v2 (docs/bugs/irq_work.rt-sleeping-lock.md).

    | variant | verdict |
    |---|---|
    | pre-b4c6f86 | BUG |
    | pre-b4c6f86+rt-thread-v2 | find: OK |
    | pre-b4c6f86+b4c6f86 | OK |
    | v6.17 | OK |
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


class RtRemoteDoubleQueue(Scenario):
    """Two non-HARD irq_works queued to one remote CPU on PREEMPT_RT: the second one must wait in the thread.

    PREEMPT_RT, two CPUs.  Two works with flags 0 (not IRQ_WORK_HARD_IRQ) share a callback that
    takes a ``spinlock_t`` (a sleeping lock on RT).  CPU 0 queues both to CPU 1 with
    ``irq_work_queue_on()``, one after the other.

    Property: no sleeping lock is taken in hard interrupt context (the engine's might_sleep
    check in ``spin_lock()``), and each work runs exactly once (the callback asserts it has
    not run before, and asserts, engine-side, that its node is on no list any more when it
    runs; every work must eventually have run).

    v5.15 (pre-b4c6f86) queues each remote work on CPU 1's call_single_queue, and the
    call-function interrupt runs it in hard interrupt context: BUG at the first callback.

    The v2 posting (pre-b4c6f86+rt-thread-v2) puts ``llist_add()`` onto the target's lazy
    list inside the ``if`` that chooses the wake-up path.  The first work finds CPU 1's lazy
    list empty and takes it.  The second finds it non-empty (the first is still there unless
    irq_work/1 already ran it): ``llist_add()`` links the node and returns false, and the
    ``else`` branch links the same node again, onto CPU 1's call_single_queue, rewriting its
    ``next``.  The call-function interrupt then runs the non-HARD callback in hard interrupt
    context (BUG, sleeping in atomic), and the lazy list now continues into the CSD queue's
    chain: the thread would run the work a second time.  This is Peter Zijlstra's review of
    v2 (20211007085023.GP174703@worktop.programming.kicks-ass.net).

    b4c6f86 as merged (and so v6.17): a false ``llist_add()`` means the thread is already
    being woken; the queuer stops there (``goto out``).  Both callbacks run in irq_work/1.

    | variant | verdict |
    |---|---|
    | pre-b4c6f86 | BUG |
    | pre-b4c6f86+rt-thread-v2 | BUG |
    | pre-b4c6f86+b4c6f86 | OK |
    | v6.17 | OK |
    """

    name = "irq_work.rt-remote-double-queue"
    cpus = 2
    config = {"PREEMPT_RT": True}
    expect = {
        "pre-b4c6f86": BUG,
        "pre-b4c6f86+rt-thread-v2": BUG,
        "pre-b4c6f86+b4c6f86": OK,
        "v6.17": OK,
    }
    explain = (
        "On the v2 posting the second irq_work_queue_on() finds CPU 1's lazy list non-empty: "
        "llist_add() has linked the node there and returns false, and the else branch links "
        "it again on CPU 1's call_single_queue, so the call-function interrupt runs a non-HARD "
        "callback in hard interrupt context."
    )

    def setup(self, k: Any, m: Machine) -> None:
        # How often each callback ran: bookkeeping for the property, updated in the step it
        # follows (not machine state, so it adds no steps).
        self.runs = {"a": 0, "b": 0}
        self.lock = spinlock_t(name="lock")
        self.works = [IRQ_WORK_INIT(self.work_func, name=n) for n in ("a", "b")]
        self.heads = {
            "lazy_list[1]": k.lazy_list[1],
            "raised_list[1]": k.raised_list[1],
            "call_single_queue[1]": k.call_single_queue[1],
        }
        m.eventually("every queued irq_work ran", lambda: all(self.runs.values()))

    def work_func(self, work: irq_work) -> None:
        name = work.kp_name
        # A callback not marked IRQ_WORK_HARD_IRQ: on RT it may take a spinlock_t.
        spin_lock(self.lock)
        assert self.runs[name] == 0, f"irq_work {name} ran twice"
        # A node still reachable from a list while its callback runs would be run again.
        still = lists_holding(work.node.llist, self.heads)
        assert not still, f"irq_work {name} runs while its node is still on {', '.join(still)}"
        self.runs[name] += 1
        spin_unlock(self.lock)

    def cpu0(self, k: Any) -> None:
        for w in self.works:
            k.irq_work_queue_on(w, 1)
