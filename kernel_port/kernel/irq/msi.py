# SPDX-License-Identifier: GPL-2.0-only
"""The MSI domain's activate/deactivate: write the message into the device.

Ports ``msi_domain_activate`` / ``msi_domain_deactivate`` and
``irq_chip_write_msi_msg`` of kernel/irq/msi.c and include/linux/irq.h of
Linux v6.17 (from the v6.17 logic; not re-read at the pinned commit, so no
line numbers).  Activation composes the message from the parent (the x86
vector domain: destination APIC id and vector) and writes it; deactivation
writes an all-zero message.

What is abstracted
------------------
* A message is the pair (destination APIC id, vector); address/data
  encoding, the level check and the two-message (MSI parent) case are not
  modelled.
"""

from __future__ import annotations

from ...engine import BUG_ON, kfunc
from .irqdesc import irq_data, irq_domain, msi_msg

MSI_C = "kernel/irq/msi.c"


class msi_c:
    """Port of the MSI domain activation callbacks."""

    OWN_INITS: tuple[str, ...] = ()

    @kfunc("include/linux/irq.h")
    def irq_chip_write_msi_msg(self, data: irq_data, msg: tuple[int, int]) -> None:
        data.chip.irq_write_msi_msg(data, msg)

    @kfunc(MSI_C)
    def msi_domain_activate(self, domain: irq_domain, irq_data: irq_data, early: bool) -> int:
        msg = self.irq_chip_compose_msi_msg(irq_data)
        BUG_ON(msg is None)
        self.irq_chip_write_msi_msg(irq_data, msg)
        return 0

    @kfunc(MSI_C)
    def msi_domain_deactivate(self, domain: irq_domain, irq_data: irq_data) -> None:
        self.irq_chip_write_msi_msg(irq_data, msi_msg(0, 0))


PORT = msi_c
