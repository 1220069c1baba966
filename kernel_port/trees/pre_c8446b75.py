# SPDX-License-Identifier: GPL-2.0-only
"""Tree pre-c8446b75: kernel/irq_work.c just before the two 2012 flag-race fixes (v3.7 cycle).

Where the C was read: kernel/irq_work.c at New-B/Linux3.6 1d88f9407b0e (a v3.6 tree; the same
file is at index id 92403381).  Line numbers below are that file's.  Between v3.6 and the
parent of c8446b75 no change to this file was found (the v3.8-cycle file, index id 35767587,
differs by exactly c8446b75, e0bbe2d8 and later additions: irq_work_needs_cpu, the CPU_DYING
notifier); that it did not change at all in the v3.7 cycle is not confirmed.

Where it differs from v6.17, and only that (four functions):

* ``irq_work_claim()``: a loop that first reads the flags with a *plain load*, gives up if that
  value has PENDING, and otherwise tries one ``cmpxchg()`` from the value it read to the value
  with PENDING|BUSY set, retrying (after ``cpu_relax()``) when the cmpxchg finds the word
  changed.  The decision to give up rests on the plain load, not on an atomic result.
* ``__irq_work_queue()`` and ``irq_work_queue()``: local queueing only (there was no
  ``irq_work_queue_on()`` yet), no LAZY or HARD_IRQ flags; the raise is
  ``arch_irq_work_raise()`` when ``llist_add()`` finds the list empty.
* ``irq_work_run()``: the whole runner in one function.  For each item taken off the list it
  drops PENDING with a *plain store* of BUSY, calls the callback, and then returns the item to
  free with ``cmpxchg(BUSY -> 0)``.  No barrier sits between that plain store and the callback.

What is mainline code under the v3.7 names, so this tree is partly a backport of the model's
machinery rather than a port of every v3.7 line:

* the flags word: v3.7 had a plain ``unsigned long flags`` in ``struct irq_work``; the model
  keeps v6.17's ``work.node.a_flags.counter`` as its storage, and every access here is the C's
  own kind (plain load, plain store, cmpxchg), not an ``atomic_*`` call.  The CSD type bits
  never appear: the 2012 claim sets IRQ_WORK_FLAGS = PENDING|BUSY = 3 only.
* the per-CPU list: v3.7 had one list per CPU, ``irq_work_list``; the model keeps it in the
  slot of v6.17's ``raised_list`` (the x86 handler and the rest of the model read that one).
* ``llist_add()``/``llist_del_all()``: v6.17's (a LOCK'd cmpxchg loop and an xchg, the same
  atomics as the 2012 versions, which spun with ``cpu_relax()`` inside the cmpxchg loop).
* the x86 side (``sysvec_irq_work``, ``arch_irq_work_raise``): v6.6's.  In 2012 the handler
  was ``smp_irq_work_interrupt()`` (ack_APIC_irq, irq_enter, irq_work_run, irq_exit) and the
  raise was the same self-IPI; the order EOI-then-run is the same.

Not modelled, because no scenario of this tree reaches it: the tick's call of
``irq_work_run()`` from ``update_process_times()`` and ``irq_work_sync()`` (v3.7's spins on
BUSY with a plain load, as the mainline port's does).  v6.17's ``irq_work_single()``,
``irq_work_run_list()``, ``irq_work_tick()`` and ``irq_work_queue_on()`` stay in the class
but nothing on this tree's paths calls them.
"""

from __future__ import annotations

from typing import Any

from ..engine import (
    BUG_ON,
    cmpxchg,
    cpu_relax,
    in_irq,
    irqs_disabled,
    kfunc,
    preempt_disable,
    preempt_enable,
    smp_processor_id,
)
from ..kernel.irq_work import IRQ_WORK_BUSY, IRQ_WORK_PENDING, irq_work
from ..lib.llist import llist_entry
from ..linux import Linux
from ..variants import Tree

IRQ_WORK_C = "kernel/irq_work.c"
V = "v3.6"

# kernel/irq_work.c of 2012 (the bits lived in the C file then, not in a header)
IRQ_WORK_FLAGS = IRQ_WORK_PENDING | IRQ_WORK_BUSY


class pre_c8446b75(Linux):  # type: ignore[misc,valid-type]
    """v6.17 with the 2012 claim, queue and run of kernel/irq_work.c."""

    TREE_NAME = "pre-c8446b75"

    @kfunc(IRQ_WORK_C, V, line=35, show=True)
    def irq_work_claim(self, work: irq_work) -> bool:
        word = work.node.a_flags
        while True:
            # A plain load: under TSO it may miss a runner's buffered store of BUSY, and
            # nothing orders it after this CPU's own earlier (buffered) stores.
            flags = word.counter
            if flags & IRQ_WORK_PENDING:
                return False
            nflags = flags | IRQ_WORK_FLAGS
            if cmpxchg(word, "counter", flags, nflags) == flags:
                break
            cpu_relax("irq_work_claim(): the flags changed under the cmpxchg; read them again")
        return True

    @kfunc(IRQ_WORK_C, V, name="__irq_work_queue", line=62)
    def _irq_work_queue(self, work: irq_work) -> None:
        preempt_disable()
        # One list per CPU in 2012 (kept in raised_list's slot, see the module docstring);
        # raise only when the add found it empty.
        empty = self.llist_add(work.node.llist, self.raised_list[smp_processor_id()])
        if empty:
            self.arch_irq_work_raise()
        preempt_enable()

    @kfunc(IRQ_WORK_C, V, line=82, show=True)
    def irq_work_queue(self, work: irq_work) -> bool:
        if not self.irq_work_claim(work):
            # Someone else's pending run is trusted to see our data.
            return False
        self._irq_work_queue(work)
        return True

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

            # PENDING goes with a plain store of BUSY: from here a claimer may succeed and
            # queue the item again.  No fence follows; on x86 the store can still sit in
            # this CPU's store buffer while the callback reads the data.
            work.node.a_flags.counter = IRQ_WORK_BUSY
            work.func(work)
            # Back to free unless a claimer set PENDING meanwhile.
            cmpxchg(work.node.a_flags, "counter", IRQ_WORK_BUSY, 0)


TREE = Tree(
    name="pre-c8446b75",
    cls=pre_c8446b75,
    title="kernel/irq_work.c before the 2012 flag-race fixes c8446b75 and e0bbe2d8 (v3.7 cycle)",
    base="v6.17",
    pinned="kernel/irq_work.c at New-B/Linux3.6 1d88f9407b0e (v3.6; index id 92403381)",
)
