# SPDX-License-Identifier: GPL-2.0-only
"""Golden numbers for the machine and the explorer on tiny programs.

Execution counts are pinned exactly: a change in them is a change in the
explorer's behaviour and must be looked at, not waved through.
"""

from __future__ import annotations

from typing import Any

import pytest

from kernel_port.engine import (
    SimpleProgram,
    Struct,
    apic_eoi,
    apic_send_IPI,
    atomic_inc,
    atomic_t,
    cpu_relax,
    field,
    local_irq_disable,
    local_irq_enable,
    raw_spin_lock,
    raw_spin_unlock,
    raw_spinlock_t,
)
from kernel_port.engine.dpor import explore
from kernel_port.engine.explorer import check

VEC = 0xF5


class V(Struct):
    x = field(0)
    y = field(0)
    ran = field(0)
    inside = field(0)


def outcomes(build: Any, ncpus: int, reduction: bool = True, **kw: Any) -> tuple[set[Any], Any]:
    seen: set[Any] = set()

    def b(m: Any) -> Any:
        entries, final = build(m)
        m.at_end(lambda: seen.add(final()))
        return entries

    st = explore(SimpleProgram("t", ncpus, b, **kw), reduction=reduction)
    return seen, st


def sb(m: Any) -> Any:
    v = V(name="v")
    r: dict[int, int] = {}

    def p0() -> None:
        v.x = 1
        r[0] = v.y

    def p1() -> None:
        v.y = 1
        r[1] = v.x

    return {0: p0, 1: p1}, lambda: (r[0], r[1])


def mp(m: Any) -> Any:
    v = V(name="v")
    r: dict[str, int] = {}

    def p0() -> None:
        v.x = 1  # data
        v.y = 1  # flag

    def p1() -> None:
        r["flag"] = v.y
        r["data"] = v.x

    return {0: p0, 1: p1}, lambda: (r["flag"], r["data"])


def traces_by_brute_force(prog: SimpleProgram) -> int:
    """Mazurkiewicz traces of the executions that ran to their end (tests/oracle.py)."""
    from tests.oracle import executions, summarise

    return len(summarise(executions(lambda result: prog)).traces)


def test_store_buffering_sc() -> None:
    seen, st = outcomes(sb, 2)
    assert seen == {(0, 1), (1, 0), (1, 1)}  # (0, 0) is forbidden under SC
    assert (st.executions, st.complete, st.blocked) == (3, 3, 0)


def test_message_passing_sc() -> None:
    seen, st = outcomes(mp, 2)
    assert (1, 0) not in seen  # flag seen but data not: forbidden
    assert seen == {(0, 0), (0, 1), (1, 1)}
    assert st.complete == 3


def lost_update(n: int, atomic: bool) -> Any:
    def build(m: Any) -> Any:
        v = V(name="v")
        a = atomic_t(name="a")

        def inc() -> None:
            if atomic:
                atomic_inc(a)
            else:
                t = v.x
                v.x = t + 1

        return {c: inc for c in range(n)}, lambda: a.raw("counter") if atomic else v.raw("x")

    return build


@pytest.mark.parametrize(
    ("n", "atomic", "finals", "execs"),
    [
        (2, False, {1, 2}, 4),
        (3, False, {1, 2, 3}, 36),
        # atomic_inc is a commuting update (UPDATE): the increments are pairwise
        # independent, so every order is one Mazurkiewicz trace.
        (2, True, {2}, 1),
        (3, True, {3}, 1),
    ],
)
def test_lost_update(n: int, atomic: bool, finals: set[int], execs: int) -> None:
    seen, st = outcomes(lost_update(n, atomic), n)
    assert seen == finals
    assert st.executions == execs
    assert st.blocked == 0


def test_naive_enumeration_counts() -> None:
    # Plain exhaustive enumeration: every interleaving (no reduction).
    seen, st = outcomes(sb, 2, reduction=False)
    assert seen == {(0, 1), (1, 0), (1, 1)}
    assert st.executions == 6  # 4!/(2!2!)
    seen, st = outcomes(lost_update(3, False), 3, reduction=False)
    assert st.executions == 90  # 6!/(2!2!2!)


