# SPDX-License-Identifier: GPL-2.0-only
"""Running an interrupt's actions: handle_irq_event().

Ports the core of kernel/irq/handle.c of Linux v6.17 (from the v6.17 logic;
this file was not re-read at the pinned commit, so no line numbers).

The flow handler calls ``handle_irq_event()`` with ``desc->lock`` held.  It
clears IRQS_PENDING, marks the interrupt INPROGRESS, drops the lock, runs
every action's handler, and takes the lock again to clear INPROGRESS.
``__synchronize_hardirq()`` (manage.py) waits on exactly that INPROGRESS.

What is abstracted
------------------
* Threaded handlers, interrupt randomness and the spurious-interrupt
  detector (note_interrupt) are not modelled.
"""

from __future__ import annotations

from ...engine import kfunc, raw_spin_lock, raw_spin_unlock
from .irqdesc import IRQ_NONE, IRQS_PENDING, irq_desc, irqd_set_inprogress

HANDLE_C = "kernel/irq/handle.c"


class handle_c:
    """Port of kernel/irq/handle.c (the action loop)."""

    OWN_INITS: tuple[str, ...] = ()

    @kfunc(HANDLE_C, name="__handle_irq_event_percpu")
    def _handle_irq_event_percpu(self, desc: irq_desc) -> int:
        retval = IRQ_NONE
        irq = desc.irq
        action = desc.action  # for_each_action_of_desc(): read without desc->lock
        while action is not None:
            res = action.handler(irq, action.dev_id)
            retval |= res
            action = action.next
        return retval

    @kfunc(HANDLE_C)
    def handle_irq_event_percpu(self, desc: irq_desc) -> int:
        return self._handle_irq_event_percpu(desc)

    @kfunc(HANDLE_C)
    def handle_irq_event(self, desc: irq_desc) -> int:
        desc.istate = desc.istate & ~IRQS_PENDING
        irqd_set_inprogress(desc.irq_data, True)
        raw_spin_unlock(desc.lock)
        ret = self.handle_irq_event_percpu(desc)
        raw_spin_lock(desc.lock)
        irqd_set_inprogress(desc.irq_data, False)
        return ret


PORT = handle_c
