# SPDX-License-Identifier: GPL-2.0-only
"""The RT push IPI: kernel/sched/rt.c of Linux v6.17 on the push/pull path.

Read at Kingxukai/linux 0291023e7330da28f2f7453c87c2ab7082d8360f (v6.17-rc; before the 2026
fixes, already with the curr/donor split of proxy execution).  Line numbers in the kfunc tags
were counted in that snapshot (hand-counted, +-5).  The feature switch is
kernel/sched/features.h, read at 9b44fff6; the root-domain set-up is init_rootdomain() of
kernel/sched/topology.c (0291023e).  The helpers of kernel/sched/sched.h and
kernel/sched/core.c (double_lock_balance, double_rq_lock, move_queued_task_locked,
resched_curr, task_is_pushable) were read in later copies of those files; their kfunc tags
carry no line.

How the push IPI works
----------------------
A CPU is *RT overloaded* when its run queue holds an RT task that could run elsewhere
(``rq->rt.pushable_tasks`` is non-empty: since 6.x this list alone decides).  Overloaded CPUs
are the bits of ``rd->rto_mask`` and are counted in ``rd->rto_count``; ``rt_set_overload()``
sets the bit before it bumps the count (smp_wmb), so a CPU that sees the count also sees
the bit (the smp_rmb in ``pull_rt_task()``).

When a CPU lowers its priority (an RT task sleeps: ``balance_rt()`` -> ``pull_rt_task()``)
it would like to pull a waiting RT task from an overloaded CPU.  With ``RT_PUSH_IPI`` it
does not take the other run-queue locks; it asks the overloaded CPUs to push instead:

* ``tell_cpu_to_push()`` bumps ``rto_loop_next`` (the "please scan again" counter), and only
  the CPU that wins the ``rto_loop_start`` trylock and finds no walk running (``rto_cpu``
  < 0) picks the first overloaded CPU and queues the root domain's one irq_work,
  ``rto_push_work``, there (a hard irq_work: it runs in hard interrupt context even on
  PREEMPT_RT).
* ``rto_push_irq_work_func()`` runs on that CPU: it pushes what it can
  (``push_rt_task(rq, true)`` in a loop), then asks ``rto_next_cpu()`` for the next
  overloaded CPU and re-queues the same work there.  ``rto_next_cpu()`` walks the mask from
  ``rto_cpu``; at the end of the mask it compares ``rto_loop`` with ``rto_loop_next`` and, if
  someone asked for another pass meanwhile, starts over from the first bit.  So there is
  one walk per root domain at a time, and pulls during a walk only extend it.
* The walk carries a reference on the root domain (``sched_get_rd()`` at the start,
  ``sched_put_rd()`` when ``rto_next_cpu()`` returns -1).

The hop to another CPU is ``irq_work_queue_on()`` to a remote CPU: the CSD queue of
kernel/smp.c and the call-function IPI.  A hop to the CPU the walk is already on is a local
irq_work queue: the irq_work self-IPI (IRQ_WORK_VECTOR), taken as soon as the current
interrupt returns.  That is the self-IPI of rt.self-ipi-loop: before 94894c9c,
``rto_next_cpu()`` can hand the walk back to the CPU it runs on.

``push_rt_task()`` does not push when the first pushable task outranks the task the CPU is
running (the *priority bail*): it only calls ``resched_curr()`` and leaves the CPU
overloaded, trusting a local schedule() to run the task soon.  A CPU that cannot schedule
(stuck in a long softirq, or in the self-IPI loop itself) therefore stays in ``rto_mask``,
and every later pull sends the walk back to it (rt.push-ipi-storm).

What is modelled, and what is abstracted (and why)
--------------------------------------------------
* **Run queues are data; the scenario says when a CPU schedules.**  ``struct rq`` per CPU has
  ``cpu``, ``online``, ``curr`` and ``donor`` (tasks with a priority), ``nr_switches``,
  ``push_busy``, the rq lock (``raw_spinlock_t``), ``rt.overloaded``, ``rt.pushable_tasks`` (a
  plist: a tuple ordered by priority, FIFO among equals), ``rt.highest_prio.curr/next``, and
  ``rt.active``: the queued RT tasks (the rt_prio_array, as a priority-ordered tuple; only
  its highest priority matters to the push path).  Tasks are ``task_struct`` data with
  ``prio``, ``nr_cpus_allowed``/``cpus_mask``, ``on_rq``, ``on_cpu``, ``cpu`` and
  TIF_NEED_RESCHED; they are not run.  The engine's thread model (engine/tasks.py) is not
  used: the scenarios need a CPU that runs *some* task in the kernel and then reaches a
  preemption point, and the pushed tasks never execute code of their own; keeping them as
  data keeps the searches small and the traces about the push path only.  A scenario's CPU
  program calls ``__schedule()`` (below) where the task it plays reaches schedule().
* **__schedule()** is abstracted to its run-queue effects under the rq lock with interrupts
  off: clear the need-resched flag, pick the highest-priority queued RT task if there is one
  (else keep running curr), ``put_prev_task_rt()`` / ``set_next_task_rt()`` as ported (the
  pushable list and the overload follow from them), ``curr``/``donor``/``on_cpu``/
  ``nr_switches``, and the push balance callback run before the lock is dropped.  Fair-class
  picking, the context switch itself and proxy execution (donor != curr) are not modelled.
* **enqueue/dequeue_rt_entity** are reduced to the rt_prio_array bookkeeping the push path
  reads: ``rt.active`` (a priority-ordered tuple; its length is rt_nr_running), then
  ``inc_rt_prio()``/``dec_rt_prio()`` and their ``_smp`` halves as ported, which move the
  CPU between cpupri levels.  RT group scheduling, bandwidth, load averages and statistics
  are left out (no effect on pushing).
* **find_lowest_rq()** is ported over the port of **cpupri** (kernel/sched/cpupri.py, which
  says what it abstracts): the levels' counts and masks are shared words, so a search reads
  a count and a mask per level it looks at.  Each rq joins cpupri at set-up through
  ``rq_online_rt()``.  The topology is one SD_WAKE_AFFINE domain spanning every CPU;
  ``cpumask_any_and_distribute()`` (lib/cpumask.c) keeps its per-CPU round-robin cursor
  (private to the CPU, so not a step), and the per-CPU ``local_cpu_mask`` is a private mask.
* **sched_feat(RT_PUSH_IPI)** is a static key: fixed at set-up from ``sched_features_h()``
  (true in v6.17; patch dd29c017 overrides that table), so testing it is not a step.
* **resched_curr()** is ported (v6.17 shape): a local CPU sets TIF_NEED_RESCHED on
  ``rq->curr``; a remote one sets it and sends the reschedule IPI (RESCHEDULE_VECTOR, whose
  handler only acknowledges the APIC: ``scheduler_ipi()`` has nothing to fold in this
  model; the target acts on the flag when its program reaches a preemption point).  The
  polling-idle shortcut is out: idle CPUs halt (as in kernel/smp.py).
* **Migration-disabled tasks** never occur in the scenarios; the branches are ported, and
  ``get_push_task()``/``stop_one_cpu_nowait()`` raise if one is ever reached.
* **get_task_struct/put_task_struct** and lockdep pinning (rq_unpin_lock/rq_repin_lock) are
  no-ops: tasks are never freed, and lock pinning has no behaviour.
* **cpumasks** (lib/cpumask.py): shared masks are ``atomic_t`` words, ``cpumask_set_cpu``/
  ``cpumask_clear_cpu`` the atomic bit operations (one RMW step), ``cpumask_test_cpu``/
  ``cpumask_next`` one read.
* **Hotplug** is not modelled: ``rq->online`` stays 1 (rq_online_rt() runs once, at set-up;
  rq_offline_rt() never).
* **double_lock_balance()**: both variants of sched.h are ported; ``config = {"PREEMPTION":
  True}`` selects the fair one (drop our lock, take both in order), the default is the
  unfair one (!CONFIG_PREEMPTION: keep our lock when a trylock or the lock order allows).
  No core scheduling: ``rq_order_less()`` is CPU order.
* **current** is read without a step (``current()``): a per-CPU pointer only its own CPU
  writes.  TIF_NEED_RESCHED is the task's ``need_resched`` field; the ``need_resched()`` of
  kernel/sched/idle.py (always false) and of kernel/softirq.py (the engine thread model's
  flag) do not see it yet -- scenarios ask ``test_tsk_need_resched(current())``.
* **The thread_info flags word** is reduced to the one bit the modelled paths use: the
  ``need_resched`` field is ``ti->flags`` with only TIF_NEED_RESCHED (value 1) in it.
  TIF_POLLING_NRFLAG is never set (idle halts instead of polling; see kernel/smp.py), the
  lazy bit is not modelled.  Every access keeps the C's atomicity: ``set_nr_and_not_polling()``
  is the ``fetch_or()`` macro of core.c (a read, then ``try_cmpxchg()`` until the OR sticks);
  ``set_ti_thread_flag()`` and ``clear_tsk_need_resched()`` are x86's LOCK'd ``set_bit()`` and
  ``clear_bit()``, which on a word holding only that bit are an atomic exchange with 1 and
  with 0 (``xchg()``: one LOCK'd read-modify-write, as on the hardware).
* **The BUG_ON checks of pick_next_pushable_task()** read the task's CPU and queued state and
  the rq's curr/donor without steps: they run under the rq lock, and every writer of those
  fields holds the same lock, so the values cannot change under the check and reading them
  as steps would only lengthen every execution.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...engine import (
    BUG_ON,
    WARN_ON,
    Struct,
    apic_eoi,
    apic_send_IPI,
    atomic_cmpxchg_acquire,
    atomic_dec,
    atomic_dec_and_test,
    atomic_inc,
    atomic_read,
    atomic_read_acquire,
    atomic_set_release,
    atomic_t,
    field,
    irqs_disabled,
    kfunc,
    local_irq_disable,
    local_irq_enable,
    preempt_disable,
    preempt_enable,
    printk,
    raw_spin_lock,
    raw_spin_trylock,
    raw_spin_unlock,
    raw_spinlock_t,
    sched_point,
    set_need_resched,
    smp_processor_id,
    smp_rmb,
    smp_wmb,
    try_cmpxchg,
    xchg,
)
from ...engine.tasks import RESCHEDULE_VECTOR
from ...lib.cpumask import (
    cpumask_clear_cpu,
    cpumask_next,
    cpumask_set_cpu,
    cpumask_t,
    cpumask_test_cpu,
    cpumask_var,
    next_bit_wrap,
)
from ..irq_work import IRQ_WORK_INIT_HARD, irq_work
from .cpupri import cpupri

RT_C = "kernel/sched/rt.c"
SCHED_H = "kernel/sched/sched.h"
CORE_C = "kernel/sched/core.c"
TOPOLOGY_C = "kernel/sched/topology.c"
FEATURES_H = "kernel/sched/features.h"
CPUMASK_C = "lib/cpumask.c"
PLIST_C = "lib/plist.c"
X86_SMP_C = "arch/x86/kernel/smp.c"

MAX_RT_PRIO = 100
MAX_PRIO = 140
NICE_0_PRIO = 120
RT_MAX_TRIES = 3
# The thread_info flags word as modelled (module docstring): only TIF_NEED_RESCHED, as bit 0.
TIF_NEED_RESCHED = 0
_TIF_NEED_RESCHED = 1 << TIF_NEED_RESCHED
_TIF_POLLING_NRFLAG = 0  # never set: the idle loop halts (no polling bit in the model)
TASK_ON_RQ_QUEUED = 1
TASK_ON_RQ_MIGRATING = 2


# --------------------------------------------------------------------------------------------
# Data


class sched_rt_entity(Struct):
    on_rq = field(0)


class task_struct(Struct):
    """The scheduler's view of a task (the fields the push path reads)."""

    comm = field("", shared=False)
    prio = field(NICE_0_PRIO, shared=False)  # fixed in the scenarios (no PI boosting)
    nr_cpus_allowed = field(1, shared=False)
    cpus_mask = field(frozenset(), shared=False)
    migration_disabled = field(0, shared=False)
    rt = field(None, shared=False)  # sched_rt_entity
    on_rq = field(0)
    on_cpu = field(0)
    cpu = field(0)  # task_thread_info(p)->cpu
    need_resched = field(0)  # TIF_NEED_RESCHED in task_thread_info(p)->flags
    # p->sched_class, fixed at set-up (no class changes are modelled), from the task's
    # priority: RT_SCHED_CLASS, FAIR_SCHED_CLASS, or IDLE_SCHED_CLASS for the swapper.
    # The stop class is not modelled.
    sched_class = field(None, shared=False)

    def __repr__(self) -> str:
        return "&" + self.__dict__["comm"]


