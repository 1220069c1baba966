# SPDX-License-Identifier: GPL-2.0-only
"""The soft-lockup detector: a port of the softlockup half of kernel/watchdog.c (v6.17).

Read at Kingxukai/linux 0291023e7330da28f2f7453c87c2ab7082d8360f (v6.17-rc): watchdog_timer_fn,
is_softlockup, softlockup_fn, update_touch_ts, update_report_ts, get_timestamp,
get_softlockup_thresh, set_sample_period.  Line numbers in that file were not counted, so the
kfunc tags carry none.

How it works in the kernel, and here: each CPU has a hard hrtimer firing every sample period
(watchdog_thresh * 2 / 5 = 4 s).  Its callback queues ``softlockup_fn`` on the CPU's stopper
thread, the highest-priority thread there, and compares the time of the last run of that
function (``watchdog_touch_ts``) with now: more than the threshold (watchdog_thresh * 2 =
20 s) without it means the CPU has not scheduled for that long, and the callback reports
"BUG: soft lockup" and restarts the report period, so a CPU that stays stuck is reported
again every 20 s.

Abstracted, and why:

* Only in timed mode (the detector is about time; untimed scenarios never arm it), and only
  when the scenario's config has ``SOFTLOCKUP_DETECTOR``.
* The hrtimer is a periodic timed event raising a timer interrupt whose handler is
  ``watchdog_timer_fn`` (the hrtimer base of kernel/time/hrtimer.py is not involved: that
  model is driven by the untimed tick sources).  The hard-lockup kick, interrupt-storm
  accounting (``start_counting_irqs``), sched_ext bailout, guest-pause check, all-CPU
  backtraces, taint and ``softlockup_panic`` are left out: none changes when a report fires.
* The stopper thread: ``softlockup_fn`` runs the next time the CPU passes a scheduling point
  (``schedule()``, ``cond_resched()`` when a reschedule is due, preemption on interrupt
  return, the idle loop: the engine's ``sched_hooks``), which is when the real stopper, being
  the most important thread, would run.  Queueing it (``stop_one_cpu_nowait()`` ->
  ``cpu_stop_queue_work()`` -> ``wake_up_q()``) wakes the stopper, and a stop-class thread
  outranks whatever runs, so the wake-up asks this CPU to reschedule (``wakeup_preempt()`` ->
  ``resched_curr()``): the model sets the CPU's need-resched state there.  That is what lets
  a kernel without preemption on interrupt return (PREEMPT_NONE/VOLUNTARY) run the stopper
  at the next ``cond_resched()`` of the code it interrupted; until that code gets there, the
  stopper waits, however many interrupts come and go.
* ``get_timestamp()`` is the CPU's virtual clock shifted by 30 (about seconds), as
  ``running_clock() >> 30`` is.
"""

from __future__ import annotations

from typing import Any

from ..engine import PerCpu, Struct, field, kfunc, local_clock, printk, set_need_resched, smp_processor_id

WATCHDOG_C = "kernel/watchdog.c"
VERSION = "v6.17"

WATCHDOG_TIMER_VECTOR = 0xEC  # LOCAL_TIMER_VECTOR: the watchdog hrtimer fires from the local timer
HRTIMER_RESTART = 1
SOFTLOCKUP_DELAY_REPORT = (1 << 64) - 1
NUM_SAMPLE_PERIODS = 5
NSEC_PER_SEC = 1_000_000_000


class watchdog_cpu(Struct):
    """The per-CPU detector state (separate per-CPU variables in C)."""

    watchdog_touch_ts = field(0)
    watchdog_report_ts = field(0)
    softlockup_completion_done = field(1)  # complete() was called for the last queued run
    softlockup_stop_queued = field(0)  # softlockup_fn waits for the stopper (the next schedule)
    softlockup_count = field(0)  # reports on this CPU (kernel: soft_lockup_nmi_warn bookkeeping)


