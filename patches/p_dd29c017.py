# SPDX-License-Identifier: GPL-2.0-only
"""dd29c017: RT_PUSH_IPI is off by default unless PREEMPT_RT.

"sched/rt: Have RT_PUSH_IPI be default off for non PREEMPT_RT", Steven Rostedt, 2026-05-15,
committed by Peter Zijlstra to tip sched/core 2026-05-19 (Reported-by Tejun Heo, Cc stable;
CVE-2026-64374).  Fixes b6366f048e0c ("sched/rt: Use IPI to trigger RT task push migration
instead of pulling").

The change is one line of kernel/sched/features.h: the default of ``RT_PUSH_IPI`` becomes
``IS_ENABLED(CONFIG_PREEMPT_RT)`` (two SCHED_FEAT lines under an ifdef, with a comment
saying the IPIs can hurt when preemption is disabled for long periods).  Without
PREEMPT_RT, softirqs run in interrupt context, so a CPU that keeps servicing them cannot
reach schedule() and the push walk keeps coming back to it; on PREEMPT_RT softirqs run in
threads and the target can schedule.  With the feature off, ``pull_rt_task()`` takes the
legacy path: it locks each overloaded run queue in turn and pulls a waiting task itself,
skipping one that outranks what runs there (it is about to run there anyway).

The mixin overrides the feature table the port reads at boot (``sched_features_h()``).
"""

from __future__ import annotations

from kernel_port.engine import kconfig, kfunc
from kernel_port.kernel.sched.rt import FEATURES_H
from kernel_port.variants import Patch

V = "dd29c017"


class rt_push_ipi_rt_only:
    """The features.h table with RT_PUSH_IPI defaulting to PREEMPT_RT."""

    @kfunc(FEATURES_H, V)
    def sched_features_h(self) -> dict[str, bool]:
        return {"RT_PUSH_IPI": kconfig("PREEMPT_RT")}


PATCH = Patch(
    name="dd29c017",
    cls=rt_push_ipi_rt_only,
    title="sched/rt: Have RT_PUSH_IPI be default off for non PREEMPT_RT",
    author="Steven Rostedt",
    date="2026-05-15",
    kind="upstream",
    applies_to=("v6.17", "v6.17+94894c9c"),
    upstream="dd29c017aed628076e915fe4cdfb5392fd4c5cab",
    link="20260515103740.25ccbed8@gandalf.local.home",
    fixes="b6366f048e0c (sched/rt: Use IPI to trigger RT task push migration instead of pulling)",
)
