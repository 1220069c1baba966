# SPDX-License-Identifier: GPL-2.0-only
"""tejun-rfc: the IPI relay skips the priority bail and migrates the waiting task.

"[PATCH sched/core] sched/rt: Fix RT_PUSH_IPI soft lockup loop", Tejun Heo, posted
2026-05-06 (message-id 20260506235716.2530720-1-tj@kernel.org; the patch text is quoted in
full in Peter Zijlstra's reply 20260507141437.GJ3102624@noisy.programming.kicks-ass.net).
Cc stable v5.10+; Fixes b6366f048e0c.  Not merged: the thread ended with dd29c017.

The report: a CPU kept in softirq processing (sustained NET_RX load) has a waiting RT task
that outranks its current task.  The relay's ``push_rt_task(rq, true)`` takes the priority
bail -- ``resched_curr()`` and return, the CPU staying in ``rto_mask`` -- but the schedule()
it waits for cannot happen until the softirq work ends, while other CPUs' pulls keep sending
the walk back ("the loop ran millions of iterations").  The patch adds ``&& !pull`` to the
bail, so only the non-relay callers (``push_rt_tasks()``) bail; the relay goes on to
``find_lock_lowest_rq()`` and moves the task to a lower-priority CPU.  The bail itself was
older code that 49bef33e4b87 had only moved up to the ``retry:`` label (Tejun's mail;
Rostedt agreed).

The mixin overrides ``push_rt_task()``; the one changed line is the bail's condition.
"""

from __future__ import annotations

from kernel_port.engine import WARN_ON, kfunc, preempt_disable, preempt_enable
from kernel_port.kernel.sched.rt import RT_C, rq, rt_task
from kernel_port.variants import Patch

V = "tejun-rfc"


class relay_migrates_instead_of_bailing:
    """push_rt_task() whose priority bail does not apply to the IPI relay."""

    @kfunc(RT_C, V, line=1934, show=True)
    def push_rt_task(self, r: rq, pull: bool) -> int:
        ret = 0
        if not r.rt.overloaded:
            return 0

        next_task = self.pick_next_pushable_task(r)
        if next_task is None:
            return 0

        while True:  # retry:
            # The priority bail, now only for callers other than the IPI relay: in the relay
            # (pull) the CPU may be stuck in softirq work and never reach the schedule() the
            # bail waits for, so the relay migrates the task instead.
            if next_task.prio < r.donor.prio and not pull:
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
    name="tejun-rfc",
    cls=relay_migrates_instead_of_bailing,
    title="sched/rt: Fix RT_PUSH_IPI soft lockup loop",
    author="Tejun Heo",
    date="2026-05-06",
    kind="patch",
    applies_to=("v6.17+94894c9c", "v6.17"),
    link="20260506235716.2530720-1-tj@kernel.org",
    fixes="b6366f048e0c (sched/rt: Use IPI to trigger RT task push migration instead of pulling)",
    notes="posted, not merged; text quoted in 20260507141437.GJ3102624@noisy.programming.kicks-ass.net",
)
