# SPDX-License-Identifier: GPL-2.0-only
"""Tree pre-76a33061: irq_work and the nohz_full kick just before 76a33061 (v3.17, 2014).

Where the sources were read (see /work/shared/reference/kernel-sources.md, sections 6 and 7):

* kernel/time/tick-sched.c of the 3.15/3.16 era (index id 29640633, repository unknown; it has
  ``__tick_nohz_full_check`` called from ``nohz_full_kick_work_func``): the kick work, the
  tick handler ``tick_sched_timer``, ``tick_nohz_irq_exit`` and ``tick_nohz_full_stop_tick``.
* kernel/irq_work.c: no clean v3.16/v3.17 file was found; ``irq_work_needs_cpu`` before
  76a33061 is the "before" side of that commit's hunk as quoted in an RT backport mail, and
  the 3.18 file (unicorn-soc-425/kernel-3.18-U5- 88393703) gives the surrounding code.
* update_process_times() of 3.17 called ``irq_work_run()`` (all lists) when in hard
  interrupt context; Dave Jones's 3.17.0-rc6+ lockup trace shows that call chain.

Where it differs from v6.17, and only that:

* The tick runs the raised list unconditionally.  In 3.17 the tick called irq_work_run();
  the model keeps one call site, ``irq_work_tick()``, in every tree (so that 76a33061 and the
  later patches read as changes of that one function) and gives it the 3.17 behaviour.
* ``irq_work_needs_cpu()`` keeps the tick for any queued work, raised or lazy.
* The kick work ``nohz_full_kick_work`` (flags 0, not HARD) runs ``nohz_full_kick_work_func``,
  which re-checks the tick dependencies and *restarts the tick from inside the work*:
  ``tick_nohz_restart_sched_tick`` -> ``tick_nohz_restart`` -> ``hrtimer_cancel(&sched_timer)``
  and re-arm.
* The tick handler (``tick_sched_timer``) always re-arms (no TS_FLAG_STOPPED check).
* Interrupt exit only ever *stops* a nohz_full tick (``tick_nohz_full_stop_tick``); the
  restart is the kick work's job.

Not modelled, because no scenario here depends on it: the 3.17 claim as a cmpxchg loop
(no write when it fails), the xchg that clears PENDING, remote irq_work on the target's
raised_list, and the 3.17 tick-stop internals (``tick_nohz_stop_sched_tick``, modelled by
v6.17's ``tick_nohz_next_event``/``tick_nohz_stop_tick`` pair, which asks
``irq_work_needs_cpu()`` the same way).  The 3.17 ``can_stop_full_tick()`` checked the run
queue, posix CPU timers, perf and the sched clock; the model keeps v6.17's dependency masks
for those conditions.
"""

from __future__ import annotations

from typing import Any

from ..engine import PerCpu, kfunc, smp_processor_id
from ..kernel.irq_work import IRQ_WORK_INIT, irq_work
from ..kernel.time.hrtimer import HRTIMER_RESTART, hrtimer
from ..kernel.time.tick_sched import TICK_NSEC, TS_FLAG_INIDLE, TS_FLAG_NOHZ, TS_FLAG_STOPPED, tick_sched
from ..linux import Linux
from ..variants import Tree

IRQ_WORK_C = "kernel/irq_work.c"
TICK_SCHED_C = "kernel/time/tick-sched.c"
V = "v3.17"


