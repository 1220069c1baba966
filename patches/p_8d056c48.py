# SPDX-License-Identifier: GPL-2.0-only
"""8d056c48: flush pending IPI callbacks on the outgoing CPU (CPU_DYING).

Upstream the change was made on the lockless-list queue (v3.14+); this
mixin is its backport onto the v3.10 spinlocked list, which changes only how
the queue is taken (``list_replace_init`` under the lock instead of
``llist_del_all``).  What it does, as the merged code shows (the diff itself
was not retrieved, see the porting notes):

* the IPI handler's body moves into ``flush_smp_call_function_queue(bool
  warn_cpu_offline)``, and the handler calls it with ``true``;
* the smp CPU notifier gains a CPU_DYING case that calls it with ``false`` on
  the outgoing CPU, inside stop_machine with interrupts off: callbacks whose
  IPI came too late (or was never taken because this CPU had already turned
  its interrupts off in stop_machine) run before the CPU goes away;
* the warning about callbacks on an offline CPU is skipped for that call.
  (v3.10's handler warns once with ``WARN_ON_ONCE(!cpu_online())``; upstream
  the warning had just been reworked by a219ccf4; here the v3.10 warning is
  kept and gated by ``warn_cpu_offline`` the way 8d056c48 gates it.)
"""

from __future__ import annotations

from kernel_port.engine import WARN_ON_ONCE, cpu_online, kfunc, raw_spin_lock, raw_spin_unlock, smp_processor_id
from kernel_port.variants import Patch

SMP_C = "kernel/smp.c"
CPU_DYING = 0x0008
CPU_TASKS_FROZEN = 0x0010
V = "8d056c48"


class flush_on_dying:
    """The functions 8d056c48 changes, on the v3.10 queue."""

    @kfunc(SMP_C, V)
    def generic_smp_call_function_single_interrupt(self) -> None:
        self.flush_smp_call_function_queue(True)

    @kfunc(SMP_C, V)
    def flush_smp_call_function_queue(self, warn_cpu_offline: bool) -> None:  # type: ignore[override]
        me = smp_processor_id()
        q = self.call_single_queue[me]
        WARN_ON_ONCE(warn_cpu_offline and not cpu_online(me), f"IPI on offline CPU {me}")
        raw_spin_lock(q.lock)
        lst = q.list
        q.list = ()
        raw_spin_unlock(q.lock)
        self._run_call_single_list(lst)

    @kfunc(SMP_C, V)
    def hotplug_cfd(self, action: int, cpu: int) -> int:
        if action in (CPU_DYING, CPU_DYING | CPU_TASKS_FROZEN):
            # The IPIs for callbacks queued here may never be taken: this CPU
            # may have turned its interrupts off in stop_machine before they
            # were sent.  Run the callbacks now, without the offline warning.
            self.flush_smp_call_function_queue(False)
        return 0


PATCH = Patch(
    name="8d056c48",
    cls=flush_on_dying,
    title="CPU hotplug, smp: flush any pending IPI callbacks before CPU offline",
    author="Srivatsa S. Bhat",
    date="2014-06-23",
    kind="upstream",
    applies_to=("v3.10",),
    upstream="8d056c48e486249e6487910b83e0f3be7c14acf7",
    link="Lost IPIs during CPU Hotplug (Heiko Carstens, 2013): the report this fixes",
    notes="backported onto the v3.10 spinlocked call_single_queue",
)
