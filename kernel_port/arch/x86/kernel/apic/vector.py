# SPDX-License-Identifier: GPL-2.0-only
"""x86 vector management: who writes vector_irq[], under vector_lock.

Ports arch/x86/kernel/apic/vector.c of Linux v6.17 (read at Kingxukai/linux
0291023e, v6.17-rc; line numbers checked against the hunk headers of a 2025
patch on that file).

The vector domain is the parent of every PCI/MSI interrupt on x86.  Its
per-interrupt ``apic_chip_data`` remembers the (CPU, vector) the interrupt
currently targets and, while it moves, the previous pair.  Every writer of
the per-CPU ``vector_irq[]`` table in this file holds ``vector_lock``:

* ``apic_update_vector``  installs the descriptor in the new slot (and
  BUG()s if the slot already holds a descriptor);
* ``clear_irq_vector``    writes VECTOR_SHUTDOWN into the slot(s) it releases
  (an interrupt may still be in flight) and frees the vector in the matrix
  at once, so the very next allocation can hand it out again;
* ``free_moved_vector``   writes VECTOR_UNUSED into the old slot after a move.

Reservation mode (a maskable PCI/MSI interrupt): at allocation time only a
global reservation is made and the message points at a catch-all shutdown
vector.  ``request_irq()`` activates the interrupt (``activate_reserved``:
a real vector from the matrix); ``free_irq()`` deactivates it
(``clear_irq_vector`` + back to the reservation).  So every free/request pair
goes through SHUTDOWN and gets the same vector back (kernel/irq/matrix.py).
An interrupt whose reservation mode the core turned off (an MSI without a
mask bit) keeps its vector and slot across free/request: deactivation returns
early ("regular fixed assigned interrupt").

``lock_vector_lock()`` is also taken by the interrupt entry code
(arch/x86/kernel/irq.py) since ce0b5eed.

What is abstracted
------------------
* Managed interrupts (``activate_managed``, ``assign_managed_vector``) and
  the NUMA node preference of ``assign_irq_vector_any_locked`` are not
  modelled (NUMA_NO_NODE); reaching the managed branch is an error.
* The deferred cleanup after an affinity move (per-CPU cleanup list and
  timer) is not modelled: no scenario moves an interrupt, so
  ``move_in_progress`` stays false and ``irq_complete_move`` returns at once.
  ``free_moved_vector`` is ported (a writer of the table) and unit-tested.
* ``apic->calc_dest_apicid(cpu)`` is the identity (APIC id = CPU number).
* ``irq_move_irq`` does nothing (no pending affinity change).
* Trace events are not modelled.
* ``lockdep_assert_held(&vector_lock)`` (in ``apic_update_irq_cfg``, ``apic_update_vector``,
  ``assign_vector_locked`` and ``clear_irq_vector``) exists only in a lockdep kernel, where it
  is a ``WARN_ON``.  The model checks it always, as that WARN_ON, against the engine's record
  of which CPU holds the lock (``raw_spinlock_t.owner``, not a step): lockdep's own
  bookkeeping, not kernel state.
* The "Affinity broken due to vector space exhaustion" check of ``activate_reserved`` is
  ported; its ``pr_warn`` is a ``printk`` (a trace note and a dmesg line).  It reads the two
  masks without steps: the effective affinity is written only under ``vector_lock``, which
  the caller holds, and the requested affinity never changes after set-up in the model (no
  scenario sets an affinity), so the values cannot change under the check and reading them as
  steps would only lengthen every execution (and shift recorded tokens).  With the model's
  window of vectors it never fires in the corpus.
"""

from __future__ import annotations

from typing import Any

from .....engine import (
    BUG_ON,
    WARN_ON,
    WARN_ON_ONCE,
    Struct,
    apic_eoi,
    apic_send_IPI,
    cpu_online,
    field,
    kfunc,
    printk,
    raw_spin_lock,
    raw_spin_lock_irqsave,
    raw_spin_unlock,
    raw_spin_unlock_irqrestore,
    raw_spinlock_t,
    smp_processor_id,
)
from .....kernel.irq.irqdesc import (
    IRQCHIP_AFFINITY_PRE_STARTUP,
    IRQCHIP_MOVE_DEFERRED,
    cpumask,
    irq_chip,
    irq_data,
    irq_data_get_affinity_mask,
    irq_data_to_desc,
    irq_data_update_effective_affinity,
    irq_domain,
    irq_domain_ops,
    irqd_affinity_is_managed,
    irqd_can_reserve,
    irqd_is_managed_and_shutdown,
    irqd_set_can_reserve,
    msi_msg,
)
from ..irq import FIRST_EXTERNAL_VECTOR, IS_ERR_OR_NULL, MODEL_VECTORS, VECTOR_SHUTDOWN, VECTOR_UNUSED

