# SPDX-License-Identifier: GPL-2.0-only
"""Port unit tests for irq_work on PREEMPT_RT (issue 4): the irq_work/N smpboot threads,
which context runs HARD and non-HARD work, the v2 posting's remote path, and the pinned
counterexample of irq_work.rt-sleeping-lock on pre-b4c6f86."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kernel_port.engine import (
    Machine,
    SimpleProgram,
    current_task,
    in_hardirq,
    kthread_create_on_cpu,
    local_irq_disable,
    local_irq_enable,
    rt_prio,
    wake_up_process,
)
from kernel_port.engine.explorer import check, replay
from kernel_port.engine.locks import spin_lock, spin_unlock, spinlock_t
from kernel_port.engine.trace import render_text
from kernel_port.kernel.irq_work import IRQ_WORK_INIT, IRQ_WORK_INIT_HARD, irq_work
from kernel_port.scenario import program
from kernel_port.variants import parse_variant

RT = {"PREEMPT_RT": True}


def _check(variant: str, ncpus: int, config: dict[str, Any], build: Callable[[Any, Machine], dict[int, Any]]) -> Any:
    v = parse_variant(variant)

    def builder(m: Machine) -> dict[int, Any]:
        k = v.instantiate(m)
        m.kernel = k
        return build(k, m)

    return check(SimpleProgram("irq_work-rt-unit", ncpus, builder, config=dict(config)))


def test_irq_workd_threads_exist_only_on_rt() -> None:
    seen: dict[str, Any] = {}

    def build_with(key: str) -> Callable[[Any, Machine], dict[int, Any]]:
        def build(k: Any, m: Machine) -> dict[int, Any]:
            seen[key] = list(k.irq_workd)
            return {}

        return build

    assert _check("v6.17", 2, RT, build_with("rt")).verdict == "ok"
    assert _check("v6.17", 2, {}, build_with("nort")).verdict == "ok"
    assert _check("pre-b4c6f86", 2, RT, build_with("v515")).verdict == "ok"
    assert [t.name for t in seen["rt"]] == ["irq_work/0", "irq_work/1"]
    assert all(t.prio == rt_prio(1) and t.cpu == i for i, t in enumerate(seen["rt"]))
    assert seen["nort"] == [None, None]
    assert seen["v515"] == [None, None]  # v5.15 has no irq_workd


def _contexts(variant: str, hard: bool, remote: bool) -> set[str]:
    ctx: set[str] = set()

    def build(k: Any, m: Machine) -> dict[int, Any]:
        def func(work: irq_work) -> None:
            t = current_task()
            ctx.add("hardirq" if in_hardirq() else (t.name if t is not None else "base"))

        init = IRQ_WORK_INIT_HARD if hard else IRQ_WORK_INIT
        w = init(func, name="w")

        def cpu0() -> None:
            if remote:
                k.irq_work_queue_on(w, 1)
            else:
                k.irq_work_queue(w)

        m.eventually("the work ran", lambda: bool(ctx))
        return {0: cpu0}

    r = _check(variant, 2, RT, build)
    assert r.verdict == "ok" and r.complete, r.message
    return ctx


def test_rt_non_hard_work_runs_in_the_thread() -> None:
    assert _contexts("v6.17", hard=False, remote=False) == {"irq_work/0"}
    assert _contexts("v6.17", hard=False, remote=True) == {"irq_work/1"}
    assert _contexts("pre-b4c6f86+b4c6f86", hard=False, remote=True) == {"irq_work/1"}


def test_rt_hard_work_stays_in_hardirq() -> None:
    assert _contexts("v6.17", hard=True, remote=False) == {"hardirq"}
    assert _contexts("v6.17", hard=True, remote=True) == {"hardirq"}


def test_v515_runs_everything_in_hardirq() -> None:
    assert _contexts("pre-b4c6f86", hard=False, remote=False) == {"hardirq"}
    assert _contexts("pre-b4c6f86", hard=False, remote=True) == {"hardirq"}


def _second_queuer(variant: str) -> Any:
    # CPU 1 queues a work locally (its lazy list becomes non-empty) while CPU 0 queues another
    # one to CPU 1: the shape the v2 remote path gets wrong.
    def build(k: Any, m: Machine) -> dict[int, Any]:
        lock = spinlock_t(name="lock")
        ran: set[str] = set()

        def func(work: irq_work) -> None:
            spin_lock(lock)
            ran.add(work.kp_name)
            spin_unlock(lock)

        local = IRQ_WORK_INIT(func, name="local")
        remote = IRQ_WORK_INIT(func, name="remote")
        m.eventually("every queued irq_work ran", lambda: ran == {"local", "remote"})

        def cpu1() -> None:
            local_irq_disable()
            k.irq_work_queue(local)
            local_irq_enable()

        return {0: lambda: k.irq_work_queue_on(remote, 1), 1: cpu1}

    return _check(variant, 2, RT, build)


def test_v2_remote_path_runs_non_hard_work_in_hardirq() -> None:
    r = _second_queuer("pre-b4c6f86+rt-thread-v2")
    assert r.verdict == "bug" and r.kind == "sleeping-in-atomic", r.message
    assert "hard interrupt context" in r.message


def test_rt_sleeping_lock_trace_shows_the_interrupt_entry() -> None:
    p = program("irq_work.rt-sleeping-lock", "pre-b4c6f86")
    r = check(p)
    assert r.verdict == "bug" and r.kind == "sleeping-in-atomic", r.message
    out, div = replay(p, r.counterexample.choices)
    assert div is None and out.machine is not None
    text = render_text(out.machine, width=200)
    assert "<IRQ_WORK_VECTOR>" in text
    assert text.index("<IRQ_WORK_VECTOR>") < text.index("sysvec_irq_work()") < text.index("irq_work_single()")
    assert "spin_lock() on PREEMPT_RT" in r.message and "in hard interrupt context" in r.message


def test_rt_irq_work_sync_waits_for_the_thread_and_may_not_be_called_atomic() -> None:
    # On RT, irq_work_sync() on non-HARD work waits (rcuwait) until irq_work/N ran it.
    def build_sync(atomic: bool) -> Callable[[Any, Machine], dict[int, Any]]:
        def build(k: Any, m: Machine) -> dict[int, Any]:
            ran: list[str] = []

            def func(work: irq_work) -> None:
                t = current_task()
                ran.append(t.name if t is not None else "?")

            w = IRQ_WORK_INIT(func, name="w")

            def cpu0() -> None:
                k.irq_work_queue_on(w, 1)
                if atomic:
                    local_irq_disable()
                k.irq_work_sync(w)
                if atomic:
                    local_irq_enable()
                assert ran == ["irq_work/1"], f"irq_work_sync() returned before the thread ran it: {ran}"

            return {0: cpu0}

        return build

    r = _check("v6.17", 2, RT, build_sync(False))
    assert r.verdict == "ok" and r.complete, r.message
    r = _check("v6.17", 2, RT, build_sync(True))
    assert r.verdict == "bug" and r.kind == "sleeping-in-atomic", r.message


def test_v2_double_queue_links_the_second_work_twice() -> None:
    """irq_work.rt-remote-double-queue on the v2 posting: the second remote queue's lazy add
    returns false after linking, and the same node is linked again on the CSD queue."""
    p = program("irq_work.rt-remote-double-queue", "pre-b4c6f86+rt-thread-v2")
    r = check(p)
    assert r.verdict == "bug" and r.kind == "sleeping-in-atomic", r.message
    assert "in hard interrupt context" in r.message
    out, div = replay(p, r.counterexample.choices)
    assert div is None and out.machine is not None
    rows = [row[4] for row in out.machine.trace]
    lazy = rows.index("llist_add(&b.llist, &lazy_list[1]) -> false")
    csd = rows.index("llist_add(&b.llist, &call_single_queue[1]) -> false")
    assert lazy < csd < rows.index("<CALL_FUNCTION_SINGLE_VECTOR>")


def test_rt_irq_work_sync_sleeps_so_a_higher_priority_waiter_lets_the_thread_run() -> None:
    """A SCHED_FIFO 50 thread on CPU 1 queues non-HARD work on its own CPU and waits for it with
    irq_work_sync(): the work runs in irq_work/1 (FIFO 1, lower priority), so the waiter must
    sleep in rcuwait_wait_event() for it to run at all (a spinning waiter never yields)."""

    def build(k: Any, m: Machine) -> dict[int, Any]:
        ran: list[str] = []

        def func(work: irq_work) -> None:
            t = current_task()
            ran.append(t.name if t is not None else "?")

        w = IRQ_WORK_INIT(func, name="w")

        def waiter() -> None:
            k.irq_work_queue(w)
            k.irq_work_sync(w)
            assert ran == ["irq_work/1"], f"irq_work_sync() returned before the thread ran it: {ran}"
            ran.append("returned")

        t = kthread_create_on_cpu(m, 1, waiter, "waiter", rt_prio(50))
        m.eventually("the waiter returned from irq_work_sync()", lambda: ran[-1:] == ["returned"])
        return {1: lambda: wake_up_process(t)}

    r = _check("v6.17", 2, RT, build)
    assert r.verdict == "ok" and r.complete, r.message
