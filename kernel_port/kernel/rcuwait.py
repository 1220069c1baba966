# SPDX-License-Identifier: GPL-2.0-only
"""rcuwait: one task sleeping until a condition holds, woken by whoever makes it hold.

Ports the rcuwait of Linux v6.17: the struct and the inline helpers of include/linux/rcuwait.h
(``prepare_to_rcuwait()``, the ``rcuwait_wait_event()`` macro; read at Kingxukai/linux 9b44fff6),
``rcuwait_wake_up()`` of kernel/exit.c and ``finish_rcuwait()`` of kernel/rcu/update.c (both read
at Kingxukai/linux 0291023e; their line numbers were not counted, so the kfunc tags carry none).
irq_work uses it: ``irq_work_sync()`` sleeps on ``work->irqwait`` where the work runs in the
irq_work thread (PREEMPT_RT, not HARD) or from the tick (no irq_work interrupt), and
``irq_work_single()`` wakes it after the callback.

How it works: the waiter publishes itself in ``w->task``, then loops: set its state to
sleeping, test the condition, and call ``schedule()`` if it does not hold yet.  The waker
makes the condition true, issues a full barrier, reads ``w->task`` and wakes that task.  The
two barriers -- the one implied by ``set_current_state()`` and the waker's ``smp_mb()`` -- make
the pair of "store then load" on each side safe: either the waiter sees the condition, or the
waker sees the task (and its wake-up makes ``schedule()`` return).

What is abstracted, and why
---------------------------
* **A waiter without a task.**  The engine's task model (engine/tasks.py) gives task_structs
  only to kernel threads; a CPU's *base context* (the scenario's program, then its idle loop)
  has none and cannot leave the CPU.  There ``rcuwait_wait_event()`` cannot sleep: it waits
  for the condition as a blocked spin (the CPU is not schedulable until another CPU writes
  what the condition read; interrupts are still taken), and publishes no task, so the waker
  wakes nobody.  For what the corpus asks this is the same: the base context runs at normal
  priority, every kernel thread of the model outranks it and preempts it at the next
  preemption point (interrupt exit) whether it sleeps or spins; what the spin loses is only
  that the CPU could idle meanwhile.  A kernel thread of the model sleeps for real, so a
  waiter that outranks the thread it waits for (a SCHED_FIFO 50 thread waiting for irq_work/N
  at FIFO 1 on the same CPU) is not reported as a deadlock.
* ``rcu_read_lock()``/``rcu_dereference()``/``rcu_assign_pointer()``: the task pointer is a
  shared field read and written as steps; RCU's grace periods protect the task_struct from
  being freed, which the model never does.  ``signal_pending_state()``: kernel threads in the
  model get no signals (and irq_work waits TASK_UNINTERRUPTIBLE).
"""

from __future__ import annotations

from collections.abc import Callable

from ..engine import (
    TASK_RUNNING,
    Struct,
    cpu_relax,
    current_task,
    field,
    kfunc,
    schedule,
    set_current_state,
    smp_mb,
    wake_up_process,
)

RCUWAIT_H = "include/linux/rcuwait.h"
EXIT_C = "kernel/exit.c"
RCU_UPDATE_C = "kernel/rcu/update.c"


class rcuwait(Struct):
    """struct rcuwait: the one task waiting, or NULL (a shared pointer)."""

    task = field(None)


class rcuwait_c:
    """Port of the rcuwait helpers (v6.17)."""

    OWN_INITS: tuple[str, ...] = ()

    @kfunc(RCUWAIT_H, line=21)
    def rcuwait_active(self, w: rcuwait) -> bool:
        # A racy hint, as the header says of it: no ordering with anything.
        return w.task is not None

    @kfunc(RCUWAIT_H, line=34)
    def prepare_to_rcuwait(self, w: rcuwait) -> None:
        w.task = current_task()

    @kfunc(RCU_UPDATE_C)
    def finish_rcuwait(self, w: rcuwait) -> None:
        w.task = None
        set_current_state(TASK_RUNNING)  # __set_current_state(): the plain store

    @kfunc(EXIT_C)
    def rcuwait_wake_up(self, w: rcuwait) -> int:
        ret = 0
        # Pairs with the barrier of the waiter's set_current_state(): the condition this
        # caller made true is ordered before its load of the task pointer.
        smp_mb()
        task = w.task
        if task is not None:
            ret = int(wake_up_process(task))
        return ret

    @kfunc(RCUWAIT_H, line=41)
    def rcuwait_wait_event(self, w: rcuwait, condition: Callable[[], bool], state: int, hint: str = "") -> int:
        """``rcuwait_wait_event(w, condition, state)``; ``condition`` is re-evaluated each time
        round, as the macro does.  ``hint`` names the wait if the waiter can never go on."""
        if current_task() is None:
            # The base context has no task to sleep (module docstring): wait for the
            # condition as a blocked spin.
            while not condition():
                cpu_relax(hint or "rcuwait_wait_event(): waiting in a context without a task")
            return 0
        self.prepare_to_rcuwait(w)
        while True:
            # set_current_state() implies the full barrier that pairs with the waker's.
            set_current_state(state)
            if condition():
                break
            schedule()
        self.finish_rcuwait(w)
        return 0


PORT = rcuwait_c
