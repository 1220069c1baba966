# SPDX-License-Identifier: GPL-2.0-only
"""The tick as a per-CPU hrtimer, the nohz idle and nohz_full paths, and the nohz_full kick.

Ports kernel/time/tick-sched.c of Linux v6.17 (read at Kingxukai/linux 0291023e, v6.17-rc;
line numbers counted in that snapshot) and tick_irq_exit() of kernel/softirq.c (not read at
a pinned commit; the v6.x shape: outside a nested interrupt, an idle or nohz_full CPU calls
tick_nohz_irq_exit()).

The pieces that matter for irq_work:

* Each CPU's tick is ``ts.sched_timer``, an hrtimer whose callback is ``tick_nohz_handler``
  (``tick_sched_timer`` before v6.10).  The callback runs update_process_times(), which calls
  irq_work_tick(): irq_work run from the tick runs *inside the tick hrtimer's callback*.
* Before stopping the tick, the idle path (tick_nohz_idle_stop_tick -> tick_nohz_next_event)
  asks irq_work_needs_cpu(); if it says yes, the periodic tick is kept.
* A nohz_full CPU re-evaluates its tick at every interrupt exit (tick_nohz_irq_exit ->
  tick_nohz_full_update_tick), restarting it if a dependency appeared.  The kick work
  (``nohz_full_kick_work``, a HARD irq_work with an empty callback) exists only to get an
  interrupt, and so that interrupt exit, on the CPU.

The local timer interrupt
-------------------------
The tick firing is an engine event source per CPU (``tick_event_source``, called by a
scenario in its set-up): enabled while the CPU's ``sched_timer`` is armed, it advances that
CPU's clock to the tick's expiry and raises LOCAL_TIMER_VECTOR; the handler
(arch/x86/kernel/apic/apic.py) runs hrtimer_interrupt(), which runs the due timers.  Its
budget bounds the number of ticks per execution.

What is abstracted
------------------
* Time: a virtual per-CPU clock (hrtimer.py).  jiffies are the clock in TICK_NSEC units
  (get_jiffies_update); the timekeeping duty (tick_do_update_jiffies64), the stalled-jiffies
  check and load/softlockup/vmstat bookkeeping are left out.
* timer_list timers: none are armed, so get_next_timer_interrupt() and
  timer_base_try_to_set_idle() report no timer (KTIME_MAX), and rcu_needs_cpu(),
  arch_needs_cpu() and local_timer_softirq_pending() say no.
* Idle statistics (idle_calls, idle_sleeps, idle_jiffies, idle time accounting in
  tick_nohz_start_idle) and nohz_balance_enter_idle(): no effect on these paths.
* Task tick dependencies (current->tick_dep_mask and its signal's): there are no tasks; the
  global and per-CPU dependency masks are modelled.
* timekeeping_max_deferment() is a constant (100 ticks).
* Only high-resolution mode (TS_FLAG_HIGHRES) is modelled; the low-resolution clock event
  path is not.
"""

from __future__ import annotations

from typing import Any

from ...engine import (
    WARN_ON_ONCE,
    PerCpu,
    Struct,
    atomic_fetch_or,
    atomic_read,
    atomic_t,
    cpu_is_offline,
    cpu_online,
    field,
    in_hardirq,
    in_nmi,
    irqs_disabled,
    kconfig,
    key_of,
    kfunc,
    local_irq_disable,
    local_irq_enable,
    preempt_disable,
    preempt_enable,
    smp_processor_id,
)
from ..irq_work import IRQ_WORK_INIT_HARD, irq_work
from .hrtimer import (
    CLOCK_MONOTONIC,
    HRTIMER_MODE_ABS_HARD,
    HRTIMER_MODE_ABS_PINNED_HARD,
    HRTIMER_NORESTART,
    HRTIMER_RESTART,
    HRTIMER_STATE_ENQUEUED,
    KTIME_MAX,
    arm_at_setup,
    hrtimer,
)

