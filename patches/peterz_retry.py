# SPDX-License-Identifier: GPL-2.0-only
"""peterz-retry: count priority bails per context switch; give up after 16.

Peter Zijlstra's review sketch in reply to Tejun's patch (2026-05-07, message-id
20260507141437.GJ3102624@noisy.programming.kicks-ass.net): "If this breaks things, an
alternative is keeping a counter/limit on attempts or something."  Not merged.

**The sketch was written against ``push_dl_task()``** (kernel/sched/deadline.c, the deadline
class's analogue of the priority bail), not against ``push_rt_task()``.  It adds two counters
to ``struct rq`` -- ``rt_switches`` (the ``nr_switches`` value the count belongs to) and
``rt_push_resched`` (bails since then) -- and in the bail: reset the count when a context
switch happened since; if a reschedule is already pending and this is the 17th bail or
later, return 1 instead of asking again.  This mixin applies the same shape to
``push_rt_task()``, as the corpus variant ``v6.17+94894c9c+peterz-retry`` asks.

What returning 1 means here: ``push_rt_task()`` returns 1 when it moved a task, and both
callers loop while it does (``rto_push_irq_work_func()``: ``while push_rt_task(rq, true)``;
``push_rt_tasks()``).  Once the count is past 16, nothing in the bail changes under the rq
lock, so every further call returns 1 again: the relay spins forever in hard interrupt
context with the rq lock held.  The tool reports that as an execution that never ends
(the step budget is exhausted in ``push_rt_task()``); tests/test_rt.py pins it, and
docs/bugs/rt.push-ipi-storm.md discusses it.
"""

from __future__ import annotations

from kernel_port.engine import WARN_ON, field, kfunc, preempt_disable, preempt_enable
from kernel_port.kernel.sched.rt import RT_C, rq, rt_task
from kernel_port.variants import Patch

V = "peterz-retry"

# The sketch's limit on bails between two context switches.
PUSH_RESCHED_LIMIT = 16


class rq_with_push_resched(rq):
    """struct rq with the sketch's two counters."""

    rt_switches = field(0)
    rt_push_resched = field(0)


class bounded_priority_bail:
    """push_rt_task() with the sketch's per-context-switch bail counter."""

    RQ_STRUCT = rq_with_push_resched

    @kfunc(RT_C, V, line=1934, show=True)
    def push_rt_task(self, r: rq, pull: bool) -> int:
        ret = 0
        if not r.rt.overloaded:
            return 0

        next_task = self.pick_next_pushable_task(r)
        if next_task is None:
            return 0

        while True:  # retry:
            if next_task.prio < r.donor.prio:
                # A context switch since the last bail resets the count.
                if r.rt_switches != r.nr_switches:
                    r.rt_switches = r.nr_switches
                    r.rt_push_resched = 0
                # A reschedule is already pending and has not happened for 16 bails: stop
                # asking, and report "pushed" (as the sketch's push_dl_task() did).
                if self.test_tsk_need_resched(r.curr):
                    r.rt_push_resched = r.rt_push_resched + 1
                    if r.rt_push_resched > PUSH_RESCHED_LIMIT:
                        return 1
                self.resched_curr(r)
                return 0

            if self.is_migration_disabled(next_task):
                if not pull or r.push_busy:
                    return 0
                # Stoppers masquerade as FIFO: only an RT-class donor can be pushed away.
                if not rt_task(r.donor):
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


PATCH = Patch(
    name="peterz-retry",
    cls=bounded_priority_bail,
    title="sched/rt: bound the priority bails per context switch (review sketch)",
    author="Peter Zijlstra",
    date="2026-05-07",
    kind="sketch",
    applies_to=("v6.17+94894c9c", "v6.17"),
    link="20260507141437.GJ3102624@noisy.programming.kicks-ass.net",
    notes="sketch written against push_dl_task(); applied here to push_rt_task()",
)
