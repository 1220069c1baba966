# SPDX-License-Identifier: GPL-2.0-only
"""Tree pre-8d056c48: kernel/smp.c as 8d056c48 found it (the v3.15 cycle, lockless queue).

Where it was read
-----------------
kernel/smp.c and kernel/cpu.c of Linux 3.15.5 (the snapshot of
pradeep0605/CS736_Eager_paging_linux-3.15.5, commit a9bdf583 "Base", Makefile 3.15.5;
the research changes in that repository do not touch either file).  3.15's stable
updates did not change these functions, so the line numbers in the kfunc tags are v3.15's.

8d056c48 was the second patch of a two-patch series; its parent upstream is the first,
a219ccf46373 ("smp: print more useful debug info upon receiving IPI on an offline CPU"),
merged with it in the v3.16 merge window.  Its diff was not read.  It replaced v3.15's
``WARN_ON_ONCE(!cpu_online(...))`` at the top of the handler by a once-only warning,
tested after the queue was taken, that also names each queued callback.  That block is
reconstructed from the v3.16 file (index id 21084923), where 8d056c48's only change to it
is the pair of extra conditions ``warn_cpu_offline`` and ``!llist_empty(head)`` (the latter
is the test Nadav Amit's 9e949a388635, "Fixes: 8d056c48e4862", corrected in 2022).  Either
way the parent warns whenever the handler runs on an offline CPU, whatever the queue holds.

Where it differs from v6.17, and only that
------------------------------------------
* The CSD has two flag bits, LOCK and WAIT (``CSD_FLAG_WAIT`` marks a caller spinning on
  its on-stack CSD), and no type nibble.  ``csd_lock()`` ends with a full barrier,
  ``csd_unlock()`` warns only for a WAIT csd that is not locked, and clears only the lock
  bit.  ``csd_lock_wait()`` spins on the lock bit with ``cpu_relax()``; as in the v3.10 tree
  the spin is one ``await_field`` step taken when the bit is clear (re-reads that find it set
  change nothing; see trees/v3_10.py for what the loop form cost).  The C field ``flags`` is
  kept in the node's ``u_flags`` slot of the ported CSD.
* ``call_single_queue`` is already the llist of v6.17 (since v3.14): the sender sends the
  IPI only when its ``llist_add()`` found the queue empty.
* ``generic_exec_single(cpu, csd, func, info, wait)`` does the whole call: the local case,
  the online check, choosing the CSD (the caller's, the on-stack one for ``wait``, or the
  per-CPU ``csd_data``), locking it, queueing, and waiting.
* The handler takes the queue, reverses it, warns once if this CPU is offline (a219ccf4,
  above), then runs each callback *before* unlocking its CSD.
* ``smp_call_function_many()`` queues to every target and sends the mask IPI to all.
* **No flush when a CPU goes offline.**  ``take_cpu_down()`` sends CPU_DYING through the
  notifier chain, and the smp notifier ``hotplug_cfd()`` has no CPU_DYING case.

Kept from mainline (not part of what 8d056c48 changes): stop_machine, the x86 offline and
online steps, and irq_work (v3.15's irq_work had no remote queueing: ``irq_work_queue_on()``
and irq_works on the call queue came later, so no scenario may queue one remotely on this
tree; the handler here does not know them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..engine import (
    WARN_ON,
    WARN_ON_ONCE,
    Struct,
    await_field,
    cpu_online,
    field,
    in_task,
    irqs_disabled,
    kfunc,
    local_irq_restore,
    local_irq_save,
    nr_cpu_ids,
    preempt_disable,
    preempt_enable,
    smp_mb,
    smp_processor_id,
)
from ..kernel.cpu import CPUHP_AP_OFFLINE
from ..kernel.smp import CPU_ONLINE_MASK, CSD_FLAG_LOCK, ENXIO, call_single_data_t
from ..lib.llist import llist_entry
from ..linux import Linux
from ..variants import Tree

SMP_C = "kernel/smp.c"
CPU_C = "kernel/cpu.c"
V = "v3.15"
V_A219 = "v3.15+a219ccf4"

# kernel/smp.c of v3.15: the two flag bits.
CSD_FLAG_WAIT = 0x02

# Notifier actions (include/linux/cpu.h).
CPU_DYING = 0x0008
CPU_TASKS_FROZEN = 0x0010


class smp_statics_315(Struct):
    """The handler's once-per-boot ``warned`` (a219ccf4)."""

    warned = field(False)


