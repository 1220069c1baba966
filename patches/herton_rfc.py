# SPDX-License-Identifier: GPL-2.0-only
"""herton-rfc: let the tick run the raised list again, to survive a lost irq_work self-IPI.

Herton R. Krzesinski, "[RFC] Processing of raised_list can stall if an IPI/interrupt is
missed" (2026-03-03, lkml.iu.edu hypermail 2603.0/04854).  The mail reports a VMware guest
whose vmcore showed a non-empty raised_list on a CPU that had stalled: with a working APIC
nothing but the irq_work interrupt ever drains that list.

Ported from the diff the mail carries (its text, with the archive's placeholders for the
addresses, is kept at ../shared/reference/patches/herton-rfc.mbox; kernel/irq_work.c blob
73f7e1fd4ab4 -> e47d64b56a38).  Two hunks, and this mixin overrides exactly the two functions
they touch, each otherwise as in v6.17:

* ``irq_work_needs_cpu()``: the tick is kept whenever the raised *or* the lazy list is
  non-empty (the test no longer exempts raised work when the architecture has an irq_work
  interrupt);
* ``irq_work_tick()``: a non-empty raised list is run from the tick whether or not the
  architecture has the interrupt.

In effect it reverts 76a33061's change to both functions, which is why it brings back
irq_work.tick-kick-lockup on a tree whose kick work still restarts the tick.  Line numbers are
the post-image's (the hunk headers: 184 and 268).
"""

from __future__ import annotations

from kernel_port.engine import WARN_ON_ONCE, cpu_is_offline, kconfig, kfunc, smp_processor_id
from kernel_port.variants import Patch

IRQ_WORK_C = "kernel/irq_work.c"
V = "herton-rfc"


class tick_runs_raised:
    """irq_work_tick() and irq_work_needs_cpu() with the raised list back on the tick."""

    @kfunc(IRQ_WORK_C, V, line=184)
    def irq_work_needs_cpu(self) -> bool:
        cpu = smp_processor_id()
        raised = self.raised_list[cpu]
        lazy = self.lazy_list[cpu]
        # Either list non-empty keeps the tick, interrupt or not.
        if self.llist_empty(raised) and self.llist_empty(lazy):
            return False
        WARN_ON_ONCE(cpu_is_offline(cpu), "irq_work pending on an offline CPU")
        return True

    @kfunc(IRQ_WORK_C, V, line=268)
    def irq_work_tick(self) -> None:
        cpu = smp_processor_id()
        raised = self.raised_list[cpu]
        # The raised list is run here too, even where the irq_work interrupt exists.
        if not self.llist_empty(raised):
            self.irq_work_run_list(raised)
        if not kconfig("PREEMPT_RT"):
            self.irq_work_run_list(self.lazy_list[cpu])
        else:
            self.wake_irq_workd()


PATCH = Patch(
    name="herton-rfc",
    cls=tick_runs_raised,
    title="[RFC] Processing of raised_list can stall if an IPI/interrupt is missed",
    author="Herton R. Krzesinski",
    date="2026-03-03",
    kind="RFC",
    applies_to=("v6.17", "pre-76a33061+76a33061"),
    link="lkml.iu.edu hypermail 2603.0/04854",
    notes="ported from the RFC's diff (../shared/reference/patches/herton-rfc.mbox)",
)
