# SPDX-License-Identifier: GPL-2.0-only
"""Tree pre-b4c6f86: kernel/irq_work.c of v5.15, before irq_work learnt about PREEMPT_RT.

In v5.15 mainline irq_work has no PREEMPT_RT handling at all: every work, HARD or not, is run
from the irq_work interrupt (or, for remote work, from the call-function interrupt through
smp.c's queue flush), that is in hard interrupt context, even on PREEMPT_RT where a callback
taking a ``spinlock_t`` may sleep.  There is no irq_workd thread.

Where the source was read (see /tmp/kport-notes/irq_work.md section 8.1): the v5.10-5.12-era
mainline file (index id 141872565, repository unknown; read in full) and the hunk headers of
b4c6f86's pre-image blob e789bed.  v5.15 itself was not read: it is that file plus the
``kasan_record_aux_stack()`` call in ``irq_work_queue_on()`` (and its include), which puts
every function after ``irq_work_queue_on()`` two lines lower; the line numbers below are
inferred that way (they agree with the pre-image's hunk headers once the three lines of
810979682, the rcuwait, are taken out).

Where it differs from v6.17, and only that:

* ``__irq_work_queue_local()``: LAZY work goes on the lazy list and raises only when the tick
  is stopped; everything else goes on the raised list.  No RT branch.
* ``irq_work_queue_on()``: a remote work always goes to the target's call_single_queue.
* ``irq_work_run()`` and ``irq_work_tick()`` run the lazy list themselves (no thread to wake).
* ``irq_work_run_list()`` insists on interrupts being disabled, RT or not.
* ``irq_work_single()`` has no rcuwait wake-up and ``irq_work_sync()`` always spins (the
  rcuwait came with 810979682 and 09089db7, in the 5.16 cycle).
* ``irq_work_init_threads()`` does not exist: no thread is registered.

As in the v6.17 port, ``irq_work_sync()``'s lockdep-only ``lockdep_assert_irqs_enabled()`` is
always checked, as the WARN_ON_ONCE a lockdep kernel makes of it.

``arch_irq_work_raise()`` is called directly (the ``irq_work_raise()`` wrapper with its
tracepoint is from v6.4).
"""

from __future__ import annotations

from ..engine import (
    BUG_ON,
    WARN_ON_ONCE,
    atomic_cmpxchg,
    atomic_read,
    atomic_set,
    cpu_is_offline,
    cpu_relax,
    in_nmi,
    irqs_disabled,
    kfunc,
    preempt_disable,
    preempt_enable,
    smp_mb,
    smp_processor_id,
)
from ..kernel.irq_work import IRQ_WORK_BUSY, IRQ_WORK_LAZY, IRQ_WORK_PENDING, irq_work
from ..lib.llist import llist_head
from ..linux import Linux
from ..variants import Tree

IRQ_WORK_C = "kernel/irq_work.c"
V = "v5.15"


class pre_b4c6f86(Linux):  # type: ignore[misc,valid-type]
    """v6.17 with v5.15's irq_work: no PREEMPT_RT handling, every work in hard interrupt context."""

    TREE_NAME = "pre-b4c6f86"

    @kfunc(IRQ_WORK_C, V, name="__irq_work_queue_local", line=54)
    def _irq_work_queue_local(self, work: irq_work) -> None:
        cpu = smp_processor_id()
        # LAZY work waits for the tick unless it is stopped; all other work raises the
        # interrupt on the empty -> non-empty edge of the raised list.
        if atomic_read(work.node.a_flags) & IRQ_WORK_LAZY:
            if self.llist_add(work.node.llist, self.lazy_list[cpu]) and self.tick_nohz_tick_stopped():
                self.arch_irq_work_raise()
        else:
            if self.llist_add(work.node.llist, self.raised_list[cpu]):
                self.arch_irq_work_raise()

    @kfunc(IRQ_WORK_C, V, line=89, show=True)
    def irq_work_queue_on(self, work: irq_work, cpu: int) -> bool:
        # CONFIG_SMP is always on in this machine.
        WARN_ON_ONCE(cpu_is_offline(cpu), "irq_work queued on an offline CPU")

        if not self.irq_work_claim(work):
            return False

        # kasan_record_aux_stack(work): no behaviour, left out.
        preempt_disable()
        if cpu != smp_processor_id():
            # The remote backend (the smp.c IPI) is not NMI-safe.
            WARN_ON_ONCE(in_nmi())
            # Every remote work, RT or not, is run by the target's call-function interrupt.
            self._smp_call_single_queue(cpu, work.node.llist)
        else:
            self._irq_work_queue_local(work)
        preempt_enable()
        return True

    @kfunc(IRQ_WORK_C, V, line=135)
    def irq_work_single(self, work: irq_work) -> None:
        # As in v6.17 (see there) but with no rcuwait to wake.
        flags = atomic_read(work.node.a_flags)
        flags &= ~IRQ_WORK_PENDING
        atomic_set(work.node.a_flags, flags)
        smp_mb()
        work.func(work)
        atomic_cmpxchg(work.node.a_flags, flags, flags & ~IRQ_WORK_BUSY)

    @kfunc(IRQ_WORK_C, V, line=165)
    def irq_work_run_list(self, lst: llist_head) -> None:
        # Always run with interrupts off: there is no thread context for any work.
        BUG_ON(not irqs_disabled())

        if self.llist_empty(lst):
            return

        llnode = self.llist_del_all(lst)
        while llnode is not None:
            nxt = llnode.next
            self.irq_work_single(llnode.owner)
            llnode = nxt

    @kfunc(IRQ_WORK_C, V, line=184)
    def irq_work_run(self) -> None:
        cpu = smp_processor_id()
        self.irq_work_run_list(self.raised_list[cpu])
        self.irq_work_run_list(self.lazy_list[cpu])

    @kfunc(IRQ_WORK_C, V, line=191)
    def irq_work_tick(self) -> None:
        cpu = smp_processor_id()
        raised = self.raised_list[cpu]
        if not self.llist_empty(raised) and not self.arch_irq_work_has_interrupt():
            self.irq_work_run_list(raised)
        self.irq_work_run_list(self.lazy_list[cpu])

    @kfunc(IRQ_WORK_C, V, line=204)
    def irq_work_sync(self, work: irq_work) -> None:
        # lockdep_assert_irqs_enabled(): checked only by a lockdep kernel (CONFIG_PROVE_LOCKING),
        # whose assert is this WARN_ON_ONCE; the model checks it always (module docstring).
        WARN_ON_ONCE(irqs_disabled(), "irq_work_sync() with interrupts disabled")
        while self.irq_work_is_busy(work):
            cpu_relax(f"irq_work_sync(): spinning until {work.kp_name} is no longer BUSY")

    def irq_work_init_threads(self) -> int:
        # Not in v5.15: no irq_workd thread is registered.
        return 0


TREE = Tree(
    name="pre-b4c6f86",
    cls=pre_b4c6f86,
    title="irq_work before b4c6f86 (v5.15): on PREEMPT_RT every irq_work runs in hard interrupt context",
    base="v6.17",
    pinned=(
        "kernel/irq_work.c: v5.10-5.12-era mainline file (index id 141872565) plus the kasan call "
        "of v5.15, checked against the hunk headers of b4c6f86's pre-image blob e789bed"
    ),
)
