# SPDX-License-Identifier: GPL-2.0-only
"""94894c9c: the push walk skips the CPU it is running on.

"sched/rt: Skip currently executing CPU in rto_next_cpu()", Chen Jinghuang, authored
2026-01-22, committed by Peter Zijlstra to tip sched/core 2026-02-03 (Suggested-by Steven
Rostedt and K Prateek Nayak; Reviewed-by Steven Rostedt and Valentin Schneider; also in
stable).  Fixes 4bdced5c9a29 ("sched/rt: Simplify the IPI based RT balancing logic").

Without it, ``rto_next_cpu()`` called from the relay on CPU n can return n itself: when n is
overloaded and someone bumped ``rto_loop_next`` during the pass, the rescan starts from the
first bit and finds n again, and the relay queues its own work locally -- an irq_work
self-IPI taken as soon as the current interrupt returns (rt.self-ipi-loop).  The change
reads ``smp_processor_id()`` once and, right after recording the candidate in
``rto_cpu``, skips it when it is this CPU; the scan then continues after it, and the end-of-
mask check works as before.  The mixin overrides only ``rto_next_cpu()``.
"""

from __future__ import annotations

from kernel_port.engine import atomic_read_acquire, kfunc, smp_processor_id
from kernel_port.kernel.sched.rt import RT_C, cpumask_next, root_domain
from kernel_port.variants import Patch

V = "94894c9c"


class rto_next_cpu_skips_self:
    """rto_next_cpu() that never hands the walk back to the calling CPU."""

    nr_cpu_ids: int

    @kfunc(RT_C, V, line=2107, show=True)
    def rto_next_cpu(self, rd: root_domain) -> int:
        this_cpu = smp_processor_id()
        while True:
            cpu = cpumask_next(rd.rto_cpu, rd.rto_mask, self.nr_cpu_ids)
            rd.rto_cpu = cpu

            # No IPI to ourselves: move on past this CPU.
            if cpu == this_cpu:
                continue

            if cpu < self.nr_cpu_ids:
                return cpu

            rd.rto_cpu = -1

            nxt = atomic_read_acquire(rd.rto_loop_next)
            if rd.rto_loop == nxt:
                break
            rd.rto_loop = nxt
        return -1


PATCH = Patch(
    name="94894c9c",
    cls=rto_next_cpu_skips_self,
    title="sched/rt: Skip currently executing CPU in rto_next_cpu()",
    author="Chen Jinghuang",
    date="2026-01-22",
    kind="upstream",
    applies_to=("v6.17",),
    upstream="94894c9c477e53bcea052e075c53f89df3d2a33e",
    link="20260122012533.673768-1-chenjinghuang2@huawei.com",
    fixes="4bdced5c9a29 (sched/rt: Simplify the IPI based RT balancing logic)",
)
