# SPDX-License-Identifier: GPL-2.0-only
"""Tree v6.16: arch/x86 call_irq_handler() before ce0b5eed.

Only the interrupt entry differs from v6.17 (kernel_port/arch/x86/kernel/irq.py):

* ``call_irq_handler`` returns 0 or -EINVAL.  It reads the slot once,
  without a lock; if the slot does not hold a descriptor it reports UNUSED
  ("No irq handler for vector") or, for SHUTDOWN and RETRIGGERED, stores
  UNUSED -- **with a plain per-CPU store, no vector_lock, decided on the value
  read before**.  Between that read and that store, ``request_irq()`` on
  another CPU can install a new descriptor in the same slot (under
  vector_lock, which this path does not take); the store then wipes it.
* ``common_interrupt`` sends the EOI when ``call_irq_handler`` returned
  non-zero.
* There is no ``reevaluate_vector``.

This is the v6.10..v6.16 shape (introduced by 1b03d82ba15e, "x86/irq:
Install posted MSI notification handler"), read from the "-" lines of the
6.12 stable backport of ce0b5eed and from Jacob Pan's 2024 series.  Line
numbers: v6.16's handle_irq() sits where v6.17's does (the fix's hunk starts
at line 256 in both), so call_irq_handler starts at 259; the line of
common_interrupt is counted from the old function's shape (about 285).
Kernels up to v6.9 send the EOI before the unlocked store; the race is the
same.
"""

from __future__ import annotations

from typing import Any

from ..arch.x86.kernel.irq import IRQ_C, IS_ERR_OR_NULL, VECTOR_UNUSED, pr_emerg_ratelimited
from ..engine import apic_eoi, kfunc, smp_processor_id
from ..linux import Linux
from ..variants import Tree

EINVAL = 22
V = "v6.16"


class Linux_v6_16(Linux):
    """v6.17 with the pre-ce0b5eed interrupt entry."""

    TREE_NAME = "v6.16"

    def reevaluate_vector(self, vector: int) -> Any:
        raise AttributeError("reevaluate_vector() does not exist before ce0b5eed")

    @kfunc(IRQ_C, V, line=259, show=True)
    def call_irq_handler(self, vector: int, regs: Any = None) -> int:  # type: ignore[override]
        ret = 0
        desc = self.vector_irq[smp_processor_id()][vector]
        if not IS_ERR_OR_NULL(desc):
            self.handle_irq(desc, regs)
        else:
            ret = -EINVAL
            if desc is VECTOR_UNUSED:
                pr_emerg_ratelimited(self, f"call_irq_handler: {smp_processor_id()}.{vector} No irq handler for vector")
            else:
                # SHUTDOWN or RETRIGGERED: plain store, no vector_lock.
                self.vector_irq[smp_processor_id()][vector] = VECTOR_UNUSED
        return ret

    @kfunc(IRQ_C, V, line=285)
    def common_interrupt(self, vector: int, regs: Any = None) -> None:
        if self.call_irq_handler(vector, regs):
            apic_eoi()


TREE = Tree(
    name="v6.16",
    cls=Linux_v6_16,
    title="x86 call_irq_handler() before ce0b5eed: SHUTDOWN -> UNUSED without vector_lock",
    base="v6.17",
    pinned="6.12 stable review of ce0b5eed ('-' lines; 20250812173028.167851479@linuxfoundation.org) "
    "and 20240423174114.526704-9-jacob.jun.pan@linux.intel.com",
)
