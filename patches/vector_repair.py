# SPDX-License-Identifier: GPL-2.0-only
"""vector-repair: the rejected x86 "repair_irq" proposal (Hogan Wang, 2025-07).

After VFIO re-requested an MSI-X interrupt, re-write ``vector_irq[]`` if the
slot no longer points at the descriptor.  The patch adds:

* ``x86_vector_repair()`` in arch/x86/kernel/apic/vector.c: under
  ``vector_lock``, if the slot of the interrupt's (CPU, vector) is not the
  descriptor, store the descriptor and warn "repair vector";
* an ``irq_domain_ops.repair`` hook, wired into the x86 vector domain, and
  ``__irq_domain_repair_irq`` / ``irq_domain_repair_irq`` walking the
  hierarchy (only for an activated interrupt);
* an exported ``repair_irq(irq)`` in kernel/irq/manage.c taking
  ``request_mutex`` and ``desc->lock`` around the walk;
* a call of ``repair_irq()`` at the end of ``vfio_msi_set_vector_signal()``.

Review (87frenrlkk.ffs@tglx) rejected it: a function drivers should never
need, and it "does not even work under all circumstances" -- the late
interrupt's unlocked store can come *after* the repair looked (the
x86.vfio-overwrite counterexample on v6.16+vector-repair), and bare-metal
drivers that free and request with the device interrupt disabled get no
repair at all (x86.vector-overwrite).  The fix was ce0b5eed instead.
"""

from __future__ import annotations

from typing import Any

from kernel_port.engine import kfunc, raw_spin_lock_irqsave, raw_spin_unlock_irqrestore
from kernel_port.kernel.irq.irqdesc import (
    irq_data,
    irq_data_to_desc,
    irq_domain,
    irqd_is_activated,
    mutex_lock,
    mutex_unlock,
)
from kernel_port.variants import Patch

V = "vector-repair"
LINK = "20250723015045.1701-1-hogan.wang@huawei.com"


class repair_irq_hook:
    """The functions the proposal adds or changes."""

    def init_vector(self) -> None:
        super().init_vector()  # type: ignore[misc]
        # x86_vector_domain_ops gains .repair
        self.x86_vector_domain_ops.repair = self.x86_vector_repair

    @kfunc("arch/x86/kernel/apic/vector.c", V, show=True)
    def x86_vector_repair(self, dom: irq_domain, irqd: irq_data) -> None:
        apicd = irqd.chip_data
        desc = irq_data_to_desc(irqd)
        flags = raw_spin_lock_irqsave(self.vector_lock)
        cpu = apicd.cpu
        vector = apicd.vector
        if self.vector_irq[cpu][vector] is not desc:
            self.vector_irq[cpu][vector] = desc
            self.dmesg.append(f"irq {irqd.irq}: repair vector {cpu}.{vector}")
        raw_spin_unlock_irqrestore(self.vector_lock, flags)

    @kfunc("kernel/irq/irqdomain.c", V, name="__irq_domain_repair_irq")
    def _irq_domain_repair_irq(self, irqd: irq_data | None) -> None:
        if irqd is not None and irqd.domain is not None:
            domain = irqd.domain
            repair = getattr(domain.ops, "repair", None)
            if repair is not None:
                repair(domain, irqd)
            if irqd.parent_data is not None:
                self._irq_domain_repair_irq(irqd.parent_data)

    @kfunc("kernel/irq/irqdomain.c", V)
    def irq_domain_repair_irq(self, irqd: irq_data) -> None:
        if irqd_is_activated(irqd):
            self._irq_domain_repair_irq(irqd)

    @kfunc("kernel/irq/manage.c", V)
    def repair_irq(self, irq: int) -> None:
        desc = self.irq_to_desc(irq)
        if desc is None:
            return
        mutex_lock(desc.request_mutex)
        # chip_bus_lock(desc)
        flags = raw_spin_lock_irqsave(desc.lock)
        self.irq_domain_repair_irq(desc.irq_data)
        raw_spin_unlock_irqrestore(desc.lock, flags)
        mutex_unlock(desc.request_mutex)

    @kfunc("drivers/vfio/pci/vfio_pci_intrs.c", V, show=True)
    def vfio_msi_set_vector_signal(self, vdev: Any, vector: int, fd: Any, msix: bool) -> int:
        ret = super().vfio_msi_set_vector_signal(vdev, vector, fd, msix)  # type: ignore[misc]
        if fd is not None and not ret:
            self.repair_irq(self.pci_irq_vector(vdev, vector))
        return ret  # type: ignore[no-any-return]


PATCH = Patch(
    name="vector-repair",
    cls=repair_irq_hook,
    title="x86/irq: introduce repair_irq try to repair CPU vector",
    author="Hogan Wang",
    date="2025-07-23",
    kind="rejected",
    applies_to=("v6.16",),
    link=LINK,
    notes="rejected in 87frenrlkk.ffs@tglx; fixed instead by ce0b5eed",
)
