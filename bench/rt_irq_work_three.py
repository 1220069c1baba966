# SPDX-License-Identifier: GPL-2.0-only
"""The two-CPU PREEMPT_RT irq_work scenario of issue 17, as a bench-only scenario.

CPU 1 queues one irq_work locally while CPU 0 queues two to CPU 1 (the corpus's
``irq_work.rt-remote-double-queue`` plus a third, local, work on the target).  It is what a
reviewer writes in ten minutes, and what the issue measured: about 59,500 executions and
600 s on pre-b4c6f86+b4c6f86, no end in 600 s on v6.17.

Why it lives under bench/ and not in scenarios/: its OK cells (pre-b4c6f86+b4c6f86, v6.17)
need a complete search that takes minutes today, so as a corpus scenario it would break the
matrix's per-cell goal (DESIGN.md: every cell under 2 s) and make the test suite (which
asserts every cell) several minutes longer.  Its BUG cell (pre-b4c6f86: the remote works run
in hard interrupt context) is found in a fraction of a second, so once the search meets the
issue's goal (<= 30 s on every variant) it can move to scenarios/irq_work_rt.py with both
cells as they are here.

The class is built from the corpus scenario at load time (``three_works()``), so it follows
any change to that scenario's property.
"""

from __future__ import annotations

from typing import Any

from kernel_port.kernel.irq_work import IRQ_WORK_INIT
from kernel_port.scenario import BUG, OK, Scenario, get_scenario


def three_works() -> type[Scenario]:
    base: Any = get_scenario("irq_work.rt-remote-double-queue")

    def setup(self: Any, k: Any, m: Any) -> None:
        base.setup(self, k, m)
        # The third work, queued by CPU 1 on itself (flags 0: a lazy work on PREEMPT_RT).
        self.runs["c"] = 0
        self.local = IRQ_WORK_INIT(self.work_func, name="c")
        self.heads["lazy_list[0]"] = k.lazy_list[0]
        self.heads["raised_list[0]"] = k.raised_list[0]

    def cpu1(self: Any, k: Any) -> None:
        k.irq_work_queue(self.local)

    attrs: dict[str, Any] = {
        "__doc__": "CPU 1 queues one irq_work locally while CPU 0 queues two to CPU 1 (PREEMPT_RT).\n\n"
        + (base.__doc__ or ""),
        "name": "bench.rt-three-works",
        "expect": {"pre-b4c6f86": BUG, "pre-b4c6f86+b4c6f86": OK, "v6.17": OK},
        "setup": setup,
        "cpu1": cpu1,
    }
    return type("RtThreeWorks", (base,), attrs)