def abba(same_order: bool) -> SimpleProgram:
    def b(m: Any) -> Any:
        a = raw_spinlock_t(name="A")
        bb = raw_spinlock_t(name="B")

        def take(x: Any, y: Any) -> None:
            raw_spin_lock(x)
            raw_spin_lock(y)
            raw_spin_unlock(y)
            raw_spin_unlock(x)

        return {0: lambda: take(a, bb), 1: (lambda: take(a, bb)) if same_order else (lambda: take(bb, a))}

    return SimpleProgram("abba", 2, b)


def test_abba_deadlock_found() -> None:
    r = check(abba(False))
    assert r.verdict == "bug" and r.kind == "deadlock"
    assert "raw_spin_lock" in r.message or "spins" in r.message
    assert r.counterexample is not None and r.counterexample.preemptions == 1
    st = explore(abba(False))
    # 3 Mazurkiewicz traces (one ends in the deadlock), one execution each.
    assert (st.executions, st.complete, st.bugs, st.blocked) == (3, 2, 1, 0)
    assert traces_by_brute_force(abba(False)) == 3


def test_abab_no_deadlock() -> None:
    r = check(abba(True))
    assert r.verdict == "ok" and r.complete
    st = explore(abba(True))
    assert st.executions == 2 and st.bugs == 0
    assert traces_by_brute_force(abba(True)) == 2


def handoff(broken: bool) -> SimpleProgram:
    def b(m: Any) -> Any:
        v = V(name="v")

        def setter() -> None:
            if broken:
                v.x = 1
            else:
                v.y = 1

        def spinner() -> None:
            while v.y == 0:
                cpu_relax()

        return {0: setter, 1: spinner}

    return SimpleProgram("handoff", 2, b)


def test_spin_handoff_terminates() -> None:
    st = explore(handoff(False))
    assert st.bugs == 0 and st.budget == 0 and st.exhausted
    # The spinner reads the flag before or after it is set (its pause waits for the
    # store): two traces.
    assert st.executions == 2 == traces_by_brute_force(handoff(False))


def test_spin_handoff_broken_is_deadlock() -> None:
    r = check(handoff(True))
    assert r.verdict == "bug" and r.kind == "deadlock"
    assert "CPU1 spins" in r.message and "v.y" in r.message


def ipi(faults: int, twice: bool = False, masked: bool = False) -> SimpleProgram:
    def b(m: Any) -> Any:
        v = V(name="v")

        def handler(vec: int) -> None:
            apic_eoi()
            v.ran = v.ran + 1

        m.register_vector(VEC, "TEST_VECTOR", handler)
        m.eventually("handler ran", lambda: v.raw("ran") >= 1)
        m.at_end(lambda: runs.add(v.raw("ran")))

        def sender() -> None:
            if masked:
                local_irq_disable()
            apic_send_IPI(0 if masked else 1, VEC)
            if twice:
                apic_send_IPI(0 if masked else 1, VEC)
            if masked:
                local_irq_enable()

        return {0: sender}

    runs: set[int] = set()
    prog = SimpleProgram("ipi", 2, b, faults=faults, fault_kinds=("lost-ipi",))
    prog.runs = runs  # type: ignore[attr-defined]
    return prog


def test_lost_ipi_needs_budget_one() -> None:
    r0 = check(ipi(0))
    assert r0.verdict == "ok"
    r1 = check(ipi(1))
    assert r1.verdict == "bug" and r1.kind == "stall"
    assert r1.counterexample is not None and r1.counterexample.faults == 1
    st = explore(ipi(1))
    assert (st.executions, st.bugs) == (2, 1)


def test_two_sends_of_a_pending_vector_give_one_run() -> None:
    p = ipi(0, twice=True, masked=True)
    st = explore(p)
    assert p.runs == {1}  # type: ignore[attr-defined]
    assert st.bugs == 0 and st.executions == 1


