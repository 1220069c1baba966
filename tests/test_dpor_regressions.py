# SPDX-License-Identifier: GPL-2.0-only
"""Named regression tests: every disagreement the brute-force oracle ever found.

Each test is one small engine program that the DPOR search once got wrong, the behaviour the
oracle (tests/oracle.py, every interleaving) sees, and what the search must now do.  The
first five are the reproducers of the soundness issue (waits, trylock, a wait as the last
step, a false OK, and a redundant execution without any blocking step); the others were
found by the differential test and the fuzz bench (bench/dpor_oracle.py) while the search
was rewritten.
"""

from __future__ import annotations

from typing import Any

import pytest

from kernel_port.engine import (
    SimpleProgram,
    Struct,
    explorer,
    field,
    raw_spin_lock,
    raw_spin_trylock,
    raw_spin_unlock,
    raw_spinlock_t,
    smp_cond_load_acquire,
)
from kernel_port.engine.dpor import explore
from kernel_port.engine.errors import KernelViolation

from .genprog import Spec, make
from .oracle import Finals, executions, summarise


class S(Struct):
    x = field(0)
    y = field(0)
    z = field(0)


def wait_reordered(result: dict[str, Any]) -> SimpleProgram:
    """CPU0: y = 1; y = 2 | CPU1: READ_ONCE(x); b = smp_cond_load_acquire(&y, VAL != 1)."""

    def build(m: Any) -> Any:
        s = S(name="s")
        got: dict[str, Any] = {}

        def cpu0() -> None:
            s.y = 1
            s.y = 2

        def cpu1() -> None:
            _ = s.x
            got["b"] = smp_cond_load_acquire(s, "y", lambda v: v != 1)

        def final() -> None:
            result["final"] = got.get("b")

        m.at_end(final)
        return {0: cpu0, 1: cpu1}

    return SimpleProgram("wait-reordered", 2, build)


def trylock_three(result: dict[str, Any]) -> SimpleProgram:
    """CPU0: v = y; if v == 0 { if trylock(L) unlock(L); y = 2 } else { lock(L); unlock(L); z = 1 }
    | CPU1: a = y; b = y; if trylock(L) unlock(L) | CPU2: y = 21."""

    def build(m: Any) -> Any:
        s = S(name="s")
        lock = raw_spinlock_t(name="L")
        got: dict[str, Any] = {}

        def cpu0() -> None:
            v = s.y
            if v == 0:
                if raw_spin_trylock(lock):
                    raw_spin_unlock(lock)
                s.y = 2
            else:
                raw_spin_lock(lock)
                raw_spin_unlock(lock)
                s.z = 1

        def cpu1() -> None:
            a = s.y
            b = s.y
            t = raw_spin_trylock(lock)
            if t:
                raw_spin_unlock(lock)
            got["cpu1"] = (a, b, t)

        def cpu2() -> None:
            s.y = 21

        def final() -> None:
            result["final"] = (got.get("cpu1"), s.raw("y"), s.raw("z"))

        m.at_end(final)
        return {0: cpu0, 1: cpu1, 2: cpu2}

    return SimpleProgram("trylock-three", 3, build)


def wait_last(result: dict[str, Any]) -> SimpleProgram:
    """CPU0: x = 1 | CPU1: smp_cond_load_acquire(&x, VAL != 1)."""

    def build(m: Any) -> Any:
        s = S(name="s")

        def cpu0() -> None:
            s.x = 1

        def cpu1() -> None:
            smp_cond_load_acquire(s, "x", lambda v: v != 1)

        m.at_end(lambda: result.__setitem__("final", "both ran"))
        return {0: cpu0, 1: cpu1}

    return SimpleProgram("wait-last", 2, build)


def three_readers(result: dict[str, Any]) -> SimpleProgram:
    """T0: z = 1 | T1: y = 1 | T2: z; y; z -- no blocking step, six traces."""

    def build(m: Any) -> Any:
        s = S(name="s")
        got: dict[str, Any] = {}

        def t2() -> None:
            a = s.z
            b = s.y
            c = s.z
            got["t2"] = (a, b, c)

        def t0() -> None:
            s.z = 1

        def t1() -> None:
            s.y = 1

        m.at_end(lambda: result.__setitem__("final", got["t2"]))
        return {0: t0, 1: t1, 2: t2}

    return SimpleProgram("three-readers", 3, build)


