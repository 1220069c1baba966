# SPDX-License-Identifier: GPL-2.0-only
"""CPU priority tracking for RT placement: kernel/sched/cpupri.c of Linux v6.17.

Read at Kingxukai/linux 0291023e7330da28f2f7453c87c2ab7082d8360f (v6.17-rc); the layout of
``struct cpupri`` and the CPUPRI_* values are kernel/sched/cpupri.h, read in a v6.18 copy
(gfunkmonk/linux-6.18.2 4f48a2ee; unchanged since the 5.x rework that dropped CPUPRI_IDLE).
Line numbers in the kfunc tags were counted in that snapshot (hand-counted, +-5).

What it does
------------
Each root domain keeps, for every priority level, a vector: a count of the CPUs at that
level and a mask of them (``pri_to_cpu[]``), plus each CPU's current level
(``cpu_to_pri[]``).  Level 0 (CPUPRI_NORMAL) is a CPU running no RT task (idle or CFS),
levels 1..99 are RT priorities with 99 the highest, 100 (CPUPRI_HIGHER) is above every RT
task, -1 (CPUPRI_INVALID) is an offline CPU.  The RT class calls ``cpupri_set()`` whenever a
run queue's highest queued RT priority changes (inc_rt_prio()/dec_rt_prio() in rt.c, with the
rq lock held).  ``find_lowest_rq()`` asks ``cpupri_find()`` for the CPUs of the lowest level
below the task's: it scans the levels from 0 upwards and stops at the first whose count is
non-zero and whose mask meets the task's affinity.  For a FIFO-1 task only level 0 is
looked at, so finding a target costs a count and a mask read, not one read per CPU.

The protocol is lock-free: ``cpupri_set()`` adds the CPU to the new level (mask bit, then the
count) before it removes it from the old one (count, then mask bit), with full barriers in
between, and ``__cpupri_find()`` reads a level's count, then (smp_rmb) its mask.  A search may
see a CPU at both levels or see a stale level; the callers recheck under the rq locks
(``find_lock_lowest_rq()``), so a stale answer costs a retry, never a wrong migration.

What is modelled, and what is abstracted (and why)
--------------------------------------------------
* Every count is an ``atomic_t`` and every mask a shared ``cpumask_t`` word (lib/cpumask.py:
  set/clear bit are atomic RMW steps, a mask read is one read step), each a shared location of its own, so
  the searches interleave cpupri_set() and cpupri_find() at every access.  They live in the
  root domain (named ``<rd>.cpupri...``): in the timed mode they are root-domain cache lines
  like rto_mask and pay the same cost.
* ``cpu_to_pri[]`` is plain per-CPU data: only ``cpupri_set()`` for that CPU reads or writes
  it, always under that CPU's rq lock, so the value cannot change under the access and
  reading it as a step would only lengthen the executions.
* ``lowest_mask`` (rt.c's per-CPU ``local_cpu_mask``) is a private scratch mask of the CPU
  doing the search: a ``cpumask_var`` (lib/cpumask.py), not a shared location.
* ``cpu_active_mask`` is every CPU: hotplug is not modelled on this path (rt.py).
* ``cpupri_find_fitness()`` is ported with its fitness loop; the only fitness function in
  the kernel is capacity awareness (``rt_task_fits_capacity``), which find_lowest_rq() uses
  only on asymmetric-capacity systems.  The machine is symmetric, so it is never passed.
* ``cpupri_init()``'s allocation failure path does not arise (allocation cannot fail here).
"""

from __future__ import annotations

from typing import Any

from ...engine import (
    BUG_ON,
    WARN_ON_ONCE,
    Struct,
    atomic_dec,
    atomic_inc,
    atomic_read,
    atomic_t,
    field,
    kfunc,
    smp_mb__after_atomic,
    smp_mb__before_atomic,
    smp_rmb,
)
from ...lib.cpumask import bits_of, cpumask_clear_cpu, cpumask_set_cpu, cpumask_t, cpumask_var, cpus_of

CPUPRI_C = "kernel/sched/cpupri.c"

MAX_RT_PRIO = 100
CPUPRI_NR_PRIORITIES = MAX_RT_PRIO + 1
CPUPRI_INVALID = -1
CPUPRI_NORMAL = 0
CPUPRI_HIGHER = 100


class cpupri_vec(Struct):
    count = field(None, shared=False)  # atomic_t
    mask = field(None, shared=False)  # cpumask_t


class cpupri(Struct):
    pri_to_cpu = field((), shared=False)  # CPUPRI_NR_PRIORITIES vectors
    cpu_to_pri = field(None, shared=False)  # list[int]: plain per-CPU data (see the docstring)


# Every machine builds the 101 levels (every scenario's kernel has a root domain): their
# names are formatted once per process.
_LEVEL_NAMES: dict[str, tuple[tuple[str, str, str], ...]] = {}


def _level_names(name: str) -> tuple[tuple[str, str, str], ...]:
    names = _LEVEL_NAMES.get(name)
    if names is None:
        names = tuple(
            (f"{name}.pri_to_cpu[{i}]", f"{name}.pri_to_cpu[{i}].count", f"{name}.pri_to_cpu[{i}].mask")
            for i in range(CPUPRI_NR_PRIORITIES)
        )
        _LEVEL_NAMES[name] = names
    return names


