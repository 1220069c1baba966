# SPDX-License-Identifier: GPL-2.0-only
"""x86 device interrupt entry: common_interrupt() and the per-CPU vector_irq[] table.

Ports arch/x86/kernel/irq.c of Linux v6.17 (read at Kingxukai/linux 0291023e,
v6.17-rc, which already carries ce0b5eed "x86/irq: Plug vector setup race"),
plus the sentinels and the table type of arch/x86/include/asm/hw_irq.h.

How a device vector reaches its handler
---------------------------------------
Every CPU owns a table ``vector_irq[vector] -> irq_desc``.  The entry code
looks the arriving vector up without any lock (a plain per-CPU load) and, if
the slot holds a descriptor, calls the descriptor's flow handler, which sends
the EOI itself (``handle_edge_irq`` -> ``irq_chip_ack_parent`` ->
``apic_ack_edge``).  A slot may instead hold one of three markers, none of
which is a valid pointer:

* ``VECTOR_UNUSED``   (NULL in C): nothing is installed; an arrival is
  reported as "No irq handler" and acknowledged.
* ``VECTOR_SHUTDOWN``: the vector was released by ``clear_irq_vector()`` while
  an interrupt may still be on its way; the first late arrival quietly turns
  the slot into UNUSED.
* ``VECTOR_RETRIGGERED``: written by the CPU-offline fixup after re-sending a
  pending vector elsewhere; handled like SHUTDOWN.

Before ce0b5eed the entry code turned SHUTDOWN into UNUSED with a plain
store, deciding on the value it had read without any lock.  Every other
writer of the table holds ``vector_lock``; in particular ``request_irq()``
installs the descriptor under it.  A late interrupt that read SHUTDOWN could
therefore store UNUSED *after* a new descriptor was installed in the same
slot.  Since ce0b5eed the slow path re-reads the slot under ``vector_lock``
(``reevaluate_vector``): it either finds the new descriptor and handles the
interrupt, or converts SHUTDOWN to UNUSED before the activation can install
anything.  The tree ``v6.16`` (kernel_port/trees/v6_16.py) keeps the old
shape.

What is abstracted
------------------
* The table has only the vectors of the model's allocation window
  (``MODEL_VECTORS``, the first few vectors from FIRST_EXTERNAL_VECTOR); the
  system vectors have their own handlers and never go through this table.
  Each CPU's table is one Struct whose slots are shared fields, so a slot
  access is one step.
* ``VECTOR_UNUSED`` is a named marker rather than Python's None so that traces
  say ``VECTOR_UNUSED``; ``IS_ERR_OR_NULL`` treats it, and None, as NULL.
* ``pt_regs``, ``set_irq_regs``, the RCU watching check and the IDTENTRY
  wrapper (irq_enter_rcu / stack switch) are not modelled: the engine enters
  hardirq context itself.  ``pr_emerg_ratelimited`` is a trace note plus a
  line in ``self.dmesg`` (an engine-side log for tests; nothing reads it).
* 64-bit only: ``handle_irq`` always calls ``generic_handle_irq_desc``.
"""

from __future__ import annotations

from typing import Any

from ....engine import PerCpu, Struct, apic_eoi, core, field, kfunc, smp_processor_id

IRQ_C = "arch/x86/kernel/irq.c"
HW_IRQ_H = "arch/x86/include/asm/hw_irq.h"

FIRST_EXTERNAL_VECTOR = 0x20
# The allocation window the model has (see vector.py and kernel/irq/matrix.py).
NR_MODEL_VECTORS = 4
MODEL_VECTORS = tuple(range(FIRST_EXTERNAL_VECTOR, FIRST_EXTERNAL_VECTOR + NR_MODEL_VECTORS))


