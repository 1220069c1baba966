# SPDX-License-Identifier: GPL-2.0-only
"""DPOR against plain exhaustive enumeration on random small programs.

Hypothesis generates programs of 2-3 CPUs over up to 4 shared variables and
two atomic counters, each CPU running up to 5 operations (reads, writes,
cmpxchg, commuting updates -- atomic_add/inc/sub/dec and IPIs, several of
which may target the same CPU -- with reads, sets, value-returning RMWs and
spins on the counters they update, IPIs to a CPU whose handler also touches
shared variables, interrupts-off sections, locks, assertions).  For every
program, DPOR (source sets + sleep sets) must reach exactly the final states
and the violations that enumerating every interleaving reaches, with no more
executions; and for programs without violations it must run exactly one
complete execution per Mazurkiewicz trace (counted by brute force from the
enumeration, where commuting updates of one key commute like reads).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kernel_port.engine.dpor import explore

from .propfamily import NCNT, NVARS, interleavings, make, signature

op_st = st.one_of(
    st.tuples(st.just("r"), st.integers(0, NVARS - 1)),
    st.tuples(st.just("w"), st.integers(0, NVARS - 1), st.integers(1, 2)),
    st.tuples(st.just("add"), st.integers(0, NCNT - 1)),
    # Commuting updates of the counters, and the accesses they must not commute with.
    st.tuples(st.sampled_from(["inc", "dec", "sub"]), st.integers(0, NCNT - 1)),
    st.tuples(st.just("cread"), st.integers(0, NCNT - 1)),
    st.tuples(st.just("cset"), st.integers(0, NCNT - 1), st.integers(0, 2)),
    st.tuples(st.just("crmw"), st.integers(0, NCNT - 1)),
    st.tuples(st.just("cwait"), st.integers(0, NCNT - 1)),
    st.tuples(st.just("cas"), st.integers(0, NVARS - 1), st.integers(0, 1), st.integers(1, 2)),
    st.tuples(st.just("ipi"), st.integers(0, 2)),
    st.tuples(st.just("cli"), st.integers(1, 2)),
    st.tuples(st.just("assert"), st.integers(0, NVARS - 1), st.integers(1, 2)),
    st.tuples(st.just("lock"), st.integers(0, 1), st.integers(0, NVARS - 1)),
    st.tuples(st.just("trylock"), st.integers(0, 1), st.integers(0, NVARS - 1)),
    st.tuples(st.just("wait"), st.integers(0, NVARS - 1)),
)


def program_st(with_asserts: bool) -> Any:
    ops = op_st if with_asserts else op_st.filter(lambda o: o[0] != "assert")
    return st.tuples(
        st.integers(2, 3),
        st.lists(st.lists(ops, max_size=5), min_size=3, max_size=3),
        st.lists(st.tuples(st.sampled_from(["r", "w", "add", "cread"]), st.integers(0, NVARS - 1)), max_size=2),
    )


def run_both(spec: Any) -> tuple[Any, Any, Any, Any]:
    naive_res: dict[str, Any] = {"finals": set()}
    dpor_res: dict[str, Any] = {"finals": set()}
    naive = explore(make(spec, naive_res), reduction=False, keep_events=True, max_executions=60000)
    assume(naive.exhausted)
    dp = explore(make(spec, dpor_res), keep_events=True)
    assert dp.exhausted
    return naive, dp, naive_res, dpor_res


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(program_st(with_asserts=False))
def test_dpor_same_finals_one_execution_per_trace(spec: Any) -> None:
    assume(interleavings(spec) <= 3000)
    naive, dp, nres, dres = run_both(spec)
    assert {o.message for o in naive.outcomes} == {o.message for o in dp.outcomes}
    assert dres["finals"] == nres["finals"]
    assert dp.executions <= naive.executions
    traces = {signature(o.events) for o in naive.all_outcomes if o.status in ("complete", "bug")}
    assert dp.complete + dp.bugs == len(traces)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(program_st(with_asserts=True))
def test_dpor_same_violations(spec: Any) -> None:
    assume(interleavings(spec) <= 3000)
    naive, dp, nres, dres = run_both(spec)
    assert {o.message for o in naive.outcomes} == {o.message for o in dp.outcomes}
    assert dres["finals"] == nres["finals"]
    assert dp.executions <= naive.executions


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(program_st(with_asserts=False), st.integers(0, 1))
def test_bounded_dpor_covers_every_schedule_within_the_bound(spec: Any, bound: int) -> None:
    """With a preemption bound B, every final state that some interleaving with
    at most B preemptions reaches is reached by the bounded search."""
    from kernel_port.engine.execution import ReplayDriver, run

    assume(interleavings(spec) <= 2000)
    nres: dict[str, Any] = {"finals": set()}
    naive = explore(make(spec, nres), reduction=False, keep_events=True, max_executions=60000)
    assume(naive.exhausted)
    within: set[Any] = set()
    for o in naive.all_outcomes:
        if o.status == "complete" and o.preemptions <= bound:
            r: dict[str, Any] = {"finals": set()}
            run(make(spec, r), ReplayDriver(o.choices))
            within |= r["finals"]
    dres: dict[str, Any] = {"finals": set()}
    explore(make(spec, dres), preemption_bound=bound)
    assert within <= dres["finals"]


def test_an_entry_an_actor_could_not_take_does_not_put_it_to_sleep() -> None:
    """A wakeup-tree entry whose actor is not enabled at its node is marked
    done there without running; the node below must not put it to sleep
    (it has no next event there: this used to raise KeyError)."""
    spec = (2, [[("ipi", 1)], [("ipi", 0), ("r", 0)], []], [])
    nres: dict[str, Any] = {"finals": set()}
    dres: dict[str, Any] = {"finals": set()}
    naive = explore(make(spec, nres), reduction=False)
    dp = explore(make(spec, dres))
    assert naive.exhausted and dp.exhausted
    assert dp.errors == 0 and dres["finals"] == nres["finals"]