TICK_SCHED_C = "kernel/time/tick-sched.c"
TICK_H = "include/linux/tick.h"
SOFTIRQ_C = "kernel/softirq.c"

# kernel/time/tick-sched.h (flag values from memory; only their distinctness matters here)
TS_FLAG_DO_TIMER_LAST = 1 << 0
TS_FLAG_STOPPED = 1 << 1
TS_FLAG_INIDLE = 1 << 2
TS_FLAG_IDLE_ACTIVE = 1 << 3
TS_FLAG_NOHZ = 1 << 4
TS_FLAG_HIGHRES = 1 << 5

# include/linux/tick.h: enum tick_dep_bits
TICK_DEP_BIT_POSIX_TIMER = 0
TICK_DEP_BIT_PERF_EVENTS = 1
TICK_DEP_BIT_SCHED = 2
TICK_DEP_BIT_CLOCK_UNSTABLE = 3
TICK_DEP_BIT_RCU = 4
TICK_DEP_BIT_RCU_EXP = 5
TICK_DEP_MASK_POSIX_TIMER = 1 << TICK_DEP_BIT_POSIX_TIMER
TICK_DEP_MASK_PERF_EVENTS = 1 << TICK_DEP_BIT_PERF_EVENTS
TICK_DEP_MASK_SCHED = 1 << TICK_DEP_BIT_SCHED
TICK_DEP_MASK_CLOCK_UNSTABLE = 1 << TICK_DEP_BIT_CLOCK_UNSTABLE
TICK_DEP_MASK_RCU = 1 << TICK_DEP_BIT_RCU
TICK_DEP_MASK_RCU_EXP = 1 << TICK_DEP_BIT_RCU_EXP

TICK_DO_TIMER_NONE = -1
TICK_NSEC = 1_000_000  # HZ=1000
BOOT_NS = 10 * TICK_NSEC  # the clocks start here; the first tick is one period later
MAX_DEFERMENT_NS = 100 * TICK_NSEC


class tick_sched(Struct):
    flags = field(0)
    sched_timer = field(None, shared=False)
    tick_dep_mask = field(None, shared=False)  # atomic_t
    last_tick = field(0)
    next_tick = field(0)
    timer_expires = field(0)
    timer_expires_base = field(0)
    last_jiffies = field(0)


class timekeeping(Struct):
    """Holds the global tick_do_timer_cpu: which CPU keeps jiffies."""

    tick_do_timer_cpu = field(0)


