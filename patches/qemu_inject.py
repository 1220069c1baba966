# SPDX-License-Identifier: GPL-2.0-only
"""qemu-inject: after switching a vector's eventfd, inject the interrupt once.

The user-space workaround suggested in review (87frenrlkk.ffs@tglx): the
interrupt lost in the VFIO free/request window cannot be recovered by the
kernel (it was taken after VECTOR_SHUTDOWN and acknowledged as spurious), so
QEMU, after the VFIO_DEVICE_SET_IRQS ioctl returns, unconditionally signals
the vector's eventfd once.  The guest then runs its handler, reads the
device's status, and a device waiting for that acknowledgement raises again.
A spurious extra interrupt costs the guest one status read.

Models QEMU, not the kernel: it changes ``vfio_msix_vector_do_use`` of the
user-space model in kernel_port/drivers/vfio/pci/vfio_pci_intrs.py.
"""

from __future__ import annotations

from typing import Any

from kernel_port.engine import kfunc
from kernel_port.variants import Patch


class inject_after_switch:
    """QEMU signals the new eventfd once after the ioctl."""

    @kfunc("qemu: hw/vfio/pci.c", "qemu-inject")
    def vfio_msix_vector_do_use(self, vdev: Any, nr: int, fd: Any) -> int:
        ret = super().vfio_msix_vector_do_use(vdev, nr, fd)  # type: ignore[misc]
        if fd is not None:
            self.event_notifier_set(fd)
        return ret  # type: ignore[no-any-return]


PATCH = Patch(
    name="qemu-inject",
    cls=inject_after_switch,
    title="QEMU: inject the MSI-X interrupt once after switching its eventfd",
    author="Thomas Gleixner (suggested in review)",
    date="2025-07-23",
    kind="workaround",
    applies_to=("v6.17",),
    link="87frenrlkk.ffs@tglx",
)
