# SPDX-License-Identifier: GPL-2.0-only
"""x86 CPU offline/online: the hotplug part of arch/x86/kernel/smpboot.c (v6.17).

Read as summarised in the porting notes (Kingxukai/linux 0291023e); the
start lines of these functions were not determined, so the kfunc tags carry
none.

What is abstracted, and why
---------------------------
* ``native_cpu_disable``: ``lapic_can_unplug_cpu()`` always allows; sibling
  maps, FPU state, NUMA maps, ``fixup_irqs()`` (moving device interrupts
  away) and ``lapic_offline()`` are left out; the vector lock around the
  online-mask update is left out (no modelled code takes it).
  ``apic_soft_disable()`` is not modelled: on hardware an interrupt sent to
  the soft-disabled APIC is lost, in the model it is kept pending until the
  CPU dies, when the engine discards it -- the model can therefore deliver
  an interrupt the hardware would have dropped (in the short window with
  interrupts on between the end of stop_machine and the idle task), never
  the other way round.
* ``native_play_dead``: ``idle_task_exit``, tboot and ``cpuidle_play_dead``
  are left out; ``hlt_play_dead`` is the engine's ``cpu_die()``.
* ``start_secondary``: the engine boots a CPU with interrupts on and an
  empty APIC; nothing targets a CPU before it sets its online bit on the
  modelled paths, so the boot-time interrupt-off section is left out.
"""

from __future__ import annotations

from typing import Any

from ....engine import cpu_die, kfunc, local_irq_disable, set_cpu_online, smp_processor_id

SMPBOOT_C = "arch/x86/kernel/smpboot.c"


class x86_smpboot_c:
    """Port of the x86 offline/online steps."""

    OWN_INITS: tuple[str, ...] = ()

    m: Any

    @kfunc(SMPBOOT_C)
    def native_cpu_disable(self) -> int:
        self.cpu_disable_common()
        return 0

    @kfunc(SMPBOOT_C)
    def cpu_disable_common(self) -> None:
        cpu = smp_processor_id()
        # remove_cpu_from_maps(): the online bit goes.
        set_cpu_online(cpu, False)

    @kfunc(SMPBOOT_C)
    def play_dead_common(self) -> None:
        self.cpuhp_ap_report_dead()
        local_irq_disable()

    @kfunc(SMPBOOT_C)
    def native_play_dead(self) -> None:
        self.play_dead_common()
        self.hlt_play_dead()

    @kfunc(SMPBOOT_C)
    def hlt_play_dead(self) -> None:
        cpu_die()

    @kfunc(SMPBOOT_C)
    def start_secondary(self) -> None:
        cpu = smp_processor_id()
        # notify_cpu_starting(): no modelled STARTING callbacks.
        set_cpu_online(cpu, True)
        # cpu_startup_entry(CPUHP_AP_ONLINE_IDLE)
        self.cpuhp_online_idle()
        hook = self.kp_after_online.get(cpu)
        if hook is not None:
            hook()


PORT = x86_smpboot_c