class Linux_pre_8d056c48(Linux):  # type: ignore[misc, valid-type]
    """v6.17 with kernel/smp.c and the CPU_DYING step of v3.15 (+ a219ccf4)."""

    TREE_NAME = "pre-8d056c48"

    def init_smp(self) -> None:
        super().init_smp()
        self.smp_statics = smp_statics_315(name="smp.c")

    # -- csd lock ----------------------------------------------------------------
    @kfunc(SMP_C, V, line=89)
    def csd_lock_wait(self, csd: call_single_data_t) -> None:
        # The cpu_relax() spin on the lock bit, reduced to a wait (module docstring).
        await_field(csd.node, "u_flags", lambda v: not v & CSD_FLAG_LOCK, hint=self._wait_hint(csd))

    @kfunc(SMP_C, V, line=95)
    def csd_lock(self, csd: call_single_data_t) -> None:
        self.csd_lock_wait(csd)
        csd.node.u_flags = csd.node.u_flags | CSD_FLAG_LOCK
        # Full barrier: the lock bit before the stores to func and info.
        smp_mb()

    @kfunc(SMP_C, V, line=108)
    def csd_unlock(self, csd: call_single_data_t) -> None:
        flags = csd.node.u_flags
        WARN_ON((flags & CSD_FLAG_WAIT) and not (flags & CSD_FLAG_LOCK), "csd_unlock of an unlocked WAIT csd")
        # Everything the callback did before the waiter sees the bit clear.
        smp_mb()
        csd.node.u_flags = csd.node.u_flags & ~CSD_FLAG_LOCK

    # -- queueing ------------------------------------------------------------------
    @kfunc(SMP_C, V, line=127, show=True)
    def generic_exec_single(  # type: ignore[override]
        self,
        cpu: int,
        csd: call_single_data_t | None,
        func: Callable[[Any], Any],
        info: Any,
        wait: int,
    ) -> int:
        this_cpu = smp_processor_id()
        # The on-stack CSD, flags zeroed on entry (a per-CPU object here: see smp.py).
        csd_stack = self.csd_stack[this_cpu][0 if in_task() else 1]
        csd_stack.node.u_flags = 0

        if cpu == this_cpu:
            flags = local_irq_save()
            func(info)
            local_irq_restore(flags)
            return 0

        # The C compares cpu as unsigned: a negative cpu is out of range too.
        if cpu < 0 or cpu >= nr_cpu_ids() or not cpu_online(cpu):
            return -ENXIO

        if csd is None:
            csd = csd_stack
            if not wait:
                csd = self.csd_data[this_cpu]

        self.csd_lock(csd)

        csd.func = func
        csd.info = info

        if wait:
            csd.node.u_flags = csd.node.u_flags | CSD_FLAG_WAIT

        # Only the sender that finds the queue empty kicks the target.
        csd.kp_target = cpu
        if self.llist_add(csd.node.llist, self.call_single_queue[cpu]):
            self.arch_send_call_function_single_ipi(cpu)

        if wait:
            self.csd_lock_wait(csd)

        return 0

    @kfunc(SMP_C, V_A219, line=184)
    def generic_smp_call_function_single_interrupt(self) -> None:
        me = smp_processor_id()
        entry = self.llist_del_all(self.call_single_queue[me])
        entry = self.llist_reverse_order(entry)

        # a219ccf4: once per boot, if this CPU is offline -- whatever the queue held.
        statics = self.smp_statics
        if not cpu_online(me) and not statics.warned:
            statics.warned = True
            WARN_ON(True, f"IPI on offline CPU {me}")
            node = entry
            while node is not None:
                self._pr(f"IPI callback {llist_entry(node).func!r} sent to offline CPU")
                node = node.next

        # Each callback runs before its CSD is unlocked.
        node = entry
        while node is not None:
            nxt = node.next
            csd = llist_entry(node)
            csd.func(csd.info)
            self.csd_unlock(csd)
            node = nxt

    # -- the API -------------------------------------------------------------------------
    @kfunc(SMP_C, V, line=211, show=True)
    def smp_call_function_single(self, cpu: int, func: Callable[[Any], Any], info: Any, wait: int) -> int:
        preempt_disable()  # get_cpu()
        this_cpu = smp_processor_id()
        WARN_ON_ONCE(cpu_online(this_cpu) and irqs_disabled(), "smp_call_function_single with interrupts off")
        err = self.generic_exec_single(cpu, None, func, info, wait)
        preempt_enable()  # put_cpu()
        return err

    @kfunc(SMP_C, V, line=256, show=True)
    def smp_call_function_single_async(self, cpu: int, csd: call_single_data_t) -> int:
        preempt_disable()
        err = self.generic_exec_single(cpu, csd, csd.func, csd.info, 0)
        preempt_enable()
        return err

    @kfunc(SMP_C, V, line=325)
    def smp_call_function_many(self, mask: Any, func: Callable[[Any], Any], info: Any, wait: bool) -> None:
        this_cpu = smp_processor_id()
        WARN_ON_ONCE(cpu_online(this_cpu) and irqs_disabled(), "smp_call_function_many with interrupts off")
        targets = [c for c in self._online_cpus_in(mask) if c != this_cpu and cpu_online(c)]
        if not targets:
            return
        if len(targets) == 1:
            # Fast path: a single target.
            self.smp_call_function_single(targets[0], func, info, int(wait))
            return
        cfd = self.cfd_data[this_cpu]
        cfd.cpumask = {c for c in self._online_cpus_in(mask) if cpu_online(c)}
        cfd.cpumask.discard(this_cpu)
        if not cfd.cpumask:
            return
        for cpu in sorted(cfd.cpumask):
            csd = cfd.csd[cpu]
            self.csd_lock(csd)
            csd.func = func
            csd.info = info
            csd.kp_target = cpu
            # The result is not looked at: every target gets the mask IPI below.
            self.llist_add(csd.node.llist, self.call_single_queue[cpu])
        self.arch_send_call_function_ipi_mask(set(cfd.cpumask))
        if wait:
            for cpu in sorted(cfd.cpumask):
                self.csd_lock_wait(cfd.csd[cpu])

    @kfunc(SMP_C, V, line=407)
    def smp_call_function(self, func: Callable[[Any], Any], info: Any, wait: int) -> int:  # type: ignore[override]
        preempt_disable()
        self.smp_call_function_many(CPU_ONLINE_MASK, func, info, bool(wait))
        preempt_enable()
        return 0

    def smp_call_function_many_cond(self, *a: Any, **kw: Any) -> None:
        raise NotImplementedError("v3.15 has no smp_call_function_many_cond()")

    def flush_smp_call_function_queue(self, *a: Any) -> None:
        raise NotImplementedError("v3.15 has no flush_smp_call_function_queue() (8d056c48 adds it)")

    def smpcfd_dying_cpu(self, cpu: int) -> int:
        raise NotImplementedError("v3.15 has no smpcfd_dying_cpu(): see hotplug_cfd()")

    # -- hotplug ---------------------------------------------------------------------------
    @kfunc(SMP_C, V, line=33)
    def hotplug_cfd(self, action: int, cpu: int) -> int:
        # CPU_UP_PREPARE allocates and CPU_UP_CANCELED/CPU_DEAD free the
        # sender-side cfd mask and CSDs (static here): nothing to model.
        # There is no CPU_DYING case.
        return 0

    @kfunc(CPU_C, V, line=207)
    def cpu_notify(self, val: int, cpu: int) -> int:
        # The CPU notifier chain: only the smp notifier is modelled.
        return self.hotplug_cfd(val, cpu)

    @kfunc(CPU_C, V, line=300)
    def take_cpu_down(self, _param: Any) -> int:
        cpu = smp_processor_id()
        err = self._cpu_disable()
        if err < 0:
            return err  # type: ignore[no-any-return]
        self.cpu_notify(CPU_DYING, cpu)
        # kthread_park(current): park this CPU's stopper.
        self.stop_machine_park(cpu)
        # What the model's idle-dead path checks (3.15 had no cpuhp states).
        self.cpuhp_state[cpu].state = CPUHP_AP_OFFLINE
        return 0


TREE = Tree(
    name="pre-8d056c48",
    cls=Linux_pre_8d056c48,
    title="kernel/smp.c of the v3.15 cycle: lockless call_single_queue, no flush when a CPU goes offline",
    base="v6.17",
    pinned=(
        "pradeep0605/CS736_Eager_paging_linux-3.15.5 kernel/smp.c, kernel/cpu.c @ a9bdf583 (Linux 3.15.5); "
        "a219ccf4's warning reconstructed from the v3.16 file"
    ),
)
