# SPDX-License-Identifier: GPL-2.0-only
"""x86 glue for irq_work: the self-interrupt on IRQ_WORK_VECTOR.

Ports arch/x86/kernel/irq_work.c (read at PlutoNing/linux 84df5fec, v6.6; the file has not
changed since) and arch_irq_work_has_interrupt() of arch/x86/include/asm/irq_work.h (read at
torvalds/linux 076f14be).

* ``arch_irq_work_has_interrupt()`` is true when the boot CPU has a local APIC.  The machine
  always models one; a scenario or config patch says ``config = {"APIC": False}`` to model a
  kernel without it (then the tick is the only runner of raised work).
* ``arch_irq_work_raise()`` sends IRQ_WORK_VECTOR to this CPU.  ``apic_wait_icr_idle()`` is a
  no-op in this machine (an IPI send is one atomic step).
* ``sysvec_irq_work()`` acknowledges the interrupt (EOI) *before* draining the lists, so a
  work queued by a callback during the drain raises a new interrupt that is taken after this
  one returns.  irq_enter/irq_exit of the idtentry wrapper are the engine's interrupt entry
  and exit; the interrupt-exit hooks (tick_nohz_irq_exit) run after this handler.
"""

from __future__ import annotations

from typing import Any

from ....engine import apic_eoi, apic_send_IPI_self, kfunc

IRQ_WORK_X86_C = "arch/x86/kernel/irq_work.c"
ASM_IRQ_WORK_H = "arch/x86/include/asm/irq_work.h"

# arch/x86/include/asm/irq_vectors.h
IRQ_WORK_VECTOR = 0xF6


class x86_irq_work_c:
    """Port of arch/x86/kernel/irq_work.c and asm/irq_work.h."""

    OWN_INITS: tuple[str, ...] = ("init_x86_irq_work",)

    m: Any

    def init_x86_irq_work(self) -> None:
        # The IDT entry: IRQ_WORK_VECTOR is handled by sysvec_irq_work.
        self.m.register_vector(IRQ_WORK_VECTOR, "IRQ_WORK_VECTOR", self.sysvec_irq_work)

    @kfunc(ASM_IRQ_WORK_H, "v6.17", line=8)
    def arch_irq_work_has_interrupt(self) -> bool:
        # boot_cpu_has(X86_FEATURE_APIC): fixed at boot, so not a step.
        return bool(self.m.config.get("APIC", True))

    @kfunc(IRQ_WORK_X86_C, "v6.6", line=17)
    def sysvec_irq_work(self, vector: int) -> None:
        apic_eoi()
        # trace_irq_work_entry and the apic_irq_work_irqs statistic: left out.
        self.irq_work_run()

    @kfunc(IRQ_WORK_X86_C, "v6.6", line=26)
    def arch_irq_work_raise(self) -> None:
        if not self.arch_irq_work_has_interrupt():
            return
        apic_send_IPI_self(IRQ_WORK_VECTOR)


PORT = x86_irq_work_c
