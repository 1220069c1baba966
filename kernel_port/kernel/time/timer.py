# SPDX-License-Identifier: GPL-2.0-only
"""update_process_times(): the per-tick work, where the tick meets irq_work.

Ports update_process_times() of kernel/time/timer.c, Linux v6.17 (read at Kingxukai/linux
9b44fff6, v6.17-rc3).  It runs inside the tick's hrtimer callback (tick_nohz_handler ->
tick_sched_handle), in hard interrupt context, so ``irq_work_tick()`` here runs inside the
callback of the CPU's own ``sched_timer``: the fact behind irq_work.tick-kick-lockup.

What is abstracted: process time accounting, the timer wheel (run_local_timers finds nothing
expired: the scenarios arm no timer_list timers), RCU's per-tick work, the scheduler tick and
posix CPU timers.  None of them touches irq_work or the tick's hrtimer in these scenarios.
"""

from __future__ import annotations

from typing import Any

from ...engine import in_irq, kfunc

TIMER_C = "kernel/time/timer.c"


class timer_c:
    """Port of update_process_times() (kernel/time/timer.c, v6.17)."""

    OWN_INITS: tuple[str, ...] = ()

    m: Any

    @kfunc(TIMER_C, line=2466)
    def update_process_times(self, user_tick: int) -> None:
        # account_process_tick(), run_local_timers() and rcu_sched_clock_irq(): abstracted.
        if in_irq():
            self.irq_work_tick()
        # sched_tick() and run_posix_cpu_timers(): abstracted.


PORT = timer_c
