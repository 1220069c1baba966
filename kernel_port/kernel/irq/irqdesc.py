# SPDX-License-Identifier: GPL-2.0-only
"""Interrupt descriptors, irq_data, actions, chips and domains.

The types of include/linux/irqdesc.h, include/linux/irq.h,
include/linux/interrupt.h and include/linux/irqdomain.h that the genirq and
x86 vector ports share, and ``irq_to_desc()`` of kernel/irq/irqdesc.c
(Linux v6.17).

What is abstracted
------------------
* The ``IRQD_*`` state bits of ``irq_common_data.state_use_accessors`` are
  separate shared fields (one per bit), not one word.  In C each bit is set
  and cleared with a read-modify-write of the word under ``desc->lock``; some
  bits (INPROGRESS) are also read without the lock.  Separate fields keep
  every access a step while letting the explorer see that, say, reading
  MASKED does not conflict with writing INPROGRESS.
* ``desc->istate`` is one shared word: it is only touched under
  ``desc->lock``, so the lock already orders its accesses.
* ``request_mutex`` is a sleeping mutex in C.  Here it is a spinning lock
  whose acquisition first checks ``might_sleep()``: contention blocks like a
  spin, which is all the scenarios need (one CPU requests and frees).
* Chips and domains are plain objects built at set-up: their callbacks never
  change while the machine runs.  Callback slots left None are absent in C.
* The sparse irq tree is a plain dict filled at set-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...engine import Struct, atomic_t, field, kfunc, might_sleep, raw_spin_lock, raw_spin_unlock, raw_spinlock_t

IRQDESC_C = "kernel/irq/irqdesc.c"

# desc->istate bits (kernel/irq/internals.h)
IRQS_AUTODETECT = 0x00000001
IRQS_SPURIOUS_DISABLED = 0x00000002
IRQS_POLL_INPROGRESS = 0x00000008
IRQS_ONESHOT = 0x00000020
IRQS_REPLAY = 0x00000040
IRQS_WAITING = 0x00000080
IRQS_PENDING = 0x00000200
IRQS_SUSPENDED = 0x00000800

# irq_chip flags (include/linux/irq.h)
IRQCHIP_SKIP_SET_WAKE = 1 << 4
IRQCHIP_AFFINITY_PRE_STARTUP = 1 << 10
IRQCHIP_MOVE_DEFERRED = 1 << 12

# irqreturn_t
IRQ_NONE = 0
IRQ_HANDLED = 1

# request_irq() flags used by the model
IRQF_SHARED = 0x00000080
IRQF_NO_AUTOEN = 0x00080000

IRQCHIP_STATE_ACTIVE = 1

EINVAL = 22
ENOSYS = 38
EBUSY = 16
ENOTCONN = 107


class cpumask(frozenset):  # type: ignore[type-arg]
    """A CPU mask (set-like), shown the way the kernel prints a cpulist."""

    def __repr__(self) -> str:
        return "{" + ",".join(str(c) for c in sorted(self)) + "}"

    __str__ = __repr__


class msi_msg(tuple):  # type: ignore[type-arg]
    """An MSI message, modelled as (destination APIC id, vector)."""

    def __new__(cls, dest: int = 0, vector: int = 0) -> msi_msg:
        return super().__new__(cls, (dest, vector))

    def __repr__(self) -> str:
        return f"msg(dest {self[0]}, vector {self[1]:#04x})"

    __str__ = __repr__


class mutex(raw_spinlock_t):
    """A sleeping mutex, modelled as a lock that checks might_sleep()."""


def mutex_lock(lock: mutex) -> None:
    might_sleep("mutex_lock()")
    raw_spin_lock(lock)


def mutex_unlock(lock: mutex) -> None:
    raw_spin_unlock(lock)


class irq_common_data(Struct):
    IRQD_IRQ_DISABLED = field(False)
    IRQD_IRQ_MASKED = field(False)
    IRQD_IRQ_INPROGRESS = field(False)
    IRQD_IRQ_STARTED = field(False)
    IRQD_ACTIVATED = field(False)
    IRQD_CAN_RESERVE = field(False)
    IRQD_WAKEUP_ARMED = field(False)
    IRQD_MANAGED_SHUTDOWN = field(False)
    # Bits fixed when the interrupt is allocated.
    IRQD_AFFINITY_MANAGED = field(False, shared=False)
    IRQD_SINGLE_TARGET = field(True, shared=False)
    IRQD_HANDLE_ENFORCE_IRQCTX = field(False, shared=False)
    affinity = field(cpumask(), shared=False)  # the user/default affinity mask
    effective_affinity = field(cpumask())
    owner = field(None, shared=False)  # the irq_desc (container_of)
    msi_desc = field(None, shared=False)


class irq_data(Struct):
    """One level of an interrupt's domain hierarchy."""

    irq = field(0, shared=False)
    hwirq = field(0, shared=False)
    common = field(None, shared=False)
    chip = field(None, shared=False)
    domain = field(None, shared=False)
    parent_data = field(None, shared=False)
    chip_data = field(None, shared=False)


