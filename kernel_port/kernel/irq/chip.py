# SPDX-License-Identifier: GPL-2.0-only
"""Interrupt flow handling: startup, shutdown, mask/unmask and handle_edge_irq().

Ports kernel/irq/chip.c of Linux v6.17 (read at Kingxukai/linux 9b44fff6,
v6.17-rc; line numbers counted by hand there, give or take two), the parts
an x86 PCI/MSI interrupt goes through.

On x86 a PCI/MSI interrupt is an edge interrupt: its flow handler is
``handle_edge_irq``, which takes ``desc->lock`` first, then acknowledges the
interrupt *before* running the actions (``irq_chip_ack_parent`` ->
``apic_ack_edge`` -> EOI).  An edge that arrives while the interrupt has no
action or is disabled is remembered in ``IRQS_PENDING`` and masked; the next
``irq_startup()`` replays it (``check_irq_resend``, kernel/irq/resend.py).

``irq_shutdown()`` only masks (the MSI chip has no shutdown callback) and
clears STARTED; deactivation (the vector release) is the caller's separate
step.  ``irq_startup()`` of a non-managed interrupt unmasks.

What is abstracted
------------------
* ``irq_setup_affinity()`` (called by irq_startup for chips with
  IRQCHIP_AFFINITY_PRE_STARTUP, as x86 MSI is) is not modelled: the
  interrupt's affinity already contains the CPU its vector was just assigned
  on, so the vector domain keeps the assignment and nothing changes.
* kstat accounting, wakeup handling and interrupt polling are not modelled
  beyond the checks the flow handler makes (their state never changes).
* ``irq_chip_compose_msi_msg`` and ``irq_chip_ack_parent`` /
  ``irq_chip_retrigger_hierarchy`` are ported from the v6.17 logic without a
  counted line number.
"""

from __future__ import annotations

from typing import Any

from ...engine import WARN_ON_ONCE, kfunc, raw_spin_lock, raw_spin_unlock, smp_processor_id
from .irqdesc import (
    IRQCHIP_AFFINITY_PRE_STARTUP,
    IRQS_PENDING,
    IRQS_POLL_INPROGRESS,
    IRQS_REPLAY,
    IRQS_WAITING,
    irq_data,
    irq_data_get_effective_affinity_mask,
    irq_desc,
    irq_state_clr_disabled,
    irq_state_clr_masked,
    irq_state_clr_started,
    irq_state_set_disabled,
    irq_state_set_masked,
    irq_state_set_started,
    irqd_affinity_is_managed,
    irqd_irq_disabled,
    irqd_irq_inprogress,
    irqd_irq_masked,
    irqd_is_activated,
    irqd_is_single_target,
    irqd_is_started,
)

CHIP_C = "kernel/irq/chip.c"

IRQ_STARTUP_NORMAL = 0
IRQ_STARTUP_MANAGED = 1
IRQ_STARTUP_ABORT = 2

IRQ_RESEND = True
IRQ_NORESEND = False
IRQ_START_FORCE = True
IRQ_START_COND = False