class plist_head(Struct):
    """A priority-sorted list; ``node_list`` is the tasks in list order."""

    node_list = field(())


class rt_prio_pair(Struct):
    curr = field(MAX_RT_PRIO - 1)
    next = field(MAX_RT_PRIO - 1)


class rt_rq(Struct):
    active = field(())  # the queued RT tasks, highest priority first (the rt_prio_array)
    rq = field(None, shared=False)  # rq_of_rt_rq(): the run queue this rt_rq is part of
    highest_prio = field(None, shared=False)  # rt_prio_pair
    overloaded = field(0)
    pushable_tasks = field(None, shared=False)  # plist_head


class rq(Struct):
    """struct rq: one per CPU (``runqueues[cpu]``)."""

    lock = field(None, shared=False)  # rq->__lock
    cpu = field(0, shared=False)
    online = field(1, shared=False)
    curr = field(None)
    donor = field(None)
    idle = field(None, shared=False)
    nr_switches = field(0)
    push_busy = field(False)
    rt = field(None, shared=False)  # rt_rq
    rd = field(None, shared=False)  # root_domain


class root_domain(Struct):
    refcount = field(None, shared=False)  # atomic_t
    rto_mask = field(None, shared=False)  # cpumask_t
    rto_loop = field(0)  # protected by rto_lock
    rto_loop_next = field(None, shared=False)  # atomic_t
    rto_loop_start = field(None, shared=False)  # atomic_t used as a trylock
    rto_count = field(None, shared=False)  # atomic_t
    rto_cpu = field(-1)  # protected by rto_lock
    rto_lock = field(None, shared=False)  # raw_spinlock_t
    rto_push_work = field(None, shared=False)  # irq_work
    cpupri = field(None, shared=False)  # struct cpupri (kernel/sched/cpupri.py)


