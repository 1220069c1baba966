# SPDX-License-Identifier: GPL-2.0-only
"""The local APIC timer interrupt: LOCAL_TIMER_VECTOR runs the CPU's clock event handler.

Models sysvec_apic_timer_interrupt() and local_apic_timer_interrupt() of
arch/x86/kernel/apic/apic.c (v6.17).  These two were not read at a pinned commit: the shape
used here (EOI first, then the clock event device's handler, which in high-resolution mode is
hrtimer_interrupt()) is the well-known one, and the kfunc tags carry no line numbers.

What is abstracted: the clock event device.  Its handler is always hrtimer_interrupt() (the
CPU runs in high-resolution/nohz mode); programming the device is implicit: the tick's event
source fires whenever the CPU's tick hrtimer is armed (see kernel/time/tick_sched.py).
"""

from __future__ import annotations

from typing import Any

from .....engine import apic_eoi, kfunc

APIC_C = "arch/x86/kernel/apic/apic.c"

# arch/x86/include/asm/irq_vectors.h
LOCAL_TIMER_VECTOR = 0xEC


class x86_apic_timer_c:
    """The local timer interrupt entry."""

    OWN_INITS: tuple[str, ...] = ("init_apic_timer",)

    m: Any

    def init_apic_timer(self) -> None:
        self.m.register_vector(LOCAL_TIMER_VECTOR, "LOCAL_TIMER_VECTOR", self.sysvec_apic_timer_interrupt)

    @kfunc(APIC_C)
    def sysvec_apic_timer_interrupt(self, vector: int) -> None:
        apic_eoi()
        self.local_apic_timer_interrupt()

    @kfunc(APIC_C)
    def local_apic_timer_interrupt(self) -> None:
        # evt->event_handler(evt): hrtimer_interrupt in high-resolution mode.
        self.hrtimer_interrupt()


PORT = x86_apic_timer_c
