# SPDX-License-Identifier: GPL-2.0-only
"""rt-thread-v2: the v2 posting of "irq_work: Handle some irq_work in a per-CPU thread on PREEMPT_RT".

Sebastian Andrzej Siewior, [PATCH v2 3/4], 2021-10-06, Message-Id
20211006111852.1514359-4-bigeasy@linutronix.de (read as posted: index id 44695543805, blob
e789beda8297d -> daa5d12522faa).  Everything but one hunk is what was merged as b4c6f86 (see
patches/p_b4c6f86.py, whose methods this mixin takes): the lazy list for non-HARD work on RT,
the thread, the wake-ups from the interrupt and the tick, the relaxed BUG_ON.

The hunk that differs is the remote path of ``irq_work_queue_on()``.  As posted, the RT
condition and the ``llist_add()`` onto the target's lazy list are one ``if``::

    RT and not HARD and llist_add(node, lazy_list[cpu])  ->  queue the wake-up work
    otherwise                                            ->  queue the work itself on the CSD queue

``llist_add()`` returns false when the list was *not empty*, after it has already linked the
node.  So a non-HARD work queued to a CPU whose lazy list already holds work falls into the
``else`` branch and is added a second time, to the target's call_single_queue, rewriting its
next pointer: the node is on two lists, and the call-function interrupt runs the non-HARD
callback in hard interrupt context.  Peter Zijlstra spotted it in review
(20211007085023.GP174703@worktop.programming.kicks-ass.net) and posted the ``goto out`` shape
that was merged.

The posted wake-up work is the per-CPU ``irq_work_pending`` (renamed ``irq_work_wakeup`` in
review because some architectures already have a per-CPU variable of that name); the model
uses the port's ``irq_work_wakeup[cpu]`` object for it.  The posting's line numbers are not
known (a posted diff, no tree), so the changed function carries none.
"""

from __future__ import annotations

from kernel_port.engine import (
    WARN_ON_ONCE,
    atomic_read,
    cpu_is_offline,
    in_nmi,
    kconfig,
    kfunc,
    preempt_disable,
    preempt_enable,
    smp_processor_id,
)
from kernel_port.kernel.irq_work import IRQ_WORK_HARD_IRQ, irq_work, irq_work_c
from kernel_port.variants import Patch

IRQ_WORK_C = "kernel/irq_work.c"


class irq_work_rt_thread_v2:
    """b4c6f86 as posted in v2: the merged functions plus the posted ``irq_work_queue_on()``."""

    wake_irq_workd = irq_work_c.wake_irq_workd
    irq_work_wake = irq_work_c.irq_work_wake
    irq_workd_should_run = irq_work_c.irq_workd_should_run
    _irq_work_queue_local = irq_work_c._irq_work_queue_local
    irq_work_run_list = irq_work_c.irq_work_run_list
    irq_work_run = irq_work_c.irq_work_run
    irq_work_tick = irq_work_c.irq_work_tick
    run_irq_workd = irq_work_c.run_irq_workd
    irq_workd_setup = irq_work_c.irq_workd_setup
    irqwork_threads = irq_work_c.irqwork_threads
    irq_work_init_threads = irq_work_c.irq_work_init_threads

    @kfunc(IRQ_WORK_C, "v5.15+v2", show=True)
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

            # As posted: the lazy-list add is part of the condition.  When it returns false
            # (the target's lazy list was not empty) the node is already linked there, and the
            # else branch links it again, onto the target's call_single_queue.
            if (
                kconfig("PREEMPT_RT")
                and not (atomic_read(work.node.a_flags) & IRQ_WORK_HARD_IRQ)
                and self.llist_add(work.node.llist, self.lazy_list[cpu])
            ):
                # irq_work_pending[cpu] in the posting (see the module docstring).
                wake_work = self.irq_work_wakeup[cpu]
                if self.irq_work_claim(wake_work):
                    self._smp_call_single_queue(cpu, wake_work.node.llist)
            else:
                self._smp_call_single_queue(cpu, work.node.llist)
        else:
            self._irq_work_queue_local(work)
        preempt_enable()
        return True


PATCH = Patch(
    name="rt-thread-v2",
    cls=irq_work_rt_thread_v2,
    title="[PATCH v2 3/4] irq_work: Handle some irq_work in a per-CPU thread on PREEMPT_RT",
    author="Sebastian Andrzej Siewior",
    date="2021-10-06",
    kind="patch",
    applies_to=("pre-b4c6f86",),
    link="20211006111852.1514359-4-bigeasy@linutronix.de",
    fixes="irq_work callbacks taking sleeping locks (spinlock_t) in hard interrupt context on PREEMPT_RT",
    notes="superseded by b4c6f86 after review (the remote path double-links a node whose lazy add returned false)",
)
