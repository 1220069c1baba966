# SPDX-License-Identifier: GPL-2.0-only
"""Tree v3.10: kernel/smp.c before the lockless queue and before 8d056c48.

Read at AndreiLux/ref-3.10 e2443397a0e6998ae36da4126f8c489d50aa7d86 (v3.10
with vendor additions: tracepoints, a relaxed-read helper in csd_lock_wait;
the generic_exec_single shape is upstream 3.10's).  Only what differs from
v6.17 is here:

* ``call_single_queue[cpu]`` is a list under a raw spinlock; a sender sends
  the IPI when it found the list empty (the same "only the first sender
  kicks" rule as the llist of v6.17).
* The CSD has only ``CSD_FLAG_LOCK`` (no types); the handler runs every
  callback *before* unlocking it; ``csd_lock`` ends with ``smp_mb()`` and
  ``csd_unlock`` clears only the lock bit.  The C field ``flags`` is kept in
  the node's ``u_flags`` slot of the ported CSD (so traces say ``u_flags``).
  ``csd_lock_wait`` spins on the lock bit with ``cpu_relax()``; like the
  ``smp_cond_load_acquire()`` of v6.17 it is modelled as one step taken when
  the bit is clear (``await_field``: re-reads that find it set change
  nothing).  Written as a ``cpu_relax()`` loop, the pause re-read everything
  the waiter had read since its previous pause -- the queue it had just
  added to -- which made the target's drain of that queue a race of its own
  and doubled the executions of smp.hotplug-lost-ipi for no new behaviour.
* ``smp_call_function_single`` checks the target's online bit before it
  locks and queues; the caller-owned CSD API is ``__smp_call_function_single
  (cpu, csd, wait)``, with no online check at all (callers such as the
  block layer check it themselves); there is no
  ``smp_call_function_single_async``.
* ``smp_call_function_many`` queues to every target and always sends the
  mask IPI to all of them.
* **No flush when a CPU goes offline.**  ``take_cpu_down`` sends the
  CPU_DYING notification, and the smp notifier (``hotplug_cfd``) has no
  CPU_DYING case: whatever is still queued on the outgoing CPU stays there,
  across offline and online.

Kept from mainline (the logic is the same in 3.10; the 3.10 source of
stop_machine.c was not in the index, see the porting notes): the
stop_machine state machine, and the x86 offline/online steps.  The list
itself is modelled as a tuple stored in one shared field (read and written
under the lock, each a step).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..engine import (
    WARN_ON,
    WARN_ON_ONCE,
    PerCpu,
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
    raw_spin_lock,
    raw_spin_lock_irqsave,
    raw_spin_unlock,
    raw_spin_unlock_irqrestore,
    raw_spinlock_t,
    smp_mb,
    smp_processor_id,
)
from ..kernel.cpu import CPUHP_AP_OFFLINE
from ..kernel.smp import CPU_ONLINE_MASK, CSD_FLAG_LOCK, ENXIO, call_single_data_t
from ..linux import Linux
from ..variants import Tree

SMP_C = "kernel/smp.c"
CPU_C = "kernel/cpu.c"
V = "v3.10"

# Notifier actions (include/linux/cpu.h).
CPU_ONLINE = 0x0002
CPU_UP_PREPARE = 0x0003
CPU_UP_CANCELED = 0x0004
CPU_DEAD = 0x0007
CPU_DYING = 0x0008
CPU_TASKS_FROZEN = 0x0010


class call_single_queue_310(Struct):
    """struct call_single_queue { struct list_head list; raw_spinlock_t lock; }."""

    list = field(())
    lock = field(None, shared=False)


class Linux_v3_10(Linux):  # type: ignore[misc, valid-type]
    """v6.17 with kernel/smp.c and the CPU_DYING step of v3.10."""

    TREE_NAME = "v3.10"

    def init_smp(self) -> None:
        super().init_smp()
        q = PerCpu(call_single_queue_310, "call_single_queue")
        for c, qc in enumerate(q):
            qc.lock = raw_spinlock_t(name=f"call_single_queue[{c}].lock")
        self.call_single_queue = q

    # -- csd lock ----------------------------------------------------------------
    @kfunc(SMP_C, V, line=107)
    def csd_lock_wait(self, csd: call_single_data_t) -> None:
        # The spin on the lock bit, reduced to a wait (see the module docstring).
        await_field(csd.node, "u_flags", lambda v: not v & CSD_FLAG_LOCK, hint=self._wait_hint(csd))

    @kfunc(SMP_C, V, line=113)
    def csd_lock(self, csd: call_single_data_t) -> None:
        self.csd_lock_wait(csd)
        csd.node.u_flags = csd.node.u_flags | CSD_FLAG_LOCK
        smp_mb()

    @kfunc(SMP_C, V, line=126)
    def csd_unlock(self, csd: call_single_data_t) -> None:
        WARN_ON(not csd.node.u_flags & CSD_FLAG_LOCK, "csd_unlock of an unlocked csd")
        smp_mb()
        csd.node.u_flags = csd.node.u_flags & ~CSD_FLAG_LOCK

    # -- queueing ------------------------------------------------------------------
    @kfunc(SMP_C, V, line=144, show=True)
    def generic_exec_single(self, cpu: int, csd: call_single_data_t, wait: int = 0) -> None:  # type: ignore[override]
        dst = self.call_single_queue[cpu]
        flags = raw_spin_lock_irqsave(dst.lock)
        lst = dst.list
        ipi = len(lst) == 0
        dst.list = (*lst, csd)  # list_add_tail
        raw_spin_unlock_irqrestore(dst.lock, flags)
        # Only the sender that found the list empty kicks the target.
        csd.kp_target = cpu
        if ipi:
            self.arch_send_call_function_single_ipi(cpu)
        if wait:
            self.csd_lock_wait(csd)

    @kfunc(SMP_C, V, line=179)
    def generic_smp_call_function_single_interrupt(self) -> None:
        me = smp_processor_id()
        q = self.call_single_queue[me]
        # Should not happen on a CPU that is not online.
        WARN_ON_ONCE(not cpu_online(me), f"call-function IPI on offline CPU {me}")
        raw_spin_lock(q.lock)
        lst = q.list  # list_replace_init()
        q.list = ()
        raw_spin_unlock(q.lock)
        self._run_call_single_list(lst)

    def _run_call_single_list(self, lst: tuple[call_single_data_t, ...]) -> None:
        # The loop of the v3.10 handler: callbacks in arrival order, each
        # before its unlock (the flags are sampled first: an unlocked CSD may
        # be gone after its callback).
        for csd in lst:
            csd_flags = csd.node.u_flags
            func = csd.func
            func(csd.info)
            if csd_flags & CSD_FLAG_LOCK:
                self.csd_unlock(csd)

    # -- the API -----------------------------------------------------------------------
    @kfunc(SMP_C, V, line=228, show=True)
    def smp_call_function_single(self, cpu: int, func: Callable[[Any], Any], info: Any, wait: int) -> int:
        err = 0
        preempt_disable()  # get_cpu()
        this_cpu = smp_processor_id()
        WARN_ON_ONCE(cpu_online(this_cpu) and irqs_disabled(), "smp_call_function_single with interrupts off")
        if cpu == this_cpu:
            flags = local_irq_save()
            func(info)
            local_irq_restore(flags)
        elif 0 <= cpu < nr_cpu_ids() and cpu_online(cpu):  # the C compares cpu as unsigned
            # On-stack CSD, flags 0 (see smp.py for why it is a per-CPU object).
            csd = self.csd_stack[this_cpu][0 if in_task() else 1]
            csd.node.u_flags = 0
            if not wait:
                csd = self.csd_data[this_cpu]
            self.csd_lock(csd)
            csd.func = func
            csd.info = info
            self.generic_exec_single(cpu, csd, wait)
        else:
            err = -ENXIO
        preempt_enable()  # put_cpu()
        return err

    @kfunc(SMP_C, V, name="__smp_call_function_single", line=338, show=True)
    def _smp_call_function_single(self, cpu: int, csd: call_single_data_t, wait: int) -> None:
        preempt_disable()  # get_cpu()
        this_cpu = smp_processor_id()
        WARN_ON_ONCE(
            cpu_online(this_cpu) and wait and irqs_disabled(), "__smp_call_function_single waits with irqs off"
        )
        if cpu == this_cpu:
            flags = local_irq_save()
            csd.func(csd.info)
            local_irq_restore(flags)
        else:
            self.csd_lock(csd)
            self.generic_exec_single(cpu, csd, wait)
        preempt_enable()  # put_cpu()

    def smp_call_function_single_async(self, cpu: int, csd: call_single_data_t) -> int:
        raise NotImplementedError("v3.10 has no smp_call_function_single_async(); use __smp_call_function_single()")

    @kfunc(SMP_C, V, line=379)
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
        cfd.cpumask_ipi = set(cfd.cpumask)
        for cpu in sorted(cfd.cpumask):
            csd = cfd.csd[cpu]
            dst = self.call_single_queue[cpu]
            self.csd_lock(csd)
            csd.func = func
            csd.info = info
            csd.kp_target = cpu
            flags = raw_spin_lock_irqsave(dst.lock)
            dst.list = (*dst.list, csd)
            raw_spin_unlock_irqrestore(dst.lock, flags)
        # Every target is kicked, whatever its queue held.
        self.arch_send_call_function_ipi_mask(set(cfd.cpumask_ipi))
        if wait:
            for cpu in sorted(cfd.cpumask):
                self.csd_lock_wait(cfd.csd[cpu])

    @kfunc(SMP_C, V, line=474)
    def smp_call_function(self, func: Callable[[Any], Any], info: Any, wait: int) -> int:  # type: ignore[override]
        preempt_disable()
        self.smp_call_function_many(CPU_ONLINE_MASK, func, info, bool(wait))
        preempt_enable()
        return 0

    def smp_call_function_many_cond(self, *a: Any, **kw: Any) -> None:
        raise NotImplementedError("v3.10 has no smp_call_function_many_cond()")

    def flush_smp_call_function_queue(self) -> None:
        raise NotImplementedError("v3.10 has no flush_smp_call_function_queue()")

    def smpcfd_dying_cpu(self, cpu: int) -> int:
        raise NotImplementedError("v3.10 has no smpcfd_dying_cpu(): see hotplug_cfd()")

    # -- hotplug ---------------------------------------------------------------------------
    @kfunc(SMP_C, V, line=43)
    def hotplug_cfd(self, action: int, cpu: int) -> int:
        # CPU_UP_PREPARE allocates and CPU_UP_CANCELED/CPU_DEAD free the
        # sender-side cfd masks and CSDs (static here): nothing to model.
        # There is no CPU_DYING case.
        return 0

    @kfunc(CPU_C, V)
    def cpu_notify(self, val: int, cpu: int) -> int:
        # The CPU notifier chain: only the smp notifier is modelled.
        return self.hotplug_cfd(val, cpu)

    @kfunc(CPU_C, V)
    def take_cpu_down(self, _param: Any) -> int:
        cpu = smp_processor_id()
        err = self._cpu_disable()
        if err < 0:
            return err  # type: ignore[no-any-return]
        self.cpu_notify(CPU_DYING, cpu)
        # kthread_park(current): park this CPU's stopper.
        self.stop_machine_park(cpu)
        # What the model's idle-dead path checks (3.10 had no cpuhp states).
        self.cpuhp_state[cpu].state = CPUHP_AP_OFFLINE
        return 0


TREE = Tree(
    name="v3.10",
    cls=Linux_v3_10,
    title="kernel/smp.c of v3.10: spinlocked call_single_queue, no flush when a CPU goes offline",
    base="v6.17",
    pinned="AndreiLux/ref-3.10 kernel/smp.c @ e2443397a0e6998ae36da4126f8c489d50aa7d86",
)
