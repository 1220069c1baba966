# SPDX-License-Identifier: GPL-2.0-only
"""b4c6f86: irq_work on PREEMPT_RT runs work not marked HARD in a per-CPU thread (as merged).

Sebastian Andrzej Siewior's patch, merged through tip sched/core for v5.16.  On PREEMPT_RT a
``spinlock_t`` is a sleeping lock, and some irq_work callbacks take one (or free memory), so
they must not run in hard interrupt context.  The patch splits the work by its flags:

* work marked IRQ_WORK_HARD_IRQ keeps running from the interrupt;
* every other work goes on the CPU's lazy list and is run by the per-CPU smpboot thread
  "irq_work/%u" at the lowest SCHED_FIFO priority.  A local queue still raises the irq_work
  interrupt on the empty edge; the interrupt (``irq_work_run()``) and the tick wake the thread.
* a remote non-HARD work is added to the *target's* lazy list; only if that list was empty
  is the target's HARD wake-up work ``irq_work_wakeup[cpu]`` queued through the CSD queue, and
  only if it can be claimed (a pending one will wake the thread anyway).  Otherwise the
  queuer is done: ``goto out``.
* ``irq_work_run_list()`` no longer insists on interrupts off on PREEMPT_RT.

Where it was read: the tip-bot mail carrying the diff (index id 37243314050, blob e789bed ->
90b6b56).  The functions it writes are, line for line, the v6.17 code already ported in
kernel_port/kernel/irq_work.py (only the tracepoint wrapper ``irq_work_raise()`` around
``arch_irq_work_raise()`` came later, and it has no behaviour), so this mixin takes those
methods, with their v6.17 file/line, rather than copying them.  It does not touch
``irq_work_single()`` or ``irq_work_sync()``: their RT rcuwait came with the follow-up
09089db7, so the tree's v5.15 versions stay.
"""

from __future__ import annotations

from kernel_port.kernel.irq_work import irq_work_c
from kernel_port.variants import Patch


class irq_work_rt_thread:
    """The functions b4c6f86 changed or added, as merged (identical to v6.17)."""

    wake_irq_workd = irq_work_c.wake_irq_workd
    irq_work_wake = irq_work_c.irq_work_wake
    irq_workd_should_run = irq_work_c.irq_workd_should_run
    _irq_work_queue_local = irq_work_c._irq_work_queue_local
    irq_work_queue_on = irq_work_c.irq_work_queue_on
    irq_work_run_list = irq_work_c.irq_work_run_list
    irq_work_run = irq_work_c.irq_work_run
    irq_work_tick = irq_work_c.irq_work_tick
    run_irq_workd = irq_work_c.run_irq_workd
    irq_workd_setup = irq_work_c.irq_workd_setup
    irqwork_threads = irq_work_c.irqwork_threads
    irq_work_init_threads = irq_work_c.irq_work_init_threads


PATCH = Patch(
    name="b4c6f86",
    cls=irq_work_rt_thread,
    title="irq_work: Handle some irq_work in a per-CPU thread on PREEMPT_RT",
    author="Sebastian Andrzej Siewior",
    date="2021-10-07 (AuthorDate; committed to tip sched/core 2021-10-15, v5.16)",
    kind="upstream",
    applies_to=("pre-b4c6f86",),
    upstream="b4c6f86ec2f648b5e6d4b04564fbc6d5351160a8",
    link="https://lore.kernel.org/r/20211007092646.uhshe3ut2wkrcfzv@linutronix.de",
    fixes="irq_work callbacks taking sleeping locks (spinlock_t) in hard interrupt context on PREEMPT_RT",
)
