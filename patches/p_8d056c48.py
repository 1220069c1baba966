# SPDX-License-Identifier: GPL-2.0-only
"""8d056c48: run the callbacks still queued on the outgoing CPU in its CPU_DYING step.

Srivatsa S. Bhat, "CPU hotplug, smp: flush any pending IPI callbacks before CPU offline"
(8d056c48e486249e6487910b83e0f3be7c14acf7, v3.16 merge window), the second patch of a
two-patch series whose first is a219ccf4 (the parent, see trees/pre_8d056c48.py).  It fixes
Heiko Carstens' 2013 report: an IPI sent to a CPU that has already turned its interrupts
off inside stop_machine is never taken before that CPU dies, its callback stays queued
across offline and online, and every later sender, finding the queue non-empty, sends no
IPI.

Where it was read: the patch's diff was not found in any stored source.  Its content is the
difference between the parent (kernel/smp.c of 3.15.5 plus a219ccf4, trees/pre_8d056c48.py)
and the v3.16 file (index id 21084923) in the three places it touches, which agree with the
commit's title, with Nadav Amit's 9e949a388635 (2022; "Fixes: 8d056c48e4862", about the
warning test below) and with the later ``smpcfd_dying_cpu()``.  The v3.16 file also calls
``irq_work_run()`` at the end of the flush; that line came with Frederic Weisbecker's remote
irq_work queueing of the same merge window, not with this patch, and is not ported here.

What it changes (mixin ``flush_on_dying``, applied to ``pre-8d056c48``):

* the handler's body moves into ``flush_smp_call_function_queue(bool warn_cpu_offline)``,
  which first warns (``WARN_ON``) if interrupts are on; the handler calls it with true;
* ``hotplug_cfd()`` gains a CPU_DYING case (and its _FROZEN twin) that calls it with false
  on the outgoing CPU, inside stop_machine with interrupts off, so callbacks whose IPI came
  too late, or was never taken, run before the CPU goes away;
* the offline warning is gated by ``warn_cpu_offline`` and by the queue being non-empty --
  tested with ``llist_empty()`` on the queue *after* ``llist_del_all()`` has emptied it, so
  it fires only if something was queued in the instant between.  (9e949a388635 later made
  it test the entries just taken; v6.17's port has that form.)  A late IPI that finds its
  callbacks already run by the CPU_DYING flush therefore does not warn.

``v3.10+8d056c48`` is a backport (mixin ``flush_on_dying_v3_10``, kind ``backport``): the
same three changes adapted to v3.10's spinlocked list, which 8d056c48 was not written for.
What was adapted:

* the queue is taken as v3.10's handler takes it, ``list_replace_init()`` under the queue's
  raw spinlock, instead of ``llist_del_all()`` + ``llist_reverse_order()``;
* "the queue is non-empty after it was taken" is ``!list_empty(&q->list)`` read after the
  lock is dropped (the same racy after-the-fact test as the 2014 ``llist_empty(head)``);
* v3.10 has neither a219ccf4's once-only ``warned`` nor its per-callback messages: v3.10's
  own ``WARN_ON_ONCE`` is kept, moved after the queue is taken and gated by the two 2014
  conditions;
* callbacks run before their unlock, as v3.10's handler runs them.
"""

from __future__ import annotations

from kernel_port.engine import (
    WARN_ON,
    WARN_ON_ONCE,
    cpu_online,
    irqs_disabled,
    kfunc,
    raw_spin_lock,
    raw_spin_unlock,
    smp_processor_id,
)
from kernel_port.lib.llist import llist_entry
from kernel_port.variants import Patch

SMP_C = "kernel/smp.c"
CPU_DYING = 0x0008
CPU_TASKS_FROZEN = 0x0010
V = "8d056c48"
V_BACKPORT = "8d056c48 (v3.10 backport)"


