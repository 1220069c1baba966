# SPDX-License-Identifier: GPL-2.0-only
"""Port unit tests for kernel/irq_work.c and the tick/nohz model (issue 3).

The state machine of a work item (claim while pending fails, claim while busy succeeds, a
callback re-queues its own work, irq_work_sync waits for BUSY), each checked over every
schedule by the dfs explorer, and pinned fragments of the two bugs' counterexample traces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kernel_port.engine import Machine, SimpleProgram, Struct, atomic_read, cpu_relax, field
from kernel_port.engine.explorer import check, replay
from kernel_port.engine.trace import render_text
from kernel_port.kernel.irq_work import CSD_TYPE_IRQ_WORK, IRQ_WORK_INIT, irq_work
from kernel_port.linux import Linux
from kernel_port.scenario import program

CONFIG = {"APIC": True}


class Count(Struct):
    ran = field(0)


def _explore(ncpus: int, build: Callable[[Any, Machine], dict[int, Any]]) -> Any:
    def builder(m: Machine) -> dict[int, Any]:
        k = Linux(m)
        m.kernel = k
        return build(k, m)

    return check(SimpleProgram("irq_work-unit", ncpus, builder, config=dict(CONFIG)))


def test_claim_while_pending_fails_and_work_runs_once() -> None:
    from kernel_port.engine import local_irq_disable, local_irq_enable

    def build(k: Any, m: Machine) -> dict[int, Any]:
        c = Count(name="count")
        w = IRQ_WORK_INIT(lambda work: setattr(c, "ran", c.ran + 1), name="w")
        m.at_end(lambda: _assert_eq(c.raw("ran"), 1))

        def cpu0() -> None:
            local_irq_disable()
            assert k.irq_work_queue(w) is True
            assert k.irq_work_queue(w) is False, "a pending work must not be claimed again"
            local_irq_enable()

        return {0: cpu0}

    r = _explore(1, build)
    assert r.verdict == "ok", r.message
    assert r.complete


def test_claim_while_busy_succeeds_requeue_from_own_callback() -> None:
    def build(k: Any, m: Machine) -> dict[int, Any]:
        c = Count(name="count")

        def func(work: irq_work) -> None:
            c.ran = c.ran + 1
            if c.ran == 1:
                # BUSY but not PENDING: the claim succeeds and the work is queued again.
                assert k.irq_work_queue(work) is True

        w = IRQ_WORK_INIT(func, name="w")

        def final() -> None:
            _assert_eq(c.raw("ran"), 2)
            # Back to free: only the type bits remain.
            _assert_eq(w.node.a_flags.raw("counter"), CSD_TYPE_IRQ_WORK)

        m.at_end(final)
        return {0: lambda: k.irq_work_queue(w)}

    r = _explore(1, build)
    assert r.verdict == "ok", r.message


def test_irq_work_sync_waits_while_busy() -> None:
    def build(k: Any, m: Machine) -> dict[int, Any]:
        c = Count(name="count")
        w = IRQ_WORK_INIT(lambda work: setattr(c, "ran", 1), name="w")

        def cpu0() -> None:
            # Wait until CPU 1 has claimed the work (the type bits stay), then synchronise.
            while not atomic_read(w.node.a_flags) & CSD_TYPE_IRQ_WORK:
                cpu_relax()
            k.irq_work_sync(w)
            assert c.ran == 1, "irq_work_sync() returned before the callback finished"

        return {0: cpu0, 1: lambda: k.irq_work_queue(w)}

    r = _explore(2, build)
    assert r.verdict == "ok", r.message
    assert r.complete


def _assert_eq(a: Any, b: Any) -> None:
    assert a == b, f"{a!r} != {b!r}"


def _counterexample(name: str, variant: str) -> tuple[Any, str]:
    p = program(name, variant)
    r = check(p)
    assert r.verdict == "bug", r.message
    out, div = replay(p, r.counterexample.choices)
    assert div is None
    assert out.machine is not None
    return r, render_text(out.machine, width=200)


def test_lost_self_ipi_trace_shows_the_mechanism() -> None:
    r, text = _counterexample("irq_work.lost-self-ipi", "v6.17")
    assert r.kind == "stall"
    assert "IPI LOST: send IRQ_WORK_VECTOR -> CPU0" in text
    assert "llist_add(&work1.llist, &raised_list[0]) -> false" in text
    assert "llist_add(&work2.llist, &raised_list[0]) -> false" in text
    # The idle tick skips the raised list, and nohz does not keep the tick for it.
    assert "irq_work_tick()" in text
    assert "irq_work_needs_cpu() -> false" in text


def test_tick_kick_lockup_trace_cancels_own_hrtimer() -> None:
    r, text = _counterexample("irq_work.tick-kick-lockup", "pre-76a33061")
    assert r.kind == "deadlock"
    assert "hrtimer_cancel" in r.message and "sched_timer[1]" in r.message
    assert "tick_sched_timer()" in text and "irq_work_tick()" in text
    assert "nohz_full_kick_work_func()" in text
    assert "hrtimer_try_to_cancel(&sched_timer[1]) -> -1" in text