VECTOR_C = "arch/x86/kernel/apic/vector.c"

NR_VECTORS = 256
MANAGED_IRQ_SHUTDOWN_VECTOR = 0xEF
EBUSY = 16


class irq_cfg(Struct):
    """What the interrupt's message encodes: destination APIC id and vector."""

    dest_apicid = field(0)
    vector = field(0)
    owner = field(None, shared=False)  # the apic_chip_data (container_of)


class apic_chip_data(Struct):
    hw_irq_cfg = field(None, shared=False)
    vector = field(0)
    prev_vector = field(0)
    cpu = field(0)
    prev_cpu = field(0)
    irq = field(0, shared=False)
    clist_queued = field(False)  # !hlist_unhashed(&apicd->clist)
    move_in_progress = field(False)
    is_managed = field(False)
    can_reserve = field(False)
    has_reserved = field(False)


def new_apic_chip_data(irq: int) -> apic_chip_data:
    """alloc_apic_chip_data() (set-up only)."""
    cfg = irq_cfg(name=f"apicd[{irq}].hw_irq_cfg")
    apicd = apic_chip_data(name=f"apicd[{irq}]", hw_irq_cfg=cfg, irq=irq)
    cfg.owner = apicd
    return apicd


def apic_chip_data_of(irqd: irq_data) -> apic_chip_data:
    return irqd.chip_data  # type: ignore[no-any-return]


def lockdep_assert_held(lock: raw_spinlock_t) -> None:
    """lockdep's WARN_ON when this CPU does not hold ``lock`` (module docstring)."""
    WARN_ON(lock.owner != smp_processor_id(), f"lockdep: {lock!r} not held")


