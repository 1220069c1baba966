# SPDX-License-Identifier: GPL-2.0-only
"""Port tests for kernel/sched/cpupri.c and the RT class's calls into it.

The level mapping, the bookkeeping of set-up/enqueue/dequeue (every CPU starts at the
NORMAL level; the highest queued RT task sets the level), what ``cpupri_find()`` returns and
which levels it reads, and the lock-free protocol: a search racing with ``cpupri_set()`` never
misses a CPU that is at an eligible level before and after the move, over every schedule --
and a mutant that leaves the old level before joining the new one does miss it.
"""

from __future__ import annotations

from typing import Any

import pytest

from kernel_port.engine import SimpleProgram, atomic_dec, atomic_inc, local_irq_disable, local_irq_enable
from kernel_port.engine.explorer import check
from kernel_port.engine.tasks import rt_prio
from kernel_port.kernel.sched.cpupri import CPUPRI_HIGHER, CPUPRI_INVALID, CPUPRI_NORMAL
from kernel_port.kernel.sched.rt import NICE_0_PRIO
from kernel_port.lib.cpumask import cpumask_clear_cpu, cpumask_set_cpu, cpumask_var, cpus_of
from kernel_port.variants import parse_variant


def run(ncpus: int, body: Any, cls: Any = None) -> Any:
    var = parse_variant("v6.17")
    kcls = cls or var.cls

    def build(m: Any) -> dict[int, Any]:
        k = kcls(m)
        m.kernel = k
        return body(k, m)  # type: ignore[no-any-return]

    return check(SimpleProgram("cpupri-unit", ncpus, build, config=dict(var.config)))


def levels(k: Any) -> dict[int, list[int]]:
    """Level -> CPUs in its mask, for the non-empty levels (raw reads), checking the counts."""
    out = {}
    for i, vec in enumerate(k.def_root_domain.cpupri.pri_to_cpu):
        cpus = cpus_of(vec.mask.raw("counter"))
        assert vec.count.raw("counter") == len(cpus), f"level {i}: count and mask disagree"
        if cpus:
            out[i] = cpus
    return out


def test_convert_prio_maps_kernel_priorities_to_levels() -> None:
    k = parse_variant("v6.17").cls
    conv = k.convert_prio
    assert conv(None, CPUPRI_INVALID) == CPUPRI_INVALID
    assert conv(None, 0) == 99  # the highest RT priority
    assert conv(None, rt_prio(1)) == 1  # SCHED_FIFO 1 is kernel prio 98
    assert conv(None, rt_prio(50)) == 50
    assert conv(None, 99) == CPUPRI_NORMAL  # MAX_RT_PRIO - 1: no RT task
    assert conv(None, 100) == CPUPRI_HIGHER
    with pytest.raises(ValueError):
        conv(None, NICE_0_PRIO)  # never passed: callers pass rt.highest_prio.curr


def test_set_up_enqueue_and_dequeue_move_cpus_between_levels() -> None:
    seen: dict[str, Any] = {}

    def body(k: Any, m: Any) -> dict[int, Any]:
        seen["boot"] = levels(k)
        seen["cpu_to_pri"] = list(k.def_root_domain.cpupri.cpu_to_pri)
        k.setup_queue_task(1, k.new_task("fifo1", rt_prio(1), 1))
        k.setup_queue_task(2, k.new_task("fifo50", rt_prio(50), 2), running=True)
        seen["queued"] = levels(k)
        r1 = k.cpu_rq(1)
        p = r1.rt.raw("active")[0]

        def cpu1() -> None:
            local_irq_disable()
            k.raw_spin_rq_lock(r1)
            k.deactivate_task(r1, p, 0)
            k.raw_spin_rq_unlock(r1)
            local_irq_enable()

        m.at_end(lambda: seen.__setitem__("dequeued", levels(k)))
        return {1: cpu1}

    r = run(3, body)
    assert r.verdict == "ok" and r.complete, r.message
    assert seen["boot"] == {CPUPRI_NORMAL: [0, 1, 2]}, "rq_online_rt() put every CPU at NORMAL"
    assert seen["cpu_to_pri"] == [CPUPRI_NORMAL] * 3
    assert seen["queued"] == {CPUPRI_NORMAL: [0], 1: [1], 50: [2]}
    assert seen["dequeued"] == {CPUPRI_NORMAL: [0, 1], 50: [2]}


def _find(setup: Any, prio: int) -> tuple[int, list[int]]:
    """cpupri_find() for a task of ``prio`` on CPU 0, after ``setup(k)``."""
    got: dict[str, Any] = {}

    def body(k: Any, m: Any) -> dict[int, Any]:
        setup(k)
        task = k.new_task("t", prio, 0)
        mask = cpumask_var()

        def cpu0() -> None:
            got["ret"] = k.cpupri_find(k.def_root_domain.cpupri, task, mask)
            got["mask"] = cpus_of(mask.bits)

        return {0: cpu0}

    res = run(4, body)
    assert res.verdict == "ok", res.message
    return got["ret"], got["mask"]


