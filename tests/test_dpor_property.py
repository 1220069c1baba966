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

import math
from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kernel_port.engine import (
    SimpleProgram,
    Struct,
    apic_eoi,
    apic_send_IPI,
    atomic_add,
    atomic_dec,
    atomic_inc,
    atomic_inc_return,
    atomic_read,
    atomic_set,
    atomic_sub,
    atomic_t,
    cmpxchg,
    cpu_relax,
    field,
    local_irq_disable,
    local_irq_enable,
    raw_spin_lock,
    raw_spin_trylock,
    raw_spin_unlock,
    raw_spinlock_t,
)
from kernel_port.engine.core import ACQUIRE, UPDATE
from kernel_port.engine.dpor import explore

VEC = 0xF5
NVARS = 4
NCNT = 2


class Mem(Struct):
    v0 = field(0)
    v1 = field(0)
    v2 = field(0)
    v3 = field(0)


def var(i: int) -> str:
    return f"v{i}"


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


def make(spec: Any, results: dict[str, Any]) -> SimpleProgram:
    ncpus, progs, handler_ops = spec

    def build(m: Any) -> Any:
        mem = Mem(name="mem")
        cnts = [atomic_t(name=f"cnt{i}") for i in range(NCNT)]
        locks = [raw_spinlock_t(name="L0"), raw_spinlock_t(name="L1")]
        logs: list[list[Any]] = [[] for _ in range(ncpus)]
        hlog: list[Any] = []

        def handler(vec: int) -> None:
            apic_eoi()
            for kind, i in handler_ops:
                if kind == "r":
                    hlog.append(getattr(mem, var(i)))
                elif kind == "w":
                    setattr(mem, var(i), 3)
                elif kind == "cread":
                    hlog.append(("c", atomic_read(cnts[i % NCNT])))
                else:
                    atomic_add(1, cnts[i % NCNT])

        m.register_vector(VEC, "TEST_VECTOR", handler)

        def run_ops(c: int) -> None:
            for op in progs[c]:
                kind = op[0]
                if kind == "r":
                    logs[c].append(getattr(mem, var(op[1])))
                elif kind == "w":
                    setattr(mem, var(op[1]), op[2])
                elif kind == "add":
                    atomic_add(1, cnts[op[1] % NCNT])
                elif kind == "inc":
                    atomic_inc(cnts[op[1]])
                elif kind == "dec":
                    atomic_dec(cnts[op[1]])
                elif kind == "sub":
                    atomic_sub(2, cnts[op[1]])
                elif kind == "cread":
                    logs[c].append(atomic_read(cnts[op[1]]))
                elif kind == "cset":
                    atomic_set(cnts[op[1]], op[2])
                elif kind == "crmw":
                    logs[c].append(atomic_inc_return(cnts[op[1]]))
                elif kind == "cwait":
                    # Spin until the counter is non-zero (the updates wake it).
                    while atomic_read(cnts[op[1]]) == 0:
                        cpu_relax()
                elif kind == "cas":
                    logs[c].append(cmpxchg(mem, var(op[1]), op[2], op[3]))
                elif kind == "ipi":
                    apic_send_IPI(op[1] % ncpus, VEC)
                elif kind == "cli":
                    local_irq_disable()
                    for _ in range(op[1]):
                        logs[c].append(mem.v0)
                    local_irq_enable()
                elif kind == "lock":
                    raw_spin_lock(locks[op[1]])
                    setattr(mem, var(op[2]), getattr(mem, var(op[2])) + 1)
                    raw_spin_unlock(locks[op[1]])
                elif kind == "trylock":
                    if raw_spin_trylock(locks[op[1]]):
                        logs[c].append(getattr(mem, var(op[2])))
                        raw_spin_unlock(locks[op[1]])
                    else:
                        logs[c].append("busy")
                elif kind == "wait":
                    # Spin (bounded by what others store) until the variable is non-zero.
                    while getattr(mem, var(op[1])) == 0:
                        cpu_relax()
                elif kind == "assert":
                    got = getattr(mem, var(op[1]))
                    assert got != op[2], f"CPU{c} read v{op[1]}={got}"

        def final() -> None:
            state = (
                tuple(mem.raw(var(i)) for i in range(NVARS)),
                tuple(x.raw("counter") for x in cnts),
                tuple(tuple(x) for x in logs),
                tuple(sorted(hlog, key=repr)),
            )
            results["finals"].add(state)

        m.at_end(final)
        return {c: (lambda c=c: run_ops(c)) for c in range(ncpus)}

    return SimpleProgram("random", ncpus, build)


def interleavings(spec: Any) -> int:
    ncpus, progs, handler_ops = spec
    lens = []
    for c in range(ncpus):
        n = 0
        for op in progs[c]:
            n += {"cli": 2 + op[1] if op[0] == "cli" else 0, "lock": 4, "trylock": 3, "wait": 2, "cwait": 2}.get(
                op[0], 1
            )
        lens.append(n)
    nipi = sum(1 for c in range(ncpus) for op in progs[c] if op[0] == "ipi")
    total = sum(lens) + nipi * (2 + len(handler_ops))
    denom = 1
    for n in lens:
        denom *= math.factorial(n)
    return math.factorial(total) // max(1, denom)


def signature(events: list[Any]) -> Any:
    """The Mazurkiewicz trace of an execution: per key, the order of its accesses
    up to swapping neighbours that commute (reads with reads, commuting updates
    with commuting updates).  An event that accesses a key in two ways (an update
    and a read) counts as a write of it."""
    count: dict[int, int] = defaultdict(int)
    per_key: dict[Any, list[Any]] = defaultdict(list)
    for a, acc in events:
        eid = (a, count[a])
        count[a] += 1
        kinds: dict[Any, set[str]] = defaultdict(set)
        for k, w in acc:
            kinds[k].add("U" if w == UPDATE else "W" if w in (True, ACQUIRE) else "R")
        for k, ks in kinds.items():
            t = ks.pop() if len(ks) == 1 else "W"
            blocks = per_key[k]
            if t == "W":
                blocks.append(("W", eid))
            elif blocks and blocks[-1][0] == t:
                blocks[-1][1].add(eid)
            else:
                blocks.append((t, {eid}))
    return tuple(
        sorted(
            (repr(k), tuple((t, x if t == "W" else tuple(sorted(x))) for t, x in blocks))
            for k, blocks in per_key.items()
        )
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