class cpupri_c:
    """Port of kernel/sched/cpupri.c (v6.17)."""

    m: Any

    @kfunc(CPUPRI_C, line=43)
    def convert_prio(self, prio: int) -> int:
        # Kernel priority (0 highest RT .. 99 not RT, 100 above RT) to cpupri level.
        if prio == CPUPRI_INVALID:
            return CPUPRI_INVALID
        if 0 <= prio <= 98:
            return MAX_RT_PRIO - 1 - prio  # RT: 1 .. 99
        if prio == MAX_RT_PRIO - 1:
            return CPUPRI_NORMAL
        if prio == MAX_RT_PRIO:
            return CPUPRI_HIGHER
        raise ValueError(f"convert_prio({prio}): not a cpupri input")  # the switch has no default

    @kfunc(CPUPRI_C, line=68, name="__cpupri_find")
    def _cpupri_find(self, cp: cpupri, p: Any, lowest_mask: cpumask_var | None, idx: int) -> int:
        vec = cp.pri_to_cpu[idx]
        skip = 0

        if not atomic_read(vec.count):
            skip = 1
        # Count, then mask: pairs with the barriers of cpupri_set().  A zero count with the
        # mask still set can only be a CPU leaving this level, which a pull will follow up;
        # the barrier is taken on every level, skipped or not.
        smp_rmb()

        if skip:
            return 0

        allowed = bits_of(p.cpus_mask)
        # cpumask_any_and(): is any allowed CPU at this level?
        if not allowed & atomic_read(vec.mask):
            return 0

        if lowest_mask is not None:
            # cpumask_and() twice: a second read of the level's mask, then the active CPUs.
            lowest_mask.bits = allowed & atomic_read(vec.mask)
            lowest_mask.bits &= self.cpu_active_mask_bits()
            # The level may have emptied between the two mask reads: then act as if it had
            # been empty all along and go on to the next level.
            if not lowest_mask.bits:
                return 0

        return 1

    @kfunc(CPUPRI_C, line=122)
    def cpupri_find(self, cp: cpupri, p: Any, lowest_mask: cpumask_var | None) -> int:
        return self.cpupri_find_fitness(cp, p, lowest_mask, None)

    @kfunc(CPUPRI_C, line=145)
    def cpupri_find_fitness(self, cp: cpupri, p: Any, lowest_mask: cpumask_var | None, fitness_fn: Any) -> int:
        task_pri = self.convert_prio(p.prio)

        WARN_ON_ONCE(task_pri >= CPUPRI_NR_PRIORITIES)

        for idx in range(task_pri):
            if not self._cpupri_find(cp, p, lowest_mask, idx):
                continue

            if lowest_mask is None or fitness_fn is None:
                return 1

            # Drop the CPUs whose capacity does not fit the task.
            for cpu in cpus_of(lowest_mask.bits):
                if not fitness_fn(p, cpu):
                    lowest_mask.bits &= ~(1 << cpu)

            # None fits at this level: look further up.
            if not lowest_mask.bits:
                continue

            return 1

        # Nothing fitted anywhere: search again, ignoring fitness (priority before capacity).
        if fitness_fn is not None:
            return self.cpupri_find(cp, p, lowest_mask)

        return 0

    @kfunc(CPUPRI_C, line=211)
    def cpupri_set(self, cp: cpupri, cpu: int, newpri: int) -> None:
        # Caller holds cpu_rq(cpu)'s lock.
        oldpri = cp.cpu_to_pri[cpu]
        do_mb = 0

        newpri = self.convert_prio(newpri)

        BUG_ON(newpri >= CPUPRI_NR_PRIORITIES)

        if newpri == oldpri:
            return

        # Join the new level before leaving the old one, so a search in between sees the CPU
        # at one level or the other, never at neither.
        if newpri != CPUPRI_INVALID:
            vec = cp.pri_to_cpu[newpri]
            cpumask_set_cpu(cpu, vec.mask)
            # Mask bit before count: a search that sees the count sees the bit.
            smp_mb__before_atomic()
            atomic_inc(vec.count)
            do_mb = 1
        if oldpri != CPUPRI_INVALID:
            vec = cp.pri_to_cpu[oldpri]
            # The new level must be visible before the old count drops (only needed when a
            # new level was joined).
            if do_mb:
                smp_mb__after_atomic()
            # Leaving: count first, then the mask bit.
            atomic_dec(vec.count)
            smp_mb__after_atomic()
            cpumask_clear_cpu(cpu, vec.mask)

        cp.cpu_to_pri[cpu] = newpri

    @kfunc(CPUPRI_C, line=279)
    def cpupri_init(self, cp: cpupri) -> int:
        # Zeroed counts and masks at every level; every CPU starts INVALID (not yet online).
        cp.pri_to_cpu = tuple(
            cpupri_vec(name=vec, count=atomic_t(name=count), mask=cpumask_t(name=mask))
            for vec, count, mask in _level_names(cp.kp_name)
        )
        cp.cpu_to_pri = [CPUPRI_INVALID] * self.m.ncpus
        return 0

    def cpu_active_mask_bits(self) -> int:
        # cpu_active_mask: every CPU (hotplug is not modelled on the RT path).
        return (1 << self.m.ncpus) - 1


PORT = cpupri_c