class flush_on_dying:
    """The functions 8d056c48 changes, on its parent (v3.15 + a219ccf4)."""

    @kfunc(SMP_C, V)
    def generic_smp_call_function_single_interrupt(self) -> None:
        self.flush_smp_call_function_queue(True)

    @kfunc(SMP_C, V)
    def flush_smp_call_function_queue(self, warn_cpu_offline: bool) -> None:  # type: ignore[override]
        WARN_ON(not irqs_disabled(), "flush_smp_call_function_queue() with interrupts on")

        me = smp_processor_id()
        head = self.call_single_queue[me]
        entry = self.llist_del_all(head)
        entry = self.llist_reverse_order(entry)

        # Warn only for an IPI handled offline, once, and only if the queue is non-empty --
        # looked at after it was just emptied, so almost never.
        statics = self.smp_statics
        if warn_cpu_offline and not cpu_online(me) and not statics.warned and not self.llist_empty(head):
            statics.warned = True
            WARN_ON(True, f"IPI on offline CPU {me}")
            node = entry
            while node is not None:
                self._pr(f"IPI callback {llist_entry(node).func!r} sent to offline CPU")
                node = node.next

        node = entry
        while node is not None:
            nxt = node.next
            csd = llist_entry(node)
            csd.func(csd.info)
            self.csd_unlock(csd)
            node = nxt

    @kfunc(SMP_C, V)
    def hotplug_cfd(self, action: int, cpu: int) -> int:
        if action in (CPU_DYING, CPU_DYING | CPU_TASKS_FROZEN):
            # The IPIs for what is queued here may come too late, or never be taken: this
            # CPU may have turned its interrupts off in stop_machine before they were sent.
            # Run the callbacks now, without the offline warning.
            self.flush_smp_call_function_queue(False)
        return 0


class flush_on_dying_v3_10:
    """8d056c48 backported onto v3.10's spinlocked call_single_queue (module docstring)."""

    @kfunc(SMP_C, V_BACKPORT)
    def generic_smp_call_function_single_interrupt(self) -> None:
        self.flush_smp_call_function_queue(True)

    @kfunc(SMP_C, V_BACKPORT)
    def flush_smp_call_function_queue(self, warn_cpu_offline: bool) -> None:  # type: ignore[override]
        WARN_ON(not irqs_disabled(), "flush_smp_call_function_queue() with interrupts on")

        me = smp_processor_id()
        q = self.call_single_queue[me]
        raw_spin_lock(q.lock)
        lst = q.list  # list_replace_init()
        q.list = ()
        raw_spin_unlock(q.lock)

        # v3.10's once-only warning, moved after the queue is taken and gated as in 2014:
        # an IPI handled offline while the queue (just emptied) is non-empty again.
        WARN_ON_ONCE(
            warn_cpu_offline and not cpu_online(me) and len(q.list) != 0,
            f"IPI on offline CPU {me}",
        )

        self._run_call_single_list(lst)

    @kfunc(SMP_C, V_BACKPORT)
    def hotplug_cfd(self, action: int, cpu: int) -> int:
        if action in (CPU_DYING, CPU_DYING | CPU_TASKS_FROZEN):
            # As upstream: run what is still queued before this CPU goes away.
            self.flush_smp_call_function_queue(False)
        return 0


BACKPORT_V3_10 = Patch(
    name="8d056c48",
    cls=flush_on_dying_v3_10,
    title="CPU hotplug, smp: flush any pending IPI callbacks before CPU offline (backport onto v3.10)",
    author="Srivatsa S. Bhat (backport: this project)",
    date="2014-06-23",
    kind="backport",
    applies_to=("v3.10",),
    upstream="8d056c48e486249e6487910b83e0f3be7c14acf7",
    link="Lost IPIs during CPU Hotplug (Heiko Carstens, 2013): the report this fixes",
    notes=(
        "adapted to v3.10's spinlocked list: list_replace_init under the lock for llist_del_all, "
        "!list_empty(&q->list) for !llist_empty(head), v3.10's WARN_ON_ONCE kept (no a219ccf4)"
    ),
)

PATCH = Patch(
    name="8d056c48",
    cls=flush_on_dying,
    title="CPU hotplug, smp: flush any pending IPI callbacks before CPU offline",
    author="Srivatsa S. Bhat",
    date="2014-06-23",
    kind="upstream",
    applies_to=("pre-8d056c48", "v3.10"),
    upstream="8d056c48e486249e6487910b83e0f3be7c14acf7",
    link="Lost IPIs during CPU Hotplug (Heiko Carstens, 2013): the report this fixes",
    notes="on v3.10 the backport below is applied",
    backports=(BACKPORT_V3_10,),
)
