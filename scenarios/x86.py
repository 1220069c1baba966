# SPDX-License-Identifier: GPL-2.0-only
"""x86 interrupt vectors: a late interrupt meets free_irq()/request_irq().

Family ``x86.``.  One PCI device with one MSI-X vector, interrupt 24, bound
to CPU 1 (its affinity).  At the start the interrupt is requested and the
device is running (``setup_msix_irq`` builds the state probe leaves behind;
tests/test_x86.py checks it equals what running request_irq() produces).
CPU 0 frees and requests the interrupt again; CPU 1 idles and takes whatever
its APIC delivers.  The vector allocator hands the same (CPU 1, vector 0x20)
back, as the real matrix allocator does.

The device behaves like real hardware with a read-to-clear interrupt status:
it raises its MSI-X message only when its status is clear (it is not still
waiting for the driver to read it), its own interrupt enable is on, and its
MSI-X vector is unmasked; raising sets the status.  A raise while masked is
simply taken later (what the pending bit does).  The driver acknowledges by
reading the status.  The device may raise once (budget 1), whenever the
guard allows.  In the VFIO scenarios the driver is in the guest: the host
handler only signals an eventfd, and a signalled eventfd counts as delivered
(the guest would then read the status); the guest itself is not modelled.
"""

from __future__ import annotations

from typing import Any

from kernel_port.arch.x86.kernel.apic.vector import new_apic_chip_data, x86_msi_chip_flags
from kernel_port.drivers.pci.msi.msi import msi_desc, pci_msix_entry
from kernel_port.drivers.vfio.pci.vfio_pci_intrs import new_eventfd, vfio_pci_core_device, vfio_pci_irq_ctx
from kernel_port.engine import Machine, Struct, field, key_of, kfunc, xchg
from kernel_port.kernel.irq.irqdesc import (
    IRQ_HANDLED,
    IRQ_NONE,
    cpumask,
    irq_chip,
    irq_data,
    irq_domain,
    irq_domain_ops,
    irqaction,
    msi_msg,
    new_irq_desc,
)
from kernel_port.scenario import BUG, OK, Scenario

IRQ = 24
TARGET_CPU = 1
DRIVER = "scenarios/x86.py (model driver)"


class pci_nic(Struct):
    """The device: a read-to-clear interrupt status and its own interrupt enable."""

    irq_status = field(0)
    intr_enable = field(1)


def setup_msix_irq(k: Any, m: Machine, *, requested: bool, handler: Any = None, dev_id: Any = None) -> dict[str, Any]:
    """Interrupt 24: PCI/MSI-X under the x86 vector domain, in reservation mode.

    ``requested=False``: the state pci_alloc_irq_vectors() leaves (a global
    reservation, the message aimed at the shutdown vector, not activated,
    masked).  ``requested=True``: additionally request_irq()ed -- vector 0x20
    on CPU 1 from the matrix, slot installed, message written, unmasked,
    action published.
    """
    desc = new_irq_desc(IRQ)
    common = desc.irq_common_data
    common.affinity = cpumask((TARGET_CPU,))
    entry = pci_msix_entry(name="nic.msix[0]")
    mdesc = msi_desc(name=f"msi_desc[{IRQ}]", irq=IRQ, entry=entry)
    common.msi_desc = mdesc
    apicd = new_apic_chip_data(IRQ)
    parent = irq_data(
        name=f"irq_data[{IRQ}].VECTOR",
        irq=IRQ,
        common=common,
        chip=k.lapic_controller,
        domain=k.x86_vector_domain,
        chip_data=apicd,
    )
    msi_chip = irq_chip(
        "PCI-MSIX",
        flags=x86_msi_chip_flags(),
        irq_mask=k.pci_msi_mask_irq,
        irq_unmask=k.pci_msi_unmask_irq,
        irq_ack=k.irq_chip_ack_parent,
        irq_retrigger=k.irq_chip_retrigger_hierarchy,
        irq_write_msi_msg=k.pci_msi_domain_write_msg,
    )
    msi_domain = irq_domain(
        "PCI-MSIX", irq_domain_ops(activate=k.msi_domain_activate, deactivate=k.msi_domain_deactivate)
    )
    top = irq_data(
        name=f"irq_data[{IRQ}]", irq=IRQ, common=common, chip=msi_chip, domain=msi_domain, parent_data=parent
    )
    desc.irq_data = top
    desc.handle_irq = k.handle_edge_irq
    k.irq_insert_desc(IRQ, desc)
    # pci_alloc_irq_vectors(): reservation mode, early activation with the
    # shutdown vector, then ACTIVATED cleared again (msi_init_virq).
    k.irq_matrix_reserve(k.vector_matrix)
    apicd.can_reserve = True
    apicd.has_reserved = True
    common.IRQD_CAN_RESERVE = True
    common.IRQD_IRQ_DISABLED = True
    common.IRQD_IRQ_MASKED = True
    apicd.hw_irq_cfg.vector = 0xEF
    apicd.hw_irq_cfg.dest_apicid = 0
    common.effective_affinity = cpumask((0,))
    entry.dest, entry.vector = 0, 0xEF
    mdesc.msg = msi_msg(0, 0xEF)
    vector = None
    if requested:
        vector, cpu = k.irq_matrix_alloc(k.vector_matrix, {TARGET_CPU}, True)
        assert (vector, cpu) == (0x20, TARGET_CPU)
        apicd.has_reserved = False
        apicd.vector, apicd.cpu = vector, cpu
        apicd.hw_irq_cfg.vector, apicd.hw_irq_cfg.dest_apicid = vector, cpu
        common.effective_affinity = cpumask((cpu,))
        k.vector_irq[cpu][vector] = desc
        entry.dest, entry.vector = cpu, vector
        mdesc.msg = msi_msg(cpu, vector)
        common.IRQD_ACTIVATED = True
        common.IRQD_IRQ_STARTED = True
        common.IRQD_IRQ_DISABLED = False
        common.IRQD_IRQ_MASKED = False
        entry.masked = False
        desc.depth = 0
        action = irqaction(name="irqaction(nic)", handler=handler, dev_id=dev_id, irq=IRQ)
        action.__dict__["name"] = "nic"
        desc.action = action
    return {"desc": desc, "entry": entry, "apicd": apicd, "vector": vector}


