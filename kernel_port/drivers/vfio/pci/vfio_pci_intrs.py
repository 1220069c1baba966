# SPDX-License-Identifier: GPL-2.0-only
"""VFIO-PCI MSI-X: switching a vector's eventfd by freeing and requesting the irq.

Ports ``vfio_msi_set_vector_signal`` and ``vfio_msihandler`` of
drivers/vfio/pci/vfio_pci_intrs.c of Linux v6.17 (read at Kingxukai/linux
0291023e; no line numbers were counted), with the user-space caller it
serves modelled after QEMU.

QEMU switches an MSI-X vector between the KVM irqfd and its own eventfd (for
example when the guest masks the vector and QEMU must emulate the pending
bit).  Each switch is a VFIO_DEVICE_SET_IRQS ioctl, which for an already
wired vector does ``free_irq()`` and then ``request_irq()`` with the new
eventfd as ``dev_id`` -- on a device that keeps running: the guest's mask
only trapped to QEMU, the device itself was never told to stop.  An
interrupt the device raised just before the host masked the vector can be
pending in another CPU's APIC; ``free_irq()`` cannot see it (manage.py).
When that CPU finally takes it, the slot says VECTOR_SHUTDOWN and the
interrupt is discarded as spurious: the eventfd is never signalled, the
guest never reads the device's status, and a device that raises only after
its status was read waits forever.  The x86 locking fix (ce0b5eed) cannot
help with that; review suggested that user space inject the interrupt once
after the switch (patches/qemu_inject.py), or that VFIO stop freeing active
interrupts.

What is abstracted
------------------
* The ioctl path (``vfio_pci_set_irqs_ioctl`` -> ``vfio_pci_set_msi_trigger``
  -> ``vfio_msi_set_block``) is collapsed into the call of
  ``vfio_msi_set_vector_signal`` for one vector.
* irq bypass (posted interrupts), the memory-enable lock, name allocation and
  eventfd reference counting are not modelled; a file descriptor is the
  eventfd context itself, and ``None`` stands for fd < 0.
* An eventfd is a counter; ``eventfd_signal`` (fs/eventfd.c) increments it
  in one step (the wait-queue lock around the increment is not modelled).
* ``vfio_msix_vector_do_use`` models QEMU (hw/vfio/pci.c), not the kernel.
"""

from __future__ import annotations

from typing import Any

from ....engine import Struct, atomic_inc, atomic_t, field, kfunc
from ....kernel.irq.irqdesc import IRQ_HANDLED

VFIO_INTRS_C = "drivers/vfio/pci/vfio_pci_intrs.c"
EVENTFD_C = "fs/eventfd.c"
QEMU_VFIO_PCI_C = "qemu: hw/vfio/pci.c"

EINVAL = 22


class eventfd_ctx(Struct):
    count = field(None, shared=False)  # an atomic_t


def new_eventfd(name: str) -> eventfd_ctx:
    return eventfd_ctx(name=name, count=atomic_t(name=f"{name}.count"))


class vfio_pci_irq_ctx(Struct):
    trigger = field(None)
    label = field("", shared=False)


class vfio_pci_core_device(Struct):
    irqs = field(None, shared=False)  # pci_irq_vector(): MSI-X index -> Linux irq
    ctx = field(None, shared=False)  # the xarray of per-vector contexts (only the ioctl path touches it)


class vfio_pci_intrs_c:
    """Port of the VFIO-PCI MSI-X vector switch."""

    OWN_INITS: tuple[str, ...] = ()

    @kfunc(EVENTFD_C)
    def eventfd_signal(self, ctx: eventfd_ctx) -> None:
        atomic_inc(ctx.count)

    @kfunc(VFIO_INTRS_C, show=True)
    def vfio_msihandler(self, irq: int, arg: eventfd_ctx) -> int:
        self.eventfd_signal(arg)
        return IRQ_HANDLED

    def pci_irq_vector(self, vdev: vfio_pci_core_device, vector: int) -> int:
        return vdev.irqs[vector]  # type: ignore[no-any-return]

    @kfunc(VFIO_INTRS_C, show=True)
    def vfio_msi_set_vector_signal(self, vdev: vfio_pci_core_device, vector: int, fd: Any, msix: bool) -> int:
        irq = -EINVAL
        ctx = vdev.ctx.get(vector)  # vfio_irq_ctx_get()
        if ctx is not None:
            # Tear the old wiring down: the interrupt stays allocated, only
            # the handler goes (irq bypass producer: not modelled).
            irq = self.pci_irq_vector(vdev, vector)
            self.free_irq(irq, ctx.trigger)
            del vdev.ctx[vector]  # vfio_irq_ctx_free()
        if fd is None:
            return 0
        if irq == -EINVAL:
            irq = self.pci_irq_vector(vdev, vector)  # vfio_msi_alloc_irq(): already allocated
        ctx = vfio_pci_irq_ctx(name=f"vfio ctx[{vector}]", label=f"vfio-msix[{vector}]")
        vdev.ctx[vector] = ctx  # vfio_irq_ctx_alloc()
        trigger = fd  # eventfd_ctx_fdget(fd)
        if msix:
            # Refresh the message in the device in case of a backdoor reset.
            msg = self.get_cached_msi_msg(irq)
            self.pci_write_msi_msg(irq, msg)
        ret = self.request_irq(irq, self.vfio_msihandler, 0, ctx.label, trigger)
        if ret:
            del vdev.ctx[vector]
            return ret  # type: ignore[no-any-return]
        ctx.trigger = trigger
        return 0

    # -- user space (QEMU) ---------------------------------------------------------------

    @kfunc(QEMU_VFIO_PCI_C, "model")
    def vfio_msix_vector_do_use(self, vdev: vfio_pci_core_device, nr: int, fd: Any) -> int:
        """QEMU switches MSI-X vector ``nr`` to eventfd ``fd`` (VFIO_DEVICE_SET_IRQS)."""
        return self.vfio_msi_set_vector_signal(vdev, nr, fd, True)

    @kfunc("qemu: util/event_notifier-posix.c", "model")
    def event_notifier_set(self, fd: eventfd_ctx) -> None:
        """QEMU writes 1 to an eventfd (for the KVM irqfd: inject into the guest)."""
        atomic_inc(fd.count)


PORT = vfio_pci_intrs_c