class irqaction(Struct):
    handler = field(None, shared=False)
    dev_id = field(None, shared=False)
    irq = field(0, shared=False)
    flags = field(0, shared=False)
    name = field("", shared=False)
    thread_fn = field(None, shared=False)
    next = field(None)


class irq_desc(Struct):
    irq_common_data = field(None, shared=False)
    irq_data = field(None, shared=False)  # the outermost level
    handle_irq = field(None, shared=False)  # the flow handler
    action = field(None)
    depth = field(1)
    istate = field(0)
    lock = field(None, shared=False)
    request_mutex = field(None, shared=False)
    threads_active = field(None, shared=False)
    irq = field(0, shared=False)
    name = field("", shared=False)
    # irq_settings: _IRQ_NOAUTOEN, _IRQ_LEVEL, nested thread (fixed at set-up)
    noautoen = field(False, shared=False)
    level = field(False, shared=False)
    nested_thread = field(False, shared=False)


class irq_chip:
    """An interrupt chip: name, flags and callbacks (None where C has none)."""

    def __init__(self, name: str, flags: int = 0, **callbacks: Callable[..., Any] | None) -> None:
        self.name = name
        self.flags = flags
        for cb in (
            "irq_startup",
            "irq_shutdown",
            "irq_enable",
            "irq_disable",
            "irq_ack",
            "irq_mask",
            "irq_mask_ack",
            "irq_unmask",
            "irq_eoi",
            "irq_retrigger",
            "irq_set_affinity",
            "irq_compose_msi_msg",
            "irq_write_msi_msg",
            "irq_get_irqchip_state",
            "irq_request_resources",
            "irq_bus_lock",
        ):
            setattr(self, cb, callbacks.pop(cb, None))
        if callbacks:
            raise TypeError(f"unknown irq_chip callbacks: {sorted(callbacks)}")

    def __repr__(self) -> str:
        return self.name


class irq_domain_ops:
    def __init__(self, **ops: Callable[..., Any] | None) -> None:
        self.activate = ops.pop("activate", None)
        self.deactivate = ops.pop("deactivate", None)
        for k, v in ops.items():
            setattr(self, k, v)


class irq_domain:
    def __init__(self, name: str, ops: irq_domain_ops) -> None:
        self.name = name
        self.ops = ops

    def __repr__(self) -> str:
        return self.name


no_irq_chip = irq_chip("none")


# -- irq_data state accessors (include/linux/irq.h); each is one step ----------


def irqd_irq_disabled(d: irq_data) -> bool:
    return d.common.IRQD_IRQ_DISABLED  # type: ignore[no-any-return]


def irqd_irq_masked(d: irq_data) -> bool:
    return d.common.IRQD_IRQ_MASKED  # type: ignore[no-any-return]


def irqd_irq_inprogress(d: irq_data) -> bool:
    return d.common.IRQD_IRQ_INPROGRESS  # type: ignore[no-any-return]


def irqd_is_started(d: irq_data) -> bool:
    return d.common.IRQD_IRQ_STARTED  # type: ignore[no-any-return]