class pre_76a33061(Linux):  # type: ignore[misc,valid-type]
    """v6.17 with the 2014 irq_work tick path and nohz_full kick."""

    TREE_NAME = "pre-76a33061"

    # -- kernel/irq_work.c -------------------------------------------------------------------

    @kfunc(IRQ_WORK_C, V)
    def irq_work_needs_cpu(self) -> bool:
        cpu = smp_processor_id()
        raised = self.raised_list[cpu]
        lazy = self.lazy_list[cpu]
        # Any queued work keeps the tick.
        if self.llist_empty(raised) and self.llist_empty(lazy):  # noqa: SIM103 (the C's shape)
            return False
        return True

    @kfunc(IRQ_WORK_C, V)
    def irq_work_tick(self) -> None:
        # 3.17's update_process_times() ran irq_work_run() here: every list, raised included,
        # with or without an irq_work interrupt.
        cpu = smp_processor_id()
        self.irq_work_run_list(self.raised_list[cpu])
        self.irq_work_run_list(self.lazy_list[cpu])

    # -- kernel/time/tick-sched.c --------------------------------------------------------------

    def init_nohz_full_kick_work(self) -> None:
        # The 2014 kick work: flags 0 (neither lazy nor HARD), callback nohz_full_kick_work_func.
        self.nohz_full_kick_work = PerCpu(
            lambda name: IRQ_WORK_INIT(self.nohz_full_kick_work_func, name), "nohz_full_kick_work"
        )

    @kfunc(TICK_SCHED_C, V, name="__tick_nohz_full_check", line=205)
    def _tick_nohz_full_check(self) -> None:
        cpu = smp_processor_id()
        ts = self.tick_cpu_sched[cpu]
        if self.tick_nohz_full_cpu(cpu):
            if self.tick_sched_flag_test(ts, TS_FLAG_STOPPED) and not self.is_idle_task(cpu):
                if not self.can_stop_full_tick(cpu, ts):
                    self.tick_nohz_restart_sched_tick(ts, self.ktime_get())

    @kfunc(TICK_SCHED_C, V, line=217)
    def nohz_full_kick_work_func(self, work: irq_work) -> None:
        self._tick_nohz_full_check()

    @kfunc(TICK_SCHED_C, V, name="tick_sched_timer", line=1070)
    def tick_nohz_handler(self, timer: hrtimer) -> int:
        ts = self._ts_of(timer)
        regs = True  # get_irq_regs(): always from the timer interrupt here
        now = self.ktime_get()
        self.tick_sched_do_timer(ts, now)
        if regs:
            self.tick_sched_handle(ts, regs)
        # Re-armed whether or not the tick is "stopped": a stopped tick still used
        # sched_timer as its one-shot next-event timer.
        self.hrtimer_forward(timer, now, TICK_NSEC)
        return HRTIMER_RESTART

    @kfunc(TICK_SCHED_C, V, line=820)
    def tick_nohz_irq_exit(self) -> None:
        ts = self.tick_cpu_sched[smp_processor_id()]
        if self.tick_sched_flag_test(ts, TS_FLAG_INIDLE):
            # 3.17 re-evaluated the idle tick here (__tick_nohz_idle_enter); the model's idle
            # loop does that on its next iteration.
            self.tick_nohz_start_idle(ts)
        else:
            self.tick_nohz_full_stop_tick(ts, smp_processor_id())

    @kfunc(TICK_SCHED_C, V, line=682)
    def tick_nohz_full_stop_tick(self, ts: tick_sched, cpu: Any = None) -> None:
        cpu = smp_processor_id()
        if not self.tick_nohz_full_cpu(cpu) or self.is_idle_task(cpu):
            return
        if not self.tick_sched_flag_test(ts, TS_FLAG_STOPPED) and not self.tick_sched_flag_test(ts, TS_FLAG_NOHZ):
            return
        # Only ever stops: a dependency that appears is handled by the kick work.
        if not self.can_stop_full_tick(cpu, ts):
            return
        # tick_nohz_stop_sched_tick(), modelled by the v6.17 pair (see the module docstring).
        if self.tick_nohz_next_event(ts, cpu):
            self.tick_nohz_stop_tick(ts, cpu)
        else:
            self.tick_nohz_retain_tick(ts)


TREE = Tree(
    name="pre-76a33061",
    cls=pre_76a33061,
    title="irq_work and the nohz_full kick just before 76a33061 (v3.17, 2014)",
    base="v6.17",
    pinned=(
        "tick-sched.c: 3.15/3.16-era file (index id 29640633); irq_work.c: 3.18 file at "
        "unicorn-soc-425/kernel-3.18-U5- 88393703 and the pre-76a33061 irq_work_needs_cpu hunk; "
        "update_process_times: 3.17.0-rc6+ lockup trace (Dave Jones, 2014-09-25)"
    ),
)
