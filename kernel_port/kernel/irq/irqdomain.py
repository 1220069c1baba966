# SPDX-License-Identifier: GPL-2.0-only
"""Activating and deactivating an interrupt through its domain hierarchy.

Ports the activation helpers of kernel/irq/irqdomain.c of Linux v6.17.  The
helpers were read in other trees (the logic has been stable for years); the
handling of the ACTIVATED bit is from the v6.17 logic as remembered, so no
line numbers are given.

Activation walks from the outermost level to the root and activates the
*parent first*: on x86 the vector domain assigns the vector and installs the
descriptor in ``vector_irq[]``, then the PCI/MSI domain writes the message
into the device.  Deactivation goes the other way: the MSI domain writes an
empty message, then the vector domain releases the vector (slot ->
VECTOR_SHUTDOWN).
"""

from __future__ import annotations

from ...engine import kfunc
from .irqdesc import irq_data, irqd_clr_activated, irqd_is_activated, irqd_set_activated

IRQDOMAIN_C = "kernel/irq/irqdomain.c"


class irqdomain_c:
    """Port of the irq_domain activation helpers."""

    OWN_INITS: tuple[str, ...] = ()

    @kfunc(IRQDOMAIN_C, name="__irq_domain_deactivate_irq")
    def _irq_domain_deactivate_irq(self, irq_data: irq_data | None) -> None:
        if irq_data is not None and irq_data.domain is not None:
            domain = irq_data.domain
            if domain.ops.deactivate is not None:
                domain.ops.deactivate(domain, irq_data)
            if irq_data.parent_data is not None:
                self._irq_domain_deactivate_irq(irq_data.parent_data)

    @kfunc(IRQDOMAIN_C, name="__irq_domain_activate_irq")
    def _irq_domain_activate_irq(self, irqd: irq_data | None, reserve: bool) -> int:
        ret = 0
        if irqd is not None and irqd.domain is not None:
            domain = irqd.domain
            if irqd.parent_data is not None:
                ret = self._irq_domain_activate_irq(irqd.parent_data, reserve)
            if not ret and domain.ops.activate is not None:
                ret = domain.ops.activate(domain, irqd, reserve)
                # Roll the parents back if this level failed.
                if ret and irqd.parent_data is not None:
                    self._irq_domain_deactivate_irq(irqd.parent_data)
        return ret

    @kfunc(IRQDOMAIN_C)
    def irq_domain_activate_irq(self, irq_data: irq_data, reserve: bool) -> int:
        ret = 0
        if not irqd_is_activated(irq_data):
            ret = self._irq_domain_activate_irq(irq_data, reserve)
        if not ret:
            irqd_set_activated(irq_data)
        return ret

    @kfunc(IRQDOMAIN_C)
    def irq_domain_deactivate_irq(self, irq_data: irq_data) -> None:
        if irqd_is_activated(irq_data):
            self._irq_domain_deactivate_irq(irq_data)
            irqd_clr_activated(irq_data)


PORT = irqdomain_c
