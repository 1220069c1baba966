# SPDX-License-Identifier: GPL-2.0-only
"""x86 IPI senders: the call-function part of arch/x86/kernel/apic/ipi.c (v6.17).

Read at Kingxukai/linux 9b44fff6 (line numbers there were counted by hand,
not length-checked).  Neither sender checks whether the target is online.

Abstracted: the broadcast shorthand (``apic_use_ipi_shorthand``, used only
when the mask plus this CPU is the whole online mask and every present CPU
has booted once) is off, so a mask IPI is one ``apic_send_IPI`` per target,
in CPU order, each a step of its own (the hardware sends one ICR write per
destination in the non-shorthand path too).

The APIC driver (``apic->send_IPI``) is chosen by the configuration key ``APIC_MODE``:
"xapic" (the default: the ICR is memory-mapped, and the engine's ICR write waits for the
CPU's earlier stores under x86-TSO) or "x2apic" (the ICR is an MSR; the physical-mode
driver's x2apic_send_IPI() fences with weak_wrmsr_fence() before the WRMSR, which the
engine's ICR write does not do by itself).  The cluster-mode driver sends the same way.
"""

from __future__ import annotations

from typing import Any

from .....engine import apic_send_IPI, kfunc, weak_wrmsr_fence

IPI_C = "arch/x86/kernel/apic/ipi.c"
X2APIC_PHYS_C = "arch/x86/kernel/apic/x2apic_phys.c"

CALL_FUNCTION_VECTOR = 0xFC
CALL_FUNCTION_SINGLE_VECTOR = 0xFB


class x86_apic_ipi_c:
    """Port of the native call-function IPI senders."""

    OWN_INITS: tuple[str, ...] = ()

    m: Any

    @kfunc(IPI_C, line=77)
    def native_send_call_func_single_ipi(self, cpu: int) -> None:
        self.__apic_send_IPI(cpu, CALL_FUNCTION_SINGLE_VECTOR)

    @kfunc(IPI_C, line=82)
    def native_send_call_func_ipi(self, mask: set[int]) -> None:
        for cpu in sorted(mask):
            self.__apic_send_IPI(cpu, CALL_FUNCTION_VECTOR)

    def __apic_send_IPI(self, cpu: int, vector: int) -> None:
        # arch/x86/include/asm/apic.h, __apic_send_IPI(): the static call of apic->send_IPI.
        if self.m.config.get("APIC_MODE", "xapic") == "x2apic":
            self.x2apic_send_IPI(cpu, vector)
        else:
            apic_send_IPI(cpu, vector)  # the xAPIC driver's ICR write

    @kfunc(X2APIC_PHYS_C)
    def x2apic_send_IPI(self, cpu: int, vector: int) -> None:
        weak_wrmsr_fence()
        apic_send_IPI(cpu, vector)  # __x2apic_send_IPI_dest(): the WRMSR to the ICR


PORT = x86_apic_ipi_c