def rt_task(p: task_struct) -> bool:
    return bool(p.prio < MAX_RT_PRIO)


# The scheduling classes a task can be in here (&rt_sched_class, &fair_sched_class,
# &idle_sched_class for the swapper tasks).
RT_SCHED_CLASS = "rt_sched_class"
FAIR_SCHED_CLASS = "fair_sched_class"
IDLE_SCHED_CLASS = "idle_sched_class"


# --------------------------------------------------------------------------------------------
# plist helpers (lib/plist.c)


def _plist_insert(nodes: tuple[task_struct, ...], p: task_struct) -> tuple[task_struct, ...]:
    # After every node of the same priority: FIFO among equals, as plist_add() does.
    i = 0
    while i < len(nodes) and nodes[i].prio <= p.prio:
        i += 1
    return nodes[:i] + (p,) + nodes[i:]


@kfunc(PLIST_C)
def plist_add(p: task_struct, head: plist_head) -> None:
    head.node_list = _plist_insert(head.node_list, p)


@kfunc(PLIST_C)
def plist_del(p: task_struct, head: plist_head) -> None:
    nodes = head.node_list
    if p in nodes:
        head.node_list = tuple(n for n in nodes if n is not p)


def plist_head_empty(head: plist_head) -> bool:
    return not head.node_list


def plist_first_entry(head: plist_head) -> task_struct:
    return head.node_list[0]  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------------
# The port


