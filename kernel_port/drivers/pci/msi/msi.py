# SPDX-License-Identifier: GPL-2.0-only
"""PCI MSI-X: the per-vector mask bit and message registers of a device.

Ports the MSI-X mask/unmask and message write of drivers/pci/msi/msi.c and
drivers/pci/msi/irqdomain.c of Linux v6.17 (from the v6.17 logic; not
re-read at the pinned commit, so no line numbers).  These are the PCI/MSI
chip's callbacks: ``irq_shutdown()`` masks through them, ``irq_startup()``
unmasks, and the MSI domain's (de)activation writes the message.

The MSI-X table entry (``pci_msix_entry``) is device memory: the device
model of a scenario reads it to decide whether, and where, it may send its
message.

What is abstracted
------------------
* A write to the entry is one step and takes effect at once (no posted-write
  flush); the mask bit around a message write of an unmasked entry is not
  modelled (the model writes messages only while the entry is masked).
* The message is the pair (destination APIC id, vector).
"""

from __future__ import annotations

from typing import Any

from ....engine import Struct, field, kfunc
from ....kernel.irq.irqdesc import irq_data, msi_msg

PCI_MSI_C = "drivers/pci/msi/msi.c"
PCI_MSI_IRQDOMAIN_C = "drivers/pci/msi/irqdomain.c"


class pci_msix_entry(Struct):
    """One MSI-X table entry of the device (MMIO)."""

    masked = field(True)  # Vector Control mask bit
    dest = field(0)  # message address: destination APIC id
    vector = field(0)  # message data: vector


class msi_desc(Struct):
    """The kernel's descriptor of one MSI-X vector, with its cached message."""

    irq = field(0, shared=False)
    entry = field(None, shared=False)  # the device's table entry
    msg = field(msi_msg(0, 0))  # cached copy of the last message written


def irq_data_get_msi_desc(d: irq_data) -> msi_desc:
    return d.common.msi_desc  # type: ignore[no-any-return]


class pci_msi_c:
    """Port of the PCI/MSI-X chip callbacks."""

    OWN_INITS: tuple[str, ...] = ()

    @kfunc(PCI_MSI_C)
    def pci_msix_mask(self, desc: msi_desc) -> None:
        desc.entry.masked = True

    @kfunc(PCI_MSI_C)
    def pci_msix_unmask(self, desc: msi_desc) -> None:
        desc.entry.masked = False

    @kfunc(PCI_MSI_IRQDOMAIN_C)
    def pci_msi_mask_irq(self, data: irq_data) -> None:
        self.pci_msix_mask(irq_data_get_msi_desc(data))

    @kfunc(PCI_MSI_IRQDOMAIN_C)
    def pci_msi_unmask_irq(self, data: irq_data) -> None:
        self.pci_msix_unmask(irq_data_get_msi_desc(data))

    @kfunc(PCI_MSI_C, name="__pci_write_msi_msg")
    def _pci_write_msi_msg(self, entry: msi_desc, msg: tuple[int, int]) -> None:
        entry.entry.dest = msg[0]
        entry.entry.vector = msg[1]
        entry.msg = msg

    @kfunc(PCI_MSI_IRQDOMAIN_C)
    def pci_msi_domain_write_msg(self, irq_data: irq_data, msg: tuple[int, int]) -> None:
        self._pci_write_msi_msg(irq_data_get_msi_desc(irq_data), msg)

    @kfunc(PCI_MSI_C)
    def pci_write_msi_msg(self, irq: int, msg: tuple[int, int]) -> None:
        self._pci_write_msi_msg(self.irq_to_desc(irq).irq_data.common.msi_desc, msg)

    @kfunc("kernel/irq/msi.c")
    def get_cached_msi_msg(self, irq: int) -> Any:
        return self.irq_to_desc(irq).irq_data.common.msi_desc.msg


PORT = pci_msi_c
