# SPDX-License-Identifier: GPL-2.0-only
"""The program family of tests/test_dpor_property.py, as plain functions: a program from its
spec (CPUs, per-CPU operations, an IPI handler's operations), how many interleavings it has,
and the Mazurkiewicz trace of an execution counted by brute force.  A module of its own so
that bench/dpor_quality.py can draw programs of the family without importing a test module.
"""

from __future__ import annotations

import math
from typing import Any

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

from .oracle import trace_of

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
    """The Mazurkiewicz trace of an execution (tests/oracle.py's trace_of, without faults:
    this family has none)."""
    return trace_of(events, [])[0]