def dpor_finals(make_prog: Any, **kw: Any) -> tuple[set[Any], Any]:
    res = Finals()
    st = explore(make_prog(res), **kw)
    assert st.exhausted and st.errors == 0
    return res.finals, st


def oracle_finals(make_prog: Any) -> Any:
    return summarise(executions(make_prog))


def test_reproducer_1_a_wait_is_reordered_before_the_store_that_disabled_it() -> None:
    finals, st = dpor_finals(wait_reordered)
    assert finals == oracle_finals(wait_reordered).finals == {0, 2}
    assert st.blocked == 0


def test_reproducer_2_trylock_races_only_when_not_already_ordered() -> None:
    finals, st = dpor_finals(trylock_three)
    want = oracle_finals(trylock_three)
    assert finals == want.finals
    assert ((0, 21, False), 2, 0) in finals  # CPU0's trylock fails, CPU1 reads 0 then 21
    assert st.complete == len(want.traces) == 33


def test_reproducer_3_a_wait_that_is_the_last_step_is_reordered() -> None:
    finals, st = dpor_finals(wait_last)
    assert finals == {"both ran"}
    assert st.bugs == 1 and st.outcomes[0].kind == "deadlock"  # CPU1 after x = 1 waits forever


def test_reproducer_4_check_says_bug_where_only_a_missed_state_fails() -> None:
    """An at_end assertion that fails only in the state reproducers 1 and 2 used to miss."""

    def failing(inner: Any, bad: Any) -> Any:
        def prog(result: dict[str, Any]) -> SimpleProgram:
            p = inner(result)
            builder = p.builder

            def build(m: Any) -> Any:
                entries = builder(m)

                def check() -> None:
                    if result.get("final") == bad:
                        raise KernelViolation("reached the state the search used to miss", kind="assertion")

                m.at_end(check)
                return entries

            return SimpleProgram(p.name, p.ncpus, build)

        return prog

    for inner, bad in ((wait_reordered, 0), (trylock_three, ((0, 21, False), 2, 0))):
        r = explorer.check(failing(inner, bad)({}))
        assert r.verdict == "bug", (inner.__name__, r.verdict, r.coverage)


def test_optimality_no_blocked_execution_without_blocking_steps() -> None:
    """Explored siblings count as sleepers when a wakeup sequence is inserted."""
    finals, st = dpor_finals(three_readers)
    assert len(finals) == 6
    assert (st.executions, st.complete, st.blocked) == (6, 6, 0)


def _same_as_oracle(spec: Spec) -> None:
    want = summarise(executions(make(spec)))
    res = Finals()
    st = explore(make(spec)(res))
    assert st.exhausted and st.errors == 0 and st.anomalies == 0
    assert res.finals == want.finals
    got_v = {(o.kind, o.message) for o in st.outcomes if o.status == "bug"}
    assert got_v == want.violations
    full = st.complete + sum(1 for o in st.outcomes if o.kind in ("deadlock", "stall"))
    assert full == len(want.traces)


def test_found_a_coalesced_ipi_still_sets_the_bit_in_a_reordering() -> None:
    """A send that coalesced recorded no effect, so an interrupt moved before the other send
    looked undeliverable: the reversal was dropped (14 of 40 traces missed)."""
    _same_as_oracle(Spec(2, ((("winc", 2), ("ipi", 2), ("winc", 3)), (("winc", 2), ("ipi", 2), ("winc", 3)))))


def test_found_an_interrupt_entry_orders_the_handler_like_program_order() -> None:
    """The handler's first step does not exist without the interrupt: racing it with the
    entry inserted a branch for the CPU whose step there is another one."""
    _same_as_oracle(Spec(2, ((("winc", 2), ("ipi", 2), ("winc", 3)), (("dec", 0),))))


def test_found_a_wakeup_subtree_belongs_to_the_faults_it_was_found_with() -> None:
    """A wakeup sequence found while an IPI was delivered was followed after the same send
    was lost: the interrupt it named could not be taken."""
    _same_as_oracle(
        Spec(
            2,
            ((("if", 1, 0, (("ipi", 3), ("relax", 2)), ()),), (("fadd", 1), ("xchg", 0, 2), ("ipi", 3), ("dec", 0))),
            (("w", 3, 3), ("w", 0, 3)),
            faults=1,
        )
    )


