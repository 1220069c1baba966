# SPDX-License-Identifier: GPL-2.0-only
"""ce0b5eed: "x86/irq: Plug vector setup race".

The interrupt entry stops deciding on a stale read.  When the slot does not
hold a descriptor, ``call_irq_handler`` takes ``vector_lock`` and calls the
new ``reevaluate_vector``, which reads the slot again: a descriptor installed
meanwhile is handled; SHUTDOWN or RETRIGGERED becomes UNUSED -- now under the
same lock as every activation, so it can no longer land after a new
descriptor was installed.  ``call_irq_handler`` returns bool and
``common_interrupt`` sends the EOI when it returns false.  (hw_irq.h also
moves the lock_vector_lock declarations out of the IRQ_DOMAIN_HIERARCHY
block; nothing to model.)

The patched functions are exactly v6.17's, so the mixin reuses them.  What
it cannot fix: an interrupt that arrives after SHUTDOWN and before the new
descriptor is installed is still discarded as spurious
(x86.vfio-lost-interrupt).
"""

from __future__ import annotations

from kernel_port.arch.x86.kernel.irq import irq_c
from kernel_port.variants import Patch


class plug_vector_setup_race:
    """reevaluate_vector() under vector_lock; call_irq_handler() returns bool."""

    reevaluate_vector = irq_c.reevaluate_vector
    call_irq_handler = irq_c.call_irq_handler
    common_interrupt = irq_c.common_interrupt


PATCH = Patch(
    name="ce0b5eed",
    cls=plug_vector_setup_race,
    title="x86/irq: Plug vector setup race",
    author="Thomas Gleixner",
    date="2025-07-31",
    kind="upstream",
    applies_to=("v6.16",),
    upstream="ce0b5eedcb753697d43f61dd2e27d68eb5d3150f",
    link="draft-87ikjhrhhh.ffs@tglx",
    fixes="9345005f4eed (x86/irq: Fix do_IRQ() interrupt warning for cpu hotplug retriggered irqs)",
)
