# SPDX-License-Identifier: GPL-2.0-only
"""Softirqs and tasklets: deferred work run at interrupt exit, in BH-disabled context.

Ports the !PREEMPT_RT half of kernel/softirq.c of Linux v6.17 (read at Kingxukai/linux
9b44fff655e2c6f4cc53cb499dd2c038e99cb013, v6.17-rc3; line numbers counted in that file), the
softirq and tasklet parts of include/linux/interrupt.h (read at Kingxukai/linux 0291023e,
v6.17-rc; line numbers counted there), local_bh_disable()/local_bh_enable() of
include/linux/bottom_half.h (read at xanmod/linux c6362b2b, a v6.11+ tree; the inlines have
had this shape since v5.x) and the two bit helpers of include/linux/wait_bit.h the tasklet code
uses (read at Kingxukai/linux 0291023e; lines not counted).

How it fits together
--------------------
Each CPU has a word of pending softirq bits (``irq_stat[cpu].__softirq_pending``) and a table
of ten actions shared by all CPUs (``softirq_vec``, filled by ``open_softirq``).  Raising a
softirq sets its bit with interrupts off.  The bits are run by ``handle_softirqs``:

* at interrupt exit (``__irq_exit_rcu``), unless the interrupt came in on top of softirq or
  BH-disabled code (``in_interrupt()``): on x86 ``invoke_softirq`` calls ``__do_softirq`` on
  the interrupt stack, before the tick's exit work and before the return to the interrupted
  context;
* when ``local_bh_enable`` re-enables bottom halves in task context and bits are pending;
* by the per-CPU thread ``ksoftirqd/N`` (SCHED_NORMAL), woken when a raise happens outside
  interrupt context or when ``handle_softirqs`` gives up.

``handle_softirqs`` marks the CPU as serving softirqs (SOFTIRQ_OFFSET in preempt_count),
clears the pending word with interrupts off, then *turns interrupts on* and runs the action of
each bit it took.  A hard interrupt may land in the middle of an action; at its exit
``in_interrupt()`` is true, so it starts no nested softirq processing: whatever it raised is
just a bit, found when ``handle_softirqs`` re-reads the word with interrupts off.  If bits are
pending again it restarts, at most ``MAX_SOFTIRQ_RESTART`` (10) rounds in total, only while
less than ``MAX_SOFTIRQ_TIME`` (2 ms) has passed and only while ``need_resched()`` is false;
otherwise it wakes ksoftirqd and returns with the bits still pending.  ``need_resched()`` is
looked at between rounds only: an action that is running keeps running.

Tasklets ride on two of the softirqs (HI_SOFTIRQ, TASKLET_SOFTIRQ).  ``tasklet_schedule``
sets the tasklet's SCHED bit; only the caller that set it links the tasklet on this CPU's list
and raises the softirq, so a tasklet scheduled twice before it runs runs once.  The action
takes the whole list with interrupts off and runs each tasklet whose RUN bit it can take
(``tasklet_trylock``) and whose count is zero, clearing SCHED just before the callback (so the
callback, or anyone, may schedule it again).  A tasklet whose RUN bit is held -- it is running
on another CPU -- or which is disabled goes back on the list and the softirq is raised again:
a tasklet never runs on two CPUs at once, and the requeue is what keeps a softirq restarting
while another CPU runs the tasklet.

Using it from a scenario
------------------------
Set-up (engine side)::

    t = tasklet_struct(name="t")
    k.tasklet_setup(t, lambda t: busy_loop(500_000, "tasklet body"))   # a 500 us body
    k.open_softirq(NET_RX_SOFTIRQ, action)                             # any other vector

Then from CPU code, in any context (a hardirq handler, an hrtimer callback, a task):
``k.tasklet_schedule(t)``, ``k.raise_softirq(NET_RX_SOFTIRQ)`` (or ``raise_softirq_irqoff``
with interrupts off), ``k.local_bh_disable()`` / ``k.local_bh_enable()``.  A raise from a
hardirq handler runs at that interrupt's exit.

What is abstracted, and why
---------------------------
* CPU-local data are not steps.  The pending word, the tasklet lists (``tasklet_vec``,
  ``tasklet_hi_vec``) and a queued tasklet's ``next`` pointer are touched only by their own CPU
  with interrupts off (a tasklet's ``next`` only by the CPU whose list holds it, which the
  SCHED bit makes one CPU at a time).  No other CPU can observe them, and everything that can
  run on the same CPU -- its interrupts, its threads -- is already ordered with each of that
  CPU's steps, so making these accesses steps would add nothing to the search but length.
  The tasklet's ``state`` bits and ``count`` are shared (other CPUs schedule, lock and disable
  the tasklet) and every access to them is a step.  Because the irq-exit check only reads the
  local pending word, it costs no step, and in a machine where nothing was ever raised it
  always reads 0, as on a kernel where no softirq is raised.
* The kernel's tracepoints (softirq_raise, softirq_entry/exit, tasklet_entry/exit) become
  trace notes.
* ksoftirqd and the irq-exit hook exist only in machines whose scenario uses softirqs: the
  first set-up-time ``open_softirq``, ``tasklet_setup`` or ``tasklet_init`` by a scenario (or
  an explicit ``spawn_ksoftirqd()``) runs the early_initcall.  In any other machine no softirq
  can ever be pending (nothing but the boot-time tasklet vectors is opened and no tasklet
  exists), so the thread would never be woken; creating it would only add the idle loop's
  run-queue check, a step that changes no verdict but lengthens every search.  A raise in a
  machine where that never happened is reported as an error of the scenario.
* jiffies: no global jiffies counter exists in the ports (tick_sched derives its jiffies from
  the hrtimer base clock), so ``jiffies`` here is the CPU's ``local_clock()`` divided by the
  tick length, HZ = 1000.  In untimed mode the clock stays 0, so the 2 ms limit never ends a
  restart loop and the restart count does (the situation the C comment describes for
  stop_machine, where jiffies stop); in timed mode it is virtual time.
* ``need_resched()`` is the engine's per-CPU folded flag (set by ``wake_up_process`` when
  the woken thread outranks what the CPU runs, and by the RT port's ``resched_curr()``;
  cleared at the preemption point), read as a step on the CPU's run queue, the location a
  wake-up writes.
* Accounting and debugging with no effect on control flow: PF_MEMALLOC save/restore,
  lockdep_softirq_start/end, account_softirq_enter/exit, kstat counters, the RCU quiescent
  state reported by ksoftirqd, ``workqueue_softirq_action`` (BH workqueues are not modelled),
  lockdep's BH tracking (CONFIG_TRACE_IRQFLAGS off: the inline ``__local_bh_disable_ip``).
  The lockdep assertions on the interrupt state (``__raise_softirq_irqoff``,
  ``__local_bh_enable_ip``) are kept as WARNs: they catch a scenario that breaks the rules.
* ``preempt_check_resched()`` at the end of ``local_bh_enable``: the engine has no preemption
  point at ``preempt_enable()`` (kernel_port/engine/tasks.py); preemption happens at
  interrupt return and ``schedule()``.  The same holds for ksoftirqd: the ``cond_resched()``
  after its round is kernel_port/kernel/sched/core.py's port, which schedules under
  PREEMPT_NONE/VOLUNTARY and returns 0 under full preemption, where the kernel would
  preempt at the thread loop's ``preempt_enable()`` a few instructions later; in the model a
  thread woken meanwhile runs at the next interrupt return or when ksoftirqd sleeps.
* Only the !PREEMPT_RT paths are ported; using softirqs on a PREEMPT_RT machine is an error.
  Forced interrupt threading (``force_irqthreads()``, boot option ``threadirqs``) is honoured
  by ``invoke_softirq`` (it wakes ksoftirqd instead) but ktimerd is not ported.
* CPU hotplug (``takeover_tasklets``), ``tasklet_kill`` and ``tasklet_unlock_spin_wait``:
  no scenario takes a CPU with softirqs offline or kills a tasklet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import engine as _engine
from ..engine import (
    SOFTIRQ_OFFSET,
    WARN_ON_ONCE,
    PerCpu,
    Struct,
    atomic_dec,
    atomic_fetch_andnot,
    atomic_fetch_or,
    atomic_inc,
    atomic_read,
    atomic_set,
    atomic_t,
    await_field,
    field,
    in_hardirq,
    in_interrupt,
    irqs_disabled,
    kconfig,
    kfunc,
    local_clock,
    local_irq_disable,
    local_irq_enable,
    local_irq_restore,
    local_irq_save,
    might_sleep,
    need_resched,
    preempt_count,
    preempt_disable,
    preempt_enable,
    printk,
    smp_mb,
    smp_mb__after_atomic,
    smp_mb__before_atomic,
    smp_processor_id,
    softirq_enter,
    softirq_exit,
    wake_up_process,
)
from ..engine import core as _core
from .smpboot import smp_hotplug_thread

SOFTIRQ_C = "kernel/softirq.c"
INTERRUPT_H = "include/linux/interrupt.h"
BOTTOM_HALF_H = "include/linux/bottom_half.h"
WAIT_BIT_H = "include/linux/wait_bit.h"
SCHED_H = "include/linux/sched.h"
IRQ_STACK_H = "arch/x86/include/asm/irq_stack.h"

# include/linux/interrupt.h: the softirq vectors, in priority order (bit 0 runs first).
HI_SOFTIRQ = 0
TIMER_SOFTIRQ = 1
NET_TX_SOFTIRQ = 2
NET_RX_SOFTIRQ = 3
BLOCK_SOFTIRQ = 4
IRQ_POLL_SOFTIRQ = 5
TASKLET_SOFTIRQ = 6
SCHED_SOFTIRQ = 7
HRTIMER_SOFTIRQ = 8
RCU_SOFTIRQ = 9
NR_SOFTIRQS = 10

softirq_to_name = ("HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU")

# include/linux/interrupt.h: tasklet state bits.
TASKLET_STATE_SCHED = 0  # queued on some CPU's list, not yet started
TASKLET_STATE_RUN = 1  # its callback is running (SMP)

# include/linux/preempt.h
SOFTIRQ_DISABLE_OFFSET = 2 * SOFTIRQ_OFFSET

# Time: HZ = 1000 (see the module docstring for where jiffies come from).
HZ = 1000
NSEC_PER_SEC = 1_000_000_000
NSEC_PER_JIFFY = NSEC_PER_SEC // HZ
MAX_SOFTIRQ_RESTART = 10


def msecs_to_jiffies(m: int) -> int:
    return m * HZ // 1000


MAX_SOFTIRQ_TIME = msecs_to_jiffies(2)


def jiffies() -> int:
    """The jiffies counter as this CPU sees it: its clock in ticks of 1/HZ s."""
    return local_clock() // NSEC_PER_JIFFY


def time_before(a: int, b: int) -> bool:
    # Wrap-safe in C (signed difference); Python integers do not wrap.
    return a - b < 0


def ffs(x: int) -> int:
    """Find first set bit, counting from 1; 0 when no bit is set."""
    return (x & -x).bit_length()


def pending_names(mask: int) -> str:
    names = [softirq_to_name[nr] for nr in range(NR_SOFTIRQS) if mask & (1 << nr)]
    return "|".join(names) if names else "0"


def _tracepoint(event: str, arg: Any) -> None:
    """A tracepoint hit: a note in the trace of the CPU that hits it (when tracing).  ``arg``
    is a softirq number or a tasklet; names are formatted only when the trace is kept."""
    cpu = _core.CUR
    if cpu is not None and cpu.m.tracing:
        what = f"{softirq_to_name[arg]}_SOFTIRQ" if isinstance(arg, int) else arg.kp_name
        cpu.m.emit(cpu, "note", f"{event}: {what}")


def preempt_count_set(pc: int) -> None:
    """Restore the preempt count (handle_softirqs' repair of a leaking action)."""
    _core.current_cpu().preempt_count = pc


# -- include/linux/wait_bit.h and the atomic bit operations a tasklet's state word uses ------


def test_and_set_bit(nr: int, word: atomic_t) -> bool:
    # A fully ordered RMW, as test_and_set_bit() is; one step.
    return bool(atomic_fetch_or(1 << nr, word) & (1 << nr))


def test_and_clear_bit(nr: int, word: atomic_t) -> bool:
    return bool(atomic_fetch_andnot(1 << nr, word) & (1 << nr))


def clear_bit_unlock(nr: int, word: atomic_t) -> None:
    # Release semantics: the model is sequentially consistent.
    atomic_fetch_andnot(1 << nr, word)


def test_bit(nr: int, word: atomic_t) -> bool:
    return bool(atomic_read(word) & (1 << nr))


def wake_up_bit(word: atomic_t, nr: int) -> None:
    # Waiters on the bit (tasklet_unlock_wait) wait on the word itself and re-check when it is
    # stored to; there is no wait queue to wake.
    pass


@kfunc(WAIT_BIT_H)
def clear_and_wake_up_bit(nr: int, word: atomic_t) -> None:
    clear_bit_unlock(nr, word)
    # Orders the clear before the waiter check of wake_up_bit().
    smp_mb__after_atomic()
    wake_up_bit(word, nr)


@kfunc(WAIT_BIT_H)
def test_and_clear_wake_up_bit(nr: int, word: atomic_t) -> bool:
    if not test_and_clear_bit(nr, word):
        return False
    wake_up_bit(word, nr)
    return True


# -- data ------------------------------------------------------------------------------------


class softirq_action:
    """One entry of softirq_vec: the action run for a pending bit (set at boot)."""

    __slots__ = ("action",)

    def __init__(self) -> None:
        self.action: Callable[[], Any] | None = None


class irq_cpustat_t:
    """The per-CPU pending word (CPU-local, not a step: see the module docstring).  The field
    keeps its kernel name, so it is reached with getattr/setattr (no name mangling)."""

    def __init__(self, name: str) -> None:
        self.name = name
        setattr(self, "__softirq_pending", 0)


class tasklet_head:
    """A per-CPU tasklet list: head, and ``tail`` -- where the next tasklet is linked, as an
    (object, field) pair standing for C's pointer to the last ``next`` pointer."""

    __slots__ = ("head", "name", "tail")

    def __init__(self, name: str) -> None:
        self.name = name
        self.head: tasklet_struct | None = None
        self.tail: tuple[Any, str] = (self, "head")


class tasklet_struct(Struct):
    """struct tasklet_struct.  ``state`` (SCHED and RUN bits) and ``count`` (disable depth)
    are atomic words every CPU may touch; ``next`` belongs to the CPU whose list holds the
    tasklet; the callback fields are set up once."""

    next = field(None, shared=False)
    state = field(None, shared=False)  # atomic_t: the state word
    count = field(None, shared=False)  # atomic_t
    use_callback = field(False, shared=False)
    func = field(None, shared=False)
    callback = field(None, shared=False)
    data = field(0, shared=False)

    def __init__(self, name: str | None = None, **init: Any) -> None:
        super().__init__(name, **init)
        nm = self.kp_name
        d = self.__dict__
        if d["state"] is None:
            d["state"] = atomic_t(name=f"{nm}.state")
        if d["count"] is None:
            d["count"] = atomic_t(name=f"{nm}.count")


class softirq_c:
    """Port of kernel/softirq.c (v6.17, !PREEMPT_RT) and the softirq/tasklet inlines."""

    OWN_INITS: tuple[str, ...] = ("init_softirq",)

    m: Any

    def init_softirq(self) -> None:
        n = self.m.ncpus
        # DEFINE_PER_CPU(irq_cpustat_t, irq_stat) and the two tasklet lists, all CPU-local.
        self.irq_stat = PerCpu(irq_cpustat_t, "irq_stat")
        self.tasklet_vec = PerCpu(tasklet_head, "tasklet_vec")
        self.tasklet_hi_vec = PerCpu(tasklet_head, "tasklet_hi_vec")
        self.softirq_vec = [softirq_action() for _ in range(NR_SOFTIRQS)]
        # DEFINE_PER_CPU(struct task_struct *, ksoftirqd): filled by spawn_ksoftirqd().
        self.ksoftirqd: list[Any] = [None] * n
        self.softirq_threads_spawned = False
        self._softirq_booted = False
        self.softirq_init()
        self._softirq_booted = True

    def _softirq_used_at_setup(self) -> None:
        # A scenario's set-up uses the softirq API: run the early_initcall (module docstring).
        if self._softirq_booted and _core.CUR is None and not self.softirq_threads_spawned:
            self.spawn_ksoftirqd()

    # -- the pending word (include/linux/interrupt.h) --------------------------------------

    @kfunc(INTERRUPT_H, line=525)
    def local_softirq_pending(self) -> int:
        return getattr(self.irq_stat[smp_processor_id()], "__softirq_pending")  # type: ignore[no-any-return]

    @kfunc(INTERRUPT_H, line=526)
    def set_softirq_pending(self, x: int) -> None:
        setattr(self.irq_stat[smp_processor_id()], "__softirq_pending", x)

    @kfunc(INTERRUPT_H, line=527)
    def or_softirq_pending(self, x: int) -> None:
        st = self.irq_stat[smp_processor_id()]
        setattr(st, "__softirq_pending", getattr(st, "__softirq_pending") | x)

    # -- ksoftirqd ----------------------------------------------------------------------------

    @kfunc(SOFTIRQ_C, line=75)
    def wakeup_softirqd(self) -> None:
        # Called with interrupts off, so the CPU cannot change under us.
        tsk = self.ksoftirqd[smp_processor_id()]
        if tsk is not None:
            wake_up_process(tsk)

    @kfunc(SOFTIRQ_C, line=955)
    def ksoftirqd_should_run(self, cpu: int) -> int:
        return self.local_softirq_pending()

    @kfunc(SOFTIRQ_C, line=960)
    def run_ksoftirqd(self, cpu: int) -> None:
        self.ksoftirqd_run_begin()
        if self.local_softirq_pending():
            # In the thread the stack is shallow: run the softirqs right here.
            self.handle_softirqs(True)
            self.ksoftirqd_run_end()
            self.cond_resched()
            return
        self.ksoftirqd_run_end()

    @kfunc(SOFTIRQ_C, line=429)
    def ksoftirqd_run_begin(self) -> None:
        local_irq_disable()

    @kfunc(SOFTIRQ_C, line=434)
    def ksoftirqd_run_end(self) -> None:
        local_irq_enable()

    def softirq_threads(self) -> smp_hotplug_thread:
        # The smpboot descriptor (a static struct in the C, L1008).
        return smp_hotplug_thread(
            store=self.ksoftirqd,
            thread_should_run=self.ksoftirqd_should_run,
            thread_fn=self.run_ksoftirqd,
            thread_comm="ksoftirqd/%u",
        )

    @kfunc(SOFTIRQ_C, line=1057)
    def spawn_ksoftirqd(self) -> int:
        """The early_initcall: ksoftirqd/N on every CPU, SCHED_NORMAL (set-up time)."""
        if self.softirq_threads_spawned:
            return 0
        if kconfig("PREEMPT_RT"):
            raise RuntimeError("softirqs on PREEMPT_RT are not ported (kernel_port/kernel/softirq.py)")
        # cpuhp_setup_state_nocalls(CPUHP_SOFTIRQ_DEAD, takeover_tasklets): hotplug, not modelled.
        if self.smpboot_register_percpu_thread(self.softirq_threads()):
            raise RuntimeError("ksoftirqd registration failed")  # BUG_ON() at boot
        # force_irqthreads(): ktimerd is not ported (module docstring).
        self.softirq_threads_spawned = True
        # The softirq half of __irq_exit_rcu() runs before tick_irq_exit() (the tick's hook).
        self.m.irq_exit_hooks.insert(0, self._softirq_irq_exit_hook)
        return 0

    # -- bottom-half disabling (include/linux/bottom_half.h, kernel/softirq.c) ----------------

    @kfunc(BOTTOM_HALF_H, "v6.11+", name="__local_bh_disable_ip", line=11)
    def _local_bh_disable_ip(self, cnt: int) -> None:
        # The inline of a kernel without lockdep's irq-flag tracing: preempt_count_add(cnt).
        if cnt != SOFTIRQ_DISABLE_OFFSET:
            raise ValueError("only local_bh_disable()'s count is modelled here")
        _engine.local_bh_disable()

    @kfunc(BOTTOM_HALF_H, "v6.11+", line=18)
    def local_bh_disable(self) -> None:
        self._local_bh_disable_ip(SOFTIRQ_DISABLE_OFFSET)

    @kfunc(BOTTOM_HALF_H, "v6.11+", line=31)
    def local_bh_enable(self) -> None:
        self._local_bh_enable_ip(SOFTIRQ_DISABLE_OFFSET)

    @kfunc(SOFTIRQ_C, name="__local_bh_enable_ip", line=384)
    def _local_bh_enable_ip(self, cnt: int) -> None:
        WARN_ON_ONCE(in_hardirq(), "local_bh_enable() in hard interrupt context")
        # lockdep_assert_irqs_enabled()
        WARN_ON_ONCE(irqs_disabled(), "local_bh_enable() with interrupts disabled")
        # lockdep_softirqs_on(): lockdep's own bookkeeping.
        if cnt != SOFTIRQ_DISABLE_OFFSET:
            raise ValueError("only local_bh_enable()'s count is modelled here")
        # __preempt_count_sub(cnt - 1): bottom halves on again, but preemption stays off
        # until the pending softirqs have run.
        _engine.local_bh_enable()
        preempt_disable()

        if not in_interrupt() and self.local_softirq_pending():
            # Run them now, on the softirq stack (this may be deep in a task's stack).
            self.do_softirq()

        preempt_enable()  # preempt_count_dec()
        # preempt_check_resched(): no preemption point here in the engine (module docstring).

    @kfunc(SOFTIRQ_C, line=418)
    def softirq_handle_begin(self) -> None:
        # __local_bh_disable_ip(SOFTIRQ_OFFSET): serving softirqs from here on.
        softirq_enter()

    @kfunc(SOFTIRQ_C, line=423)
    def softirq_handle_end(self) -> None:
        softirq_exit()  # __local_bh_enable(SOFTIRQ_OFFSET)
        WARN_ON_ONCE(in_interrupt(), "left softirq processing still in interrupt context")

    @kfunc(SOFTIRQ_C, line=439)
    def should_wake_ksoftirqd(self) -> bool:
        return True

    def force_irqthreads(self) -> bool:
        # include/linux/interrupt.h: the "threadirqs" boot option of CONFIG_IRQ_FORCED_THREADING.
        return bool(kconfig("IRQ_FORCED_THREADING") and self.m.config.get("threadirqs"))

    # -- running softirqs -------------------------------------------------------------------

    @kfunc(SOFTIRQ_C, line=444)
    def invoke_softirq(self) -> None:
        if not self.force_irqthreads() or self.ksoftirqd[smp_processor_id()] is None:
            # x86-64 has HAVE_IRQ_EXIT_ON_IRQ_STACK: the interrupt stack is in use and nearly
            # empty, so the softirqs run right here.
            self._do_softirq()
        else:
            self.wakeup_softirqd()

    @kfunc(SOFTIRQ_C, line=467)
    def do_softirq(self) -> None:
        if in_interrupt():
            return
        flags = local_irq_save()
        pending = self.local_softirq_pending()
        if pending:
            self.do_softirq_own_stack()
        local_irq_restore(flags)

    @kfunc(IRQ_STACK_H)
    def do_softirq_own_stack(self) -> None:
        # x86-64: switch to the per-CPU interrupt stack and call __do_softirq() there.
        self._do_softirq()

    def trace_softirq_entry(self, vec_nr: int) -> None:
        _tracepoint("softirq_entry", vec_nr)

    def trace_softirq_exit(self, vec_nr: int) -> None:
        _tracepoint("softirq_exit", vec_nr)

    @kfunc(SOFTIRQ_C, line=536)
    def handle_softirqs(self, ksirqd: bool) -> None:
        end = jiffies() + MAX_SOFTIRQ_TIME
        max_restart = MAX_SOFTIRQ_RESTART

        # current->flags &= ~PF_MEMALLOC: no memory-reclaim model (module docstring).
        pending = self.local_softirq_pending()

        self.softirq_handle_begin()
        # lockdep_softirq_start(), account_softirq_enter(): no behaviour here.

        while True:  # restart:
            # Clear the word before interrupts come back on: a raise from now on is a new bit.
            self.set_softirq_pending(0)

            local_irq_enable()

            h = 0
            while softirq_bit := ffs(pending):
                h += softirq_bit - 1
                vec_nr = h
                prev_count = preempt_count()

                # kstat_incr_softirqs_this_cpu(): statistics.
                self.trace_softirq_entry(vec_nr)
                action = self.softirq_vec[h].action
                if action is None:
                    raise RuntimeError(f"{softirq_to_name[vec_nr]}_SOFTIRQ raised but never opened (open_softirq)")
                action()
                self.trace_softirq_exit(vec_nr)
                if prev_count != preempt_count():
                    printk(
                        f"huh, entered softirq {vec_nr} {softirq_to_name[vec_nr]} with preempt_count "
                        f"{prev_count:08x}, exited with {preempt_count():08x}?",
                        "err",
                    )
                    preempt_count_set(prev_count)
                h += 1
                pending >>= softirq_bit

            # rcu_softirq_qs() when run by ksoftirqd: no RCU model.

            local_irq_disable()

            pending = self.local_softirq_pending()
            if pending:
                # Only between rounds: a round that started runs to its end.
                if time_before(jiffies(), end) and not need_resched():
                    max_restart -= 1
                    if max_restart:
                        continue  # goto restart
                self.wakeup_softirqd()
            break

        # account_softirq_exit(), lockdep_softirq_end(): no behaviour here.
        self.softirq_handle_end()
        # current_restore_flags(old_flags, PF_MEMALLOC): see above.

    @kfunc(SOFTIRQ_C, name="__do_softirq", line=611)
    def _do_softirq(self) -> None:
        self.handle_softirqs(False)

    # -- interrupt exit ---------------------------------------------------------------------

    def _softirq_irq_exit_hook(self, cpu: Any) -> None:
        # Registered by spawn_ksoftirqd() at the front of the engine's exit hooks: the engine
        # has already left hardirq context with interrupts still off, as __irq_exit_rcu() has
        # by this point; the tick's tick_irq_exit() hook comes after this one.
        self._irq_exit_rcu()

    @kfunc(SOFTIRQ_C, name="__irq_exit_rcu", line=670)
    def _irq_exit_rcu(self) -> None:
        # local_irq_disable(), account_hardirq_exit(), preempt_count_sub(HARDIRQ_OFFSET): the
        # engine's interrupt exit.  An interrupt that came in over softirq processing or a
        # BH-disabled section finds in_interrupt() true and only leaves its bits pending.
        if not in_interrupt() and self.local_softirq_pending():
            self.invoke_softirq()
        # wake_timersd() (forced-threading timer softirqs): not ported.
        # tick_irq_exit(): kernel_port/kernel/time/tick_sched.py's exit hook.

    # -- raising ----------------------------------------------------------------------------

    @kfunc(SOFTIRQ_C, line=717)
    def raise_softirq_irqoff(self, nr: int) -> None:
        self._raise_softirq_irqoff(nr)

        # Inside an interrupt or a softirq (or with bottom halves off) the bit is found on the
        # way out; from plain task context only ksoftirqd would look at it soon.
        if not in_interrupt() and self.should_wake_ksoftirqd():
            self.wakeup_softirqd()

    @kfunc(SOFTIRQ_C, line=734)
    def raise_softirq(self, nr: int) -> None:
        flags = local_irq_save()
        self.raise_softirq_irqoff(nr)
        local_irq_restore(flags)

    @kfunc(SOFTIRQ_C, name="__raise_softirq_irqoff", line=743)
    def _raise_softirq_irqoff(self, nr: int) -> None:
        # lockdep_assert_irqs_disabled()
        WARN_ON_ONCE(not irqs_disabled(), "softirq raised with interrupts enabled")
        if not self.softirq_threads_spawned:
            raise RuntimeError(
                f"{softirq_to_name[nr]}_SOFTIRQ raised in a machine whose scenario did not set up "
                "softirqs: call k.open_softirq()/k.tasklet_setup() at set-up, or k.spawn_ksoftirqd()"
            )
        _tracepoint("softirq_raise", nr)
        self.or_softirq_pending(1 << nr)

    @kfunc(SOFTIRQ_C, line=750)
    def open_softirq(self, nr: int, action: Callable[[], Any]) -> None:
        self.softirq_vec[nr].action = action
        self._softirq_used_at_setup()

    # -- tasklets ---------------------------------------------------------------------------

    @kfunc(INTERRUPT_H, line=737, show=True)
    def tasklet_trylock(self, t: tasklet_struct) -> bool:
        return not test_and_set_bit(TASKLET_STATE_RUN, t.state)

    @kfunc(SOFTIRQ_C, line=927)
    def tasklet_unlock(self, t: tasklet_struct) -> None:
        clear_and_wake_up_bit(TASKLET_STATE_RUN, t.state)

    @kfunc(SOFTIRQ_C, line=933)
    def tasklet_unlock_wait(self, t: tasklet_struct) -> None:
        # wait_on_bit(RUN, TASK_UNINTERRUPTIBLE): a sleeping wait, modelled as waiting on the
        # state word until RUN is clear.
        might_sleep("tasklet_unlock_wait()")
        await_field(
            t.state,
            "counter",
            lambda v: not v & (1 << TASKLET_STATE_RUN),
            what="wait_on_bit",
            hint=f"{t.kp_name} to finish running",
        )

    @kfunc(INTERRUPT_H, line=755)
    def tasklet_schedule(self, t: tasklet_struct) -> None:
        # Only the caller that sets SCHED queues the tasklet.
        if not test_and_set_bit(TASKLET_STATE_SCHED, t.state):
            self._tasklet_schedule(t)

    @kfunc(INTERRUPT_H, line=763)
    def tasklet_hi_schedule(self, t: tasklet_struct) -> None:
        if not test_and_set_bit(TASKLET_STATE_SCHED, t.state):
            self._tasklet_hi_schedule(t)

    @kfunc(INTERRUPT_H, line=769)
    def tasklet_disable_nosync(self, t: tasklet_struct) -> None:
        atomic_inc(t.count)
        smp_mb__after_atomic()

    @kfunc(INTERRUPT_H, line=786)
    def tasklet_disable(self, t: tasklet_struct) -> None:
        self.tasklet_disable_nosync(t)
        self.tasklet_unlock_wait(t)
        smp_mb()

    @kfunc(INTERRUPT_H, line=793)
    def tasklet_enable(self, t: tasklet_struct) -> None:
        smp_mb__before_atomic()
        atomic_dec(t.count)

    @kfunc(SOFTIRQ_C, name="__tasklet_schedule_common", line=766)
    def _tasklet_schedule_common(self, t: tasklet_struct, headp: PerCpu, softirq_nr: int) -> None:
        flags = local_irq_save()
        head = headp[smp_processor_id()]
        t.next = None
        obj, name = head.tail
        setattr(obj, name, t)  # *head->tail = t
        head.tail = (t, "next")
        self.raise_softirq_irqoff(softirq_nr)
        local_irq_restore(flags)

    @kfunc(SOFTIRQ_C, name="__tasklet_schedule", line=782)
    def _tasklet_schedule(self, t: tasklet_struct) -> None:
        self._tasklet_schedule_common(t, self.tasklet_vec, TASKLET_SOFTIRQ)

    @kfunc(SOFTIRQ_C, name="__tasklet_hi_schedule", line=789)
    def _tasklet_hi_schedule(self, t: tasklet_struct) -> None:
        self._tasklet_schedule_common(t, self.tasklet_hi_vec, HI_SOFTIRQ)

    @kfunc(SOFTIRQ_C, line=796)
    def tasklet_clear_sched(self, t: tasklet_struct) -> bool:
        if test_and_clear_wake_up_bit(TASKLET_STATE_SCHED, t.state):
            return True
        what = "callback" if t.use_callback else "func"
        WARN_ON_ONCE(True, f"tasklet SCHED state not set: {what} of {t.kp_name}")
        return False

    @kfunc(SOFTIRQ_C, line=808)
    def tasklet_action_common(self, tl_head: tasklet_head, softirq_nr: int) -> None:
        # Take this CPU's whole list, interrupts off only for that.
        local_irq_disable()
        lst = tl_head.head
        tl_head.head = None
        tl_head.tail = (tl_head, "head")
        local_irq_enable()

        while lst is not None:
            t = lst
            lst = lst.next

            if self.tasklet_trylock(t):
                if not atomic_read(t.count):
                    if self.tasklet_clear_sched(t):
                        if t.use_callback:
                            _tracepoint("tasklet_entry", t)
                            t.callback(t)
                            _tracepoint("tasklet_exit", t)
                        else:
                            _tracepoint("tasklet_entry", t)
                            t.func(t.data)
                            _tracepoint("tasklet_exit", t)
                    self.tasklet_unlock(t)
                    continue
                self.tasklet_unlock(t)

            # Running on another CPU, or disabled: back on the list, and raise again.
            local_irq_disable()
            t.next = None
            obj, name = tl_head.tail
            setattr(obj, name, t)
            tl_head.tail = (t, "next")
            self._raise_softirq_irqoff(softirq_nr)
            local_irq_enable()

    @kfunc(SOFTIRQ_C, line=852)
    def tasklet_action(self) -> None:
        # workqueue_softirq_action(false): BH workqueues are not modelled.
        self.tasklet_action_common(self.tasklet_vec[smp_processor_id()], TASKLET_SOFTIRQ)

    @kfunc(SOFTIRQ_C, line=858)
    def tasklet_hi_action(self) -> None:
        # workqueue_softirq_action(true): BH workqueues are not modelled.
        self.tasklet_action_common(self.tasklet_hi_vec[smp_processor_id()], HI_SOFTIRQ)

    @kfunc(SOFTIRQ_C, line=864)
    def tasklet_setup(self, t: tasklet_struct, callback: Callable[[tasklet_struct], Any]) -> None:
        t.next = None
        atomic_set(t.state, 0)
        atomic_set(t.count, 0)
        t.callback = callback
        t.use_callback = True
        t.data = 0
        self._softirq_used_at_setup()

    @kfunc(SOFTIRQ_C, line=876)
    def tasklet_init(self, t: tasklet_struct, func: Callable[[Any], Any], data: Any) -> None:
        t.next = None
        atomic_set(t.state, 0)
        atomic_set(t.count, 0)
        t.func = func
        t.use_callback = False
        t.data = data
        self._softirq_used_at_setup()

    @kfunc(SOFTIRQ_C, line=940)
    def softirq_init(self) -> None:
        for cpu in range(self.m.ncpus):
            vec = self.tasklet_vec[cpu]
            vec.tail = (vec, "head")
            hi = self.tasklet_hi_vec[cpu]
            hi.tail = (hi, "head")

        self.open_softirq(TASKLET_SOFTIRQ, self.tasklet_action)
        self.open_softirq(HI_SOFTIRQ, self.tasklet_hi_action)


PORT = softirq_c