class _VectorMarker:
    """One of the non-pointer values a vector_irq[] slot can hold."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__


VECTOR_UNUSED = _VectorMarker("VECTOR_UNUSED")  # NULL in C
VECTOR_SHUTDOWN = _VectorMarker("VECTOR_SHUTDOWN")  # (void *)-1 in C
VECTOR_RETRIGGERED = _VectorMarker("VECTOR_RETRIGGERED")  # (void *)-2 in C


def IS_ERR_OR_NULL(p: Any) -> bool:
    """True for NULL and for the error-pointer range; all three markers are there."""
    return p is None or isinstance(p, _VectorMarker)


def _slot(vector: int) -> str:
    return f"{vector:#04x}"


class vector_irq_t(Struct):
    """One CPU's vector -> irq_desc table; ``table[vector]`` is one slot (a step)."""

    def __getitem__(self, vector: int) -> Any:
        if vector not in MODEL_VECTORS:
            raise IndexError(f"vector {vector:#04x} is outside the modelled window")
        return getattr(self, _slot(vector))

    def __setitem__(self, vector: int, value: Any) -> None:
        if vector not in MODEL_VECTORS:
            raise IndexError(f"vector {vector:#04x} is outside the modelled window")
        setattr(self, _slot(vector), value)


# Slots as fields named by the vector ("0x20"), so traces read vector_irq[1].0x20.
for _v in MODEL_VECTORS:
    _f = field(VECTOR_UNUSED)
    setattr(vector_irq_t, _slot(_v), _f)
    _f.__set_name__(vector_irq_t, _slot(_v))
vector_irq_t._kp_fields = tuple(getattr(vector_irq_t, _slot(_v)) for _v in MODEL_VECTORS)
del _v, _f


def pr_emerg_ratelimited(k: Any, text: str) -> None:
    """printk at KERN_EMERG: a trace note and a line in the kernel's log."""
    k.dmesg.append(text)
    cpu = core.CUR
    if cpu is not None and cpu.m.tracing:
        cpu.m.emit(cpu, "note", text)


class irq_c:
    """Port of arch/x86/kernel/irq.c: the common_interrupt() path."""

    OWN_INITS: tuple[str, ...] = ("init_irq",)

    def init_irq(self) -> None:
        # DEFINE_PER_CPU(vector_irq_t, vector_irq), every slot VECTOR_UNUSED
        # (arch/x86/kernel/irqinit.c).
        self.vector_irq = PerCpu(vector_irq_t, "vector_irq")
        self.dmesg: list[str] = []
        # The IDT routes every external vector to common_interrupt.
        for v in MODEL_VECTORS:
            self.m.register_vector(v, f"vector {v:#04x}", self.common_interrupt)

    @kfunc(IRQ_C, line=250)
    def handle_irq(self, desc: Any, regs: Any = None) -> None:
        # 64-bit: generic_handle_irq_desc() calls the flow handler.
        desc.handle_irq(desc)

    @kfunc(IRQ_C, line=259, show=True)
    def reevaluate_vector(self, vector: int) -> Any:
        # Called with vector_lock held.
        desc = self.vector_irq[smp_processor_id()][vector]
        if not IS_ERR_OR_NULL(desc):
            return desc
        if desc is VECTOR_UNUSED:
            pr_emerg_ratelimited(self, f"No irq handler for {smp_processor_id()}.{vector}")
        else:
            self.vector_irq[smp_processor_id()][vector] = VECTOR_UNUSED
        return None

    @kfunc(IRQ_C, line=273, show=True)
    def call_irq_handler(self, vector: int, regs: Any = None) -> bool:
        # Fast path: a lockless per-CPU load of the slot.
        desc = self.vector_irq[smp_processor_id()][vector]
        if not IS_ERR_OR_NULL(desc):
            self.handle_irq(desc, regs)
            return True
        # Slow path: decide again with vector_lock held, so that a concurrent
        # request_irq() either has installed its descriptor (handle it) or
        # installs it only after SHUTDOWN was turned into UNUSED.
        self.lock_vector_lock()
        desc = self.reevaluate_vector(vector)
        self.unlock_vector_lock()
        if not desc:
            return False
        self.handle_irq(desc, regs)
        return True

    @kfunc(IRQ_C, line=318)
    def common_interrupt(self, vector: int, regs: Any = None) -> None:
        # A handled interrupt was acknowledged by its flow handler; only the
        # spurious path sends the EOI here.
        if not self.call_irq_handler(vector, regs):
            apic_eoi()


PORT = irq_c