def add_device_source(m: Machine, dev: pci_nic, entry: pci_msix_entry, vector: int, budget: int) -> None:
    """The device raises its MSI-X message when its status is clear, it is enabled and unmasked."""

    d, e = dev.__dict__, entry.__dict__  # engine-side reads of the device's registers

    def may_raise() -> bool:
        return (
            d["irq_status"] == 0
            and bool(d["intr_enable"])
            and not e["masked"]
            and e["dest"] == TARGET_CPU
            and e["vector"] == vector
        )

    def raise_it() -> None:
        d["irq_status"] = 1

    m.add_source(
        "device raises MSI-X",
        TARGET_CPU,
        vector,
        budget=budget,
        guard=may_raise,
        keys=[
            key_of(dev, "irq_status"),
            key_of(dev, "intr_enable"),
            key_of(entry, "masked"),
            key_of(entry, "dest"),
            key_of(entry, "vector"),
        ],
        action=raise_it,
    )


class _X86Vector(Scenario):
    cpus = 2

    def slot_check(self, k: Any) -> None:
        apicd = self.irq["apicd"]
        desc = self.irq["desc"]
        cpu, vector = apicd.raw("cpu"), apicd.raw("vector")
        got = k.vector_irq[cpu].raw(f"{vector:#04x}")
        assert got is desc, (
            f"request_irq() returned, but vector_irq[{cpu}][{vector:#04x}] is {got!r}, not {desc!r}: "
            "the descriptor was overwritten"
        )


# -- host driver -----------------------------------------------------------------------


@kfunc(DRIVER, "model")
def nic_interrupt(irq: int, dev: pci_nic) -> int:
    """The driver's handler: reading the status acknowledges the interrupt."""
    if not xchg(dev, "irq_status", 0):
        return IRQ_NONE
    return IRQ_HANDLED


@kfunc(DRIVER, "model")
def disable_irq_in_device(dev: pci_nic) -> None:
    dev.intr_enable = 0


@kfunc(DRIVER, "model")
def enable_irq_in_device(dev: pci_nic) -> None:
    # Re-initialise: clear a stale status, then let the device interrupt again.
    xchg(dev, "irq_status", 0)
    dev.intr_enable = 1


class VectorOverwrite(_X86Vector):
    """A late interrupt overwrites the descriptor request_irq() just installed.

    A host driver re-requests its interrupt the careful way:
    ``disable_irq_in_device(); free_irq(); request_irq(); enable_irq_in_device()``.
    The device raised once just before it was told to stop; the message sits
    in CPU 1's APIC (CPU 1 is slow to take it -- interrupts off, or simply
    later in this schedule).  ``free_irq()`` masks, cannot see CPU 1's IRR in
    ``__synchronize_irq()``, and deactivates: ``vector_irq[1][0x20] =
    VECTOR_SHUTDOWN``.  CPU 1 takes the stale vector and reads SHUTDOWN.
    ``request_irq()`` gets vector 0x20 on CPU 1 again and installs the
    descriptor.  CPU 1, before ce0b5eed, now stores VECTOR_UNUSED -- over the
    descriptor.  The driver re-enables the device, and every interrupt from
    now on is "No irq handler"; a device that waits for its status to be
    read hangs.

    Properties: after request_irq() returned the slot holds the descriptor
    (final check: with it, every later interrupt reaches the handler), and
    the device is not left waiting for a status read (liveness).  ``vector-repair`` hooks only
    the VFIO path, so it does not help this driver.
    """

    name = "x86.vector-overwrite"
    expect = {
        "v6.16": BUG,
        "v6.16+vector-repair": BUG,
        "v6.16+ce0b5eed": OK,
        "v6.17": OK,
    }

    def setup(self, k: Any, m: Machine) -> None:
        self.dev = pci_nic(name="nic")
        self.irq = setup_msix_irq(k, m, requested=True, handler=nic_interrupt, dev_id=self.dev)
        # The device is running: it may raise before the driver stops it, or
        # after the driver restarted it.
        add_device_source(m, self.dev, self.irq["entry"], self.irq["vector"], budget=1)
        m.eventually(
            "every interrupt the device raised reached the driver (its status was read)",
            lambda: self.dev.irq_status == 0,
        )
        m.at_end(lambda: self.slot_check(k))

    def cpu0(self, k: Any) -> None:
        disable_irq_in_device(self.dev)
        k.free_irq(IRQ, self.dev)
        assert k.request_irq(IRQ, nic_interrupt, 0, "nic", self.dev) == 0
        enable_irq_in_device(self.dev)