class tick_sched_c:
    """Port of kernel/time/tick-sched.c (v6.17), high-resolution nohz mode."""

    OWN_INITS: tuple[str, ...] = ("init_tick_sched",)

    m: Any

    # -- boot state --------------------------------------------------------------------------------

    def init_tick_sched(self) -> None:
        m = self.m
        self.tick_do_timer = timekeeping(name="timekeeping", tick_do_timer_cpu=0)
        self.tick_dep_mask = atomic_t(name="tick_dep_mask")
        self.tick_cpu_sched = PerCpu(self._new_tick_sched, "tick_cpu_sched")
        for cpu in range(m.ncpus):
            # tick_setup_sched_timer(): the tick is an hrtimer running tick_nohz_handler,
            # armed one period after boot; tick_nohz_activate() switched the CPU to nohz.
            ts = self.tick_cpu_sched[cpu]
            self.hrtimer_setup(ts.sched_timer, self.tick_nohz_handler, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD, cpu)
            self.hrtimer_bases[cpu].clock = BOOT_NS
            arm_at_setup(ts.sched_timer, BOOT_NS + TICK_NSEC)
            ts.last_tick = BOOT_NS
            ts.flags = TS_FLAG_HIGHRES | TS_FLAG_NOHZ
        self.init_nohz_full_kick_work()
        self.tick_nohz_init()
        if self.nohz_common():
            m.irq_exit_hooks.append(self._irq_exit_hook)

    def init_nohz_full_kick_work(self) -> None:
        self.nohz_full_kick_work = PerCpu(
            lambda name: IRQ_WORK_INIT_HARD(self.nohz_full_kick_func, name), "nohz_full_kick_work"
        )

    def _new_tick_sched(self, name: str) -> tick_sched:
        return tick_sched(
            name=name,
            sched_timer=hrtimer(name=f"sched_timer[{name[name.index('[') + 1 : -1]}]"),
            tick_dep_mask=atomic_t(name=f"{name}.tick_dep_mask"),
        )

    @kfunc(TICK_SCHED_C, line=624)
    def tick_nohz_init(self) -> None:
        # Boot: nohz_full needs the irq_work self-interrupt (the kick); without it the
        # nohz_full= CPUs are dropped.
        cfg = self.m.config
        self.tick_nohz_full_mask = frozenset(cfg.get("nohz_full", ())) if kconfig("NO_HZ_FULL") else frozenset()
        self.tick_nohz_full_running = bool(self.tick_nohz_full_mask)
        if self.tick_nohz_full_running and not self.arch_irq_work_has_interrupt():
            self.tick_nohz_full_mask = frozenset()
            self.tick_nohz_full_running = False

    def tick_event_source(self, cpu: int, budget: int = 1, idle_only: bool = False) -> None:
        """Scenario set-up: the local timer of ``cpu`` fires (at most ``budget`` times).

        Enabled while the CPU's tick hrtimer is armed; with ``idle_only``, only while the CPU
        is halted in its idle loop (a scenario that asks only what the tick does for an idle
        CPU need not explore ticks at every step of the idle entry code).  Firing advances
        the CPU's clock to the tick's expiry and raises LOCAL_TIMER_VECTOR.
        """
        from ...arch.x86.kernel.apic.apic import LOCAL_TIMER_VECTOR

        timer = self.tick_cpu_sched[cpu].sched_timer
        base = self.hrtimer_bases[cpu]
        engine_cpu = self.m.cpus[cpu]
        keys = [key_of(timer, "state"), key_of(timer, "expires"), key_of(base, "clock")]
        if idle_only:
            # Whether the CPU is halted is part of its control state: declaring it makes every
            # step of that CPU one the explorer orders against the tick (engine/dpor.py, guards).
            keys.append(engine_cpu.ctl)

        def armed() -> bool:
            if not timer.raw("state") & HRTIMER_STATE_ENQUEUED:
                return False
            return not idle_only or engine_cpu.halted

        def expire() -> None:
            base.clock = max(base.raw("clock"), timer.raw("expires"))

        self.m.add_source(
            f"tick CPU{cpu}", cpu, LOCAL_TIMER_VECTOR, budget=budget, guard=armed, keys=keys, action=expire
        )

    # -- include/linux/tick.h -----------------------------------------------------------------

    @kfunc(TICK_H)
    def tick_nohz_full_enabled(self) -> bool:
        return kconfig("NO_HZ_FULL") and self.tick_nohz_full_running

    @kfunc(TICK_H)
    def tick_nohz_full_cpu(self, cpu: int) -> bool:
        if not self.tick_nohz_full_enabled():
            return False
        return cpu in self.tick_nohz_full_mask

    # -- flags ------------------------------------------------------------------------------------

    @kfunc(TICK_SCHED_C, line=184)
    def tick_sched_flag_test(self, ts: tick_sched, flag: int) -> bool:
        return bool(ts.flags & flag)

    @kfunc(TICK_SCHED_C, line=190)
    def tick_sched_flag_set(self, ts: tick_sched, flag: int) -> None:
        WARN_ON_ONCE(not irqs_disabled(), "tick_sched flags changed with interrupts on")
        ts.flags = ts.flags | flag

    @kfunc(TICK_SCHED_C, line=197)
    def tick_sched_flag_clear(self, ts: tick_sched, flag: int) -> None:
        WARN_ON_ONCE(not irqs_disabled(), "tick_sched flags changed with interrupts on")
        ts.flags = ts.flags & ~flag

    # -- the tick handler -----------------------------------------------------------------------

    @kfunc(TICK_SCHED_C, line=206)
    def tick_sched_do_timer(self, ts: tick_sched, now: int) -> None:
        cpu = smp_processor_id()
        tick_cpu = self.tick_do_timer.tick_do_timer_cpu
        # A dropped timekeeping duty is taken by whichever CPU ticks next.
        if tick_cpu == TICK_DO_TIMER_NONE:
            WARN_ON_ONCE(self.tick_nohz_full_running, "timekeeping duty dropped with nohz_full")
            self.tick_do_timer.tick_do_timer_cpu = cpu
            tick_cpu = cpu
        # tick_do_update_jiffies64(), the stalled-jiffies check and got_idle_tick: abstracted.

    @kfunc(TICK_SCHED_C, line=253)
    def tick_sched_handle(self, ts: tick_sched, regs: Any) -> None:
        if self.tick_sched_flag_test(ts, TS_FLAG_STOPPED):
            # touch_softlockup_watchdog_sched() and idle_jiffies: abstracted.  Reset the
            # cached next tick so the next stop reprograms the timer.
            ts.next_tick = 0
        self.update_process_times(0)
        # profile_tick(): abstracted.

    @kfunc(TICK_SCHED_C, line=284)
    def tick_nohz_handler(self, timer: hrtimer) -> int:
        ts = self._ts_of(timer)
        regs = in_hardirq()  # get_irq_regs(): set when called from the timer interrupt
        now = self.ktime_get()

        self.tick_sched_do_timer(ts, now)

        if regs:
            self.tick_sched_handle(ts, regs)
        else:
            ts.next_tick = 0

        # With the tick stopped, re-arming is left to the idle loop or to interrupt exit.
        if self.tick_sched_flag_test(ts, TS_FLAG_STOPPED):
            return HRTIMER_NORESTART

        self.hrtimer_forward(timer, now, TICK_NSEC)
        return HRTIMER_RESTART

    def _ts_of(self, timer: hrtimer) -> tick_sched:
        # container_of(timer, struct tick_sched, sched_timer)
        return self.tick_cpu_sched[timer.base.cpu]  # type: ignore[no-any-return]

    # -- nohz_full: dependencies and the kick ----------------------------------------------------

    @kfunc(TICK_SCHED_C, line=321)
    def check_tick_dependency(self, dep: atomic_t) -> bool:
        val = atomic_read(dep)
        for mask in (
            TICK_DEP_MASK_POSIX_TIMER,
            TICK_DEP_MASK_PERF_EVENTS,
            TICK_DEP_MASK_SCHED,
            TICK_DEP_MASK_CLOCK_UNSTABLE,
            TICK_DEP_MASK_RCU,
            TICK_DEP_MASK_RCU_EXP,
        ):
            if val & mask:
                return True  # trace_tick_stop(0, mask)
        return False

    @kfunc(TICK_SCHED_C, line=358)
    def can_stop_full_tick(self, cpu: int, ts: tick_sched) -> bool:
        WARN_ON_ONCE(not irqs_disabled(), "can_stop_full_tick() with interrupts on")
        if not cpu_online(cpu):
            return False
        if self.check_tick_dependency(self.tick_dep_mask):
            return False
        if self.check_tick_dependency(ts.tick_dep_mask):  # noqa: SIM103 (the C's shape)
            return False
        # current->tick_dep_mask and current->signal->tick_dep_mask: no task model.
        return True

    @kfunc(TICK_SCHED_C, line=380)
    def nohz_full_kick_func(self, work: irq_work) -> None:
        # Deliberately empty: the kick only needs an interrupt on the CPU; its exit path
        # (tick_nohz_irq_exit) re-evaluates and restarts the tick.
        pass

    @kfunc(TICK_SCHED_C, line=394)
    def tick_nohz_full_kick(self) -> None:
        # NMI-safe: a local irq_work.
        if not self.tick_nohz_full_cpu(smp_processor_id()):
            return
        self.irq_work_queue(self.nohz_full_kick_work[smp_processor_id()])

    @kfunc(TICK_SCHED_C, line=406)
    def tick_nohz_full_kick_cpu(self, cpu: int) -> None:
        if not self.tick_nohz_full_cpu(cpu):
            return
        self.irq_work_queue_on(self.nohz_full_kick_work[cpu], cpu)

    @kfunc(TICK_SCHED_C, line=505)
    def tick_nohz_dep_set_cpu(self, cpu: int, bit: int) -> None:
        ts = self.tick_cpu_sched[cpu]
        prev = atomic_fetch_or(1 << bit, ts.tick_dep_mask)
        if not prev:
            preempt_disable()
            # perf needs a local kick that is NMI-safe
            if cpu == smp_processor_id():
                self.tick_nohz_full_kick()
            else:
                # the remote kick is not NMI-safe
                if not WARN_ON_ONCE(in_nmi()):
                    self.tick_nohz_full_kick_cpu(cpu)
            preempt_enable()

    @kfunc(TICK_SCHED_C, line=685)
    def tick_nohz_tick_stopped(self) -> bool:
        return self.tick_sched_flag_test(self.tick_cpu_sched[smp_processor_id()], TS_FLAG_STOPPED)

    @kfunc(TICK_SCHED_C, line=745)
    def tick_nohz_start_idle(self, ts: tick_sched) -> None:
        # idle_entrytime and TS_FLAG_IDLE_ACTIVE feed idle time accounting only: abstracted.
        pass

    # -- stopping and restarting the tick -------------------------------------------------------

    @kfunc(TICK_SCHED_C, line=836)
    def tick_nohz_restart(self, ts: tick_sched, now: int) -> None:
        self.hrtimer_cancel(ts.sched_timer)
        self.hrtimer_set_expires(ts.sched_timer, ts.last_tick)
        # Move the expiry into the future, one period at a time.
        self.hrtimer_forward(ts.sched_timer, now, TICK_NSEC)
        if self.tick_sched_flag_test(ts, TS_FLAG_HIGHRES):
            self.hrtimer_start_expires(ts.sched_timer, HRTIMER_MODE_ABS_PINNED_HARD)
        # Forget the cached deadline so the next stop is not fooled by it.
        ts.next_tick = 0

    @kfunc(TICK_SCHED_C, line=866)
    def get_jiffies_update(self) -> tuple[int, int]:
        # last_jiffies_update and jiffies, from the CPU's clock (see the module docstring).
        now = self.ktime_get()
        basemono = now - now % TICK_NSEC
        return basemono, basemono // TICK_NSEC

    @kfunc(TICK_SCHED_C, line=891)
    def tick_nohz_next_event(self, ts: tick_sched, cpu: int) -> int:
        basemono, basejiff = self.get_jiffies_update()
        ts.last_jiffies = basejiff
        ts.timer_expires_base = basemono

        # Keep the periodic tick when RCU, the architecture or irq_work asks for it.  Otherwise
        # the next timer decides; no timer_list timer is armed in the model.
        if self.irq_work_needs_cpu():
            next_tick = basemono + TICK_NSEC
        else:
            next_tick = KTIME_MAX

        if WARN_ON_ONCE(basemono > next_tick):
            next_tick = basemono

        # The next event is within a period and the tick still runs: nothing to stop.
        delta = next_tick - basemono
        if delta <= TICK_NSEC:
            if not self.tick_sched_flag_test(ts, TS_FLAG_STOPPED):
                ts.timer_expires = 0
                return ts.timer_expires  # type: ignore[no-any-return]

        # The CPU that kept jiffies last must come back within the timekeeping deferment;
        # any other CPU may sleep for as long as its timers allow.
        delta = MAX_DEFERMENT_NS
        tick_cpu = self.tick_do_timer.tick_do_timer_cpu
        if tick_cpu != cpu and (
            tick_cpu != TICK_DO_TIMER_NONE or not self.tick_sched_flag_test(ts, TS_FLAG_DO_TIMER_LAST)
        ):
            delta = KTIME_MAX

        if delta < KTIME_MAX - basemono:
            expires = basemono + delta
        else:
            expires = KTIME_MAX

        ts.timer_expires = min(expires, next_tick)
        return ts.timer_expires  # type: ignore[no-any-return]

    @kfunc(TICK_SCHED_C, line=969)
    def tick_nohz_stop_tick(self, ts: tick_sched, cpu: int) -> None:
        timer_idle = self.tick_sched_flag_test(ts, TS_FLAG_STOPPED)
        ts.timer_expires_base = 0

        # timer_base_try_to_set_idle(): no timer_list timer, the base goes idle.
        expires = KTIME_MAX
        timer_idle = True
        timer_expires = ts.timer_expires
        if expires > timer_expires:
            expires = timer_expires

        if not timer_idle:
            return

        # Hand the timekeeping duty on if this CPU had it; remember that it did.
        tick_cpu = self.tick_do_timer.tick_do_timer_cpu
        if tick_cpu == cpu:
            self.tick_do_timer.tick_do_timer_cpu = TICK_DO_TIMER_NONE
            self.tick_sched_flag_set(ts, TS_FLAG_DO_TIMER_LAST)
        elif tick_cpu != TICK_DO_TIMER_NONE:
            self.tick_sched_flag_clear(ts, TS_FLAG_DO_TIMER_LAST)

        # Already stopped for this very deadline: nothing to reprogram.
        if self.tick_sched_flag_test(ts, TS_FLAG_STOPPED) and expires == ts.next_tick:
            if expires == KTIME_MAX or ts.next_tick == self.hrtimer_get_expires(ts.sched_timer):
                return
            WARN_ON_ONCE(True, "tick stopped but its timer is not programmed for next_tick")

        if not self.tick_sched_flag_test(ts, TS_FLAG_STOPPED):
            # First stop: remember the tick to restart from.  calc_load_nohz_start() and
            # quiet_vmstat(): abstracted.
            ts.last_tick = self.hrtimer_get_expires(ts.sched_timer)
            self.tick_sched_flag_set(ts, TS_FLAG_STOPPED)

        ts.next_tick = expires

        # Nothing to wake up for: the tick timer is cancelled outright.
        if expires == KTIME_MAX:
            if self.tick_sched_flag_test(ts, TS_FLAG_HIGHRES):
                self.hrtimer_cancel(ts.sched_timer)
            return

        if self.tick_sched_flag_test(ts, TS_FLAG_HIGHRES):
            self.hrtimer_start(ts.sched_timer, expires, HRTIMER_MODE_ABS_PINNED_HARD)

    @kfunc(TICK_SCHED_C, line=1072)
    def tick_nohz_retain_tick(self, ts: tick_sched) -> None:
        ts.timer_expires_base = 0

    @kfunc(TICK_SCHED_C, line=1078)
    def tick_nohz_full_stop_tick(self, ts: tick_sched, cpu: int) -> None:
        if self.tick_nohz_next_event(ts, cpu):
            self.tick_nohz_stop_tick(ts, cpu)
        else:
            self.tick_nohz_retain_tick(ts)

    @kfunc(TICK_SCHED_C, line=1087)
    def tick_nohz_restart_sched_tick(self, ts: tick_sched, now: int) -> None:
        # tick_do_update_jiffies64(), timer_clear_idle(), calc_load_nohz_stop() and
        # touch_softlockup_watchdog_sched(): abstracted.
        self.tick_sched_flag_clear(ts, TS_FLAG_STOPPED)
        self.tick_nohz_restart(ts, now)

    @kfunc(TICK_SCHED_C, name="__tick_nohz_full_update_tick", line=1106)
    def _tick_nohz_full_update_tick(self, ts: tick_sched, now: int) -> None:
        if not kconfig("NO_HZ_FULL"):
            return
        cpu = smp_processor_id()
        if self.can_stop_full_tick(cpu, ts):
            self.tick_nohz_full_stop_tick(ts, cpu)
        elif self.tick_sched_flag_test(ts, TS_FLAG_STOPPED):
            self.tick_nohz_restart_sched_tick(ts, now)

    @kfunc(TICK_SCHED_C, line=1119)
    def tick_nohz_full_update_tick(self, ts: tick_sched) -> None:
        if not self.tick_nohz_full_cpu(smp_processor_id()):
            return
        if not self.tick_sched_flag_test(ts, TS_FLAG_NOHZ):
            return
        self._tick_nohz_full_update_tick(ts, self.ktime_get())

    # -- idle ---------------------------------------------------------------------------------------

    @kfunc(TICK_SCHED_C, line=1169)
    def can_stop_idle_tick(self, cpu: int, ts: tick_sched) -> bool:
        WARN_ON_ONCE(cpu_is_offline(cpu), "idle tick stop on an offline CPU")
        if not self.tick_sched_flag_test(ts, TS_FLAG_NOHZ):
            return False
        if self.need_resched():
            return False
        # report_idle_softirq(): no softirq is ever pending in the model.
        if self.tick_nohz_full_enabled():
            tick_cpu = self.tick_do_timer.tick_do_timer_cpu
            # The timekeeper keeps ticking for the nohz_full CPUs.
            if tick_cpu == cpu:
                return False
            if WARN_ON_ONCE(tick_cpu == TICK_DO_TIMER_NONE):
                return False
        return True

    @kfunc(TICK_SCHED_C, line=1205)
    def tick_nohz_idle_stop_tick(self) -> None:
        cpu = smp_processor_id()
        ts = self.tick_cpu_sched[cpu]

        if ts.timer_expires_base:
            expires = ts.timer_expires
        elif self.can_stop_idle_tick(cpu, ts):
            expires = self.tick_nohz_next_event(ts, cpu)
        else:
            return

        if expires > 0:
            self.tick_nohz_stop_tick(ts, cpu)
        else:
            self.tick_nohz_retain_tick(ts)

    @kfunc(TICK_SCHED_C, line=1251)
    def tick_nohz_idle_enter(self) -> None:
        local_irq_disable()
        ts = self.tick_cpu_sched[smp_processor_id()]
        WARN_ON_ONCE(ts.timer_expires_base, "idle entered with a computed sleep length")
        self.tick_sched_flag_set(ts, TS_FLAG_INIDLE)
        self.tick_nohz_start_idle(ts)
        local_irq_enable()

    @kfunc(TICK_SCHED_C, line=1288)
    def tick_nohz_irq_exit(self) -> None:
        ts = self.tick_cpu_sched[smp_processor_id()]
        if self.tick_sched_flag_test(ts, TS_FLAG_INIDLE):
            self.tick_nohz_start_idle(ts)
        else:
            self.tick_nohz_full_update_tick(ts)

    # -- interrupt exit (kernel/softirq.c) -----------------------------------------------------

    @kfunc(SOFTIRQ_C)
    def tick_irq_exit(self) -> None:
        cpu = smp_processor_id()
        # An idle CPU without pending rescheduling, or a nohz_full CPU, re-evaluates its tick.
        if (self.idle_cpu(cpu) and not self.need_resched()) or self.tick_nohz_full_cpu(cpu):
            self.tick_nohz_irq_exit()

    def _irq_exit_hook(self, cpu: Any) -> None:
        # The engine runs its exit hooks after hardirq context is left, as __irq_exit_rcu does;
        # C skips tick_irq_exit() for an interrupt nested in another one, so only the
        # outermost interrupt re-evaluates the tick.
        if cpu.nested_irqs == 1:
            self.tick_irq_exit()


PORT = tick_sched_c
