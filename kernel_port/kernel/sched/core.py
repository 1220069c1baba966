# SPDX-License-Identifier: GPL-2.0-only
"""Voluntary preemption: ``cond_resched()`` of Linux v6.17.

Ports ``__cond_resched()`` and ``preempt_schedule_common()`` of kernel/sched/core.c (read at
Kingxukai/linux 0291023e7330da28f2f7453c87c2ab7082d8360f, v6.17-rc; line numbers not
counted), the ``cond_resched()`` macro with its ``_cond_resched()`` inline of
include/linux/sched.h (not read at the pinned commit: its shape was read in the 2022-2025
patches to it, which all keep the choice below) and x86's ``should_resched()``
(arch/x86/include/asm/preempt.h).

What it is for
--------------
A kernel built with CONFIG_PREEMPT_NONE or CONFIG_PREEMPT_VOLUNTARY (or CONFIG_PREEMPT_DYNAMIC
booted with ``preempt=none`` / ``preempt=voluntary``) does not preempt kernel code when an
interrupt returns to it: ``irqentry_exit()`` (kernel/entry/common.c) calls
``irqentry_exit_cond_resched()`` only under CONFIG_PREEMPTION, and the dynamic modes none
and voluntary turn that call into a no-op.  Code running in the kernel gives the CPU up
only where it calls ``schedule()`` or ``cond_resched()``.  ``cond_resched()`` then is
``__cond_resched()``: if a reschedule is due (``should_resched(0)``: preemption count zero
and need_resched set) and interrupts are on, schedule; otherwise nothing.  Under full or
lazy preemption (and PREEMPT_RT) ``cond_resched()`` returns 0 at once: the interrupt
return is the preemption point there.

The engine's preemption model follows the same configuration (kernel_port/engine/core.py:
with config ``PREEMPT_NONE`` or ``PREEMPT_VOLUNTARY`` set there is no preemption on
interrupt exit), so a port or scenario that reads like the C -- kernel work, then
``cond_resched()`` -- schedules where the kernel of that configuration would.

What is abstracted, and why
---------------------------
* ``__schedule(SM_PREEMPT)`` is the engine's ``schedule()`` for a running context: pick the
  runnable thread that outranks the current one, if any, and pass a scheduling point (the
  soft-lockup watchdog's stopper runs there: kernel_port/kernel/watchdog.py).  The
  ``preempt_disable_notrace()`` / ``preempt_enable_no_resched_notrace()`` bracket and the
  preemption-latency tracer around it are left out: the engine's schedule() is not
  preemptible and nothing here reads the count in between.
* ``__might_resched()`` (the debug check of the macro), ``klp_sched_try_switch()``
  (livepatch) and ``rcu_all_qs()`` (there is no RCU model) have no effect on where the CPU
  schedules.
* PREEMPT_DYNAMIC's static calls are the configuration keys: ``PREEMPT_NONE`` /
  ``PREEMPT_VOLUNTARY`` select ``__cond_resched()``, anything else (the engine's default is
  full preemption) returns 0.  The two voluntary models differ only in ``might_resched()``
  (a ``__cond_resched()`` in every ``might_sleep()`` under VOLUNTARY), which no ported path
  that calls ``cond_resched()`` reaches.
"""

from __future__ import annotations

from typing import Any

from ...engine import irqs_disabled, kconfig, kfunc, need_resched, preempt_count, schedule

CORE_C = "kernel/sched/core.c"
SCHED_H = "include/linux/sched.h"
X86_PREEMPT_H = "arch/x86/include/asm/preempt.h"
V = "v6.17"


class core_c:
    """Port of cond_resched() and the voluntary-preemption half of kernel/sched/core.c."""

    OWN_INITS: tuple[str, ...] = ()
    m: Any

    def preempt_model_voluntary(self) -> bool:
        # !CONFIG_PREEMPTION, or PREEMPT_DYNAMIC in mode none or voluntary (the static call
        # cond_resched then points at __cond_resched); PREEMPT_RT is always fully preemptible.
        return bool((kconfig("PREEMPT_NONE") or kconfig("PREEMPT_VOLUNTARY")) and not kconfig("PREEMPT_RT"))

    @kfunc(SCHED_H, V)
    def cond_resched(self) -> int:
        # The macro: __might_resched() (a debug check), then the _cond_resched() inline.
        if self.preempt_model_voluntary():
            return self._cond_resched()
        # CONFIG_PREEMPTION without PREEMPT_DYNAMIC, or the dynamic modes full and lazy.
        return 0

    @kfunc(X86_PREEMPT_H, V)
    def should_resched(self, preempt_offset: int) -> bool:
        # x86 folds an inverted need-resched bit into the per-CPU preempt count, so one compare
        # asks both "count == offset" and "reschedule due".
        return preempt_count() == preempt_offset and need_resched()

    @kfunc(CORE_C, V, name="__cond_resched")
    def _cond_resched(self) -> int:
        if self.should_resched(0) and not irqs_disabled():
            self.preempt_schedule_common()
            return 1
        # rcu_all_qs() for !PREEMPT_RCU: no RCU model.
        return 0

    @kfunc(CORE_C, V)
    def preempt_schedule_common(self) -> None:
        while True:
            # preempt_disable_notrace(); __schedule(SM_PREEMPT); preempt_enable_no_resched_notrace()
            schedule()
            if not need_resched():
                break


PORT = core_c