class chip_c:
    """Port of kernel/irq/chip.c (x86 PCI/MSI paths)."""

    OWN_INITS: tuple[str, ...] = ()

    # -- startup / shutdown ------------------------------------------------------

    @kfunc(CHIP_C, name="__irq_startup_managed", line=170)
    def _irq_startup_managed(self, desc: irq_desc, aff: Any, force: bool) -> int:
        if not irqd_affinity_is_managed(desc.irq_data):
            return IRQ_STARTUP_NORMAL
        raise NotImplementedError("managed interrupts are not modelled")

    @kfunc(CHIP_C, line=235)
    def irq_enable(self, desc: irq_desc) -> None:
        if not irqd_irq_disabled(desc.irq_data):
            self.unmask_irq(desc)
        else:
            irq_state_clr_disabled(desc)
            chip = desc.irq_data.chip
            if chip.irq_enable is not None:
                chip.irq_enable(desc.irq_data)
                irq_state_clr_masked(desc)
            else:
                self.unmask_irq(desc)

    @kfunc(CHIP_C, name="__irq_startup", line=250)
    def _irq_startup(self, desc: irq_desc) -> int:
        d = desc.irq_data
        ret = 0
        # Starting an interrupt that is not activated is a core bug.
        WARN_ON_ONCE(not irqd_is_activated(d))
        if d.chip.irq_startup is not None:
            ret = d.chip.irq_startup(d)
            irq_state_clr_disabled(desc)
            irq_state_clr_masked(desc)
        else:
            self.irq_enable(desc)
        irq_state_set_started(desc)
        return ret

    @kfunc(CHIP_C, line=269)
    def irq_startup(self, desc: irq_desc, resend: bool, force: bool) -> int:
        d = desc.irq_data
        ret = 0
        desc.depth = 0
        if irqd_is_started(d):
            self.irq_enable(desc)
        else:
            how = self._irq_startup_managed(desc, None, force)
            if how == IRQ_STARTUP_NORMAL:
                # IRQCHIP_AFFINITY_PRE_STARTUP: irq_setup_affinity() would run
                # here; not modelled (see the module docstring).
                ret = self._irq_startup(desc)
                if not (d.chip.flags & IRQCHIP_AFFINITY_PRE_STARTUP):
                    pass  # irq_setup_affinity() after startup: not modelled
        if resend:
            self.check_irq_resend(desc, False)
        return ret

    @kfunc(CHIP_C, line=304)
    def irq_activate(self, desc: irq_desc) -> int:
        d = desc.irq_data
        if not irqd_affinity_is_managed(d):
            return self.irq_domain_activate_irq(d, False)  # type: ignore[no-any-return]
        return 0

    @kfunc(CHIP_C, line=322)
    def irq_shutdown(self, desc: irq_desc) -> None:
        if irqd_is_started(desc.irq_data):
            self.clear_irq_resend(desc)
            # Shutdown counts as one disable level.
            desc.depth = desc.depth + 1
            chip = desc.irq_data.chip
            if chip.irq_shutdown is not None:
                chip.irq_shutdown(desc.irq_data)
                irq_state_set_disabled(desc)
                irq_state_set_masked(desc)
            else:
                self._irq_disable(desc, True)
            irq_state_clr_started(desc)

    @kfunc(CHIP_C, name="__irq_disable", line=357)
    def _irq_disable(self, desc: irq_desc, mask: bool) -> None:
        if irqd_irq_disabled(desc.irq_data):
            if mask:
                self.mask_irq(desc)
        else:
            irq_state_set_disabled(desc)
            chip = desc.irq_data.chip
            if chip.irq_disable is not None:
                chip.irq_disable(desc.irq_data)
                irq_state_set_masked(desc)
            elif mask:
                self.mask_irq(desc)

    # -- mask / unmask -------------------------------------------------------------

    @kfunc(CHIP_C, line=416)
    def mask_ack_irq(self, desc: irq_desc) -> None:
        chip = desc.irq_data.chip
        if chip.irq_mask_ack is not None:
            chip.irq_mask_ack(desc.irq_data)
            irq_state_set_masked(desc)
        else:
            self.mask_irq(desc)
            if chip.irq_ack is not None:
                chip.irq_ack(desc.irq_data)

    @kfunc(CHIP_C, line=428)
    def mask_irq(self, desc: irq_desc) -> None:
        if irqd_irq_masked(desc.irq_data):
            return
        chip = desc.irq_data.chip
        if chip.irq_mask is not None:
            chip.irq_mask(desc.irq_data)
            irq_state_set_masked(desc)

    @kfunc(CHIP_C, line=439)
    def unmask_irq(self, desc: irq_desc) -> None:
        if not irqd_irq_masked(desc.irq_data):
            return
        chip = desc.irq_data.chip
        if chip.irq_unmask is not None:
            chip.irq_unmask(desc.irq_data)
            irq_state_clr_masked(desc)

    # -- may the flow handler run the actions? -------------------------------------

    @kfunc(CHIP_C, line=461)
    def irq_wait_on_inprogress(self, desc: irq_desc) -> bool:
        from ...engine import cpu_relax

        while True:
            raw_spin_unlock(desc.lock)
            while irqd_irq_inprogress(desc.irq_data):
                cpu_relax("INPROGRESS to clear on the other CPU")
            raw_spin_lock(desc.lock)
            if not irqd_irq_inprogress(desc.irq_data):
                break
        # It may have been disabled meanwhile.
        return not irqd_irq_disabled(desc.irq_data) and desc.action is not None

    @kfunc(CHIP_C, line=477)
    def irq_can_handle_pm(self, desc: irq_desc) -> bool:
        irqd = desc.irq_data
        # irqd_has_set(irqd, INPROGRESS | WAKEUP_ARMED)
        if not irqd.common.IRQD_IRQ_INPROGRESS and not irqd.common.IRQD_WAKEUP_ARMED:
            return True
        if irqd.common.IRQD_WAKEUP_ARMED:
            raise NotImplementedError("wakeup-armed interrupts are not modelled")
        if desc.istate & IRQS_POLL_INPROGRESS:
            raise NotImplementedError("interrupt polling is not modelled")
        # Only single-target edge interrupts wait for the old target here.
        if not irqd_is_single_target(irqd) or desc.handle_irq != self.handle_edge_irq:
            return False
        aff = irq_data_get_effective_affinity_mask(irqd)
        if min(aff, default=-1) != smp_processor_id():
            return False
        return self.irq_wait_on_inprogress(desc)

    @kfunc(CHIP_C, line=544)
    def irq_can_handle_actions(self, desc: irq_desc) -> bool:
        desc.istate = desc.istate & ~(IRQS_REPLAY | IRQS_WAITING)
        if desc.action is None or irqd_irq_disabled(desc.irq_data):
            desc.istate = desc.istate | IRQS_PENDING
            return False
        return True

    @kfunc(CHIP_C, line=555)
    def irq_can_handle(self, desc: irq_desc) -> bool:
        if not self.irq_can_handle_pm(desc):
            return False
        return self.irq_can_handle_actions(desc)

    # -- the edge flow handler -------------------------------------------------------

    @kfunc(CHIP_C, line=823)
    def handle_edge_irq(self, desc: irq_desc) -> None:
        raw_spin_lock(desc.lock)  # guard(raw_spinlock)(&desc->lock): released at every return
        if not self.irq_can_handle(desc):
            desc.istate = desc.istate | IRQS_PENDING
            self.mask_ack_irq(desc)
            raw_spin_unlock(desc.lock)
            return
        # Acknowledge (EOI) first, then run the actions.
        desc.irq_data.chip.irq_ack(desc.irq_data)
        while True:
            if desc.action is None:
                self.mask_irq(desc)
                raw_spin_unlock(desc.lock)
                return
            # An edge seen while we ran the actions was masked: unmask and
            # go round again.
            if desc.istate & IRQS_PENDING and not irqd_irq_disabled(desc.irq_data) and irqd_irq_masked(desc.irq_data):
                self.unmask_irq(desc)
            self.handle_irq_event(desc)
            if not (desc.istate & IRQS_PENDING) or irqd_irq_disabled(desc.irq_data):
                break
        raw_spin_unlock(desc.lock)

    # -- hierarchy helpers ---------------------------------------------------------------

    @kfunc(CHIP_C)
    def irq_chip_ack_parent(self, data: irq_data) -> None:
        data = data.parent_data
        data.chip.irq_ack(data)

    @kfunc(CHIP_C)
    def irq_chip_retrigger_hierarchy(self, data: irq_data) -> int:
        data = data.parent_data
        while data is not None:
            if data.chip is not None and data.chip.irq_retrigger is not None:
                return data.chip.irq_retrigger(data)  # type: ignore[no-any-return]
            data = data.parent_data
        return 0

    @kfunc(CHIP_C)
    def irq_chip_compose_msi_msg(self, data: irq_data) -> tuple[int, int]:
        pos = None
        while data is not None:
            if data.chip is not None and data.chip.irq_compose_msi_msg is not None:
                pos = data
            data = data.parent_data
        if pos is None:
            raise NotImplementedError("no chip composes the MSI message")
        return pos.chip.irq_compose_msi_msg(pos)  # type: ignore[no-any-return]


PORT = chip_c
