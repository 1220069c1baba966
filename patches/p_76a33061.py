# SPDX-License-Identifier: GPL-2.0-only
"""76a33061: force raised irq_work to run on the irq_work interrupt (Frederic Weisbecker, 2014).

The fix for the 2014 nohz_full hard lockup (irq_work.tick-kick-lockup): raised work could run
from the tick, that is inside the tick hrtimer's own callback, and the kick work restarted the
tick there, cancelling the very hrtimer whose callback was running.  The commit makes the tick
leave the raised list alone whenever the architecture has an irq_work self-interrupt, and
stops counting the raised list as a reason to keep the tick in that case.  Lazy work still
runs from the tick.

Only the commit message was retrieved (git.leafos.org mirror); the code below is the shape of
both functions in the 3.18 file (unicorn-soc-425/kernel-3.18-U5- 88393703, upstream line =
file line - 4), which is what the commit left.  In 3.17 the call site in
update_process_times() was irq_work_run(); the commit introduced irq_work_tick() and called it
there.  The model already names that call site irq_work_tick() in every tree.
"""

from __future__ import annotations

from kernel_port.engine import WARN_ON_ONCE, cpu_is_offline, kfunc, smp_processor_id
from kernel_port.variants import Patch

IRQ_WORK_C = "kernel/irq_work.c"
V = "v3.18"


class force_raised_on_interrupt:
    """irq_work_tick() and irq_work_needs_cpu() as 76a33061 left them."""

    @kfunc(IRQ_WORK_C, V, line=112)
    def irq_work_needs_cpu(self) -> bool:
        cpu = smp_processor_id()
        raised = self.raised_list[cpu]
        lazy = self.lazy_list[cpu]
        if self.llist_empty(raised) or self.arch_irq_work_has_interrupt():
            if self.llist_empty(lazy):
                return False
        WARN_ON_ONCE(cpu_is_offline(cpu), "irq_work pending on an offline CPU")
        return True

    @kfunc(IRQ_WORK_C, V, line=176)
    def irq_work_tick(self) -> None:
        cpu = smp_processor_id()
        raised = self.raised_list[cpu]
        if not self.llist_empty(raised) and not self.arch_irq_work_has_interrupt():
            self.irq_work_run_list(raised)
        self.irq_work_run_list(self.lazy_list[cpu])


PATCH = Patch(
    name="76a33061",
    cls=force_raised_on_interrupt,
    title="irq_work: Force raised irq work to run on irq work interrupt",
    author="Frederic Weisbecker",
    date="2014 (v3.18 merge window)",
    kind="upstream",
    applies_to=("pre-76a33061",),
    upstream="76a33061b9323b7fdb220ae5fa116c10833ec22e",
    link="series '[PATCH 0/8] nohz: Fix nohz kick irq work on tick v3' (Frederic Weisbecker, 2014)",
    fixes="the nohz_full kick hard lockup reported by Dave Jones, 20140925141425.GA21702@redhat.com",
)