class vector_c:
    """Port of arch/x86/kernel/apic/vector.c (the parts the scenarios reach)."""

    OWN_INITS: tuple[str, ...] = ("init_vector",)

    def init_vector(self) -> None:
        self.vector_lock = raw_spinlock_t(name="vector_lock")
        # arch_early_irq_init(): the matrix over the model's window.
        self.vector_matrix = self.irq_alloc_matrix(
            NR_VECTORS, FIRST_EXTERNAL_VECTOR, FIRST_EXTERNAL_VECTOR + len(MODEL_VECTORS)
        )
        self.lapic_controller = irq_chip(
            "APIC",
            flags=IRQCHIP_MOVE_DEFERRED,
            irq_ack=self.apic_ack_edge,
            irq_retrigger=self.apic_retrigger_irq,
            irq_compose_msi_msg=self.x86_vector_msi_compose_msg,
        )
        self.x86_vector_domain_ops = irq_domain_ops(
            activate=self.x86_vector_activate,
            deactivate=self.x86_vector_deactivate,
        )
        self.x86_vector_domain = irq_domain("VECTOR", self.x86_vector_domain_ops)

    # -- the lock --------------------------------------------------------------

    @kfunc(VECTOR_C, line=61)
    def lock_vector_lock(self) -> None:
        raw_spin_lock(self.vector_lock)

    @kfunc(VECTOR_C, line=69)
    def unlock_vector_lock(self) -> None:
        raw_spin_unlock(self.vector_lock)

    # -- installing and releasing vectors ----------------------------------------

    @kfunc(VECTOR_C, line=128)
    def apic_update_irq_cfg(self, irqd: irq_data, vector: int, cpu: int) -> None:
        apicd = apic_chip_data_of(irqd)
        lockdep_assert_held(self.vector_lock)
        apicd.hw_irq_cfg.vector = vector
        apicd.hw_irq_cfg.dest_apicid = cpu
        irq_data_update_effective_affinity(irqd, cpumask((cpu,)))

    @kfunc(VECTOR_C, line=142, show=True)
    def apic_update_vector(self, irqd: irq_data, newvec: int, newcpu: int) -> None:
        apicd = apic_chip_data_of(irqd)
        desc = irq_data_to_desc(irqd)
        managed = irqd_affinity_is_managed(irqd)
        lockdep_assert_held(self.vector_lock)
        apicd.prev_vector = 0
        vector = apicd.vector
        if vector and vector != MANAGED_IRQ_SHUTDOWN_VECTOR:
            # The old target keeps its slot until the move is cleaned up;
            # a vector on an offline CPU is released at once.
            cpu = apicd.cpu
            if cpu_online(cpu):
                apicd.move_in_progress = True
                apicd.prev_vector = vector
                apicd.prev_cpu = cpu
                WARN_ON_ONCE(cpu == newcpu)
            else:
                self.irq_matrix_free(self.vector_matrix, cpu, vector, managed)
        # setnew:
        apicd.vector = newvec
        apicd.cpu = newcpu
        BUG_ON(not IS_ERR_OR_NULL(self.vector_irq[newcpu][newvec]))
        self.vector_irq[newcpu][newvec] = desc
        self.apic_update_irq_cfg(irqd, newvec, newcpu)

    @kfunc(VECTOR_C, line=189)
    def vector_assign_managed_shutdown(self, irqd: irq_data) -> None:
        cpu = next(c for c in range(self.m.ncpus) if cpu_online(c))  # cpumask_first(cpu_online_mask)
        self.apic_update_irq_cfg(irqd, MANAGED_IRQ_SHUTDOWN_VECTOR, cpu)

    @kfunc(VECTOR_C, line=211)
    def reserve_irq_vector_locked(self, irqd: irq_data) -> None:
        apicd = apic_chip_data_of(irqd)
        self.irq_matrix_reserve(self.vector_matrix)
        apicd.can_reserve = True
        apicd.has_reserved = True
        irqd_set_can_reserve(irqd)
        self.vector_assign_managed_shutdown(irqd)

    @kfunc(VECTOR_C, line=234)
    def assign_vector_locked(self, irqd: irq_data, dest: frozenset[int]) -> int:
        apicd = apic_chip_data_of(irqd)
        resvd = apicd.has_reserved
        cpu = apicd.cpu
        vector = apicd.vector
        lockdep_assert_held(self.vector_lock)
        # Already on an online CPU of the mask: nothing to move.
        if vector and cpu_online(cpu) and cpu in dest:
            return 0
        # A move or a cleanup is still pending: assigning now would leak or
        # corrupt it.
        if apicd.move_in_progress or apicd.clist_queued:
            return -EBUSY
        vector, cpu = self.irq_matrix_alloc(self.vector_matrix, set(dest), resvd)
        if vector < 0:
            return vector
        self.apic_update_vector(irqd, vector, cpu)
        return 0

    @kfunc(VECTOR_C, line=281)
    def assign_irq_vector_any_locked(self, irqd: irq_data) -> int:
        affmsk = irq_data_get_affinity_mask(irqd)
        # NUMA_NO_NODE in the model: the node-mask attempts are skipped.
        searchmask = frozenset(c for c in sorted(affmsk) if cpu_online(c))
        if not self.assign_vector_locked(irqd, searchmask):
            return 0
        online = frozenset(c for c in range(self.m.ncpus) if cpu_online(c))
        return self.assign_vector_locked(irqd, online)

    @kfunc(VECTOR_C, line=345)
    def clear_irq_vector(self, irqd: irq_data) -> None:
        apicd = apic_chip_data_of(irqd)
        managed = irqd_affinity_is_managed(irqd)
        vector = apicd.vector
        lockdep_assert_held(self.vector_lock)
        if not vector:
            return
        cpu = apicd.cpu
        # An interrupt may still be in flight to this slot.
        self.vector_irq[cpu][vector] = VECTOR_SHUTDOWN
        self.irq_matrix_free(self.vector_matrix, cpu, vector, managed)
        apicd.vector = 0
        # Clean up a move in progress.
        vector = apicd.prev_vector
        if not vector:
            return
        prev_cpu = apicd.prev_cpu
        self.vector_irq[prev_cpu][vector] = VECTOR_SHUTDOWN
        self.irq_matrix_free(self.vector_matrix, prev_cpu, vector, managed)
        apicd.prev_vector = 0
        apicd.move_in_progress = False
        apicd.clist_queued = False

    @kfunc(VECTOR_C, line=375)
    def x86_vector_deactivate(self, dom: irq_domain, irqd: irq_data) -> None:
        apicd = apic_chip_data_of(irqd)
        # Regular fixed assigned interrupt: keeps its vector and its slot.
        if not apicd.is_managed and not apicd.can_reserve:
            return
        # Only a global reservation: nothing assigned.
        if apicd.has_reserved:
            return
        flags = raw_spin_lock_irqsave(self.vector_lock)
        self.clear_irq_vector(irqd)
        if apicd.can_reserve:
            self.reserve_irq_vector_locked(irqd)
        else:
            self.vector_assign_managed_shutdown(irqd)
        raw_spin_unlock_irqrestore(self.vector_lock, flags)

    @kfunc(VECTOR_C, line=399)
    def activate_reserved(self, irqd: irq_data) -> int:
        apicd = apic_chip_data_of(irqd)
        ret = self.assign_irq_vector_any_locked(irqd)
        if not ret:
            apicd.has_reserved = False
            # The core may have turned reservation mode off after the
            # descriptor was allocated (an MSI without a mask bit).
            if not irqd_can_reserve(irqd):
                apicd.can_reserve = False
        # The vector found may lie outside the affinity the user asked for: say so.  Both masks
        # are read without a step (module docstring): nothing can change them under the check.
        common = irqd.common
        if not common.raw("effective_affinity") <= common.raw("affinity"):
            printk(f"irq {irqd.irq}: Affinity broken due to vector space exhaustion.", "warn")
        return ret

    @kfunc(VECTOR_C, line=431)
    def activate_managed(self, irqd: irq_data) -> int:
        raise NotImplementedError("managed interrupts are not modelled (see vector.py)")

    @kfunc(VECTOR_C, line=455)
    def x86_vector_activate(self, dom: irq_domain, irqd: irq_data, reserve: bool) -> int:
        apicd = apic_chip_data_of(irqd)
        ret = 0
        flags = raw_spin_lock_irqsave(self.vector_lock)
        if not apicd.can_reserve and not apicd.is_managed:
            self.assign_irq_vector_any_locked(irqd)  # the return value is ignored upstream
        elif reserve or irqd_is_managed_and_shutdown(irqd):
            self.vector_assign_managed_shutdown(irqd)
        elif apicd.is_managed:
            ret = self.activate_managed(irqd)
        elif apicd.has_reserved:
            ret = self.activate_reserved(irqd)
        raw_spin_unlock_irqrestore(self.vector_lock, flags)
        return ret

    # -- moves, retrigger, ack ---------------------------------------------------

    @kfunc(VECTOR_C, line=891)
    def free_moved_vector(self, apicd: apic_chip_data) -> None:
        # Caller holds vector_lock.
        vector = apicd.prev_vector
        cpu = apicd.prev_cpu
        managed = apicd.is_managed
        self.irq_matrix_free(self.vector_matrix, cpu, vector, managed)
        self.vector_irq[cpu][vector] = VECTOR_UNUSED
        apicd.clist_queued = False
        apicd.prev_vector = 0
        apicd.move_in_progress = False

    @kfunc(VECTOR_C, line=996)
    def apic_retrigger_irq(self, irqd: irq_data) -> int:
        apicd = apic_chip_data_of(irqd)
        flags = raw_spin_lock_irqsave(self.vector_lock)
        apic_send_IPI(apicd.cpu, apicd.vector)
        raw_spin_unlock_irqrestore(self.vector_lock, flags)
        return 1

    @kfunc(VECTOR_C, line=1008)
    def apic_ack_irq(self, irqd: irq_data) -> None:
        # irq_move_irq(irqd): no affinity change is ever pending in the model.
        apic_eoi()

    @kfunc(VECTOR_C, line=1014)
    def apic_ack_edge(self, irqd: irq_data) -> None:
        self.irq_complete_move(apic_chip_data_of(irqd).hw_irq_cfg)
        self.apic_ack_irq(irqd)

    @kfunc(VECTOR_C, line=1020)
    def x86_vector_msi_compose_msg(self, irqd: irq_data) -> msi_msg:
        """__irq_msi_compose_msg(): the message is (destination APIC id, vector)."""
        cfg = apic_chip_data_of(irqd).hw_irq_cfg
        return msi_msg(cfg.dest_apicid, cfg.vector)

    @kfunc(VECTOR_C, line=1131)
    def irq_complete_move(self, cfg: irq_cfg) -> None:
        apicd = cfg.owner
        if not apicd.move_in_progress:
            return
        # The first interrupt on the new target would start the old vector's
        # cleanup (per-CPU list and timer); moves are not modelled.
        if apicd.cpu == smp_processor_id():
            raise NotImplementedError("vector cleanup after a move is not modelled (see vector.py)")


def x86_msi_chip_flags() -> int:
    """Flags x86_init_dev_msi_info() gives a PCI/MSI chip."""
    from .....kernel.irq.irqdesc import IRQCHIP_SKIP_SET_WAKE

    return IRQCHIP_SKIP_SET_WAKE | IRQCHIP_AFFINITY_PRE_STARTUP


def vector_irq_snapshot(k: Any) -> list[dict[int, str]]:
    """Every CPU's modelled slots as text (tests and docs)."""
    return [{v: repr(k.vector_irq[c].raw(f"{v:#04x}")) for v in MODEL_VECTORS} for c in range(k.m.ncpus)]


PORT = vector_c