def test_no_interrupt_while_disabled() -> None:
    def b(m: Any) -> Any:
        v = V(name="v")

        def handler(vec: int) -> None:
            apic_eoi()
            assert v.inside == 0

        m.register_vector(VEC, "TEST_VECTOR", handler)

        def cpu1() -> None:
            local_irq_disable()
            v.inside = 1
            v.inside = 0
            local_irq_enable()

        return {0: lambda: apic_send_IPI(1, VEC), 1: cpu1}

    prog = SimpleProgram("irqs", 2, b)
    st = explore(prog)
    assert st.bugs == 0 and st.exhausted
    # The interrupt comes before the section or after it: two traces.
    assert st.executions == 2 == traces_by_brute_force(prog)


def test_interrupt_arrives_between_any_two_steps() -> None:
    def b(m: Any) -> Any:
        v = V(name="v")
        where: list[int] = []

        def handler(vec: int) -> None:
            apic_eoi()
            where.append(v.inside)

        m.register_vector(VEC, "TEST_VECTOR", handler)
        m.at_end(lambda: seen.add(tuple(where)))

        def cpu0() -> None:
            apic_send_IPI(0, VEC)
            v.inside = 1
            v.inside = 2

        return {0: cpu0}

    seen: set[Any] = set()
    st = explore(SimpleProgram("arrival", 1, b))
    assert seen == {(0,), (1,), (2,)}
    assert st.executions == 3


def test_step_budget_is_inconclusive() -> None:
    def b(m: Any) -> Any:
        v = V(name="v")

        def looper() -> None:
            while True:
                v.x = v.x + 1

        return {0: looper}

    r = check(SimpleProgram("loop", 1, b, step_budget=200))
    assert r.verdict == "inconclusive"
    assert "step budget" in r.coverage or "step budget" in r.message


def test_error_is_not_a_bug() -> None:
    def b(m: Any) -> Any:
        def broken() -> None:
            raise KeyError("oops")

        return {0: broken}

    r = check(SimpleProgram("err", 1, b))
    assert r.verdict == "error" and r.kind == "KeyError"


def test_spurious_interrupt_is_a_budgeted_fault() -> None:
    def build(faults: int) -> SimpleProgram:
        def b(m: Any) -> Any:
            v = V(name="v")

            def handler(vec: int) -> None:
                apic_eoi()
                v.ran = v.ran + 1

            m.register_vector(VEC, "DEVICE_VECTOR", handler)
            m.add_source("spurious DEVICE_VECTOR@CPU1", 1, VEC, budget=1, fault=True)
            m.at_end(lambda: _no_run(v))
            return {}

        return SimpleProgram("spurious", 2, b, faults=faults, fault_kinds=("spurious",))

    def _no_run(v: Any) -> None:
        assert v.raw("ran") == 0, "a handler ran without any device raising the vector"

    assert check(build(0)).verdict == "ok"
    r = check(build(1))
    assert r.verdict == "bug" and r.counterexample is not None and r.counterexample.faults == 1


def test_contexts_nest_task_softirq_hardirq_nmi() -> None:
    from kernel_port.engine import (
        in_hardirq,
        in_nmi,
        in_serving_softirq,
        in_task,
        raise_nmi,
        softirq_enter,
        softirq_exit,
    )

    seen: list[tuple[str, bool, bool, bool, bool]] = []

    def b(m: Any) -> Any:
        v = V(name="v")

        def snap(where: str) -> None:
            seen.append((where, in_task(), in_serving_softirq(), in_hardirq(), in_nmi()))

        def nmi(vec: int) -> None:
            snap("nmi")

        def irq(vec: int) -> None:
            snap("hardirq")
            apic_eoi()
            raise_nmi(0)
            v.x = 1  # the NMI arrives at a step boundary, even with irqs off

        m.register_vector(2, "NMI", nmi)
        m.register_vector(VEC, "TEST_VECTOR", irq)

        def cpu0() -> None:
            snap("task")
            softirq_enter()
            snap("softirq")
            apic_send_IPI(0, VEC)
            v.y = 1
            softirq_exit()

        return {0: cpu0}

    st = explore(SimpleProgram("ctx", 1, b))
    assert st.bugs == 0 and st.errors == 0, st.outcomes
    kinds = {s[0]: s[1:] for s in seen}
    assert kinds["task"] == (True, False, False, False)
    assert kinds["softirq"] == (False, True, False, False)
    assert kinds["hardirq"] == (False, True, True, False)  # interrupted the softirq
    assert kinds["nmi"][3] is True
