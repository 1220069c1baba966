# SPDX-License-Identifier: GPL-2.0-only
"""A minimal task model: kernel threads on a CPU, woken, preempting, sleeping.

Each CPU has a *base context* -- the scenario's program for that CPU, then
its idle loop -- and may have kernel threads (``kthread_create_on_cpu``).  A
thread runs in task context on its own stack (a greenlet of its own) with its
own preempt_count, interrupt flag and kernel call stack, saved and restored
when the CPU switches between contexts, as ``switch_to`` does.

* ``wake_up_process(task)`` makes a sleeping thread runnable (one step on the
  task's state and its CPU's run queue).  A woken thread that outranks what
  its CPU runs preempts it at the next preemption point; a remote CPU is
  kicked with the reschedule IPI, as ``resched_curr`` does.
* Preemption points: return from an interrupt to task level with
  preempt_count zero, ``preempt_enable()`` dropping to zero is *not* modelled
  (the corpus' paths do not need it), ``schedule()``, and the idle loop
  (an idle CPU runs runnable threads before halting).
* ``set_current_state(TASK_INTERRUPTIBLE)`` then ``schedule()`` sleeps;
  a wake-up between the two makes ``schedule()`` return at once, as in the
  kernel.  A thread function that returns ends the thread.
* Priorities use the kernel's numbering: lower is more important (a
  SCHED_FIFO priority p is ``99 - p``; normal tasks 120; the idle loop 140).
  Among equal priorities the running context keeps the CPU (no time slices:
  untimed mode has no clock).

Abstracted: no run-queue locks, no load balancing or migration, no
time-slicing, no priority inheritance; a thread is bound to one CPU.  The
decisions that matter for the corpus -- who runs next on a CPU, and whether a
context may sleep -- are made as above, and each is a step DPOR sees (it
reads the CPU's run-queue key).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from greenlet import greenlet

from . import core
from .core import CPU, Machine
from .memory import Struct, field

TASK_RUNNING = 0
TASK_INTERRUPTIBLE = 1
TASK_UNINTERRUPTIBLE = 2
TASK_DEAD = 64

NORMAL_PRIO = 120
IDLE_PRIO = 140
RESCHEDULE_VECTOR = 0xFD


def rt_prio(fifo_priority: int) -> int:
    """The kernel prio of a SCHED_FIFO thread of the given rt priority."""
    return 99 - fifo_priority


class task_struct(Struct):
    state = field(TASK_RUNNING)
    comm = field("", shared=False)
    prio = field(NORMAL_PRIO, shared=False)


class Task:
    """A kernel thread bound to one CPU."""

    def __init__(self, m: Machine, cpu: int, name: str, fn: Callable[[], Any], prio: int) -> None:
        self.m = m
        self.cpu = cpu
        self.name = name
        self.fn = fn
        self.prio = prio
        self.ts = task_struct(name=name, comm=name, prio=prio, state=TASK_INTERRUPTIBLE)
        self.saved: dict[str, Any] | None = None
        self.started = False


_SAVED = (
    "g",
    "kstack",
    "preempt_count",
    "ctx",
    "reads",
    "read_at",
    "wait",
    "awaiting",
    "await_what",
    "wait_hint",
    "guard",
    "irqs_on",
)


def _rq_key(cpu: int) -> tuple[str, int]:
    return ("rq", cpu)


def _state(cpu: CPU) -> dict[str, Any]:
    return {k: getattr(cpu, k) for k in _SAVED}


def _restore(cpu: CPU, saved: dict[str, Any]) -> None:
    for k, v in saved.items():
        setattr(cpu, k, v)


_sched = sched_state = core.sched_state


def kthread_create_on_cpu(m: Machine, cpu: int, fn: Callable[[], Any], name: str, prio: int = NORMAL_PRIO) -> Task:
    """Create a kernel thread bound to ``cpu`` (sleeping until woken)."""
    t = Task(m, cpu, name, fn, prio)
    _sched(m.cpus[cpu])["tasks"].append(t)
    m.scheduler = sys.modules[__name__]
    if RESCHEDULE_VECTOR not in m.vectors:
        m.register_vector(RESCHEDULE_VECTOR, "RESCHEDULE_VECTOR", _scheduler_ipi)
    return t


def _scheduler_ipi(vec: int) -> None:
    from .primitives import apic_eoi

    apic_eoi()  # the preemption check runs at interrupt exit


def current_task() -> Task | None:
    cpu = core.CUR
    assert cpu is not None
    cur: Task | None = _sched(cpu)["current"]
    return cur


def _prio_of_current(cpu: CPU) -> int:
    cur = _sched(cpu)["current"]
    if cur is not None:
        return int(cur.prio)
    return IDLE_PRIO if cpu.program_done else NORMAL_PRIO


def _best_runnable(cpu: CPU) -> Task | None:
    best = None
    for t in _sched(cpu)["tasks"]:
        if t.ts.__dict__["state"] == TASK_RUNNING and t is not _sched(cpu)["current"]:
            if best is None or t.prio < best.prio:
                best = t
    return best


def _switch_to(cpu: CPU, nxt: Task | None) -> None:
    """Context switch on ``cpu`` (CPU context): save the running context,
    resume ``nxt`` (None: the base context) on its own stack."""
    st = _sched(cpu)
    prev: Task | None = st["current"]
    if prev is nxt:
        return
    m = cpu.m
    saved = _state(cpu)
    if prev is None:
        st["base"] = saved
    else:
        prev.saved = saved
    st["current"] = nxt
    if m.tracing:
        m.emit(cpu, "note", f"switch to {nxt.name if nxt is not None else 'base context'}")
    if nxt is None:
        _restore(cpu, st["base"])
    elif nxt.saved is not None:
        _restore(cpu, nxt.saved)
    else:
        cpu.kstack = []
        cpu.preempt_count = 0
        cpu.ctx = ["task"]
        cpu.reads = {}
        cpu.read_at = {}
        cpu.guard = None
        cpu.wait = None
        cpu.awaiting = None
        cpu.await_what = ""
        cpu.wait_hint = ""
        cpu.irqs_on = True
        cpu.g = greenlet(lambda t=nxt: _task_main(cpu, t), parent=m.root)
    me = greenlet.getcurrent()
    assert cpu.g is not None and cpu.g is not me
    cpu.g.switch()


def _task_main(cpu: CPU, t: Task) -> None:
    t.started = True
    t.fn()
    # The thread function returned: the thread is gone.
    t.ts.__dict__["state"] = TASK_DEAD
    _schedule_away(cpu)
    raise RuntimeError(f"dead thread {t.name} ran again")


def _schedule_away(cpu: CPU) -> None:
    nxt = _best_runnable(cpu)
    _switch_to(cpu, nxt)


def preempt_check(cpu: CPU) -> None:
    """At a preemption point: switch to a runnable thread that outranks the
    running context (one step reading the CPU's run queue)."""
    st = _sched(cpu)
    if not st["tasks"]:
        return
    cpu.park(((_rq_key(cpu.id), False),), "preempt_check")
    st["need_resched"] = False
    for hook in cpu.m.sched_hooks:
        hook(cpu)
    best = _best_runnable(cpu)
    if best is not None and best.prio < _prio_of_current(cpu):
        _switch_to(cpu, best)


def idle_pick(cpu: CPU) -> bool:
    """From the idle loop: run a runnable thread if there is one."""
    st = _sched(cpu)
    if not st["tasks"] or st["current"] is not None:
        return False
    cpu.park(((_rq_key(cpu.id), False),), "pick_next_task")
    best = _best_runnable(cpu)
    if best is None:
        return False
    _switch_to(cpu, best)
    return True


def wake_up_process(task: Task) -> bool:
    """Make ``task`` runnable; returns false if it was already running."""
    from .primitives import apic_send_IPI

    cpu = core.CUR
    assert cpu is not None
    m = cpu.m
    key = (task.ts.__dict__["_oid"], "state")
    if m.tso:
        cpu.sb_drain("wake_up_process")  # try_to_wake_up() is a full barrier (its pi_lock)
    cpu.park(m.tso_writes(key) + ((_rq_key(task.cpu), True),), "wake_up_process")
    was = task.ts.__dict__["state"]
    if was in (TASK_RUNNING, TASK_DEAD):
        if m.tracing:
            m.emit(cpu, "step", f"wake_up_process({task.name}) -> false")
        return False
    task.ts.__dict__["state"] = TASK_RUNNING
    m.vals.append((key, was, TASK_RUNNING))
    m.stores.append(key)
    m.stores.append(_rq_key(task.cpu))
    if m.tracing:
        m.emit(cpu, "step", f"wake_up_process({task.name}) -> true")
    target = m.cpus[task.cpu]
    if task.prio < _prio_of_current(target):
        _sched(target)["need_resched"] = True
        if target is not cpu:
            apic_send_IPI(task.cpu, RESCHEDULE_VECTOR)
        elif not cpu.in_hardirq() and cpu.preempt_count == 0:
            preempt_check(cpu)
    return True


def set_current_state(state: int) -> None:
    t = current_task()
    if t is None:
        raise RuntimeError("set_current_state() outside a kernel thread")
    cpu = core.CUR
    if cpu is not None and cpu.m.tso:
        # smp_store_mb(): an xchg on x86, so a LOCK'd store (drains the buffer first).
        from .primitives import xchg

        xchg(t.ts, "state", state)
        return
    t.ts.state = state


def schedule() -> None:
    """Give up the CPU if the current thread is no longer running."""
    from .primitives import might_sleep

    cpu = core.CUR
    assert cpu is not None
    might_sleep("schedule()")
    t = current_task()
    if cpu.m.tso:
        cpu.sb_drain("schedule")  # __schedule() takes the run-queue lock (LOCK'd)
    cpu.park(((_rq_key(cpu.id), False),), "schedule")
    if t is not None and t.ts.__dict__["state"] != TASK_RUNNING:
        for hook in cpu.m.sched_hooks:
            hook(cpu)
        _schedule_away(cpu)
        return
    preempt_check(cpu)
