# SPDX-License-Identifier: GPL-2.0-only
"""no-mb-irq-work-single: v6.17's irq_work_single() without its smp_mb() (a mutation).

Not a proposal: a mutation for the barrier audit (issue 18, item 3).  In v6.17 the runner
drops PENDING with a plain store (``atomic_set()``) and then issues ``smp_mb()`` before the
callback reads anything.  The barrier pairs with the fully ordered ``atomic_fetch_or()`` of
``irq_work_claim()``: a claimer that still sees PENDING did its data store before the runner's
fence, so the callback reads that data.  Without the fence, under x86-TSO the runner's PENDING
clear can sit in its store buffer while the callback reads the old data, and a claimer's
fetch_or (which drains only the claimer's buffer) still sees PENDING and gives up.  Under
sequential consistency the barrier is only text, and the mutation is invisible.

This mixin overrides exactly ``irq_work_single()`` (kernel/irq_work.c, v6.17-rc3 line 201),
as in kernel_port/kernel/irq_work.py minus the ``smp_mb()``.
"""

from __future__ import annotations

from kernel_port.engine import atomic_cmpxchg, atomic_read, atomic_set, kconfig, kfunc
from kernel_port.kernel.irq_work import IRQ_WORK_BUSY, IRQ_WORK_PENDING, irq_work
from kernel_port.variants import Patch

IRQ_WORK_C = "kernel/irq_work.c"
V = "no-mb-irq-work-single"


class no_mb_after_pending_clear:
    """irq_work_single() with the smp_mb() after the PENDING clear removed."""

    @kfunc(IRQ_WORK_C, V, line=201)
    def irq_work_single(self, work: irq_work) -> None:
        flags = atomic_read(work.node.a_flags)
        flags &= ~IRQ_WORK_PENDING
        atomic_set(work.node.a_flags, flags)

        # (mutation: v6.17 has smp_mb() here)

        work.func(work)

        atomic_cmpxchg(work.node.a_flags, flags, flags & ~IRQ_WORK_BUSY)

        if (kconfig("PREEMPT_RT") and not self.irq_work_is_hard(work)) or not self.arch_irq_work_has_interrupt():
            self.rcuwait_wake_up(work.irqwait)


PATCH = Patch(
    name="no-mb-irq-work-single",
    cls=no_mb_after_pending_clear,
    title="mutation: irq_work_single() without the smp_mb() after PENDING is cleared",
    author="kernel_port (barrier audit)",
    date="2026",
    kind="mutation",
    applies_to=("v6.17",),
    notes="a mutation for the barrier audit (issue 18, item 3), not a proposal",
)
