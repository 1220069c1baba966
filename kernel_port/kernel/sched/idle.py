# SPDX-License-Identifier: GPL-2.0-only
"""The idle loop: what a CPU does once its scenario program is done.

Models do_idle() of kernel/sched/idle.c (not read at a pinned commit; the v6.x shape):
enter nohz idle (tick_nohz_idle_enter), then, until a reschedule is needed, disable
interrupts, let the tick be stopped (cpuidle_idle_call without a cpuidle driver calls
tick_nohz_idle_stop_tick, then default_idle_call), and halt with interrupts enabled
(arch_cpu_idle on x86: sti; hlt).  An interrupt ends the halt; its exit path
(tick_irq_exit) sees the CPU idle; the loop then re-evaluates the tick.

The loop is installed as the CPUs' idle function only in a nohz kernel (config NO_HZ_IDLE
or NO_HZ_FULL); without it the engine's plain halt loop stands in.

What is abstracted: the scheduler.  There are no tasks to switch to, so need_resched() is
always false and the loop never leaves; "current is the idle task" is true exactly while
the CPU runs this loop (``idle_task_running``, per-CPU and read only by its own CPU).
Polling idle, cpuidle governors and RCU's idle entry are not modelled.
"""

from __future__ import annotations

from typing import Any

from ...engine import kconfig, kfunc, local_irq_disable, safe_halt, smp_processor_id

IDLE_C = "kernel/sched/idle.c"


class idle_c:
    """The idle loop, as every CPU's idle function."""

    OWN_INITS: tuple[str, ...] = ("init_idle_loop",)

    m: Any

    def init_idle_loop(self) -> None:
        self.idle_task_running = [False] * self.m.ncpus
        # Only a nohz kernel needs the modelled loop; otherwise the engine's plain halt is the
        # idle loop (the tick would keep running, and no scenario without nohz asks about it).
        if self.nohz_common():
            for cpu in self.m.cpus:
                cpu.idle = self.do_idle

    def nohz_common(self) -> bool:
        # CONFIG_NO_HZ_COMMON: selected by NO_HZ_IDLE and by NO_HZ_FULL.
        return kconfig("NO_HZ_IDLE") or kconfig("NO_HZ_FULL") or kconfig("NO_HZ_COMMON")

    def need_resched(self) -> bool:
        # No scheduler model: nothing ever asks this CPU to reschedule.
        return False

    def is_idle_task(self, cpu: int) -> bool:
        # is_idle_task(current) on ``cpu`` (asked by that CPU only).
        return self.idle_task_running[cpu]

    def idle_cpu(self, cpu: int) -> bool:
        return self.idle_task_running[cpu]

    @kfunc(IDLE_C)
    def do_idle(self) -> None:
        cpu = smp_processor_id()
        self.idle_task_running[cpu] = True
        self.tick_nohz_idle_enter()
        while not self.need_resched():
            local_irq_disable()
            # cpuidle_idle_call() without a driver: stop the tick if possible, then idle.
            self.tick_nohz_idle_stop_tick()
            self.default_idle_call()

    @kfunc(IDLE_C)
    def default_idle_call(self) -> None:
        # arch_cpu_idle() -> x86 default_idle(): sti; hlt.  Returns after an interrupt.
        safe_halt()


PORT = idle_c
