# SPDX-License-Identifier: GPL-2.0-only
"""Cross-CPU function calls: kernel/smp.c of Linux v6.17.

Read at Kingxukai/linux 9b44fff655e2c6f4cc53cb499dd2c038e99cb013 (v6.17-rc);
the flag values come from include/linux/smp_types.h at 0291023e.  Line
numbers in the kfunc tags are those of that snapshot.

How the pieces fit
------------------
A call is described by a CSD (``call_single_data_t``): a queue node, a flags
word and the function with its argument.  The flags word holds the lock bit
(``CSD_FLAG_LOCK``: the CSD is in flight and may not be reused) and, in its
high nibble, the type: ASYNC (nobody waits), SYNC (a caller spins until the
callback has returned), IRQ_WORK (an irq_work queued to another CPU) and
TTWU (a remote wake-up).  The same word of an irq_work holds its PENDING and
BUSY bits, which is why the type is read before anything else.

A sender puts the node on the target's ``call_single_queue`` (an llist) and
sends CALL_FUNCTION_SINGLE_VECTOR only when its add found the queue empty;
every later sender relies on that one interrupt.  The target takes the whole
queue with one xchg, reverses it to arrival order, and runs it in three
passes: SYNC entries first (callback, then the store-release unlock the
waiter's acquire load pairs with), then ASYNC entries (unlock first, so the
CSD can be reused while its callback runs) and irq_works, then the remote
wake-ups.  When a CPU goes offline, ``smpcfd_dying_cpu`` runs the same drain
on the outgoing CPU with every other CPU parked in stop_machine, so nothing
queued before the online bit was cleared can be left behind.

Python spelling
---------------
* A CSD is ``call_single_data_t`` with a ``node`` (``call_single_node``: the
  llist node, ``u_flags``, ``src``/``dst``) as in C; ``llist_entry(node)``
  gives the container back (the node's ``owner``).  An irq_work queued here
  must have a ``node`` with ``u_flags`` or an atomic ``a_flags`` and the llist
  node's ``owner`` set to the work: the drain reads the type through it and
  hands IRQ_WORK entries to ``self.irq_work_single()`` (kernel/irq_work.c).
* The caller's on-stack CSD of ``smp_call_function_single(wait=1)`` is a
  per-CPU object created at set-up (``csd_stack[cpu]``, one per context
  level), so that every execution names the same object; it is
  re-initialised on each call as the C initialiser does.
* ``cpu_online_mask`` as a mask argument is the string ``"cpu_online_mask"``;
  other masks are iterables of CPU numbers.  Testing a CPU's online bit is a
  step (``cpu_online()``); the per-CPU ``cfd`` masks are private to their CPU
  and kept as plain Python sets.

What is abstracted, and why
---------------------------
* **Idle polling shortcut.**  ``call_function_single_prep_ipi()`` and
  ``set_nr_if_polling()`` (kernel/sched/core.c; they live here because no
  sched/core.c port exists yet and only this file uses them) are ported: the
  sender reads the target idle task's thread flags and, if the idle task is
  polling, sets NEED_RESCHED instead of sending the IPI.  The machine's idle
  loop is ``safe_halt()`` (x86 ``hlt``), and the kernel clears the polling
  bit before halting, so in every modelled execution the bit is clear and an
  IPI is sent.  The polling idle loop itself (``do_idle`` with
  ``cpu_idle_poll`` / mwait, which would flush on wake-up) is not modelled.
* **Tracepoints, lockdep and statistics** are left out; lockdep's
  ``lockdep_assert_irqs_disabled/enabled`` become WARN_ON_ONCE checks (what a
  lockdep kernel reports).  ``oops_in_progress`` and
  ``early_boot_irqs_disabled`` are false.
* **Softirqs** raised by callbacks: ``flush_smp_call_function_queue`` samples
  ``local_softirq_pending()``, which is always 0 here (no port raises a
  softirq from a CSD callback).
* **TTWU entries** (``sched_ttwu_pending``) are never queued by a modelled
  path; pass 3 raises if it ever meets one.
* **CONFIG_CSD_LOCK_WAIT_DEBUG** (config patch ``csdlock-debug``) is ported:
  ``cur_csd`` recording, the timeout report, the one-backtrace-per-flush
  handshake and the re-send of the IPI.  Time is untimed: each CPU has a
  virtual clock that ``ktime_get_mono_fast_ns()`` reads, and a budgeted event
  source per CPU (``csd_lock_timeout@CPUn``, budget ``CSD_TIMEOUT_BUDGET``)
  advances it by one ``csd_lock_timeout`` (plus 1 ns, so that the deadline is
  strictly passed) while that CPU spins in ``__csd_lock_wait``.  Each firing
  is a choice of the explorer, so the timeout can expire at any point of the
  wait -- also while the target is still working normally, as a slow target
  can make it expire in the kernel -- but at most that many times per
  execution.  Reports are trace notes (``pr_alert``); ``dump_stack`` and
  ``dump_cpu_task`` print a note; ``panic_on_ipistall`` is 0 (off).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..engine import (
    READ_ONCE,
    WARN_ON,
    WARN_ON_ONCE,
    PerCpu,
    Struct,
    atomic_cmpxchg_acquire,
    atomic_dec,
    atomic_inc,
    atomic_inc_return,
    atomic_read,
    atomic_set_release,
    atomic_t,
    cpu_online,
    cpu_relax,
    field,
    in_task,
    irqs_disabled,
    kconfig,
    key_of,
    kfunc,
    local_irq_restore,
    local_irq_save,
    nr_cpu_ids,
    preempt_disable,
    preempt_enable,
    smp_cond_load_acquire,
    smp_load_acquire,
    smp_mb,
    smp_processor_id,
    smp_rmb,
    smp_store_release,
    smp_wmb,
    try_cmpxchg,
)
from ..lib.llist import llist_entry, llist_head, llist_node

SMP_C = "kernel/smp.c"
SCHED_CORE_C = "kernel/sched/core.c"

# include/linux/smp_types.h
CSD_FLAG_LOCK = 0x01
IRQ_WORK_PENDING = 0x01
IRQ_WORK_BUSY = 0x02
IRQ_WORK_LAZY = 0x04
IRQ_WORK_HARD_IRQ = 0x08
IRQ_WORK_CLAIMED = IRQ_WORK_PENDING | IRQ_WORK_BUSY
CSD_TYPE_ASYNC = 0x00
CSD_TYPE_SYNC = 0x10
CSD_TYPE_IRQ_WORK = 0x20
CSD_TYPE_TTWU = 0x30
CSD_FLAG_TYPE_MASK = 0xF0

# kernel/smp.c
SCF_WAIT = 1 << 0
SCF_RUN_LOCAL = 1 << 1

ENXIO = 6
EBUSY = 16

# Thread flags of the idle task (x86 thread_info bit values).
TIF_NEED_RESCHED = 3
TIF_POLLING_NRFLAG = 21
_TIF_NEED_RESCHED = 1 << TIF_NEED_RESCHED
_TIF_POLLING_NRFLAG = 1 << TIF_POLLING_NRFLAG

NSEC_PER_MSEC = 1_000_000
# How many times the untimed model lets csd_lock_timeout expire per CPU and
# execution (see the module docstring).
CSD_TIMEOUT_BUDGET = 1

CPU_ONLINE_MASK = "cpu_online_mask"


class call_single_node(Struct):
    """struct __call_single_node: the llist node, the flags word, src/dst."""

    llist = field(None, shared=False)
    u_flags = field(0)
    src = field(0)
    dst = field(0)


class call_single_data_t(Struct):
    """struct __call_single_data: a node plus the function and its argument."""

    node = field(None, shared=False)
    func = field(None)
    info = field(None)
    # Model-only diagnostic (not kernel state): the CPU the last sender
    # queued this CSD to, quoted when a waiter spins forever.
    kp_target = field(-1, shared=False)


class smp_call_func_t:
    """A callback as a function pointer: called like the function, printed as
    its name in traces (``csd->func = trigger_softirq``)."""

    def __init__(self, fn: Callable[[Any], Any], name: str | None = None) -> None:
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "func")

    def __call__(self, info: Any) -> Any:
        return self.fn(info)

    def __str__(self) -> str:
        return self.name

    __repr__ = __str__


def INIT_CSD(name: str, func: Callable[[Any], Any] | None = None, info: Any = None) -> call_single_data_t:
    """Create a CSD (set-up only): INIT_CSD(&csd, func, info)."""
    node = call_single_node(name=f"{name}.node")
    csd = call_single_data_t(name=name, node=node, func=func, info=info)
    node.llist = llist_node(name=f"{name}.node.llist", owner=csd)
    return csd


class call_function_data:
    """struct call_function_data: per-sender CSDs (one per target) and masks.

    The masks are only ever touched by their own CPU: plain Python sets.
    """

    def __init__(self, name: str, ncpus: int) -> None:
        self.csd = [INIT_CSD(f"{name}.csd[{t}]") for t in range(ncpus)]
        self.cpumask: set[int] = set()
        self.cpumask_ipi: set[int] = set()


class thread_info(Struct):
    flags = field(0)


class smp_statics(Struct):
    """File-scope statics of kernel/smp.c that CPUs share."""

    warned = field(False)  # __flush_smp_call_function_queue's once-per-boot flag


class cur_csd_t(Struct):
    """The per-CPU cur_csd / cur_csd_func / cur_csd_info of the debug build."""

    cur_csd = field(None)
    cur_csd_func = field(None)
    cur_csd_info = field(None)


class virtual_clock(Struct):
    """Untimed stand-in for ktime_get_mono_fast_ns() on one CPU (see above)."""

    ns = field(0)
    # Model scaffolding, not kernel state: whether this CPU is inside __csd_lock_wait(), when
    # its timeout source may fire.  Set and cleared as steps, so that the explorer sees every
    # change of what enables that source (its guard reads only locations it declares).
    waiting = field(False)


class smp_c:
    """Port of kernel/smp.c (v6.17) on the modelled paths."""

    OWN_INITS: tuple[str, ...] = ("init_smp",)

    m: Any

    # -- state ---------------------------------------------------------------
    def init_smp(self) -> None:
        """call_function_init() and the static per-CPU data of smp.c."""
        n = self.m.ncpus
        self.call_single_queue = PerCpu(llist_head, "call_single_queue")
        self.csd_data = PerCpu(INIT_CSD, "csd_data")
        self.cfd_data = [call_function_data(f"cfd_data[{c}]", n) for c in range(n)]
        self.csd_stack = [[INIT_CSD(f"csd_stack[{c}]"), INIT_CSD(f"csd_stack_irq[{c}]")] for c in range(n)]
        self.trigger_backtrace = [atomic_t(name=f"trigger_backtrace[{c}]", counter=1) for c in range(n)]
        self.smp_statics = smp_statics(name="smp.c")
        # The idle task's thread_info per CPU (cpu_rq(cpu)->idle).
        self.idle_thread_info = PerCpu(thread_info, "idle_ti")
        # CONFIG_CSD_LOCK_WAIT_DEBUG state.
        self.csdlock_debug_enabled = False
        if kconfig("CSD_LOCK_WAIT_DEBUG"):
            self.csdlock_debug_enabled = kconfig("CSD_LOCK_WAIT_DEBUG_DEFAULT")
            if "csdlock_debug" in self.m.config:
                self.csdlock_debug(str(self.m.config["csdlock_debug"]))
        if self.csdlock_debug_enabled:
            self.cur_csd = PerCpu(cur_csd_t, "cur_csd")
            self.csd_bug_count = atomic_t(name="csd_bug_count")
            self.n_csd_lock_stuck = atomic_t(name="n_csd_lock_stuck")
            self.csd_lock_timeout = 5000  # ms (module parameter)
            self.panic_on_ipistall = 0  # ms, 0: never (module parameter)
            self.csd_clock = PerCpu(virtual_clock, "ktime")
            for c in range(n):
                self.m.add_source(
                    f"csd_lock_timeout@CPU{c}",
                    c,
                    None,
                    budget=CSD_TIMEOUT_BUDGET,
                    guard=(lambda c=c: bool(self.csd_clock[c].raw("waiting"))),
                    keys=[key_of(self.csd_clock[c], "ns"), key_of(self.csd_clock[c], "waiting")],
                    action=(lambda c=c: self._csd_timeout_elapses(c)),
                )

    def _csd_timeout_elapses(self, cpu: int) -> None:
        clk = self.csd_clock[cpu]
        clk.ns = clk.raw("ns") + self.csd_lock_timeout * NSEC_PER_MSEC + 1

    def _ktime_get_mono_fast_ns(self) -> int:
        return self.csd_clock[smp_processor_id()].ns  # type: ignore[no-any-return]

    def _pr(self, text: str) -> None:
        """printk: a note in the trace of the current CPU."""
        m = self.m
        if m.tracing:
            m.emit(m.cpus[smp_processor_id()], "note", text)

    # -- helpers -------------------------------------------------------------
    @staticmethod
    def _flags_word(node: Any) -> tuple[Any, str]:
        if "u_flags" in type(node).__dict__ or hasattr(type(node), "u_flags"):
            return node, "u_flags"
        return node.a_flags, "counter"

    def CSD_TYPE(self, csd: Any) -> int:
        """The type nibble of a queued entry's flags word (a plain load)."""
        obj, name = self._flags_word(csd.node)
        return getattr(obj, name) & CSD_FLAG_TYPE_MASK  # type: ignore[no-any-return]

    def _lockdep_assert_irqs_disabled(self) -> None:
        WARN_ON_ONCE(not irqs_disabled(), "lockdep: interrupts enabled where they must be off")

    def _lockdep_assert_irqs_enabled(self) -> None:
        WARN_ON_ONCE(irqs_disabled(), "lockdep: interrupts disabled where they must be on")

    def _online_cpus_in(self, mask: Any) -> Iterable[int]:
        if mask == CPU_ONLINE_MASK:
            return range(self.m.ncpus)
        return sorted(mask)

    # -- hotplug callbacks -----------------------------------------------------
    @kfunc(SMP_C, line=86)
    def smpcfd_dying_cpu(self, cpu: int) -> int:
        # Runs on the outgoing CPU in stop_machine's RUN state with every CPU's
        # interrupts off and its online bit already clear: run whatever was
        # queued before that, without waiting for (possibly never taken) IPIs.
        self._flush_smp_call_function_queue(False)
        irq_work_run = getattr(self, "irq_work_run", None)
        if irq_work_run is not None:
            irq_work_run()
        return 0

    # -- IPI sending -----------------------------------------------------------
    @kfunc(SCHED_CORE_C)
    def set_nr_if_polling(self, p: thread_info) -> bool:
        # True: the idle task polls and will notice NEED_RESCHED by itself.
        val = READ_ONCE(p.flags)
        while True:
            if not val & _TIF_POLLING_NRFLAG:
                return False
            if val & _TIF_NEED_RESCHED:
                return True
            ok, val = try_cmpxchg(p, "flags", val, val | _TIF_NEED_RESCHED)
            if ok:
                return True

    @kfunc(SCHED_CORE_C)
    def call_function_single_prep_ipi(self, cpu: int) -> bool:
        return not self.set_nr_if_polling(self.idle_thread_info[cpu])

    @kfunc(SMP_C, line=115)
    def send_call_function_single_ipi(self, cpu: int) -> None:
        if self.call_function_single_prep_ipi(cpu):
            self.arch_send_call_function_single_ipi(cpu)

    @kfunc(SMP_C, line=125)
    def send_call_function_ipi_mask(self, mask: set[int]) -> None:
        self.arch_send_call_function_ipi_mask(mask)

    @kfunc(SMP_C, line=133)
    def csd_do_func(self, func: Callable[[Any], Any], info: Any, csd: Any) -> None:
        func(info)

    # -- CONFIG_CSD_LOCK_WAIT_DEBUG ------------------------------------------------
    @kfunc(SMP_C, line=153)
    def csdlock_debug(self, s: str) -> int:
        try:
            val = int(s, 0)
        except ValueError:
            return 1
        self.csdlock_debug_enabled = bool(val)
        return 1

    @kfunc(SMP_C, name="__csd_lock_record", line=182)
    def _csd_lock_record(self, csd: call_single_data_t | None) -> None:
        cur = self.cur_csd[smp_processor_id()]
        if csd is None:
            smp_mb()
            cur.cur_csd = None
            return
        cur.cur_csd_func = csd.func
        cur.cur_csd_info = csd.info
        smp_wmb()
        cur.cur_csd = csd
        smp_mb()

    @kfunc(SMP_C, line=197)
    def csd_lock_record(self, csd: call_single_data_t | None) -> None:
        if self.csdlock_debug_enabled:
            self._csd_lock_record(csd)

    @kfunc(SMP_C, line=203)
    def csd_lock_wait_getcpu(self, csd: call_single_data_t) -> int:
        csd_type = self.CSD_TYPE(csd)
        if csd_type in (CSD_TYPE_ASYNC, CSD_TYPE_SYNC):
            return csd.node.dst  # type: ignore[no-any-return]
        return -1

    @kfunc(SMP_C, line=221)
    def csd_lock_is_stuck(self) -> bool:
        return bool(atomic_read(self.n_csd_lock_stuck))

    @kfunc(SMP_C, line=231)
    def csd_lock_wait_toolong(self, csd: call_single_data_t, ts0: int, st: dict[str, int]) -> bool:
        """``st`` carries the caller's ts1, bug_id and nmessages (C passes pointers)."""
        me = smp_processor_id()
        flags = READ_ONCE(csd.node.u_flags)
        timeout_ns = self.csd_lock_timeout * NSEC_PER_MSEC
        if not flags & CSD_FLAG_LOCK:
            if not st["bug_id"]:
                return True
            cpu = self.csd_lock_wait_getcpu(csd)
            self._pr(f"csd: CSD lock (#{st['bug_id']}) got unstuck on CPU#{me:02d}, CPU#{cpu:02d} released the lock.")
            atomic_dec(self.n_csd_lock_stuck)
            return True
        ts2 = self._ktime_get_mono_fast_ns()
        # How long since the last check.
        ts_delta = ts2 - st["ts1"]
        nmsg = st["nmessages"]
        backoff = 1 if not nmsg else (self._num_online_cpus_log2() // 2 + 1)
        if ts_delta <= timeout_ns * (nmsg + 1) * backoff or timeout_ns == 0:
            return False
        if ts0 > ts2:
            self._pr(f"sched_clock on CPU {me} went backward by {ts0 - ts2} ns")
            st["ts1"] = ts2
            return False
        firsttime = not st["bug_id"]
        if firsttime:
            st["bug_id"] = atomic_inc_return(self.csd_bug_count)
        cpu = self.csd_lock_wait_getcpu(csd)
        if WARN_ON_ONCE(cpu < 0 or cpu >= nr_cpu_ids(), f"csd_lock_wait_toolong: cpu = {cpu}"):
            cpux = 0
        else:
            cpux = cpu
        cpu_cur_csd = smp_load_acquire(self.cur_csd[cpux].cur_csd)
        ts_delta = ts2 - ts0
        self._pr(
            f"csd: {'Detected' if firsttime else 'Continued'} non-responsive CSD lock (#{st['bug_id']}) "
            f"on CPU#{me}, waiting {ts_delta} ns for CPU#{cpu:02d}"
        )
        st["nmessages"] = nmsg + 1
        if firsttime:
            atomic_inc(self.n_csd_lock_stuck)
        if self.panic_on_ipistall > 0 and ts_delta > self.panic_on_ipistall * NSEC_PER_MSEC:
            from ..engine import BUG

            BUG()
        if cpu_cur_csd is not None and csd is not cpu_cur_csd:
            self._pr(f"\tcsd: CSD lock (#{st['bug_id']}) handling prior {cpu_cur_csd!r} request.")
        else:
            state = "unresponsive" if cpu_cur_csd is None else "handling this request"
            self._pr(f"\tcsd: CSD lock (#{st['bug_id']}) {state}.")
        if cpu >= 0:
            if atomic_cmpxchg_acquire(self.trigger_backtrace[cpu], 1, 0):
                self._pr(f"dump_cpu_task({cpu})")
            if cpu_cur_csd is None:
                self._pr(f"csd: Re-sending CSD lock (#{st['bug_id']}) IPI from CPU#{me:02d} to CPU#{cpu:02d}")
                self.arch_send_call_function_single_ipi(cpu)
        if firsttime:
            self._pr("dump_stack()")
        st["ts1"] = ts2
        return False

    def _num_online_cpus_log2(self) -> int:
        n = sum(1 for c in range(self.m.ncpus) if cpu_online(c))
        return max(n, 1).bit_length() - 1

    @kfunc(SMP_C, name="__csd_lock_wait", line=320)
    def _csd_lock_wait(self, csd: call_single_data_t) -> None:
        me = smp_processor_id()
        st = {"ts1": 0, "bug_id": 0, "nmessages": 0}
        ts0 = self._ktime_get_mono_fast_ns()
        # From here on the CPU is waiting: its timeout source may fire.
        self.csd_clock[me].waiting = True
        st["ts1"] = ts0
        try:
            while True:
                if self.csd_lock_wait_toolong(csd, ts0, st):
                    break
                cpu_relax(self._wait_hint(csd))
            # smp_acquire__after_ctrl_dep(): the loop's exit on the lock bit becomes an
            # acquire (it is smp_rmb(), a compiler barrier on x86), pairing with the
            # release in csd_unlock() as the non-debug smp_cond_load_acquire() does.
            smp_rmb()
        finally:
            self.csd_clock[me].waiting = False

    @staticmethod
    def _wait_hint(csd: call_single_data_t) -> str:
        t = csd.kp_target
        who = f"CPU{t}" if t >= 0 else "the target CPU"
        return f"waiting for {who} to run the callback and unlock {csd!r}"

    @kfunc(SMP_C, line=349)
    def csd_lock_wait(self, csd: call_single_data_t) -> None:
        if self.csdlock_debug_enabled:
            self._csd_lock_wait(csd)
            return
        smp_cond_load_acquire(csd.node, "u_flags", lambda v: not v & CSD_FLAG_LOCK, self._wait_hint(csd))

    @kfunc(SMP_C, line=355)
    def csd_lock(self, csd: call_single_data_t) -> None:
        self.csd_lock_wait(csd)
        csd.node.u_flags = csd.node.u_flags | CSD_FLAG_LOCK
        # Orders the flags store before the stores to func/info.
        smp_wmb()

    @kfunc(SMP_C, line=368)
    def csd_unlock(self, csd: call_single_data_t) -> None:
        WARN_ON(not csd.node.u_flags & CSD_FLAG_LOCK, "csd_unlock of an unlocked csd")
        # Release: everything the callback did is visible to whoever sees
        # the lock bit clear (pairs with csd_lock_wait's acquire).
        smp_store_release(csd.node, "u_flags", 0)

    # -- queueing ----------------------------------------------------------------
    @kfunc(SMP_C, name="__smp_call_single_queue", line=380)
    def _smp_call_single_queue(self, cpu: int, node: llist_node) -> None:
        # Only the sender that finds the queue empty raises the interrupt;
        # later senders ride on that one.
        if self.llist_add(node, self.call_single_queue[cpu]):
            self.send_call_function_single_ipi(cpu)

    @kfunc(SMP_C, line=421, show=True)
    def generic_exec_single(self, cpu: int, csd: call_single_data_t) -> int:
        # The caller runs with preemption off, so this CPU's stopper cannot
        # run: the online check below and the queueing cannot straddle the
        # target's last flush in smpcfd_dying_cpu().
        if cpu == smp_processor_id():
            func = csd.func
            info = csd.info
            # Same CPU: the waiter is us, so unlocking early is fine even for
            # a SYNC CSD on the caller's stack.
            self.csd_lock_record(csd)
            self.csd_unlock(csd)
            flags = local_irq_save()
            self.csd_do_func(func, info, None)
            self.csd_lock_record(None)
            local_irq_restore(flags)
            return 0
        # The C compares cpu as unsigned: a negative cpu is out of range too.
        if cpu < 0 or cpu >= nr_cpu_ids() or not cpu_online(cpu):
            self.csd_unlock(csd)
            return -ENXIO
        csd.kp_target = cpu
        self._smp_call_single_queue(cpu, csd.node.llist)
        return 0

    # -- the drain ---------------------------------------------------------------
    @kfunc(SMP_C, line=461)
    def generic_smp_call_function_single_interrupt(self) -> None:
        self._flush_smp_call_function_queue(True)

    def generic_smp_call_function_interrupt(self) -> None:
        # include/linux/smp.h aliases the many-call handler to the single one.
        self.generic_smp_call_function_single_interrupt()

    @kfunc(SMP_C, name="__flush_smp_call_function_queue", line=480)
    def _flush_smp_call_function_queue(self, warn_cpu_offline: bool) -> None:
        me = smp_processor_id()
        self._lockdep_assert_irqs_disabled()
        # From here on a waiter may ask for this CPU's backtrace again.
        atomic_set_release(self.trigger_backtrace[me], 1)
        head = self.call_single_queue[me]
        entry = self.llist_del_all(head)
        entry = self.llist_reverse_order(entry)

        # Nothing should have been queued to an offline CPU.
        statics = self.smp_statics
        if warn_cpu_offline and not cpu_online(me) and not statics.warned and entry is not None:
            statics.warned = True
            WARN_ON(True, f"IPI on offline CPU {me}")
            node = entry
            while node is not None:
                csd = llist_entry(node)
                t = self.CSD_TYPE(csd)
                if t in (CSD_TYPE_ASYNC, CSD_TYPE_SYNC, CSD_TYPE_IRQ_WORK):
                    self._pr(f"IPI callback {getattr(csd, 'func', None)!r} sent to offline CPU")
                elif t == CSD_TYPE_TTWU:
                    self._pr("IPI task-wakeup sent to offline CPU")
                else:
                    self._pr(f"IPI callback, unknown type {t}, sent to offline CPU")
                node = node.next

        # Pass 1: SYNC entries, whose senders are spinning on them.
        prev = None
        node = entry
        while node is not None:
            nxt = node.next
            csd = llist_entry(node)
            if self.CSD_TYPE(csd) == CSD_TYPE_SYNC:
                func = csd.func
                info = csd.info
                if prev is not None:
                    prev.next = nxt
                else:
                    entry = nxt
                self.csd_lock_record(csd)
                self.csd_do_func(func, info, csd)
                self.csd_unlock(csd)
                self.csd_lock_record(None)
            else:
                prev = node
            node = nxt

        if entry is None:
            return

        # Pass 2: everything but remote wake-ups.
        prev = None
        node = entry
        while node is not None:
            nxt = node.next
            csd = llist_entry(node)
            t = self.CSD_TYPE(csd)
            if t != CSD_TYPE_TTWU:
                if prev is not None:
                    prev.next = nxt
                else:
                    entry = nxt
                if t == CSD_TYPE_ASYNC:
                    func = csd.func
                    info = csd.info
                    self.csd_lock_record(csd)
                    # Unlocked before the call: the CSD may be queued again
                    # while its callback still runs.
                    self.csd_unlock(csd)
                    self.csd_do_func(func, info, csd)
                    self.csd_lock_record(None)
                elif t == CSD_TYPE_IRQ_WORK:
                    self.irq_work_single(csd)
            else:
                prev = node
            node = nxt

        # Pass 3: only TTWU entries are left.
        if entry is not None:
            raise NotImplementedError("a TTWU entry reached call_single_queue: remote wake-ups are not modelled")

    @kfunc(SMP_C, line=610)
    def flush_smp_call_function_queue(self) -> None:
        if self.llist_empty(self.call_single_queue[smp_processor_id()]):
            return
        flags = local_irq_save()
        self._flush_smp_call_function_queue(True)
        local_irq_restore(flags)

    # -- the API -----------------------------------------------------------------
    @kfunc(SMP_C, line=636, show=True)
    def smp_call_function_single(self, cpu: int, func: Callable[[Any], Any], info: Any, wait: int) -> int:
        preempt_disable()  # get_cpu()
        this_cpu = smp_processor_id()
        WARN_ON_ONCE(cpu_online(this_cpu) and irqs_disabled(), "smp_call_function_single with interrupts off")
        WARN_ON_ONCE(not in_task(), "smp_call_function_single outside task context")

        csd = self.csd_stack[this_cpu][0 if in_task() else 1]
        if wait:
            # The on-stack CSD starts out locked and SYNC.
            csd.node.u_flags = CSD_FLAG_LOCK | CSD_TYPE_SYNC
        else:
            csd = self.csd_data[this_cpu]
            self.csd_lock(csd)

        csd.func = func
        csd.info = info
        if kconfig("CSD_LOCK_WAIT_DEBUG"):
            csd.node.src = smp_processor_id()
            csd.node.dst = cpu

        err = self.generic_exec_single(cpu, csd)

        if wait:
            self.csd_lock_wait(csd)

        preempt_enable()  # put_cpu()
        return err

    @kfunc(SMP_C, line=718, show=True)
    def smp_call_function_single_async(self, cpu: int, csd: call_single_data_t) -> int:
        err = 0
        preempt_disable()
        if csd.node.u_flags & CSD_FLAG_LOCK:
            err = -EBUSY
        else:
            csd.node.u_flags = CSD_FLAG_LOCK
            smp_wmb()
            err = self.generic_exec_single(cpu, csd)
        preempt_enable()
        return err

    @kfunc(SMP_C, line=780)
    def smp_call_function_many_cond(
        self,
        mask: Any,
        func: Callable[[Any], Any],
        info: Any,
        scf_flags: int,
        cond_func: Callable[[int, Any], bool] | None,
    ) -> None:
        this_cpu = smp_processor_id()
        wait = bool(scf_flags & SCF_WAIT)
        nr_cpus = 0
        last_cpu = -1
        run_remote = False

        if cpu_online(this_cpu):
            self._lockdep_assert_irqs_enabled()
        WARN_ON_ONCE(not in_task(), "smp_call_function_many_cond outside task context")

        # Any online target other than this CPU?
        cand = [c for c in self._online_cpus_in(mask) if c != this_cpu]
        if any(cpu_online(c) for c in cand):
            cfd = self.cfd_data[this_cpu]
            cfd.cpumask = {c for c in self._online_cpus_in(mask) if cpu_online(c)}
            cfd.cpumask.discard(this_cpu)
            cfd.cpumask_ipi = set()
            for cpu in sorted(cfd.cpumask):
                csd = cfd.csd[cpu]
                if cond_func is not None and not cond_func(cpu, info):
                    cfd.cpumask.discard(cpu)
                    continue
                run_remote = True
                self.csd_lock(csd)
                if wait:
                    csd.node.u_flags = csd.node.u_flags | CSD_TYPE_SYNC
                csd.func = func
                csd.info = info
                if kconfig("CSD_LOCK_WAIT_DEBUG"):
                    csd.node.src = smp_processor_id()
                    csd.node.dst = cpu
                csd.kp_target = cpu
                # Kick the target only if this was the first entry.
                if self.llist_add(csd.node.llist, self.call_single_queue[cpu]):
                    cfd.cpumask_ipi.add(cpu)
                    nr_cpus += 1
                    last_cpu = cpu
            # nr_cpus may be 0: every queue already had an IPI on its way.
            if nr_cpus == 1:
                self.send_call_function_single_ipi(last_cpu)
            elif nr_cpus > 1:
                self.send_call_function_ipi_mask(set(cfd.cpumask_ipi))

        local = (mask == CPU_ONLINE_MASK and cpu_online(this_cpu)) or (mask != CPU_ONLINE_MASK and this_cpu in mask)
        if (scf_flags & SCF_RUN_LOCAL) and local and (cond_func is None or cond_func(this_cpu, info)):
            flags = local_irq_save()
            self.csd_do_func(func, info, None)
            local_irq_restore(flags)

        if run_remote and wait:
            cfd = self.cfd_data[this_cpu]
            for cpu in sorted(cfd.cpumask):
                self.csd_lock_wait(cfd.csd[cpu])

    @kfunc(SMP_C, line=898)
    def smp_call_function_many(self, mask: Any, func: Callable[[Any], Any], info: Any, wait: bool) -> None:
        self.smp_call_function_many_cond(mask, func, info, SCF_WAIT if wait else 0, None)

    @kfunc(SMP_C, line=920)
    def smp_call_function(self, func: Callable[[Any], Any], info: Any, wait: int) -> None:
        preempt_disable()
        self.smp_call_function_many(CPU_ONLINE_MASK, func, info, bool(wait))
        preempt_enable()


PORT = smp_c