def test_found_an_event_source_records_what_its_action_stores() -> None:
    """A source's action stored its declared field engine-side without a record, so its
    guard was evaluated on the final value in every reordering (the VFIO cells read OK)."""
    _same_as_oracle(Spec(2, ((("w", 3, 1), ("r", 0), ("w", 3, 0)), (("r", 3),)), (("w", 0, 3),), source=1))


def test_found_a_deadlock_report_names_the_final_value() -> None:
    """A deadlock message quoted the value when the wait began, so one deadlock read as two."""
    _same_as_oracle(
        Spec(
            4,
            (
                (("cli", 2),),
                (("if", 2, 1, (), (("w", 1, 2),)), ("cawait", 1), ("inc", 1), ("w", 0, 1)),
                (),
                (("fadd", 1), ("cset", 1, 0)),
            ),
            (("r", 3),),
            faults=1,
        )
    )


# -- found by bench/dpor_oracle.py under x86-TSO ----------------------------------------------
#
# A wait (smp_cond_load_*) decided before its first step whether the CPU's own store to the
# location was still buffered; whether it was depends on when the buffer's actor ran, which
# the CPU's previous step does not order, so two executions of one trace took different steps
# and DPOR counted fewer traces than there are.  Now the wait's steps are the same whatever
# the buffer holds (a read, then a wait for the CPU's newest store to the location).

TSO_AWAITS = [
    Spec(
        ncpus=2,
        progs=((("r", 1),), (("trylock", 0, 1), ("w", 1, 2), ("w", 3, 2), ("await", 1, "eq1"))),
        handler=(),
        faults=0,
        source=0,
        model="tso",
    ),
    Spec(
        ncpus=3,
        progs=((("lock", 1, 2), ("await", 2, "ne1"), ("cas", 2, 1, 2), ("mb",)), (), ()),
        handler=(("w", 2, 3),),
        faults=0,
        source=-1,
        model="tso",
    ),
    Spec(
        ncpus=2,
        progs=((("w", 1, 1), ("lock", 0, 2), ("await", 2, "ne1")), ()),
        handler=(("w", 3, 3),),
        faults=1,
        source=-1,
        model="tso",
    ),
    Spec(
        ncpus=3,
        progs=((("await", 1, "ge2"),), (("lock", 0, 3), ("await", 3, "ge2"), ("cset", 0, 1), ("cawait", 1)), ()),
        handler=(),
        faults=0,
        source=0,
        model="tso",
    ),
    Spec(
        ncpus=3,
        progs=((("w", 0, 2), ("w", 3, 1), ("if", 3, 2, (), (("cread", 1), ("await", 3, "ge2")))), (("cawait", 0),), ()),
        handler=(("w", 1, 3),),
        faults=0,
        source=-1,
        model="tso",
    ),
    Spec(
        ncpus=2,
        progs=((("lock", 1, 3), ("await", 3, "ge2"), ("winc", 0)), ()),
        handler=(("w", 2, 3),),
        faults=0,
        source=-1,
        model="tso",
    ),
    Spec(
        ncpus=3,
        progs=(
            (("cset", 1, 0), ("await", 2, "ne1"), ("cawait", 1), ("w", 1, 1)),
            (("w", 2, 1), ("fadd", 0), ("await", 2, "ge2"), ("r", 0)),
            (),
        ),
        handler=(),
        faults=0,
        source=-1,
        model="tso",
    ),
]


@pytest.mark.parametrize("spec", TSO_AWAITS, ids=[f"tso-await-{i}" for i in range(len(TSO_AWAITS))])
def test_found_a_tso_wait_decided_on_the_buffer_before_its_step(spec: Spec) -> None:
    _same_as_oracle(spec)


def test_found_a_tso_spin_loop_is_not_woken_by_its_own_store_reaching_memory() -> None:
    """A spin loop that read its own buffered store was woken when that store reached memory
    (its store buffer is another actor), but only if it reached memory after the read: the
    read and the flush commute for the values, so the search saw one of the two deadlocks."""
    _same_as_oracle(
        Spec(2, ((("add", 1),), (("cset", 0, 0), ("cread", 0), ("relax", 2))), (("w", 2, 3),), 1, -1, "tso")
    )
