# SPDX-License-Identifier: GPL-2.0-only
"""The DPOR search against the brute-force oracle, on random programs with every primitive.

Each program (tests/genprog.py: reads, writes, cmpxchg that can fail, xchg, commuting and
value-returning atomics, waits on fields and counters, cpu_relax loops, spinlocks with and
without irqsave, trylock, branches, IPIs with a handler, interrupts-off sections, a lost-IPI
fault, a guarded event source, assertions) is explored by ``dfs`` and enumerated by
tests/oracle.py (every interleaving and every fault choice).  They must agree on:

* the set of final states and the set of violations (nothing missed, nothing invented);
* the Mazurkiewicz traces: one complete execution per trace, no more (the fingerprints
  DPOR counts are the oracle's traces, and without blocking steps no execution is
  sleep-set blocked);
* under a preemption bound B: every final state and violation of an execution with at most
  B preemptions is found.

2,300 programs here (well under a second each); bench/dpor_oracle.py runs 20,000+
larger ones and commits its figures.  Any disagreement becomes a named test in
tests/test_dpor_regressions.py.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kernel_port.engine.dpor import explore

from .genprog import Spec, blocking, interleavings, make, specs
from .oracle import Finals, Summary, executions, summarise

LIMIT = 1500  # oracle executions per program (bigger ones are left to the bench)


def oracle(spec: Spec, bound: int | None = None) -> Summary:
    try:
        return summarise(executions(make(spec), LIMIT), bound)
    except RuntimeError:
        assume(False)  # too many interleavings for the oracle
        raise


def compare(spec: Spec, *, exact_traces: bool) -> None:
    want = oracle(spec)
    assert not want.errors, want.errors
    res = Finals()
    st = explore(make(spec)(res))
    assert st.exhausted and st.errors == 0 and st.anomalies == 0
    assert res.finals == want.finals, (spec, want.finals - res.finals, res.finals - want.finals)
    got_v = {(o.kind, o.message) for o in st.outcomes if o.status == "bug"}
    assert got_v == want.violations, (spec, want.violations - got_v, got_v - want.violations)
    if exact_traces:
        full = st.complete + sum(1 for o in st.outcomes if o.kind in ("deadlock", "stall"))
        assert full == len(want.traces) == st.traces, spec
    if not blocking(spec):
        assert st.blocked == 0, spec


def covers_bound(spec: Spec, bound: int) -> tuple[Summary, Any]:
    """The search under ``bound`` finds every final state and violation that an execution
    with at most ``bound`` preemptions reaches; returns the oracle's summary and the search's
    statistics."""
    want = oracle(spec, bound)
    res = Finals()
    st = explore(make(spec)(res), preemption_bound=bound)
    assert st.exhausted and st.errors == 0
    assert want.finals <= res.finals, (spec, bound, want.finals - res.finals)
    got_v = {(o.kind, o.message) for o in st.outcomes if o.status == "bug"}
    assert want.violations <= got_v, (spec, bound, want.violations - got_v)
    return want, st


SETTINGS: Any = dict(
    deadline=None,
    database=None,
    derandomize=True,  # the same programs in every run (the bench draws new ones)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


@settings(max_examples=900, **SETTINGS)
@given(specs(max_ops=3))
def test_same_finals_violations_and_traces_as_every_interleaving(spec: Spec) -> None:
    assume(interleavings(spec) <= 6000)
    compare(spec, exact_traces=True)


@settings(max_examples=700, **SETTINGS)
@given(specs(max_ops=3, blocking_ok=False))
def test_no_blocked_execution_without_blocking_steps(spec: Spec) -> None:
    assume(interleavings(spec) <= 6000)
    compare(spec, exact_traces=True)


@settings(max_examples=300, **SETTINGS)
@given(specs(asserts=True, max_ops=3))
def test_same_violations_with_assertions(spec: Spec) -> None:
    assume(interleavings(spec) <= 6000)
    compare(spec, exact_traces=False)


@settings(max_examples=400, **SETTINGS)
@given(specs(max_ops=3), st.integers(0, 2))
def test_a_bounded_search_covers_every_execution_within_its_bound(spec: Spec, bound: int) -> None:
    assume(interleavings(spec) <= 6000)
    want, st = covers_bound(spec, bound)
    # Every execution explored is within the bound: its trace is one the oracle counts.
    assert st.traces <= len(want.traces) + len(want.violations)