class watchdog_c:
    OWN_INITS = ("lockup_detector_init",)

    watchdog_thresh = 10

    def lockup_detector_init(self) -> None:
        m = self.m
        self.watchdog_cpus = PerCpu(lambda name: watchdog_cpu(name=name), "watchdog")
        if m.timed is None or not m.config.get("SOFTLOCKUP_DETECTOR"):
            return
        # The kernel.watchdog_thresh sysctl (1..60, default 10); a scaled-down run lowers it.
        self.watchdog_thresh = int(m.config.get("watchdog_thresh", 10))
        self.set_sample_period()
        m.register_vector(WATCHDOG_TIMER_VECTOR, "LOCAL_TIMER_VECTOR", self._watchdog_hrtimer_interrupt)
        m.sched_hooks.append(self._stopper_runs)
        for cpu in range(m.ncpus):
            m.add_source(
                f"watchdog hrtimer CPU{cpu}",
                cpu,
                WATCHDOG_TIMER_VECTOR,
                budget=1 << 62,
                at_ns=self.sample_period,
                period_ns=self.sample_period,
            )

    @kfunc(WATCHDOG_C, VERSION)
    def get_softlockup_thresh(self) -> int:
        return self.watchdog_thresh * 2

    @kfunc(WATCHDOG_C, VERSION)
    def set_sample_period(self) -> None:
        # Five samples per threshold: 4 s with the default threshold of 10.
        self.sample_period = self.get_softlockup_thresh() * (NSEC_PER_SEC // NUM_SAMPLE_PERIODS)

    @kfunc(WATCHDOG_C, VERSION)
    def get_timestamp(self) -> int:
        return local_clock() >> 30

    @kfunc(WATCHDOG_C, VERSION)
    def update_report_ts(self) -> None:
        w = self.watchdog_cpus[smp_processor_id()]
        w.watchdog_report_ts = self.get_timestamp()

    @kfunc(WATCHDOG_C, VERSION)
    def update_touch_ts(self) -> None:
        w = self.watchdog_cpus[smp_processor_id()]
        now = self.get_timestamp()
        w.watchdog_touch_ts = now
        w.watchdog_report_ts = now

    @kfunc(WATCHDOG_C, VERSION)
    def softlockup_fn(self) -> None:
        # Run by the stopper thread: the CPU scheduled, so it is not locked up.
        self.update_touch_ts()
        w = self.watchdog_cpus[smp_processor_id()]
        w.softlockup_completion_done = 1

    def _stopper_runs(self, cpu: Any) -> None:
        # The stopper thread runs at the CPU's next scheduling point (see the module docstring).
        w = self.watchdog_cpus[cpu.id]
        if w.raw("softlockup_stop_queued"):
            w.softlockup_stop_queued = 0
            self.softlockup_fn()

    @kfunc(WATCHDOG_C, VERSION)
    def is_softlockup(self, touch_ts: int, period_ts: int, now: int) -> int:
        thresh = self.get_softlockup_thresh()
        if now > period_ts + thresh:
            return now - touch_ts
        return 0

    def _watchdog_hrtimer_interrupt(self, vec: int) -> None:
        from ..engine import apic_eoi

        apic_eoi()
        self.watchdog_timer_fn()

    @kfunc(WATCHDOG_C, VERSION, show=True)
    def watchdog_timer_fn(self) -> int:
        cpu = smp_processor_id()
        w = self.watchdog_cpus[cpu]
        # Queue softlockup_fn on the stopper unless the last one has not run yet.
        if w.softlockup_completion_done:
            w.softlockup_completion_done = 0
            w.softlockup_stop_queued = 1
            # stop_one_cpu_nowait() wakes the stopper: the stop class outranks every other,
            # so wakeup_preempt() asks this CPU to reschedule (see the module docstring).
            set_need_resched(cpu)
        now = self.get_timestamp()
        period_ts = w.watchdog_report_ts
        if period_ts == SOFTLOCKUP_DELAY_REPORT:
            self.update_report_ts()
            return HRTIMER_RESTART
        touch_ts = w.watchdog_touch_ts
        duration = self.is_softlockup(touch_ts, period_ts, now)
        if duration:
            w.softlockup_count = w.softlockup_count + 1
            self.update_report_ts()
            printk(f"BUG: soft lockup - CPU#{cpu} stuck for {duration}s!", "KERN_EMERG")
        return HRTIMER_RESTART


PORT = watchdog_c
