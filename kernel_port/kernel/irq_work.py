# SPDX-License-Identifier: GPL-2.0-only
"""irq_work: callbacks queued from any context (NMI included) and run in hard interrupt context.

Ports kernel/irq_work.c of Linux v6.17 (read at Kingxukai/linux 9b44fff6, v6.17-rc3), the
inline helpers of include/linux/irq_work.h (read at PlutoNing/linux 84df5fec, v6.6; unchanged
since) and the flag bits of include/linux/smp_types.h (Kingxukai/linux 0291023e).

The flag word
-------------
An irq_work embeds the same ``__call_single_node`` as a CSD of kernel/smp.c: an llist node plus
one flags word.  The low nibble holds the irq_work bits (PENDING 0x01, BUSY 0x02, LAZY 0x04,
HARD_IRQ 0x08); the high nibble holds the node *type*, which smp.c's queue flush reads to tell
a CSD from an irq_work (CSD_TYPE_IRQ_WORK 0x20).  Bit 0x01 is CSD_FLAG_LOCK for a CSD and
IRQ_WORK_PENDING for an irq_work: one enum, two meanings.

The life of a work item, in our words (the header keeps a table of the same four states,
listed as "next pointer, flags"):

=========  ============  =======  ==========================================================
state      node.next     flags    meaning
=========  ============  =======  ==========================================================
free       unlinked      0        nobody owns it; anyone may claim it
claimed    unlinked      3        a queuer won the claim (PENDING|BUSY) and is about to link it
pending    on a list     3        linked on a raised/lazy list (or a CSD queue); will run
busy       unlinked      2        taken off the list, PENDING dropped, callback running
=========  ============  =======  ==========================================================

From *busy* the runner returns the item to *free* with a cmpxchg that only succeeds if nobody
claimed it meanwhile; a claim during *busy* succeeds (PENDING was clear), moves it to
*claimed/pending* again, and the runner's cmpxchg then fails and leaves BUSY set.  So a
callback may re-queue its own work, and ``irq_work_sync()`` (which waits for BUSY to clear)
waits until the item is really free.  Once claimed, the flags also carry the type 0x20, and
LAZY/HARD_IRQ stay as the initialiser set them.

The one fact the lost-self-IPI bug rests on: a local queue raises the irq_work interrupt only
when ``llist_add()`` reports that the list was empty.  If that one interrupt is lost, every
later queue on the CPU sees a non-empty list and raises nothing.

What is abstracted
------------------
* ``struct rcuwait irqwait`` is the port of kernel/rcuwait.py: ``irq_work_sync()`` sleeps in
  ``rcuwait_wait_event()`` and ``irq_work_single()`` wakes it.  A waiter that is a kernel
  thread of the model really sleeps; a CPU's base context (no task_struct in the model) waits
  as a blocked spin instead (see that module for why this is the same for the corpus).
* PREEMPT_RT's ``irq_workd`` per-CPU thread is a real kernel thread of the engine's task model:
  ``irq_work_init_threads()`` registers the smpboot thread "irq_work/%u" (kernel/smpboot.py)
  when PREEMPT_RT is configured; its loop sleeps until ``irq_workd_should_run()`` (this CPU's
  lazy list is non-empty) and then runs ``run_irq_workd()`` in task context, at SCHED_FIFO
  priority 1 (``irq_workd_setup()``), so a wake-up from an interrupt preempts normal tasks at
  interrupt exit.  The early_initcall is the port's init: the threads exist before a scenario
  starts.  ``wake_up_process()`` is the engine's.
* ``kasan_record_aux_stack()``, the ``trace_ipi_send_cpu`` tracepoint and lockdep's
  irq_work annotations: no effect on behaviour, left out.
* ``lockdep_assert_irqs_enabled()`` in ``irq_work_sync()`` exists only in a lockdep kernel
  (CONFIG_PROVE_LOCKING), where it is a ``WARN_ON_ONCE``.  The model is a lockdep kernel
  here: it always checks it, with that WARN_ON_ONCE (a production kernel checks nothing).
* Remote queueing hands the node to kernel/smp.c's ``__smp_call_single_queue()`` (the port of
  kernel/smp.c provides it as ``self._smp_call_single_queue``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..engine import (
    BUG_ON,
    TASK_UNINTERRUPTIBLE,
    WARN_ON_ONCE,
    PerCpu,
    Struct,
    atomic_cmpxchg,
    atomic_fetch_or,
    atomic_read,
    atomic_set,
    atomic_t,
    cpu_is_offline,
    cpu_relax,
    field,
    in_nmi,
    irqs_disabled,
    kconfig,
    kfunc,
    might_sleep,
    preempt_disable,
    preempt_enable,
    smp_mb,
    smp_processor_id,
    wake_up_process,
)
from ..lib.llist import llist_head, llist_node
from .rcuwait import rcuwait
from .smpboot import smp_hotplug_thread

IRQ_WORK_C = "kernel/irq_work.c"
IRQ_WORK_H = "include/linux/irq_work.h"

# include/linux/smp_types.h (one enum shared by CSDs and irq_works)
CSD_FLAG_LOCK = 0x01
IRQ_WORK_PENDING = 0x01
IRQ_WORK_BUSY = 0x02
IRQ_WORK_LAZY = 0x04  # no interrupt: wait for the tick
IRQ_WORK_HARD_IRQ = 0x08  # stays in hard interrupt context on PREEMPT_RT
IRQ_WORK_CLAIMED = IRQ_WORK_PENDING | IRQ_WORK_BUSY
CSD_TYPE_ASYNC = 0x00
CSD_TYPE_SYNC = 0x10
CSD_TYPE_IRQ_WORK = 0x20
CSD_TYPE_TTWU = 0x30
CSD_FLAG_TYPE_MASK = 0xF0


class __call_single_node(Struct):
    """The node an irq_work shares with CSDs: ``llist`` plus the flags word ``a_flags``.

    C overlays ``unsigned int u_flags`` and ``atomic_t a_flags``; here ``a_flags`` is the
    atomic_t and ``u_flags`` is its counter.  Both members are fixed at set-up.
    """

    llist = field(None, shared=False)
    a_flags = field(None, shared=False)


call_single_node = __call_single_node


class irq_work(Struct):
    node = field(None, shared=False)
    func = field(None, shared=False)
    irqwait = field(None, shared=False)  # the struct rcuwait (its task pointer is shared)


def __IRQ_WORK_INIT(func: Callable[[irq_work], Any], flags: int, name: str | None = None) -> irq_work:
    """Build a work item with ``func`` and initial ``flags`` (set-up time)."""
    work = irq_work(name=name)
    nm = work.kp_name
    node = call_single_node(
        name=f"{nm}.node",
        llist=llist_node(name=f"{nm}.llist"),
        a_flags=atomic_t(name=f"{nm}.flags", counter=flags),
    )
    node.llist.owner = work
    work.node = node
    work.func = func
    work.irqwait = rcuwait(name=f"{nm}.irqwait")
    return work


def IRQ_WORK_INIT(func: Callable[[irq_work], Any], name: str | None = None) -> irq_work:
    return __IRQ_WORK_INIT(func, 0, name)


def IRQ_WORK_INIT_LAZY(func: Callable[[irq_work], Any], name: str | None = None) -> irq_work:
    return __IRQ_WORK_INIT(func, IRQ_WORK_LAZY, name)


def IRQ_WORK_INIT_HARD(func: Callable[[irq_work], Any], name: str | None = None) -> irq_work:
    return __IRQ_WORK_INIT(func, IRQ_WORK_HARD_IRQ, name)


class irq_work_c:
    """Port of kernel/irq_work.c (v6.17) and the inline helpers of irq_work.h."""

    OWN_INITS: tuple[str, ...] = ("init_irq_work_percpu",)

    def init_irq_work_percpu(self) -> None:
        # The file's per-CPU variables.
        self.raised_list = PerCpu(llist_head, "raised_list")
        self.lazy_list = PerCpu(llist_head, "lazy_list")
        # Task pointers of the PREEMPT_RT threads (None: not registered).
        self.irq_workd: list[Any] = [None] * self.m.ncpus
        # A HARD work per CPU whose only job is to wake that CPU's thread (CONFIG_SMP).
        self.irq_work_wakeup = PerCpu(lambda name: IRQ_WORK_INIT_HARD(self.irq_work_wake, name), "irq_work_wakeup")
        self.irq_work_init_threads()

    # -- include/linux/irq_work.h ------------------------------------------------

    @kfunc(IRQ_WORK_H, "v6.6", line=39)
    def init_irq_work(self, work: irq_work, func: Callable[[irq_work], Any]) -> None:
        # Set-up time re-initialisation: flags 0, new callback.
        work.func = func
        work.node.a_flags.counter = 0

    @kfunc(IRQ_WORK_H, "v6.6", line=44)
    def irq_work_is_pending(self, work: irq_work) -> bool:
        return bool(atomic_read(work.node.a_flags) & IRQ_WORK_PENDING)

    @kfunc(IRQ_WORK_H, "v6.6", line=49)
    def irq_work_is_busy(self, work: irq_work) -> bool:
        return bool(atomic_read(work.node.a_flags) & IRQ_WORK_BUSY)

    @kfunc(IRQ_WORK_H, "v6.6", line=54)
    def irq_work_is_hard(self, work: irq_work) -> bool:
        return bool(atomic_read(work.node.a_flags) & IRQ_WORK_HARD_IRQ)

    # -- PREEMPT_RT thread plumbing ------------------------------------------------

    @kfunc(IRQ_WORK_C, line=31)
    def wake_irq_workd(self) -> None:
        cpu = smp_processor_id()
        tsk = self.irq_workd[cpu]
        if not self.llist_empty(self.lazy_list[cpu]) and tsk is not None:
            wake_up_process(tsk)

    @kfunc(IRQ_WORK_C, line=40)
    def irq_work_wake(self, entry: irq_work) -> None:
        self.wake_irq_workd()

    @kfunc(IRQ_WORK_C, line=49)
    def irq_workd_should_run(self, cpu: int) -> bool:
        return not self.llist_empty(self.lazy_list[cpu])

    # -- claiming and queueing -------------------------------------------------------

    @kfunc(IRQ_WORK_C, line=57, show=True)
    def irq_work_claim(self, work: irq_work) -> bool:
        # Set PENDING|BUSY and the type in one fully ordered RMW, whatever the outcome.  The
        # claim fails only if PENDING was already set: the queued run has not started yet,
        # and the smp_mb() in irq_work_single() orders our earlier stores before it.
        oflags = atomic_fetch_or(IRQ_WORK_CLAIMED | CSD_TYPE_IRQ_WORK, work.node.a_flags)
        if oflags & IRQ_WORK_PENDING:  # noqa: SIM103 (the C's shape)
            return False
        return True

    @kfunc(IRQ_WORK_C, line=72)
    def arch_irq_work_raise(self) -> None:
        # The weak default: architectures without a self-interrupt rely on the tick.
        pass

    @kfunc(IRQ_WORK_C, line=79)
    def irq_work_raise(self, work: irq_work) -> None:
        # The ipi tracepoint is left out; the raise itself is the arch hook.
        self.arch_irq_work_raise()

    @kfunc(IRQ_WORK_C, name="__irq_work_queue_local", line=88)
    def _irq_work_queue_local(self, work: irq_work) -> None:
        cpu = smp_processor_id()
        rt_lazy_work = False
        lazy_work = False
        work_flags = atomic_read(work.node.a_flags)
        if work_flags & IRQ_WORK_LAZY:
            lazy_work = True
        elif kconfig("PREEMPT_RT") and not (work_flags & IRQ_WORK_HARD_IRQ):
            rt_lazy_work = True

        if lazy_work or rt_lazy_work:
            lst = self.lazy_list[cpu]
        else:
            lst = self.raised_list[cpu]

        # Only the add that finds the list empty raises: a non-empty list is taken to mean
        # that an interrupt (or the tick, for lazy work) is already on its way.
        if not self.llist_add(work.node.llist, lst):
            return

        # Lazy work waits for the next tick, unless this CPU's tick is stopped.
        if not lazy_work or self.tick_nohz_tick_stopped():
            self.irq_work_raise(work)

    @kfunc(IRQ_WORK_C, line=116, show=True)
    def irq_work_queue(self, work: irq_work) -> bool:
        if not self.irq_work_claim(work):
            return False
        preempt_disable()
        self._irq_work_queue_local(work)
        preempt_enable()
        return True

    @kfunc(IRQ_WORK_C, line=137, show=True)
    def irq_work_queue_on(self, work: irq_work, cpu: int) -> bool:
        # CONFIG_SMP is always on in this machine.
        WARN_ON_ONCE(cpu_is_offline(cpu), "irq_work queued on an offline CPU")

        if not self.irq_work_claim(work):
            return False

        # kasan_record_aux_stack(work): no behaviour, left out.
        preempt_disable()
        if cpu != smp_processor_id():
            # The remote backend (the smp.c IPI) is not NMI-safe.
            WARN_ON_ONCE(in_nmi())

            # On RT, work not marked HARD goes on the target's lazy list and only a HARD
            # wake-up work travels through the CSD queue, to wake the target's thread.
            if kconfig("PREEMPT_RT") and not (atomic_read(work.node.a_flags) & IRQ_WORK_HARD_IRQ):
                if not self.llist_add(work.node.llist, self.lazy_list[cpu]):
                    preempt_enable()
                    return True
                work = self.irq_work_wakeup[cpu]
                if not self.irq_work_claim(work):
                    preempt_enable()
                    return True

            self._smp_call_single_queue(cpu, work.node.llist)
        else:
            self._irq_work_queue_local(work)
        preempt_enable()
        return True

    # -- running -------------------------------------------------------------------------

    @kfunc(IRQ_WORK_C, line=184, show=True)
    def irq_work_needs_cpu(self) -> bool:
        cpu = smp_processor_id()
        raised = self.raised_list[cpu]
        lazy = self.lazy_list[cpu]

        # Lazy work always keeps the tick.  Raised work keeps it only when the architecture
        # has no irq_work interrupt: otherwise the interrupt is trusted to run it.
        if self.llist_empty(raised) or self.arch_irq_work_has_interrupt():
            if self.llist_empty(lazy):
                return False

        WARN_ON_ONCE(cpu_is_offline(cpu), "irq_work pending on an offline CPU")
        return True

    @kfunc(IRQ_WORK_C, line=201)
    def irq_work_single(self, work: irq_work) -> None:
        # PENDING works as a lock the runner holds: a racing claimer only ORs in bits that are
        # already set, so a plain store of the cleared word loses nothing.  From here on the
        # item can be claimed and queued again.
        flags = atomic_read(work.node.a_flags)
        flags &= ~IRQ_WORK_PENDING
        atomic_set(work.node.a_flags, flags)

        # Pairs with the fully ordered fetch_or in irq_work_claim(): a claimer that lost to us
        # had its stores ordered before the callback reads anything.
        smp_mb()

        work.func(work)

        # Back to free only if nobody claimed the item while the callback ran.
        atomic_cmpxchg(work.node.a_flags, flags, flags & ~IRQ_WORK_BUSY)

        if (kconfig("PREEMPT_RT") and not self.irq_work_is_hard(work)) or not self.arch_irq_work_has_interrupt():
            self.rcuwait_wake_up(work.irqwait)

    @kfunc(IRQ_WORK_C, line=235)
    def irq_work_run_list(self, lst: llist_head) -> None:
        # Outside RT every list is run with interrupts off; on RT the lazy list is run by the
        # preemptible thread.
        BUG_ON(not irqs_disabled() and not kconfig("PREEMPT_RT"))

        if self.llist_empty(lst):
            return

        llnode = self.llist_del_all(lst)
        # The safe walk: read the successor before the callback, which may re-queue the item
        # (and so rewrite its next pointer).  Newest first, as the chain comes off the list.
        while llnode is not None:
            nxt = llnode.next
            self.irq_work_single(llnode.owner)
            llnode = nxt

    @kfunc(IRQ_WORK_C, line=259)
    def irq_work_run(self) -> None:
        cpu = smp_processor_id()
        self.irq_work_run_list(self.raised_list[cpu])
        if not kconfig("PREEMPT_RT"):
            self.irq_work_run_list(self.lazy_list[cpu])
        else:
            self.wake_irq_workd()

    @kfunc(IRQ_WORK_C, line=269)
    def irq_work_tick(self) -> None:
        cpu = smp_processor_id()
        raised = self.raised_list[cpu]

        # 76a33061: with an irq_work interrupt, raised work is left to that interrupt.
        if not self.llist_empty(raised) and not self.arch_irq_work_has_interrupt():
            self.irq_work_run_list(raised)

        if not kconfig("PREEMPT_RT"):
            self.irq_work_run_list(self.lazy_list[cpu])
        else:
            self.wake_irq_workd()

    @kfunc(IRQ_WORK_C, line=286)
    def irq_work_sync(self, work: irq_work) -> None:
        # lockdep_assert_irqs_enabled(): checked only by a lockdep kernel (CONFIG_PROVE_LOCKING),
        # whose assert is this WARN_ON_ONCE; the model checks it always (module docstring).
        WARN_ON_ONCE(irqs_disabled(), "irq_work_sync() with interrupts disabled")
        might_sleep("irq_work_sync()")

        if (kconfig("PREEMPT_RT") and not self.irq_work_is_hard(work)) or not self.arch_irq_work_has_interrupt():
            # Sleep until the runner has cleared BUSY and woken us (irq_work_single()).
            self.rcuwait_wait_event(
                work.irqwait,
                lambda: not self.irq_work_is_busy(work),
                TASK_UNINTERRUPTIBLE,
                f"irq_work_sync(): waiting until {work.kp_name} is no longer BUSY",
            )
            return

        while self.irq_work_is_busy(work):
            cpu_relax(f"irq_work_sync(): spinning until {work.kp_name} is no longer BUSY")

    # -- the PREEMPT_RT per-CPU thread ------------------------------------------------------

    @kfunc(IRQ_WORK_C, line=303)
    def run_irq_workd(self, cpu: int) -> None:
        self.irq_work_run_list(self.lazy_list[cpu])

    @kfunc(IRQ_WORK_C, line=308)
    def irq_workd_setup(self, cpu: int) -> None:
        # sched_set_fifo_low(current): the lowest real-time priority, so that the thread runs
        # before any normal task.  Called at set-up for the thread of ``cpu`` (kernel/smpboot.py).
        self.sched_set_fifo_low(self.irq_workd[cpu])

    def irqwork_threads(self) -> smp_hotplug_thread:
        # The smpboot descriptor (a static struct in the C, L313).
        return smp_hotplug_thread(
            store=self.irq_workd,
            thread_should_run=self.irq_workd_should_run,
            thread_fn=self.run_irq_workd,
            thread_comm="irq_work/%u",
            setup=self.irq_workd_setup,
        )

    @kfunc(IRQ_WORK_C, line=321)
    def irq_work_init_threads(self) -> int:
        # An early_initcall: the per-CPU threads exist only on PREEMPT_RT.
        if kconfig("PREEMPT_RT"):
            BUG_ON(self.smpboot_register_percpu_thread(self.irqwork_threads()))
        return 0


PORT = irq_work_c
