# SPDX-License-Identifier: GPL-2.0-only
"""x86 IPI senders: the call-function part of arch/x86/kernel/apic/ipi.c (v6.17).

Read at Kingxukai/linux 9b44fff6 (line numbers there were counted by hand,
not length-checked).  Neither sender checks whether the target is online.

Abstracted: the broadcast shorthand (``apic_use_ipi_shorthand``, used only
when the mask plus this CPU is the whole online mask and every present CPU
has booted once) is off, so a mask IPI is one ``apic_send_IPI`` per target,
in CPU order, each a step of its own (the hardware sends one ICR write per
destination in the non-shorthand path too).
"""

from __future__ import annotations

from typing import Any

from .....engine import apic_send_IPI, kfunc

IPI_C = "arch/x86/kernel/apic/ipi.c"

CALL_FUNCTION_VECTOR = 0xFC
CALL_FUNCTION_SINGLE_VECTOR = 0xFB


class x86_apic_ipi_c:
    """Port of the native call-function IPI senders."""

    OWN_INITS: tuple[str, ...] = ()

    m: Any

    @kfunc(IPI_C, line=77)
    def native_send_call_func_single_ipi(self, cpu: int) -> None:
        apic_send_IPI(cpu, CALL_FUNCTION_SINGLE_VECTOR)

    @kfunc(IPI_C, line=82)
    def native_send_call_func_ipi(self, mask: set[int]) -> None:
        for cpu in sorted(mask):
            apic_send_IPI(cpu, CALL_FUNCTION_VECTOR)


PORT = x86_apic_ipi_c
