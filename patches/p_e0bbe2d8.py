# SPDX-License-Identifier: GPL-2.0-only
"""e0bbe2d8: claim through cmpxchg() and trust only its result (Frederic Weisbecker, 2012).

"irq_work: Fix racy check on work pending flag", the companion of c8446b75 (the claim fix).
Before it ``irq_work_claim()`` read the flags with a plain load and gave up as soon as that
value showed PENDING.  Under x86-TSO the plain load can run ahead of the queuer's own earlier
data store (still in its store buffer) and see a PENDING that the runner has already dropped:
the queuer gives up, and the running callback reads the old data.

After it the claim starts from a guess (the current flags without PENDING), and only the
value a ``cmpxchg()`` returns decides: if the cmpxchg succeeds the work is ours; if it fails
and the value it saw has PENDING, someone else's queued run will see our data, since that
cmpxchg is LOCK'd and so drains this CPU's earlier stores before it reads; otherwise retry
from the value seen.  The first plain load is kept, but only as the starting guess.

One hunk, in ``irq_work_claim()``; this mixin overrides exactly that function.  Where it was
read: the commit message at review.shift-gmbh.com (gitiles SHIFTPHONES/mainline/linux, commit
e0bbe2d80c415bd4063d894ec2ccb336788af814; also git-ie.linaro.org vexpress-lsk.git), and the
post-image function in the v3.8-cycle kernel/irq_work.c (index id 35767587, line 37).
The hash was found by searching public commit mirrors for the title.
"""

from __future__ import annotations

from kernel_port.engine import cmpxchg, kfunc
from kernel_port.kernel.irq_work import IRQ_WORK_BUSY, IRQ_WORK_PENDING, irq_work
from kernel_port.variants import Patch

IRQ_WORK_C = "kernel/irq_work.c"
V = "e0bbe2d8"
IRQ_WORK_FLAGS = IRQ_WORK_PENDING | IRQ_WORK_BUSY


class claim_by_cmpxchg:
    """irq_work_claim() deciding on the cmpxchg's result only."""

    @kfunc(IRQ_WORK_C, V, line=37, show=True)
    def irq_work_claim(self, work: irq_work) -> bool:
        word = work.node.a_flags
        # A guess (plain load), never a reason to give up by itself.
        flags = word.counter & ~IRQ_WORK_PENDING
        while True:
            nflags = flags | IRQ_WORK_FLAGS
            oflags = cmpxchg(word, "counter", flags, nflags)
            if oflags == flags:
                break
            # A failed cmpxchg is still LOCK'd: the value it saw is a decision we may trust.
            if oflags & IRQ_WORK_PENDING:
                return False
            flags = oflags
            # The C pauses here (cpu_relax()).  This loop is not a wait: its next cmpxchg
            # starts from the value just seen and may succeed with no other CPU storing
            # anything.  The engine's cpu_relax() means "wait until something read is
            # written", which would be a false deadlock here, so the pause is left out.
        return True


PATCH = Patch(
    name="e0bbe2d8",
    cls=claim_by_cmpxchg,
    title="irq_work: Fix racy check on work pending flag",
    author="Frederic Weisbecker",
    date="2012 (v3.8 cycle; committed after c8446b75, whose xchg its message draws)",
    kind="upstream",
    applies_to=("pre-c8446b75+c8446b75", "pre-c8446b75"),
    upstream="e0bbe2d80c415bd4063d894ec2ccb336788af814",
    link="https://review.shift-gmbh.com/plugins/gitiles/SHIFTPHONES/mainline/linux/+/e0bbe2d80c415bd4063d894ec2ccb336788af814",
    notes="the claim fix of issue 18; upstream it follows c8446b75 (on pre-c8446b75 alone it is the same hunk)",
)