def test_find_returns_the_cpus_of_the_lowest_level_below_the_task() -> None:
    def setup(k: Any) -> None:
        k.setup_queue_task(1, k.new_task("a", rt_prio(30), 1), running=True)
        k.setup_queue_task(2, k.new_task("b", rt_prio(10), 2), running=True)
        k.setup_queue_task(3, k.new_task("c", rt_prio(10), 3), running=True)
        k.setup_queue_task(0, k.new_task("d", rt_prio(60), 0), running=True)

    # Levels: CPU 0 at 60, CPU 1 at 30, CPUs 2-3 at 10.  A FIFO-40 task: the lowest level below
    # 40 with CPUs is 10.
    ret, mask = _find(setup, rt_prio(40))
    assert (ret, mask) == (1, [2, 3])
    # A FIFO-5 task: nothing below level 5.
    ret, mask = _find(setup, rt_prio(5))
    assert ret == 0
    # A FIFO-99 task: level 10 is still the lowest.
    ret, mask = _find(setup, rt_prio(99))
    assert (ret, mask) == (1, [2, 3])


def test_find_for_a_fifo1_task_looks_at_the_normal_level_only() -> None:
    """A FIFO-1 task (level 1) scans level 0 only: one count and two mask reads, however many
    CPUs there are (what makes the 192-CPU timed storm affordable)."""
    reads: list[str] = []

    def body(k: Any, m: Any) -> dict[int, Any]:
        task = k.new_task("t", rt_prio(1), 0)
        mask = cpumask_var()
        cp = k.def_root_domain.cpupri

        def cpu0() -> None:
            assert k.cpupri_find(cp, task, mask) == 1
            assert cpus_of(mask.bits) == list(range(16))

        m.tracing = True
        m.at_end(lambda: reads.extend(t[4] for t in m.trace if t[0] == "step" and "cpupri" in t[4]))
        return {0: cpu0}

    r = run(16, body)
    assert r.verdict == "ok", r.message
    assert len(reads) == 3, reads
    assert all("pri_to_cpu[0]" in t for t in reads), reads


class _LeaveFirst:
    """A mutant cpupri_set(): leaves the old level before joining the new one."""

    def cpupri_set(self, cp: Any, cpu: int, newpri: int) -> None:
        oldpri = cp.cpu_to_pri[cpu]
        newpri = self.convert_prio(newpri)
        if newpri == oldpri:
            return
        if oldpri != CPUPRI_INVALID:
            atomic_dec(cp.pri_to_cpu[oldpri].count)
            cpumask_clear_cpu(cpu, cp.pri_to_cpu[oldpri].mask)
        if newpri != CPUPRI_INVALID:
            cpumask_set_cpu(cpu, cp.pri_to_cpu[newpri].mask)
            atomic_inc(cp.pri_to_cpu[newpri].count)
        cp.cpu_to_pri[cpu] = newpri


def _race(cls: Any = None) -> Any:
    """CPU 1 moves from level 0 to level 5 (a FIFO-5 task is queued on it) while CPU 0 looks
    for CPUs below level 20 for a FIFO-20 task.  CPUs 0 and 2 run FIFO-50 tasks (not
    eligible).  CPU 1 is eligible before and after the move: the search must find it."""

    def body(k: Any, m: Any) -> dict[int, Any]:
        k.setup_queue_task(0, k.new_task("f50/0", rt_prio(50), 0), running=True)
        k.setup_queue_task(2, k.new_task("f50/2", rt_prio(50), 2), running=True)
        task = k.new_task("t", rt_prio(20), 0)
        mover = k.new_task("f5", rt_prio(5), 1, cpus=(1,))
        r1 = k.cpu_rq(1)
        mask = cpumask_var()

        def cpu0() -> None:
            ret = k.cpupri_find(k.def_root_domain.cpupri, task, mask)
            assert ret == 1 and cpus_of(mask.bits) == [1], f"the search missed CPU 1 (ret {ret}, mask {mask})"

        def cpu1() -> None:
            local_irq_disable()
            k.raw_spin_rq_lock(r1)
            k.activate_task(r1, mover, 0)
            k.raw_spin_rq_unlock(r1)
            local_irq_enable()

        return {0: cpu0, 1: cpu1}

    return run(3, body, cls)


def test_a_search_racing_with_a_level_change_finds_the_cpu_at_one_level_or_the_other() -> None:
    r = _race()
    assert r.verdict == "ok" and r.complete, r.message
    assert r.executions > 1


def test_the_join_before_leave_order_is_what_the_search_relies_on() -> None:
    base = parse_variant("v6.17").cls
    mutant = type("LeaveFirst", (_LeaveFirst, base), {})
    r = _race(mutant)
    assert r.verdict == "bug", "leaving the old level first lets a search miss the CPU"
    assert "missed CPU 1" in r.message