# -- VFIO ---------------------------------------------------------------------------------


class _Vfio(_X86Vector):
    """Shared set-up: the vector wired to KVM's irqfd; QEMU switches it to its own eventfd."""

    def setup(self, k: Any, m: Machine) -> None:
        self.dev = pci_nic(name="nic")
        self.kvm_irqfd = new_eventfd("kvm_irqfd")
        self.qemu_efd = new_eventfd("qemu_eventfd")
        self.irq = setup_msix_irq(k, m, requested=True, handler=k.vfio_msihandler, dev_id=self.kvm_irqfd)
        self.vdev = vfio_pci_core_device(name="vdev", irqs={0: IRQ}, ctx={})
        self.vdev.ctx[0] = vfio_pci_irq_ctx(name="vfio ctx[0]", trigger=self.kvm_irqfd, label="vfio-msix[0]")
        add_device_source(m, self.dev, self.irq["entry"], self.irq["vector"], budget=1)

    def cpu0(self, k: Any) -> None:
        # The guest masked MSI-X vector 0: QEMU moves it to its own eventfd.
        assert k.vfio_msix_vector_do_use(self.vdev, 0, self.qemu_efd) == 0


class VfioOverwrite(_Vfio):
    """VFIO re-requests the interrupt of a running device; a late interrupt clobbers the slot.

    A guest's irqbalance moves a passed-through device's MSI-X interrupt; the
    guest masks the vector, which traps to QEMU, and QEMU switches the
    vector's eventfd with VFIO_DEVICE_SET_IRQS: ``vfio_msi_set_vector_signal``
    does ``free_irq()`` + ``request_irq()`` while the device keeps running.
    The device raised just before the host masked the vector; CPU 1 takes it
    after the deactivation, reads VECTOR_SHUTDOWN and, before ce0b5eed,
    stores UNUSED after request_irq() installed the descriptor again.

    Property: after the switch the slot holds the descriptor (final check).
    The rejected ``vector-repair`` re-writes the slot at the end of the VFIO
    call, but the late store can come after the repair looked -- the
    counterexample on v6.16+vector-repair shows exactly that.  ce0b5eed
    (v6.17) closes it.
    """

    name = "x86.vfio-overwrite"
    expect = {
        "v6.16": BUG,
        "v6.16+vector-repair": BUG,
        "v6.17": OK,
    }

    def setup(self, k: Any, m: Machine) -> None:
        super().setup(k, m)
        m.at_end(lambda: self.slot_check(k))


class VfioLostInterrupt(_Vfio):
    """The interrupt taken between SHUTDOWN and the new descriptor is lost for good.

    Same VFIO switch.  Even with ce0b5eed the late interrupt, if CPU 1 takes
    it after the deactivation and before the activation, is correctly turned
    from SHUTDOWN into UNUSED under vector_lock -- and acknowledged as
    spurious.  The eventfd is never signalled, the guest never reads the
    device's status, and the device never raises again.  No locking in the
    kernel can recover it (the interrupt happened while nothing was
    requested).  The review's suggestion: QEMU injects the interrupt once
    after the switch (``qemu-inject``); a spurious injection costs the guest
    one status read.

    Property: every interrupt the device raised reaches the guest driver
    (liveness: the device is not left waiting).
    """

    name = "x86.vfio-lost-interrupt"
    expect = {
        "v6.16": BUG,
        "v6.17": BUG,
        "v6.17+qemu-inject": OK,
    }

    def setup(self, k: Any, m: Machine) -> None:
        super().setup(k, m)
        fds = (self.kvm_irqfd, self.qemu_efd)
        # The guest reads the status once it gets the interrupt through an
        # eventfd; nothing else would ever clear it.
        m.eventually(
            "every interrupt the device raised was signalled to the guest (an eventfd fired)",
            lambda: self.dev.irq_status == 0 or any(f.count.counter > 0 for f in fds),
        )
