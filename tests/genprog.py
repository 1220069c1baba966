# SPDX-License-Identifier: GPL-2.0-only
"""Small random engine programs that use every primitive, for the differential tests.

A program is plain data (a :class:`Spec`), so Hypothesis can generate, shrink and print it,
and a failing one can be pasted into a regression test.  Each CPU runs a list of operations;
an operation is a tuple naming a primitive and its operands:

    ("r", v)                 READ_ONCE(mem.v)                    (logged)
    ("w", v, val)            WRITE_ONCE(mem.v, val)
    ("winc", v)              mem.v = (last value this CPU read) + 1
    ("cas", v, old, new)     cmpxchg(mem.v, old, new)           (may fail; logged)
    ("xchg", v, val)         xchg(mem.v, val)                    (logged)
    ("inc", c) ("dec", c)    atomic_inc/atomic_dec(cnt[c])       (commuting updates)
    ("add", c)               atomic_add(2, cnt[c])
    ("fadd", c)              atomic_fetch_add(1, cnt[c])         (logged)
    ("cread", c)             atomic_read(cnt[c])                 (logged)
    ("cset", c, val)         atomic_set(cnt[c], val)
    ("await", v, p)          smp_cond_load_acquire(mem.v, p)     p: "nz", "eq1", "ne1", "ge2"
    ("cawait", c)            smp_cond_load_acquire(cnt[c], != 0)
    ("relax", v)             while READ_ONCE(mem.v) == 0: cpu_relax()
    ("lock", l, v)           raw_spin_lock(L[l]); mem.v += 1; raw_spin_unlock(L[l])
    ("lockirq", l, v)        raw_spin_lock_irqsave(L[l]); mem.v += 1; unlock_irqrestore
    ("trylock", l, v)        if raw_spin_trylock(L[l]): read mem.v; unlock   (logged)
    ("if", v, val, a, b)     if READ_ONCE(mem.v) == val: ops a else ops b
    ("ipi", cpu)             apic_send_IPI(cpu, TEST_VECTOR)     (may be lost: fault budget)
    ("cli", k)               local_irq_disable(); k reads of mem.v0; local_irq_enable()
    ("assert", v, val)       assert READ_ONCE(mem.v) != val
    ("die",)                 local_irq_disable(); cpu_die(): the CPU goes offline for good
    ("boot", cpu)            cpu_boot(cpu): wait until that CPU died, bring it up (it idles)
    ("wake",)                mem.v2 = 1; wake_up_process(the kernel thread)
    ("mb",)                  smp_mb()                            (programs drawn for TSO)

A program's ``model`` is the machine's memory model: "sc", or "tso" (x86-TSO store buffers;
the TSO draws add smp_mb()).  Under TSO its ``apic`` is drawn too: "xapic" (an IPI's ICR write
drains the store buffer first) or "x2apic" (it does not).

TEST_VECTOR's handler runs ``handler`` (reads, writes, increments: "r", "w", "inc"), then
EOI.  A program with a "wake" has a kernel thread (SCHED_FIFO) on its last CPU that sleeps in
schedule() until mem.v2 is set, then stores mem.v3 = 5.  An optional event source raises
TEST_VECTOR on a CPU while mem.v3 == 1 (budget 1).
The final state is every variable, counter and lock word, each CPU's log and the
handlers' log.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from kernel_port.engine import (
    TASK_INTERRUPTIBLE,
    SimpleProgram,
    Struct,
    apic_eoi,
    apic_send_IPI,
    atomic_add,
    atomic_dec,
    atomic_fetch_add,
    atomic_inc,
    atomic_read,
    atomic_set,
    atomic_t,
    cmpxchg,
    cpu_boot,
    cpu_die,
    cpu_relax,
    field,
    key_of,
    kthread_create_on_cpu,
    local_irq_disable,
    local_irq_enable,
    raw_spin_lock,
    raw_spin_lock_irqsave,
    raw_spin_trylock,
    raw_spin_unlock,
    raw_spin_unlock_irqrestore,
    raw_spinlock_t,
    rt_prio,
    schedule,
    set_current_state,
    smp_cond_load_acquire,
    smp_mb,
    wake_up_process,
    xchg,
)

TEST_VECTOR = 0xF5
NVARS = 4
NCNT = 2
NLOCKS = 2

PREDICATES = {
    "nz": lambda v: v != 0,
    "eq1": lambda v: v == 1,
    "ne1": lambda v: v != 1,
    "ge2": lambda v: v >= 2,
}


class Mem(Struct):
    v0 = field(0)
    v1 = field(0)
    v2 = field(0)
    v3 = field(0)


@dataclass(frozen=True)
class Spec:
    ncpus: int
    progs: tuple[tuple[Any, ...], ...]
    handler: tuple[Any, ...] = ()
    faults: int = 0  # lost IPIs allowed
    source: int = -1  # CPU a guarded event source raises TEST_VECTOR on (-1: none)
    model: str = "sc"  # the memory model: "sc" or "tso"
    # The local APIC's mode under TSO: an xAPIC ICR write drains the store buffer, an x2APIC
    # one (a WRMSR) does not (kernel_port/engine/primitives.py, apic_send_IPI).
    apic: str = "xapic"


BLOCKING = {"await", "cawait", "relax", "lock", "lockirq", "trylock", "die", "boot", "wake"}


def uses(spec: Spec, kinds: set[str]) -> bool:
    def walk(ops: tuple[Any, ...]) -> bool:
        for op in ops:
            if op[0] in kinds:
                return True
            if op[0] == "if" and (walk(op[3]) or walk(op[4])):
                return True
        return False

    return any(walk(p) for p in spec.progs)


def blocking(spec: Spec) -> bool:
    """Does the program use a step that can be disabled (a wait, a lock, an interrupt)?"""
    return uses(spec, BLOCKING | {"ipi", "cli"}) or spec.source >= 0


def make(spec: Spec) -> Any:
    """``make(result)`` builds the program; its final check stores the state in result."""

    def program(result: dict[str, Any]) -> SimpleProgram:
        def build(m: Any) -> Any:
            mem = Mem(name="mem")
            cnt = [atomic_t(name=f"cnt{i}") for i in range(NCNT)]
            locks = [raw_spinlock_t(name=f"L{i}") for i in range(NLOCKS)]
            logs: list[list[Any]] = [[] for _ in range(spec.ncpus)]
            hlog: list[Any] = []

            def handler(vec: int) -> None:
                for op in spec.handler:
                    if op[0] == "r":
                        hlog.append(getattr(mem, f"v{op[1]}"))
                    elif op[0] == "w":
                        setattr(mem, f"v{op[1]}", op[2])
                    else:
                        atomic_inc(cnt[op[1]])
                apic_eoi()

            m.register_vector(TEST_VECTOR, "TEST_VECTOR", handler)
            if spec.source >= 0:
                m.add_source(
                    "device",
                    spec.source,
                    TEST_VECTOR,
                    budget=1,
                    guard=lambda: mem.raw("v3") == 1,
                    keys=[key_of(mem, "v3")],
                )

            thread: list[Any] = []
            if uses(spec, {"wake"}):
                tc = spec.ncpus - 1

                def kthread() -> None:
                    while True:
                        set_current_state(TASK_INTERRUPTIBLE)
                        if mem.v2 != 0:
                            break
                        schedule()
                    mem.v3 = 5

                thread.append(kthread_create_on_cpu(m, tc, kthread, "kt", rt_prio(50)))

            def run_ops(c: int, ops: tuple[Any, ...]) -> None:
                log = logs[c]
                last = 0
                for op in ops:
                    k = op[0]
                    if k == "r":
                        last = getattr(mem, f"v{op[1]}")
                        log.append(last)
                    elif k == "w":
                        setattr(mem, f"v{op[1]}", op[2])
                    elif k == "winc":
                        setattr(mem, f"v{op[1]}", last + 1)
                    elif k == "cas":
                        log.append(cmpxchg(mem, f"v{op[1]}", op[2], op[3]))
                    elif k == "xchg":
                        log.append(xchg(mem, f"v{op[1]}", op[2]))
                    elif k == "inc":
                        atomic_inc(cnt[op[1]])
                    elif k == "dec":
                        atomic_dec(cnt[op[1]])
                    elif k == "add":
                        atomic_add(2, cnt[op[1]])
                    elif k == "fadd":
                        log.append(atomic_fetch_add(1, cnt[op[1]]))
                    elif k == "cread":
                        log.append(atomic_read(cnt[op[1]]))
                    elif k == "cset":
                        atomic_set(cnt[op[1]], op[2])
                    elif k == "await":
                        log.append(smp_cond_load_acquire(mem, f"v{op[1]}", PREDICATES[op[2]]))
                    elif k == "cawait":
                        log.append(smp_cond_load_acquire(cnt[op[1]], "counter", lambda v: v != 0))
                    elif k == "relax":
                        while getattr(mem, f"v{op[1]}") == 0:
                            cpu_relax()
                    elif k == "lock":
                        raw_spin_lock(locks[op[1]])
                        setattr(mem, f"v{op[2]}", getattr(mem, f"v{op[2]}") + 1)
                        raw_spin_unlock(locks[op[1]])
                    elif k == "lockirq":
                        flags = raw_spin_lock_irqsave(locks[op[1]])
                        setattr(mem, f"v{op[2]}", getattr(mem, f"v{op[2]}") + 1)
                        raw_spin_unlock_irqrestore(locks[op[1]], flags)
                    elif k == "trylock":
                        if raw_spin_trylock(locks[op[1]]):
                            log.append(getattr(mem, f"v{op[2]}"))
                            raw_spin_unlock(locks[op[1]])
                        else:
                            log.append("busy")
                    elif k == "if":
                        last = getattr(mem, f"v{op[1]}")
                        run_ops(c, op[3] if last == op[2] else op[4])
                    elif k == "ipi":
                        apic_send_IPI(op[1] % spec.ncpus, TEST_VECTOR)
                    elif k == "cli":
                        local_irq_disable()
                        for _ in range(op[1]):
                            log.append(mem.v0)
                        local_irq_enable()
                    elif k == "assert":
                        got = getattr(mem, f"v{op[1]}")
                        assert got != op[2], f"CPU{c} read v{op[1]} = {got}"
                    elif k == "die":
                        local_irq_disable()
                        cpu_die()
                    elif k == "boot":
                        if op[1] % spec.ncpus != c:
                            cpu_boot(op[1] % spec.ncpus)
                    elif k == "wake":
                        mem.v2 = 1
                        wake_up_process(thread[0])
                    elif k == "mb":
                        smp_mb()
                    else:
                        raise ValueError(op)

            def final() -> None:
                result["final"] = (
                    tuple(mem.raw(f"v{i}") for i in range(NVARS)),
                    tuple(x.raw("counter") for x in cnt),
                    tuple(x.raw("locked") for x in locks),
                    tuple(tuple(x) for x in logs),
                    tuple(sorted(hlog, key=repr)),
                )

            m.at_end(final)
            return {c: (lambda c=c: run_ops(c, spec.progs[c])) for c in range(spec.ncpus)}

        return SimpleProgram(
            "random",
            spec.ncpus,
            build,
            faults=spec.faults,
            fault_kinds=("lost-ipi",) if spec.faults else (),
            step_budget=400,
            config=_config(spec),
        )

    return program


def _config(spec: Spec) -> dict[str, Any]:
    if spec.model != "tso":
        return {}
    if spec.apic == "xapic":
        return {"MEMORY_MODEL": "tso"}
    return {"MEMORY_MODEL": "tso", "APIC_MODE": spec.apic}


def steps_of(ops: tuple[Any, ...]) -> int:
    """An upper bound of the steps a list of operations makes (for sizing)."""
    n = 0
    for op in ops:
        k = op[0]
        if k in ("lock", "lockirq"):
            n += 3 + (2 if k == "lockirq" else 0)
        elif k == "trylock":
            n += 3
        elif k == "cli":
            n += 2 + op[1]
        elif k == "relax":
            n += 3
        elif k == "if":
            n += 1 + max(steps_of(op[3]), steps_of(op[4]))
        elif k in ("ipi", "wake"):
            n += 3
        elif k == "die":
            n += 2
        else:
            n += 1
    return n


def interleavings(spec: Spec) -> float:
    """A rough count of schedules (multinomial of the CPUs' step counts), for sizing."""
    lens = [steps_of(p) for p in spec.progs[: spec.ncpus]]
    if spec.model == "tso":
        # A store is two steps (into the buffer, then to memory), a fence or LOCK'd
        # operation often two (the drain, then the operation).
        lens = [x + (x + 1) // 2 for x in lens]
    total = sum(lens) + 2 * (spec.source >= 0) + len(spec.handler) * 2
    return math.factorial(total) / math.prod(math.factorial(x) for x in lens) if total else 1


# -- Hypothesis strategies ----------------------------------------------------------------------

var = st.integers(0, NVARS - 1)
cnt = st.integers(0, NCNT - 1)
lock = st.integers(0, NLOCKS - 1)


def _op(depth: int) -> Any:
    simple = st.one_of(
        st.tuples(st.just("r"), var),
        st.tuples(st.just("w"), var, st.integers(1, 2)),
        st.tuples(st.just("winc"), var),
        st.tuples(st.just("cas"), var, st.integers(0, 1), st.integers(1, 2)),
        st.tuples(st.just("xchg"), var, st.integers(0, 2)),
        st.tuples(st.sampled_from(["inc", "dec", "add", "fadd", "cread"]), cnt),
        st.tuples(st.just("cset"), cnt, st.integers(0, 2)),
        st.tuples(st.just("await"), var, st.sampled_from(sorted(PREDICATES))),
        st.tuples(st.just("cawait"), cnt),
        st.tuples(st.just("relax"), var),
        st.tuples(st.sampled_from(["lock", "lockirq", "trylock"]), lock, var),
        st.tuples(st.just("ipi"), st.integers(0, 3)),
        st.tuples(st.just("cli"), st.integers(1, 2)),
        st.tuples(st.just("die")),
        st.tuples(st.just("boot"), st.integers(0, 3)),
        st.tuples(st.just("wake")),
    )
    if depth <= 0:
        return simple
    branch = st.tuples(
        st.just("if"),
        var,
        st.integers(0, 2),
        st.lists(_op(depth - 1), max_size=2).map(tuple),
        st.lists(_op(depth - 1), max_size=2).map(tuple),
    )
    return st.one_of(simple, branch)


OP = _op(1)
ASSERT = st.tuples(st.just("assert"), var, st.integers(1, 2))


MB = st.tuples(st.just("mb"))


@st.composite
def specs(draw: Any, *, asserts: bool = False, max_ops: int = 4, blocking_ok: bool = True, model: str = "sc") -> Spec:
    ncpus = draw(st.integers(2, 4))
    op = st.one_of(OP, ASSERT) if asserts else OP
    if model == "tso":
        op = st.one_of(op, MB)
    if not blocking_ok:
        op = op.filter(lambda o: o[0] not in BLOCKING | {"ipi", "cli", "if"})
    sizes = [max_ops, max_ops, max(1, max_ops // 2), max(1, max_ops // 2)]
    progs = tuple(tuple(draw(st.lists(op, max_size=sizes[c]))) for c in range(ncpus))
    handler = tuple(
        draw(
            st.lists(
                st.one_of(
                    st.tuples(st.just("r"), var),
                    st.tuples(st.just("w"), var, st.just(3)),
                    st.tuples(st.just("inc"), cnt),
                ),
                max_size=2,
            )
        )
    )
    faults = draw(st.integers(0, 1)) if blocking_ok else 0
    source = draw(st.integers(-1, ncpus - 1)) if blocking_ok and draw(st.booleans()) else -1
    apic = draw(st.sampled_from(["xapic", "x2apic"])) if model == "tso" else "xapic"
    return Spec(ncpus, progs, handler, faults, source, model, apic)


# -- plain random programs (the bench draws thousands) ------------------------------------------


def random_op(rng: Any, depth: int = 1, asserts: bool = False, tso: bool = False) -> tuple[Any, ...]:
    v = rng.randrange(NVARS)
    c = rng.randrange(NCNT)
    kinds = [
        "r",
        "r",
        "w",
        "w",
        "winc",
        "cas",
        "xchg",
        "inc",
        "dec",
        "add",
        "fadd",
        "cread",
        "cset",
        "await",
        "cawait",
        "relax",
        "lock",
        "lockirq",
        "trylock",
        "ipi",
        "cli",
    ]
    if depth > 0:
        kinds.append("if")
    if asserts:
        kinds.append("assert")
    if tso:
        kinds += ["mb", "w", "r"]
    k = rng.choice(kinds)
    if k == "r" or k == "winc":
        return (k, v)
    if k == "w":
        return (k, v, rng.randint(1, 2))
    if k == "cas":
        return (k, v, rng.randint(0, 1), rng.randint(1, 2))
    if k == "xchg":
        return (k, v, rng.randint(0, 2))
    if k in ("inc", "dec", "add", "fadd", "cread", "cawait"):
        return (k, c)
    if k == "cset":
        return (k, c, rng.randint(0, 2))
    if k == "await":
        return (k, v, rng.choice(sorted(PREDICATES)))
    if k == "relax":
        return (k, v)
    if k in ("lock", "lockirq", "trylock"):
        return (k, rng.randrange(NLOCKS), v)
    if k == "ipi":
        return (k, rng.randrange(4))
    if k == "cli":
        return (k, rng.randint(1, 2))
    if k in ("die", "wake", "mb"):
        return (k,)
    if k == "boot":
        return (k, rng.randrange(4))
    if k == "assert":
        return (k, v, rng.randint(1, 2))
    a = tuple(random_op(rng, depth - 1, asserts, tso) for _ in range(rng.randint(0, 2)))
    b = tuple(random_op(rng, depth - 1, asserts, tso) for _ in range(rng.randint(0, 2)))
    return ("if", v, rng.randint(0, 2), a, b)


def random_spec(
    rng: Any, *, max_steps: int = 13, asserts: bool = False, blocking_ok: bool = True, model: str = "sc"
) -> Spec:
    """A random program of 2-4 CPUs with at most about ``max_steps`` steps in all."""
    while True:
        ncpus = rng.choice([2, 2, 3, 3, 4])
        progs = []
        for c in range(ncpus):
            n = rng.randint(0, 4 if c < 2 else 2)
            ops = []
            for _ in range(n):
                op = random_op(rng, 1, asserts, model == "tso")
                if not blocking_ok:
                    while op[0] in BLOCKING | {"ipi", "cli", "if"}:
                        op = random_op(rng, 0, asserts, model == "tso")
                ops.append(op)
            progs.append(tuple(ops))
        handler = tuple(
            rng.choice([("r", rng.randrange(NVARS)), ("w", rng.randrange(NVARS), 3), ("inc", rng.randrange(NCNT))])
            for _ in range(rng.randint(0, 2))
        )
        faults = rng.randint(0, 1) if blocking_ok else 0
        source = rng.randrange(ncpus) if blocking_ok and rng.random() < 0.25 else -1
        apic = rng.choice(["xapic", "x2apic"]) if model == "tso" else "xapic"
        spec = Spec(ncpus, tuple(progs), handler, faults, source, model, apic)
        if sum(steps_of(p) for p in spec.progs) <= max_steps:
            return spec