def irqd_is_activated(d: irq_data) -> bool:
    return d.common.IRQD_ACTIVATED  # type: ignore[no-any-return]


def irqd_set_activated(d: irq_data) -> None:
    d.common.IRQD_ACTIVATED = True


def irqd_clr_activated(d: irq_data) -> None:
    d.common.IRQD_ACTIVATED = False


def irqd_can_reserve(d: irq_data) -> bool:
    return d.common.IRQD_CAN_RESERVE  # type: ignore[no-any-return]


def irqd_set_can_reserve(d: irq_data) -> None:
    d.common.IRQD_CAN_RESERVE = True


def irqd_affinity_is_managed(d: irq_data) -> bool:
    return d.common.IRQD_AFFINITY_MANAGED  # type: ignore[no-any-return]


def irqd_is_managed_and_shutdown(d: irq_data) -> bool:
    # Only a managed interrupt can be in managed shutdown.
    return irqd_affinity_is_managed(d) and d.common.IRQD_MANAGED_SHUTDOWN


def irqd_is_single_target(d: irq_data) -> bool:
    return d.common.IRQD_SINGLE_TARGET  # type: ignore[no-any-return]


def irqd_set_inprogress(d: irq_data, on: bool) -> None:
    d.common.IRQD_IRQ_INPROGRESS = on


def irq_state_set_disabled(desc: irq_desc) -> None:
    desc.irq_data.common.IRQD_IRQ_DISABLED = True


def irq_state_clr_disabled(desc: irq_desc) -> None:
    desc.irq_data.common.IRQD_IRQ_DISABLED = False


def irq_state_set_masked(desc: irq_desc) -> None:
    desc.irq_data.common.IRQD_IRQ_MASKED = True


def irq_state_clr_masked(desc: irq_desc) -> None:
    desc.irq_data.common.IRQD_IRQ_MASKED = False


def irq_state_set_started(desc: irq_desc) -> None:
    desc.irq_data.common.IRQD_IRQ_STARTED = True


def irq_state_clr_started(desc: irq_desc) -> None:
    desc.irq_data.common.IRQD_IRQ_STARTED = False


def irq_data_get_affinity_mask(d: irq_data) -> frozenset[int]:
    return d.common.affinity  # type: ignore[no-any-return]


def irq_data_update_effective_affinity(d: irq_data, mask: frozenset[int]) -> None:
    d.common.effective_affinity = mask


def irq_data_get_effective_affinity_mask(d: irq_data) -> frozenset[int]:
    return d.common.effective_affinity  # type: ignore[no-any-return]


def irq_data_to_desc(d: irq_data) -> irq_desc:
    return d.common.owner  # type: ignore[no-any-return]


def irq_desc_get_irq(desc: irq_desc) -> int:
    return desc.irq  # type: ignore[no-any-return]


def new_irq_desc(irq: int, name: str | None = None) -> irq_desc:
    """Allocate a descriptor with its lock, mutex and common data (set-up only)."""
    label = name or f"irq_desc[{irq}]"
    common = irq_common_data(name=f"irqd[{irq}]")
    desc = irq_desc(
        name=label,
        irq=irq,
        irq_common_data=common,
        lock=raw_spinlock_t(name=f"{label}.lock"),
        request_mutex=mutex(name=f"{label}.request_mutex"),
        threads_active=atomic_t(name=f"{label}.threads_active"),
    )
    common.owner = desc
    return desc


class irqdesc_c:
    """Port of irq_to_desc() (kernel/irq/irqdesc.c) over the set-up-time irq table."""

    OWN_INITS: tuple[str, ...] = ("init_irqdesc",)

    def init_irqdesc(self) -> None:
        self.sparse_irqs: dict[int, irq_desc] = {}

    @kfunc(IRQDESC_C)
    def irq_to_desc(self, irq: int) -> irq_desc | None:
        return self.sparse_irqs.get(irq)

    def irq_insert_desc(self, irq: int, desc: irq_desc) -> None:
        self.sparse_irqs[irq] = desc


PORT = irqdesc_c
