# SPDX-License-Identifier: GPL-2.0-only
"""smpboot: per-CPU "hotplug" kernel threads (the loop behind irq_work/N, ksoftirqd/N, ...).

Ports the thread loop and the registration of kernel/smpboot.c (read at Kingxukai/linux
0291023e, v6.17-rc; line numbers counted by hand in the stored file) onto the engine's task
model (kernel_port/engine/tasks.py).

A client describes its thread with an ``smp_hotplug_thread``: where to store the per-CPU task
pointers, a predicate ``thread_should_run(cpu)``, the body ``thread_fn(cpu)``, an optional
``setup(cpu)`` and the name pattern.  Registration creates one thread per CPU, bound to it;
each thread runs ``smpboot_thread_fn``: mark itself sleeping, look for work with preemption
off, and either sleep in ``schedule()`` or go back to running and call the body.  Setting the
state *before* the check is what makes a wake-up that lands in between not get lost:
``schedule()`` then returns at once.

What is abstracted, and why
---------------------------
* Parking, unparking, stopping and CPU hotplug of the threads (``kthread_should_stop``,
  ``kthread_should_park``, the park/unpark/cleanup/create hooks, ``smpboot_destroy_threads``,
  the hotplug thread list and its mutex): no scenario takes a CPU with such threads offline.
  The branches are left out of the loop.
* Boot: in the kernel a new thread is parked, then unparked, and its first pass through the
  loop runs ``setup`` (status NONE -> ACTIVE) before it ever sleeps.  That all happens at
  boot, before any scenario runs, so registration here runs the ``setup`` hook at set-up time
  for each thread (with that thread standing for ``current``) and creates the thread already
  ACTIVE and asleep.  The NONE branch of the loop is kept for the shape but is not reached.
* ``preempt_enable_no_resched()`` before ``schedule()`` is ``preempt_enable()``: the engine's
  ``preempt_enable()`` is not a preemption point anyway.
* ``sched_set_fifo_low()`` (kernel/sched/syscalls.c, not ported) sets the thread's priority to
  SCHED_FIFO 1, the lowest real-time priority, and nothing else.
* ``kzalloc_node`` of the per-thread data, ``kthread_set_per_cpu``, ``get_task_struct``: set-up
  bookkeeping with no behaviour here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..engine import (
    BUG_ON,
    TASK_INTERRUPTIBLE,
    TASK_RUNNING,
    kfunc,
    kthread_create_on_cpu,
    preempt_disable,
    preempt_enable,
    rt_prio,
    schedule,
    set_current_state,
    smp_processor_id,
)
from ..engine.tasks import NORMAL_PRIO

SMPBOOT_C = "kernel/smpboot.c"
V = "v6.17"

HP_THREAD_NONE = 0
HP_THREAD_ACTIVE = 1
HP_THREAD_PARKED = 2


class smp_hotplug_thread:
    """The descriptor a client registers (fixed at set-up)."""

    def __init__(
        self,
        store: list[Any],
        thread_should_run: Callable[[int], bool],
        thread_fn: Callable[[int], Any],
        thread_comm: str,
        setup: Callable[[int], Any] | None = None,
    ) -> None:
        self.store = store
        self.thread_should_run = thread_should_run
        self.thread_fn = thread_fn
        self.thread_comm = thread_comm
        self.setup = setup


class smpboot_thread_data:
    """Per-thread data: the CPU and the setup status (touched only by the thread itself)."""

    def __init__(self, cpu: int, ht: smp_hotplug_thread) -> None:
        self.cpu = cpu
        self.status = HP_THREAD_NONE
        self.ht = ht


class smpboot_c:
    """Port of the thread loop and registration of kernel/smpboot.c."""

    OWN_INITS: tuple[str, ...] = ()
    m: Any

    @kfunc(SMPBOOT_C, V, line=102)
    def smpboot_thread_fn(self, td: smpboot_thread_data) -> int:
        ht = td.ht
        while True:
            set_current_state(TASK_INTERRUPTIBLE)
            preempt_disable()
            # kthread_should_stop() / kthread_should_park(): not modelled (module docstring).

            BUG_ON(td.cpu != smp_processor_id())

            if td.status == HP_THREAD_NONE:
                set_current_state(TASK_RUNNING)
                preempt_enable()
                if ht.setup is not None:
                    ht.setup(td.cpu)
                td.status = HP_THREAD_ACTIVE
                continue

            if not ht.thread_should_run(td.cpu):
                preempt_enable()  # preempt_enable_no_resched()
                schedule()
            else:
                set_current_state(TASK_RUNNING)  # __set_current_state()
                preempt_enable()
                ht.thread_fn(td.cpu)

    @kfunc(SMPBOOT_C, V, name="__smpboot_create_thread", line=166)
    def _smpboot_create_thread(self, ht: smp_hotplug_thread, cpu: int) -> int:
        if ht.store[cpu] is not None:
            return 0
        td = smpboot_thread_data(cpu, ht)
        tsk = kthread_create_on_cpu(self.m, cpu, lambda: self.smpboot_thread_fn(td), ht.thread_comm % cpu, NORMAL_PRIO)
        ht.store[cpu] = tsk
        # The boot-time first pass of the loop (see the module docstring): setup, then ACTIVE.
        if ht.setup is not None:
            ht.setup(cpu)
        td.status = HP_THREAD_ACTIVE
        return 0

    @kfunc(SMPBOOT_C, V, line=284)
    def smpboot_register_percpu_thread(self, plug_thread: smp_hotplug_thread) -> int:
        ret = 0
        for cpu in range(self.m.ncpus):
            ret = self._smpboot_create_thread(plug_thread, cpu)
            if ret:
                break
        return ret

    def sched_set_fifo_low(self, p: Any) -> None:
        """SCHED_FIFO priority 1 (kernel/sched/syscalls.c, reduced to the priority)."""
        p.prio = rt_prio(1)
        p.ts.prio = rt_prio(1)


PORT = smpboot_c
