# SPDX-License-Identifier: GPL-2.0-only
"""c8446b75: drop PENDING with xchg() in irq_work_run() (Frederic Weisbecker, 2012).

"irq_work: Fix racy IRQ_WORK_BUSY flag setting".  Before it the runner dropped PENDING with a
plain store of BUSY and went straight into the callback.  A queuer that had just written new
data could still find PENDING set (the BUSY store not yet visible to it), give up its claim and
trust the running callback to see that data, while the callback had already read the old one.
The fix makes the store an ``xchg()``: a LOCK'd instruction on x86, so the BUSY value is in
memory before the callback reads anything.

It orders the runner's side only.  The queuer still decides on a plain load made after its
own plain data store, so under x86-TSO its data can sit in its store buffer while it reads the
stale PENDING: store buffering with a fence on one side only.  The companion e0bbe2d8 fixes
that side.

The one hunk changes ``irq_work_run()``: the plain store becomes ``xchg()`` (and the comment
above it grows); this mixin overrides exactly that function, otherwise as in the tree.  Where
it was read: the commit message at infradead.org (users/griffoul/linux.git commitdiff
c8446b75be6f); the post-image line is the one in the v3.8-cycle kernel/irq_work.c (index id
35767587, in ``__irq_work_run()`` there, which a later commit split out), and e0bbe2d8's own
message, which draws the runner as ``xchg(flags, IRQ_WORK_BUSY)``.
"""

from __future__ import annotations

from typing import Any

from kernel_port.engine import BUG_ON, cmpxchg, in_irq, irqs_disabled, kfunc, smp_processor_id, xchg
from kernel_port.kernel.irq_work import IRQ_WORK_BUSY
from kernel_port.lib.llist import llist_entry
from kernel_port.variants import Patch

IRQ_WORK_C = "kernel/irq_work.c"
V = "c8446b75"


class busy_with_xchg:
    """irq_work_run() with PENDING dropped through xchg()."""

    @kfunc(IRQ_WORK_C, V, line=100)
    def irq_work_run(self) -> None:
        this_list = self.raised_list[smp_processor_id()]
        if self.llist_empty(this_list):
            return

        BUG_ON(not in_irq())
        BUG_ON(not irqs_disabled())

        llnode = self.llist_del_all(this_list)
        while llnode is not None:
            work: Any = llist_entry(llnode)
            llnode = self.llist_next(llnode)

            # A LOCK'd exchange: the BUSY value reaches memory (and this CPU's earlier stores
            # with it) before the callback reads anything, so a claimer that still sees
            # PENDING did so before this point.
            xchg(work.node.a_flags, "counter", IRQ_WORK_BUSY)
            work.func(work)
            cmpxchg(work.node.a_flags, "counter", IRQ_WORK_BUSY, 0)


PATCH = Patch(
    name="c8446b75",
    cls=busy_with_xchg,
    title="irq_work: Fix racy IRQ_WORK_BUSY flag setting",
    author="Frederic Weisbecker",
    date="2012-10-30 (AuthorDate, as far as found; merged for v3.7/v3.8, Cc stable)",
    kind="upstream",
    applies_to=("pre-c8446b75",),
    upstream="c8446b75be6f85b3d40066922876cb7adc948afb",
    link="https://www.infradead.org/git/?a=commitdiff&h=c8446b75be6f85b3d40066922876cb7adc948afb&p=users%2Fgriffoul%2Flinux.git",
    notes="orders the runner's side only; the claim side is e0bbe2d8",
)