class rt_c:
    """Port of the push/pull path of kernel/sched/rt.c (v6.17) and the helpers it calls."""

    OWN_INITS: tuple[str, ...] = ("init_sched_rt",)

    m: Any
    # The struct rq layout: a patch that adds fields to struct rq overrides this.
    RQ_STRUCT: type[rq] = rq

    # -- set-up ---------------------------------------------------------------------------

    def init_sched_rt(self) -> None:
        n = self.m.ncpus
        self.nr_cpu_ids = n
        self.sysctl_sched_features = dict(self.sched_features_h())
        self.def_root_domain = self.init_rootdomain("rd")
        self.runqueues = [self._alloc_rq(c) for c in range(n)]
        # cpumask_any_and_distribute()'s per-CPU cursor (private to its CPU).
        self.distribute_cpu_mask_prev = [0] * n
        # init_sched_rt_class(): find_lowest_rq()'s per-CPU scratch mask.
        self.local_cpu_mask = [cpumask_var() for _ in range(n)]
        # rq_attach_root() -> set_rq_online(): each rq joins the root domain's cpupri.
        for r in self.runqueues:
            self.rq_online_rt(r)
        # The balance callbacks queued under each rq lock (rq->balance_callback).
        self.balance_callbacks: list[list[Callable[[rq], None]]] = [[] for _ in range(n)]
        if RESCHEDULE_VECTOR not in self.m.vectors:
            self.m.register_vector(RESCHEDULE_VECTOR, "RESCHEDULE_VECTOR", self.sysvec_reschedule_ipi)

    def _alloc_rq(self, cpu: int) -> rq:
        nm = f"runqueues[{cpu}]"
        idle = self.new_task(f"swapper/{cpu}", MAX_PRIO, cpu, cpus=(cpu,))
        idle.on_rq = TASK_ON_RQ_QUEUED
        idle.on_cpu = 1
        r = self.RQ_STRUCT(
            name=nm,
            lock=raw_spinlock_t(name=f"{nm}.__lock"),
            cpu=cpu,
            curr=idle,
            donor=idle,
            idle=idle,
            rt=rt_rq(
                name=f"{nm}.rt",
                highest_prio=rt_prio_pair(name=f"{nm}.rt.highest_prio"),
                pushable_tasks=plist_head(name=f"{nm}.rt.pushable_tasks"),
            ),
            rd=self.def_root_domain,
        )
        r.rt.rq = r
        return r

    @kfunc(TOPOLOGY_C)
    def init_rootdomain(self, name: str) -> root_domain:
        # The masks and counters come zeroed (kzalloc / the static default domain); the
        # walk's state is set up under HAVE_RT_PUSH_IPI.  The default domain starts with
        # one reference (init_defrootdomain).
        rd = root_domain(
            name=name,
            refcount=atomic_t(name=f"{name}.refcount", counter=1),
            rto_mask=cpumask_t(name=f"{name}.rto_mask"),
            rto_loop_next=atomic_t(name=f"{name}.rto_loop_next"),
            rto_loop_start=atomic_t(name=f"{name}.rto_loop_start"),
            rto_count=atomic_t(name=f"{name}.rto_count"),
        )
        rd.rto_cpu = -1
        rd.rto_lock = raw_spinlock_t(name=f"{name}.rto_lock")
        rd.rto_push_work = IRQ_WORK_INIT_HARD(self.rto_push_irq_work_func, name=f"{name}.rto_push_work")
        rd.rto_push_work.rd = rd  # container_of(work, struct root_domain, rto_push_work)
        rd.cpupri = cpupri(name=f"{name}.cpupri")
        self.cpupri_init(rd.cpupri)
        return rd

    @kfunc(FEATURES_H, line=97)
    def sched_features_h(self) -> dict[str, bool]:
        # The table of scheduler features and their defaults (only the one this path reads).
        return {"RT_PUSH_IPI": True}

    def sched_feat(self, name: str) -> bool:
        # A static key: fixed at boot, so testing it is not a step.
        return bool(self.sysctl_sched_features[name])

    def new_task(self, comm: str, prio: int, cpu: int, *, cpus: tuple[int, ...] | None = None) -> task_struct:
        """A task for a scenario's set-up (not queued anywhere yet)."""
        allowed = frozenset(range(self.m.ncpus) if cpus is None else cpus)
        return task_struct(
            name=comm,
            comm=comm,
            prio=prio,
            nr_cpus_allowed=len(allowed),
            cpus_mask=allowed,
            rt=sched_rt_entity(name=f"{comm}.rt"),
            cpu=cpu,
            sched_class=(
                RT_SCHED_CLASS if prio < MAX_RT_PRIO else IDLE_SCHED_CLASS if prio == MAX_PRIO else FAIR_SCHED_CLASS
            ),
        )

    def setup_queue_task(self, cpu: int, p: task_struct, *, running: bool = False) -> None:
        """Set-up time: ``p`` is queued on ``cpu`` (and running there if ``running``).

        Runs the ported enqueue path off-CPU (plain accesses), so the pushable list, the
        overload bits and counts, and highest_prio come out as the kernel would leave them.
        """
        r = self.cpu_rq(cpu)
        p.cpu = cpu
        if running:
            r.curr.on_cpu = 0
            r.curr = p
            r.donor = p
            p.on_cpu = 1
        if rt_task(p):
            self.enqueue_task_rt(r, p, 0)
        p.on_rq = TASK_ON_RQ_QUEUED

    # -- small helpers of sched.h / core.c ----------------------------------------------

    def cpu_rq(self, cpu: int) -> rq:
        return self.runqueues[cpu]

    def this_rq(self) -> rq:
        return self.runqueues[smp_processor_id()]

    def current(self) -> task_struct:
        """``current``: the task this CPU runs.  A per-CPU pointer that only this CPU writes
        (at its context switches), so reading it is not a shared access; it equals
        ``this_rq()->curr`` in the model."""
        return self.runqueues[smp_processor_id()].raw("curr")  # type: ignore[no-any-return]

    def task_cpu(self, p: task_struct) -> int:
        return p.cpu  # type: ignore[no-any-return]

    def task_current(self, r: rq, p: task_struct) -> bool:
        return r.curr is p

    def task_current_donor(self, r: rq, p: task_struct) -> bool:
        return r.donor is p

    def task_on_rq_queued(self, p: task_struct) -> bool:
        return p.on_rq == TASK_ON_RQ_QUEUED

    def task_on_cpu(self, r: rq, p: task_struct) -> bool:
        return bool(p.on_cpu)

    def is_migration_disabled(self, p: task_struct) -> bool:
        return bool(p.migration_disabled)

    def test_tsk_need_resched(self, p: task_struct) -> bool:
        return bool(p.need_resched & _TIF_NEED_RESCHED)

    def on_rt_rq(self, rt_se: sched_rt_entity) -> bool:
        return bool(rt_se.on_rq)

    def get_task_struct(self, p: task_struct) -> None:
        pass  # tasks are never freed in the model

    def put_task_struct(self, p: task_struct) -> None:
        pass

    @kfunc(CORE_C)
    def raw_spin_rq_lock(self, r: rq) -> None:
        raw_spin_lock(r.lock)

    @kfunc(CORE_C)
    def raw_spin_rq_trylock(self, r: rq) -> bool:
        return raw_spin_trylock(r.lock)

    @kfunc(CORE_C)
    def raw_spin_rq_unlock(self, r: rq) -> None:
        raw_spin_unlock(r.lock)

    def rq_order_less(self, rq1: rq, rq2: rq) -> bool:
        # No core scheduling: CPU order.
        return rq1.cpu < rq2.cpu

    @kfunc(CORE_C)
    def double_rq_lock(self, rq1: rq, rq2: rq) -> None:
        WARN_ON(not irqs_disabled(), "double_rq_lock() with interrupts enabled")
        if self.rq_order_less(rq2, rq1):
            rq1, rq2 = rq2, rq1
        self.raw_spin_rq_lock(rq1)
        if rq1.lock is not rq2.lock:
            self.raw_spin_rq_lock(rq2)  # raw_spin_rq_lock_nested

    @kfunc(SCHED_H, name="_double_lock_balance")
    def _double_lock_balance(self, this_rq: rq, busiest: rq) -> int:
        if self.m.config.get("PREEMPTION", False):
            # The fair variant: always drop our lock and take both in order.
            self.raw_spin_rq_unlock(this_rq)
            self.double_rq_lock(this_rq, busiest)
            return 1
        # The unfair variant: keep our lock when the order allows it.
        if this_rq.lock is busiest.lock:
            return 0
        if self.raw_spin_rq_trylock(busiest):
            return 0
        if self.rq_order_less(this_rq, busiest):
            self.raw_spin_rq_lock(busiest)  # raw_spin_rq_lock_nested
            return 0
        self.raw_spin_rq_unlock(this_rq)
        self.double_rq_lock(this_rq, busiest)
        return 1

    @kfunc(SCHED_H)
    def double_lock_balance(self, this_rq: rq, busiest: rq) -> int:
        # Interrupts must be off: the caller holds this_rq's lock.
        if not irqs_disabled():
            self.raw_spin_rq_unlock(this_rq)
            BUG_ON(1)
        return self._double_lock_balance(this_rq, busiest)

    @kfunc(SCHED_H)
    def double_unlock_balance(self, this_rq: rq, busiest: rq) -> None:
        if this_rq.lock is not busiest.lock:
            self.raw_spin_rq_unlock(busiest)
        # lock_set_subclass(): lockdep only.

    @kfunc(CORE_C)
    def set_task_cpu(self, p: task_struct, new_cpu: int) -> None:
        # __set_task_cpu(): the task's CPU field (migration statistics left out).
        p.cpu = new_cpu

    @kfunc(CORE_C)
    def activate_task(self, r: rq, p: task_struct, flags: int) -> None:
        self.enqueue_task_rt(r, p, flags)
        p.on_rq = TASK_ON_RQ_QUEUED

    @kfunc(CORE_C)
    def deactivate_task(self, r: rq, p: task_struct, flags: int) -> None:
        p.on_rq = TASK_ON_RQ_MIGRATING
        self.dequeue_task_rt(r, p, flags)

    @kfunc(SCHED_H)
    def move_queued_task_locked(self, src_rq: rq, dst_rq: rq, task: task_struct) -> None:
        # Both rq locks are held (lockdep_assert_rq_held on each).
        self.deactivate_task(src_rq, task, 0)
        self.set_task_cpu(task, dst_rq.cpu)
        self.activate_task(dst_rq, task, 0)

    @kfunc(SCHED_H)
    def task_is_pushable(self, r: rq, p: task_struct, cpu: int) -> bool:
        return not self.task_on_cpu(r, p) and cpu in p.cpus_mask

    @kfunc(CORE_C)
    def set_nr_and_not_polling(self, ti: task_struct, tif: int) -> bool:
        # fetch_or(&ti->flags, 1 << tif), the core.c macro: read the word, then try_cmpxchg()
        # until the OR is in; true when the target does not poll (it never does here).
        val = ti.need_resched
        while True:
            ok, val = try_cmpxchg(ti, "need_resched", val, val | _TIF_NEED_RESCHED)
            if ok:
                break
        return not (val & _TIF_POLLING_NRFLAG)

    @kfunc(CORE_C, name="__resched_curr")
    def _resched_curr(self, r: rq) -> None:
        # Only TIF_NEED_RESCHED here (resched_curr's tif); the lazy flag is not modelled.
        curr = r.curr
        if curr.need_resched & _TIF_NEED_RESCHED:
            return
        cpu = r.cpu
        if cpu == smp_processor_id():
            # set_ti_thread_flag(): x86's LOCK'd set_bit (module docstring).
            xchg(curr, "need_resched", _TIF_NEED_RESCHED)
            set_need_resched(cpu)  # set_preempt_need_resched()
            return
        if self.set_nr_and_not_polling(curr, TIF_NEED_RESCHED):
            self.smp_send_reschedule(cpu)

    @kfunc(CORE_C, show=True)
    def resched_curr(self, r: rq) -> None:
        self._resched_curr(r)

    @kfunc(X86_SMP_C)
    def smp_send_reschedule(self, cpu: int) -> None:
        apic_send_IPI(cpu, RESCHEDULE_VECTOR)

    @kfunc(X86_SMP_C)
    def sysvec_reschedule_ipi(self, vector: int | None = None) -> None:
        # scheduler_ipi() folds the running task's TIF_NEED_RESCHED into the CPU's preemption
        # state (CPU-local: no step); the CPU acts on it at its next preemption point.
        apic_eoi()
        cpu = smp_processor_id()
        if self.cpu_rq(cpu).curr.raw("need_resched"):
            set_need_resched(cpu)

    # -- topology.c: the root domain's reference ------------------------------------------

    @kfunc(TOPOLOGY_C)
    def sched_get_rd(self, rd: root_domain) -> None:
        atomic_inc(rd.refcount)

    @kfunc(TOPOLOGY_C)
    def sched_put_rd(self, rd: root_domain) -> None:
        if not atomic_dec_and_test(rd.refcount):
            return
        # call_rcu(&rd->rcu, free_rootdomain): the default domain is never freed here.
        printk(f"{rd.kp_name}: last reference dropped (free_rootdomain)", "err")

    # -- rt.c: overload bookkeeping --------------------------------------------------------

    @kfunc(RT_C, line=333)
    def need_pull_rt_task(self, r: rq, prev: task_struct) -> bool:
        # Pull if this rq is about to run something lower than prev was.
        return bool(r.online) and r.rt.highest_prio.curr > prev.prio

    @kfunc(RT_C, line=339)
    def rt_overloaded(self, r: rq) -> int:
        return atomic_read(r.rd.rto_count)

    @kfunc(RT_C, line=344)
    def rt_set_overload(self, r: rq) -> None:
        if not r.online:
            return
        cpumask_set_cpu(r.cpu, r.rd.rto_mask)
        # The bit must be visible before the count: pairs with smp_rmb() in pull_rt_task()
        # (and with the acquire of rto_loop_next in rto_next_cpu()).
        smp_wmb()
        atomic_inc(r.rd.rto_count)

    @kfunc(RT_C, line=363)
    def rt_clear_overload(self, r: rq) -> None:
        if not r.online:
            return
        # No ordering needed on the way out.
        atomic_dec(r.rd.rto_count)
        cpumask_clear_cpu(r.cpu, r.rd.rto_mask)

    @kfunc(RT_C)
    def rq_online_rt(self, r: rq) -> None:
        # set_rq_online(): the rq joins (or rejoins) its root domain (rq lock held).
        if r.rt.overloaded:
            self.rt_set_overload(r)
        # __enable_runtime(): RT bandwidth, not modelled.
        self.cpupri_set(r.rd.cpupri, r.cpu, r.rt.highest_prio.curr)

    @kfunc(RT_C, line=373)
    def has_pushable_tasks(self, r: rq) -> bool:
        return not plist_head_empty(r.rt.pushable_tasks)

    @kfunc(RT_C, line=384)
    def rt_queue_push_tasks(self, r: rq) -> None:
        if not self.has_pushable_tasks(r):
            return
        self.queue_balance_callback(r, self.push_rt_tasks)

    def queue_balance_callback(self, r: rq, func: Callable[[rq], None]) -> None:
        # Run before the rq lock is dropped at the end of __schedule() (rq->balance_callback).
        cbs = self.balance_callbacks[r.cpu]
        if func not in cbs:
            cbs.append(func)

    @kfunc(RT_C, line=397)
    def enqueue_pushable_task(self, r: rq, p: task_struct) -> None:
        # Delete first: re-adding an already queued task is allowed.
        plist_del(p, r.rt.pushable_tasks)
        plist_add(p, r.rt.pushable_tasks)

        if p.prio < r.rt.highest_prio.next:
            r.rt.highest_prio.next = p.prio

        if not r.rt.overloaded:
            self.rt_set_overload(r)
            r.rt.overloaded = 1

    @kfunc(RT_C, line=414)
    def dequeue_pushable_task(self, r: rq, p: task_struct) -> None:
        plist_del(p, r.rt.pushable_tasks)

        if self.has_pushable_tasks(r):
            p = plist_first_entry(r.rt.pushable_tasks)
            r.rt.highest_prio.next = p.prio
        else:
            r.rt.highest_prio.next = MAX_RT_PRIO - 1
            if r.rt.overloaded:
                self.rt_clear_overload(r)
                r.rt.overloaded = 0

    # -- rt.c: the RT class's enqueue/dequeue and pick hooks ------------------------------

    def rq_of_rt_rq(self, rt_rq_: rt_rq) -> rq:
        return rt_rq_.rq  # type: ignore[no-any-return]

    @kfunc(RT_C)
    def inc_rt_prio_smp(self, rt_rq_: rt_rq, prio: int, prev_prio: int) -> None:
        # No RT group scheduling: the rq's own rt_rq is always the top queue.
        r = self.rq_of_rt_rq(rt_rq_)
        if r.online and prio < prev_prio:
            self.cpupri_set(r.rd.cpupri, r.cpu, prio)

    @kfunc(RT_C)
    def dec_rt_prio_smp(self, rt_rq_: rt_rq, prio: int, prev_prio: int) -> None:
        r = self.rq_of_rt_rq(rt_rq_)
        if r.online and rt_rq_.highest_prio.curr != prev_prio:
            self.cpupri_set(r.rd.cpupri, r.cpu, rt_rq_.highest_prio.curr)

    @kfunc(RT_C)
    def inc_rt_prio(self, rt_rq_: rt_rq, prio: int) -> None:
        prev_prio = rt_rq_.highest_prio.curr
        if prio < prev_prio:
            rt_rq_.highest_prio.curr = prio
        self.inc_rt_prio_smp(rt_rq_, prio, prev_prio)

    @kfunc(RT_C)
    def dec_rt_prio(self, rt_rq_: rt_rq, prio: int, active: tuple[task_struct, ...]) -> None:
        # ``active``: the rt_prio_array after the removal (rt_nr_running is its length).
        prev_prio = rt_rq_.highest_prio.curr
        if active:
            WARN_ON(prio < prev_prio)
            # The task that left may have been the highest: recompute from the array
            # (sched_find_first_bit()).
            if prio == prev_prio:
                rt_rq_.highest_prio.curr = active[0].prio
        else:
            rt_rq_.highest_prio.curr = MAX_RT_PRIO - 1
        self.dec_rt_prio_smp(rt_rq_, prio, prev_prio)

    @kfunc(RT_C)
    def enqueue_rt_entity(self, r: rq, p: task_struct) -> None:
        # Abstracted: the rt_prio_array as a priority-ordered tuple, then inc_rt_tasks()'s
        # inc_rt_prio() as ported.
        r.rt.active = _plist_insert(r.rt.active, p)
        p.rt.on_rq = 1
        self.inc_rt_prio(r.rt, p.prio)

    @kfunc(RT_C)
    def dequeue_rt_entity(self, r: rq, p: task_struct) -> None:
        # Abstracted: remove from the rt_prio_array, then dec_rt_tasks()'s dec_rt_prio().
        active = tuple(t for t in r.rt.active if t is not p)
        r.rt.active = active
        p.rt.on_rq = 0
        self.dec_rt_prio(r.rt, p.prio, active)

    @kfunc(RT_C, line=1432)
    def enqueue_task_rt(self, r: rq, p: task_struct, flags: int) -> None:
        self.enqueue_rt_entity(r, p)
        # task_is_blocked(p): no proxy execution in the model.
        if not self.task_current(r, p) and p.nr_cpus_allowed > 1:
            self.enqueue_pushable_task(r, p)

    @kfunc(RT_C, line=1451)
    def dequeue_task_rt(self, r: rq, p: task_struct, flags: int) -> bool:
        # update_curr_rt(): runtime accounting, left out.
        self.dequeue_rt_entity(r, p)
        self.dequeue_pushable_task(r, p)
        return True

    @kfunc(RT_C, line=1595)
    def balance_rt(self, r: rq, p: task_struct, rf: Any = None) -> bool:
        if not self.on_rt_rq(p.rt) and self.need_pull_rt_task(r, p):
            # rq_unpin_lock()/rq_repin_lock(): lockdep pinning only.
            self.pull_rt_task(r)
        # The return value (is anything of stop/dl/rt class runnable?) is not used here.
        return bool(r.rt.active)

    @kfunc(RT_C, line=1640)
    def set_next_task_rt(self, r: rq, p: task_struct, first: bool) -> None:
        # The running task is never pushable.
        self.dequeue_pushable_task(r, p)
        if not first:
            return
        # update_rt_rq_load_avg(): left out.
        self.rt_queue_push_tasks(r)

    @kfunc(RT_C, line=1711)
    def put_prev_task_rt(self, r: rq, p: task_struct, nxt: task_struct) -> None:
        # The preempted task becomes pushable again if it is still queued.
        if self.on_rt_rq(p.rt) and p.nr_cpus_allowed > 1:
            self.enqueue_pushable_task(r, p)

    @kfunc(CORE_C, name="__schedule")
    def _schedule(self, from_irq_exit: bool = False) -> None:
        """Abstracted __schedule() at a preemption point of the running task (see the module
        docstring): pick the highest queued RT task if any, else keep running curr.

        Returns with interrupts on, as __schedule() does (raw_spin_rq_unlock_irq), unless
        ``from_irq_exit``: a scenario that folds a reschedule into an interrupt's exit path
        (interrupts still off there) keeps them off."""
        cpu = smp_processor_id()
        r = self.cpu_rq(cpu)
        if not from_irq_exit:
            local_irq_disable()
        self.raw_spin_rq_lock(r)
        prev = r.curr
        xchg(prev, "need_resched", 0)  # clear_tsk_need_resched(prev): LOCK'd clear_bit
        set_need_resched(cpu, False)  # clear_preempt_need_resched()
        active = r.rt.active
        nxt = active[0] if active else prev
        if nxt is not prev:
            if rt_task(prev):
                self.put_prev_task_rt(r, prev, nxt)
            r.nr_switches = r.nr_switches + 1
            r.curr = nxt
            r.donor = nxt
            if rt_task(nxt):
                self.set_next_task_rt(r, nxt, True)
            prev.on_cpu = 0
            nxt.on_cpu = 1
        # The CPU passed a scheduling point (the soft-lockup watchdog's and the simulator's
        # measure); then __balance_callbacks() runs the queued push callback, lock held.
        sched_point()
        cbs = self.balance_callbacks[cpu]
        while cbs:
            cbs.pop(0)(r)
        self.raw_spin_rq_unlock(r)
        if not from_irq_exit:
            local_irq_enable()

    # -- rt.c: pushing -------------------------------------------------------------------

    @kfunc(RT_C, line=1740)
    def pick_highest_pushable_task(self, r: rq, cpu: int) -> task_struct | None:
        if not self.has_pushable_tasks(r):
            return None
        for p in r.rt.pushable_tasks.node_list:
            if self.task_is_pushable(r, p, cpu):
                return p
        return None

    @kfunc(CPUMASK_C)
    def cpumask_any_and_distribute(self, src1: cpumask_var, src2: int) -> int:
        # The next CPU of both masks after this CPU's cursor, wrapping; moves the cursor.
        me = smp_processor_id()
        prev = self.distribute_cpu_mask_prev[me]
        nxt = next_bit_wrap(src1.bits & src2, prev)
        if nxt < 0:
            return self.nr_cpu_ids
        self.distribute_cpu_mask_prev[me] = nxt
        return nxt

    def sched_domain_span(self) -> int:
        # The one SD_WAKE_AFFINE domain: every CPU.
        return (1 << self.nr_cpu_ids) - 1

    @kfunc(RT_C, line=1758, show=True)
    def find_lowest_rq(self, task: task_struct) -> int:
        this_cpu = smp_processor_id()
        lowest_mask = self.local_cpu_mask[this_cpu]
        cpu = self.task_cpu(task)

        if task.nr_cpus_allowed == 1:
            return -1  # nowhere else to go

        # Symmetric CPU capacities: no fitness function.
        ret = self.cpupri_find(self.cpu_rq(cpu).rd.cpupri, task, lowest_mask)
        if not ret:
            return -1

        # The CPU the task last ran on is cache-hot: prefer it.
        if lowest_mask.bits >> cpu & 1:
            return cpu

        if not lowest_mask.bits >> this_cpu & 1:
            this_cpu = -1

        # One SD_WAKE_AFFINE domain spanning every CPU: this CPU if it qualifies, else any.
        span = self.sched_domain_span()
        if this_cpu != -1 and span >> this_cpu & 1:
            return this_cpu
        best_cpu = self.cpumask_any_and_distribute(lowest_mask, span)
        if best_cpu < self.nr_cpu_ids:
            return best_cpu

        # No domain matched (unreachable with one domain spanning every CPU; kept for shape).
        if this_cpu != -1:
            return this_cpu
        cpu = self.cpumask_any_and_distribute(lowest_mask, span)  # cpumask_any_distribute()
        if cpu < self.nr_cpu_ids:
            return cpu
        return -1

    @kfunc(RT_C, line=1849)
    def pick_next_pushable_task(self, r: rq) -> task_struct | None:
        if not self.has_pushable_tasks(r):
            return None
        p = plist_first_entry(r.rt.pushable_tasks)

        # Consistency checks under the rq lock: every writer of these fields holds this lock,
        # so they are read without steps (see the module docstring).
        BUG_ON(r.cpu != p.raw("cpu"))
        BUG_ON(r.raw("curr") is p)
        BUG_ON(r.raw("donor") is p)
        BUG_ON(p.nr_cpus_allowed <= 1)
        BUG_ON(p.raw("on_rq") != TASK_ON_RQ_QUEUED)
        BUG_ON(not rt_task(p))
        return p

    @kfunc(RT_C, line=1871)
    def find_lock_lowest_rq(self, task: task_struct, r: rq) -> rq | None:
        lowest_rq = None
        for _tries in range(RT_MAX_TRIES):
            cpu = self.find_lowest_rq(task)
            if cpu == -1 or cpu == r.cpu:
                break

            lowest_rq = self.cpu_rq(cpu)

            if lowest_rq.rt.highest_prio.curr <= task.prio:
                # Equal or higher work there: retrying would not change the answer.
                lowest_rq = None
                break

            # Our lock may have been dropped: recheck that the task is still ours to push.
            if self.double_lock_balance(r, lowest_rq):
                if (
                    self.is_migration_disabled(task)
                    or lowest_rq.cpu not in task.cpus_mask
                    or task is not self.pick_next_pushable_task(r)
                ):
                    self.double_unlock_balance(r, lowest_rq)
                    lowest_rq = None
                    break

            # Still a lower-priority rq: keep it (locked).
            if lowest_rq.rt.highest_prio.curr > task.prio:
                break

            self.double_unlock_balance(r, lowest_rq)
            lowest_rq = None
        return lowest_rq

    @kfunc(RT_C, line=1934, show=True)
    def push_rt_task(self, r: rq, pull: bool) -> int:
        ret = 0
        if not r.rt.overloaded:
            return 0

        next_task = self.pick_next_pushable_task(r)
        if next_task is None:
            return 0

        while True:  # retry:
            # The priority bail: the waiting task outranks what runs here, so a local
            # schedule() should run it; ask for one and leave the CPU overloaded.
            if next_task.prio < r.donor.prio:
                self.resched_curr(r)
                return 0

            if self.is_migration_disabled(next_task):
                if not pull or r.push_busy:
                    return 0
                # The class, not rt_task(): a stopper looks like a FIFO task by its priority.
                # (No stopper runs on these paths in the model, so the two tests agree here.)
                if r.donor.sched_class != RT_SCHED_CLASS:
                    return 0
                cpu = self.find_lowest_rq(r.curr)
                if cpu == -1 or cpu == r.cpu:
                    return 0
                push_task = self.get_push_task(r)
                if push_task is not None:
                    preempt_disable()
                    self.raw_spin_rq_unlock(r)
                    self.stop_one_cpu_nowait(r.cpu, push_task)
                    preempt_enable()
                    self.raw_spin_rq_lock(r)
                return 0

            if WARN_ON(next_task is r.curr):
                return 0

            self.get_task_struct(next_task)  # the rq lock may be dropped below

            lowest_rq = self.find_lock_lowest_rq(next_task, r)
            if lowest_rq is None:
                # Our lock may have been dropped: is next_task still the one to push?
                task = self.pick_next_pushable_task(r)
                if task is next_task or task is None:
                    # Not moved and no target (others will pull), or nothing left.
                    self.put_task_struct(next_task)
                    return ret
                self.put_task_struct(next_task)
                next_task = task
                continue  # goto retry

            self.move_queued_task_locked(r, lowest_rq, next_task)
            self.resched_curr(lowest_rq)
            ret = 1
            self.double_unlock_balance(r, lowest_rq)
            self.put_task_struct(next_task)
            return ret

    @kfunc(RT_C, line=2052)
    def push_rt_tasks(self, r: rq) -> None:
        # push_rt_task() returns 1 each time it moved a task.
        while self.push_rt_task(r, False):
            pass

    def get_push_task(self, r: rq) -> task_struct | None:
        raise NotImplementedError("migration-disabled tasks are not modelled (get_push_task)")

    def stop_one_cpu_nowait(self, cpu: int, push_task: task_struct) -> None:
        raise NotImplementedError("migration-disabled tasks are not modelled (push_cpu_stop)")

    # -- rt.c: the IPI relay (HAVE_RT_PUSH_IPI) -------------------------------------------

    @kfunc(RT_C, line=2102, show=True)
    def rto_next_cpu(self, rd: root_domain) -> int:
        # Caller holds rd->rto_lock.  rto_cpu == -1 starts at the first overloaded CPU.
        while True:
            cpu = cpumask_next(rd.rto_cpu, rd.rto_mask, self.nr_cpu_ids)
            rd.rto_cpu = cpu
            if cpu < self.nr_cpu_ids:
                return cpu

            rd.rto_cpu = -1

            # End of the mask: did anyone ask for another pass?  The acquire pairs with
            # the smp_wmb() in rt_set_overload(), so the mask bits behind the new count
            # are visible to the rescan.
            nxt = atomic_read_acquire(rd.rto_loop_next)
            if rd.rto_loop == nxt:
                break
            rd.rto_loop = nxt
        return -1

    @kfunc(RT_C, line=2149)
    def rto_start_trylock(self, v: atomic_t) -> bool:
        return not atomic_cmpxchg_acquire(v, 0, 1)

    @kfunc(RT_C, line=2154)
    def rto_start_unlock(self, v: atomic_t) -> None:
        atomic_set_release(v, 0)

    @kfunc(RT_C, line=2159, show=True)
    def tell_cpu_to_push(self, r: rq) -> None:
        cpu = -1
        rd = r.rd

        # Keep a running walk going: it rescans when it sees the count move.
        atomic_inc(rd.rto_loop_next)

        # Only one CPU starts a walk at a time.
        if not self.rto_start_trylock(rd.rto_loop_start):
            return

        raw_spin_lock(rd.rto_lock)
        # rto_cpu >= 0: a walk is running and will see rto_loop_next; nothing to send.
        if rd.rto_cpu < 0:
            cpu = self.rto_next_cpu(rd)
        raw_spin_unlock(rd.rto_lock)

        self.rto_start_unlock(rd.rto_loop_start)

        if cpu >= 0:
            # The walk holds a reference on the root domain until it ends.
            self.sched_get_rd(rd)
            self.irq_work_queue_on(rd.rto_push_work, cpu)

    @kfunc(RT_C, line=2193)
    def rto_push_irq_work_func(self, work: irq_work) -> None:
        # Hard interrupt context (an IRQ_WORK_INIT_HARD work), also on PREEMPT_RT.
        rd = work.rd
        r = self.this_rq()

        # Lockless peek: whoever adds a pushable task checks for a push itself.
        if self.has_pushable_tasks(r):
            self.raw_spin_rq_lock(r)
            while self.push_rt_task(r, True):
                pass
            self.raw_spin_rq_unlock(r)

        raw_spin_lock(rd.rto_lock)
        # Hand the walk to the next overloaded CPU.
        cpu = self.rto_next_cpu(rd)
        raw_spin_unlock(rd.rto_lock)

        if cpu < 0:
            self.sched_put_rd(rd)
            return

        # Re-queueing our own work is legal: irq_work_single() cleared PENDING before
        # calling us.  To this CPU it is a local queue: the irq_work self-IPI.
        self.irq_work_queue_on(rd.rto_push_work, cpu)

    # -- rt.c: pulling -------------------------------------------------------------------

    @kfunc(RT_C, line=2230, show=True)
    def pull_rt_task(self, this_rq: rq) -> None:
        this_cpu = this_rq.cpu
        resched = False
        rt_overload_count = self.rt_overloaded(this_rq)

        if not rt_overload_count:
            return

        # Pairs with the smp_wmb() in rt_set_overload(): a count we saw has its mask bit.
        smp_rmb()

        # We are the only overloaded CPU: nobody to pull from.
        if rt_overload_count == 1 and cpumask_test_cpu(this_rq.cpu, this_rq.rd.rto_mask):
            return

        if self.sched_feat("RT_PUSH_IPI"):
            self.tell_cpu_to_push(this_rq)
            return

        # The legacy pull: lock each overloaded rq in turn and take its best task.
        cpu = cpumask_next(-1, this_rq.rd.rto_mask, self.nr_cpu_ids)
        while cpu < self.nr_cpu_ids:  # for_each_cpu(cpu, this_rq->rd->rto_mask)
            if this_cpu == cpu:
                cpu = cpumask_next(cpu, this_rq.rd.rto_mask, self.nr_cpu_ids)
                continue

            src_rq = self.cpu_rq(cpu)

            # Racy pre-check, fine either way: a rising src pushes, a falling one we skip.
            if src_rq.rt.highest_prio.next >= this_rq.rt.highest_prio.curr:
                cpu = cpumask_next(cpu, this_rq.rd.rto_mask, self.nr_cpu_ids)
                continue

            # double_lock_balance() may drop our lock; this_rq may change meanwhile.
            push_task = None
            self.double_lock_balance(this_rq, src_rq)

            # Only a task that is pushable on its rq may be pulled.
            p = self.pick_highest_pushable_task(src_rq, this_cpu)

            # Does it outrank what we are about to run?
            if p is not None and p.prio < this_rq.rt.highest_prio.curr:
                WARN_ON(p is src_rq.curr)
                WARN_ON(not self.task_on_rq_queued(p))

                if p.prio < src_rq.donor.prio:
                    # It outranks what runs there too: it is about to run there (goto skip).
                    pass
                elif self.is_migration_disabled(p):
                    push_task = self.get_push_task(src_rq)
                else:
                    self.move_queued_task_locked(src_rq, this_rq, p)
                    resched = True
                # Keep looking: another rq may hold an even better task.

            # skip:
            self.double_unlock_balance(this_rq, src_rq)

            if push_task is not None:
                preempt_disable()
                self.raw_spin_rq_unlock(this_rq)
                self.stop_one_cpu_nowait(src_rq.cpu, push_task)
                preempt_enable()
                self.raw_spin_rq_lock(this_rq)

            cpu = cpumask_next(cpu, this_rq.rd.rto_mask, self.nr_cpu_ids)

        if resched:
            self.resched_curr(this_rq)


PORT = rt_c
