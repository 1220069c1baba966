# SPDX-License-Identifier: GPL-2.0-only
"""tick-reraise (ours): the tick re-raises the irq_work interrupt instead of running raised work.

Proposed by this project for irq_work.lost-self-ipi without bringing back
irq_work.tick-kick-lockup:

* ``irq_work_tick()``: if the raised list is non-empty and the architecture has the irq_work
  interrupt, send the self-interrupt again (``arch_irq_work_raise()``) rather than running the
  list from the tick.  Raised work therefore still runs only from the irq_work interrupt
  (76a33061's guarantee: never inside the tick hrtimer's callback), and a lost interrupt is
  re-sent at the next tick.  Without the interrupt the tick runs the list, as before.
* ``irq_work_needs_cpu()``: a non-empty raised list keeps the tick, so an idle CPU with
  stranded work still gets the tick that re-raises.

A redundant raise is harmless: the vector coalesces in the APIC if it is still pending, and
the handler finds an empty list if the work already ran.
"""

from __future__ import annotations

from kernel_port.engine import WARN_ON_ONCE, cpu_is_offline, kconfig, kfunc, smp_processor_id
from kernel_port.variants import Patch

IRQ_WORK_C = "kernel/irq_work.c"
V = "tick-reraise"


class tick_reraise:
    """irq_work_tick() re-raises; irq_work_needs_cpu() keeps the tick for raised work."""

    @kfunc(IRQ_WORK_C, V)
    def irq_work_needs_cpu(self) -> bool:
        cpu = smp_processor_id()
        raised = self.raised_list[cpu]
        lazy = self.lazy_list[cpu]
        if self.llist_empty(raised) and self.llist_empty(lazy):
            return False
        WARN_ON_ONCE(cpu_is_offline(cpu), "irq_work pending on an offline CPU")
        return True

    @kfunc(IRQ_WORK_C, V)
    def irq_work_tick(self) -> None:
        cpu = smp_processor_id()
        raised = self.raised_list[cpu]
        if not self.llist_empty(raised):
            if self.arch_irq_work_has_interrupt():
                # Kick the interrupt again; it, not the tick, runs the list.
                self.arch_irq_work_raise()
            else:
                self.irq_work_run_list(raised)
        if not kconfig("PREEMPT_RT"):
            self.irq_work_run_list(self.lazy_list[cpu])
        else:
            self.wake_irq_workd()


PATCH = Patch(
    name="tick-reraise",
    cls=tick_reraise,
    title="irq_work: re-raise the irq_work interrupt from the tick while raised work is pending",
    author="kernel_port project",
    date="2026",
    kind="ours",
    applies_to=("v6.17",),
    fixes="irq_work.lost-self-ipi (stall after one lost irq_work self-IPI)",
)
