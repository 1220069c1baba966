# SPDX-License-Identifier: GPL-2.0-only
"""x86 glue for cross-CPU calls: arch/x86/kernel/smp.c and asm/smp.h (v6.17).

Read at Kingxukai/linux 9b44fff6 (arch/x86/kernel/smp.c) and 0291023e
(arch/x86/include/asm/smp.h).  The generic side is kernel/smp.c
(kernel_port/kernel/smp.py).

``arch_send_call_function_single_ipi`` goes through ``smp_ops`` to
``native_send_call_func_single_ipi`` (apic/ipi.c), which sends
CALL_FUNCTION_SINGLE_VECTOR with no check of the target's online bit.  The
interrupt entry ``sysvec_call_function_single`` acknowledges the APIC (EOI)
*before* draining the queue: a send that happens while the drain runs sets
the vector pending again and the handler runs once more after returning, so
no entry added after the drain's xchg is stranded.

Abstracted: ``smp_ops`` indirection is a direct call (only the native ops
exist in the model); the irq statistics and tracepoints are left out.
"""

from __future__ import annotations

from typing import Any

from ....engine import apic_eoi, kfunc

X86_SMP_C = "arch/x86/kernel/smp.c"
ASM_SMP_H = "arch/x86/include/asm/smp.h"

# arch/x86/include/asm/irq_vectors.h
CALL_FUNCTION_VECTOR = 0xFC
CALL_FUNCTION_SINGLE_VECTOR = 0xFB


class x86_smp_c:
    """Port of the x86 cross-call entry points and send helpers."""

    OWN_INITS: tuple[str, ...] = ("init_x86_smp",)

    m: Any

    def init_x86_smp(self) -> None:
        # The IDT entries of the two call-function vectors.
        self.m.register_vector(
            CALL_FUNCTION_SINGLE_VECTOR, "CALL_FUNCTION_SINGLE_VECTOR", self.sysvec_call_function_single
        )
        self.m.register_vector(CALL_FUNCTION_VECTOR, "CALL_FUNCTION_VECTOR", self.sysvec_call_function)

    @kfunc(ASM_SMP_H, line=93)
    def arch_send_call_function_single_ipi(self, cpu: int) -> None:
        self.native_send_call_func_single_ipi(cpu)

    @kfunc(ASM_SMP_H, line=98)
    def arch_send_call_function_ipi_mask(self, mask: set[int]) -> None:
        self.native_send_call_func_ipi(mask)

    @kfunc(X86_SMP_C, line=257)
    def sysvec_call_function(self, vector: int | None = None) -> None:
        apic_eoi()
        self.generic_smp_call_function_interrupt()

    @kfunc(X86_SMP_C, line=266)
    def sysvec_call_function_single(self, vector: int | None = None) -> None:
        # EOI first, then the drain (see the module docstring).
        apic_eoi()
        self.generic_smp_call_function_single_interrupt()


PORT = x86_smp_c
