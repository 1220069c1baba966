# SPDX-License-Identifier: GPL-2.0-only
"""Replaying an edge interrupt that arrived while it could not be handled.

Ports kernel/irq/resend.c of Linux v6.17 (read at Kingxukai/linux 0291023e,
v6.17-rc).  ``check_irq_resend()`` runs from ``irq_startup()`` with
``desc->lock`` held: if the flow handler recorded IRQS_PENDING, the interrupt
is re-raised in hardware through the chip hierarchy (on x86:
``apic_retrigger_irq`` sends the vector to its target CPU again) and marked
IRQS_REPLAY.

What is abstracted
------------------
* The software resend (a tasklet walking a list) is not modelled: the x86
  vector domain can always retrigger in hardware, so it is never reached.
  ``clear_irq_resend`` takes the resend lock and unlinks nothing.
"""

from __future__ import annotations

from ...engine import kfunc, raw_spin_lock, raw_spin_unlock, raw_spinlock_t
from .irqdesc import IRQS_PENDING, IRQS_REPLAY, irq_desc

RESEND_C = "kernel/irq/resend.c"

EINVAL = 22
EBUSY = 16


class resend_c:
    """Port of kernel/irq/resend.c."""

    OWN_INITS: tuple[str, ...] = ("init_resend",)

    def init_resend(self) -> None:
        self.irq_resend_lock = raw_spinlock_t(name="irq_resend_lock")

    @kfunc(RESEND_C, line=49)
    def irq_sw_resend(self, desc: irq_desc) -> int:
        raise NotImplementedError("software resend is not modelled (x86 retriggers in hardware)")

    @kfunc(RESEND_C, line=85)
    def clear_irq_resend(self, desc: irq_desc) -> None:
        raw_spin_lock(self.irq_resend_lock)
        # hlist_del_init(&desc->resend_node): never on the list in the model.
        raw_spin_unlock(self.irq_resend_lock)

    @kfunc(RESEND_C, line=105)
    def try_retrigger(self, desc: irq_desc) -> int:
        chip = desc.irq_data.chip
        if chip.irq_retrigger is not None:
            return chip.irq_retrigger(desc.irq_data)  # type: ignore[no-any-return]
        return self.irq_chip_retrigger_hierarchy(desc.irq_data)  # type: ignore[no-any-return]

    @kfunc(RESEND_C, line=122)
    def check_irq_resend(self, desc: irq_desc, inject: bool) -> int:
        err = 0
        # Level interrupts are resent by the hardware itself.
        if desc.level:
            desc.istate = desc.istate & ~IRQS_PENDING
            return -EINVAL
        istate = desc.istate
        if istate & IRQS_REPLAY:
            return -EBUSY
        if not (istate & IRQS_PENDING) and not inject:
            return 0
        desc.istate = istate & ~IRQS_PENDING
        if not self.try_retrigger(desc):
            err = self.irq_sw_resend(desc)
        if not err:
            desc.istate = desc.istate | IRQS_REPLAY
        return err


PORT = resend_c
