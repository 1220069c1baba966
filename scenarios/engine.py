# SPDX-License-Identifier: GPL-2.0-only
"""Engine self-test programs, as scenarios (family ``engine.``).

They use no ported kernel code: each pins one behaviour of the machine or the
explorer, and each comes with a twin that flips its verdict, so that the pair
proves the engine can tell the two apart.  tests/test_engine_golden.py pins
their execution counts.
"""

from __future__ import annotations

from typing import Any, ClassVar

from kernel_port.engine import (
    Machine,
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
    smp_mb,
    xchg,
)
from kernel_port.scenario import BUG, OK, Scenario

TEST_VECTOR = 0xF5


class Vars(Struct):
    x = field(0)
    y = field(0)
    flag = field(0)
    ran = field(0)
    inside = field(0)


class StoreBuffering(Scenario):
    """SB under sequential consistency: both CPUs reading 0 is forbidden.

    CPU0 writes x then reads y; CPU1 writes y then reads x.  With every step
    globally ordered, at least one CPU sees the other's store.
    """

    name = "engine.store-buffering"
    cpus = 2
    expect = {"v6.17": OK}

    def setup(self, k: Any, m: Machine) -> None:
        self.v = Vars(name="v")
        self.r: dict[int, int] = {}
        m.at_end(self.check)

    def check(self) -> None:
        assert (self.r[0], self.r[1]) != (0, 0), "both CPUs read 0"

    def cpu0(self, k: Any) -> None:
        self.v.x = 1
        self.r[0] = self.v.y

    def cpu1(self, k: Any) -> None:
        self.v.y = 1
        self.r[1] = self.v.x


class StoreBufferingSeen(StoreBuffering):
    """The SB twin: claims no CPU ever reads the other's store late; it can."""

    name = "engine.store-buffering-late"
    expect = {"v6.17": BUG}

    def check(self) -> None:
        assert (self.r[0], self.r[1]) == (1, 1), f"a CPU read 0: r0={self.r[0]} r1={self.r[1]}"


class LostUpdate(Scenario):
    """Two CPUs increment a counter with a plain read and write: one update can be lost."""

    name = "engine.lost-update"
    cpus = 2
    expect = {"v6.17": BUG}

    def setup(self, k: Any, m: Machine) -> None:
        self.v = Vars(name="counter")
        m.at_end(lambda: self._check())

    def _check(self) -> None:
        got = self.v.raw("x")
        assert got == self.cpus, f"counter is {got}, expected {self.cpus}"

    def _inc(self) -> None:
        t = self.v.x
        self.v.x = t + 1

    def cpu0(self, k: Any) -> None:
        self._inc()

    def cpu1(self, k: Any) -> None:
        self._inc()


class AtomicUpdate(Scenario):
    """The lost-update twin with atomic_inc: no update is lost."""

    name = "engine.atomic-update"
    cpus = 2
    expect = {"v6.17": OK}

    def setup(self, k: Any, m: Machine) -> None:
        self.a = atomic_t(name="counter")
        m.at_end(lambda: self._check())

    def _check(self) -> None:
        assert self.a.raw("counter") == 2

    def cpu0(self, k: Any) -> None:
        atomic_inc(self.a)

    def cpu1(self, k: Any) -> None:
        atomic_inc(self.a)


class ABBA(Scenario):
    """Two spinlocks taken in opposite orders: deadlock."""

    name = "engine.abba"
    cpus = 2
    expect = {"v6.17": BUG}

    def setup(self, k: Any, m: Machine) -> None:
        self.a = raw_spinlock_t(name="A")
        self.b = raw_spinlock_t(name="B")

    def _take(self, first: raw_spinlock_t, second: raw_spinlock_t) -> None:
        raw_spin_lock(first)
        raw_spin_lock(second)
        raw_spin_unlock(second)
        raw_spin_unlock(first)

    def cpu0(self, k: Any) -> None:
        self._take(self.a, self.b)

    def cpu1(self, k: Any) -> None:
        self._take(self.b, self.a)


class ABAB(ABBA):
    """The ABBA twin with one lock order: no deadlock."""

    name = "engine.abab"
    expect = {"v6.17": OK}

    def cpu1(self, k: Any) -> None:
        self._take(self.a, self.b)


class SpinHandoff(Scenario):
    """CPU1 spins until CPU0 sets a flag: terminates (the spinner blocks, then wakes)."""

    name = "engine.spin-handoff"
    cpus = 2
    expect = {"v6.17": OK}

    def setup(self, k: Any, m: Machine) -> None:
        self.v = Vars(name="v")

    def cpu0(self, k: Any) -> None:
        self.v.flag = 1

    def cpu1(self, k: Any) -> None:
        while self.v.flag == 0:
            cpu_relax()


class SpinHandoffBroken(SpinHandoff):
    """The hand-off twin where nobody sets the flag: reported as a deadlock."""

    name = "engine.spin-handoff-broken"
    expect = {"v6.17": BUG}

    def cpu0(self, k: Any) -> None:
        self.v.x = 1


class _IpiBase(Scenario):
    cpus = 2
    fault_kinds = ("lost-ipi",)

    def setup(self, k: Any, m: Machine) -> None:
        self.v = Vars(name="v")
        m.register_vector(TEST_VECTOR, "TEST_VECTOR", self.handler)
        m.eventually("the IPI handler ran on CPU1", lambda: self.v.raw("ran") == 1)

    def handler(self, vec: int) -> None:
        apic_eoi()
        self.v.ran = self.v.ran + 1

    def cpu0(self, k: Any) -> None:
        apic_send_IPI(1, TEST_VECTOR)


class IpiDelivered(_IpiBase):
    """An IPI with fault budget 0 is always delivered and handled."""

    name = "engine.ipi"
    faults = 0
    expect = {"v6.17": OK}


class IpiLost(_IpiBase):
    """The same IPI with fault budget 1: the lost-IPI fault leaves the work undone (stall)."""

    name = "engine.lost-ipi"
    faults = 1
    expect = {"v6.17": BUG}


class IrqsOffSection(Scenario):
    """An interrupt cannot arrive while interrupts are disabled.

    CPU1 marks a section 'inside' with interrupts off; CPU0's IPI handler on
    CPU1 asserts it never runs inside that section.
    """

    name = "engine.irqs-off"
    cpus = 2
    expect = {"v6.17": OK}
    protect = True

    def setup(self, k: Any, m: Machine) -> None:
        self.v = Vars(name="v")
        m.register_vector(TEST_VECTOR, "TEST_VECTOR", self.handler)

    def handler(self, vec: int) -> None:
        apic_eoi()
        assert self.v.inside == 0, "the interrupt arrived inside the irqs-off section"

    def cpu0(self, k: Any) -> None:
        apic_send_IPI(1, TEST_VECTOR)

    def cpu1(self, k: Any) -> None:
        if self.protect:
            local_irq_disable()
        self.v.inside = 1
        self.v.inside = 0
        if self.protect:
            local_irq_enable()


class IrqsOnSection(IrqsOffSection):
    """The twin without local_irq_disable(): the interrupt can land inside."""

    name = "engine.irqs-on"
    expect = {"v6.17": BUG}
    protect = False


class Coalesce(Scenario):
    """Two sends of a vector still pending in IRR give one handler run."""

    name = "engine.coalesce"
    cpus = 2
    expect = {"v6.17": OK}
    runs = 1

    def setup(self, k: Any, m: Machine) -> None:
        self.v = Vars(name="v")
        m.register_vector(TEST_VECTOR, "TEST_VECTOR", self.handler)
        m.at_end(self.check)

    def check(self) -> None:
        ran = self.v.raw("ran")
        assert ran == self.runs, f"handler ran {ran} time(s)"

    def handler(self, vec: int) -> None:
        apic_eoi()
        self.v.ran = self.v.ran + 1

    def cpu1(self, k: Any) -> None:
        local_irq_disable()
        apic_send_IPI(1, TEST_VECTOR)
        apic_send_IPI(1, TEST_VECTOR)
        local_irq_enable()


class CoalesceTwice(Coalesce):
    """The coalescing twin: expecting two handler runs is wrong."""

    name = "engine.coalesce-twice"
    expect = {"v6.17": BUG}
    runs = 2


# -- x86-TSO litmus tests ------------------------------------------------------------------------
#
# The classic x86 litmus tests, each with the x86-TSO answer from the literature (Owens,
# Sarkar, Sewell, "A better x86 memory model: x86-TSO", TPHOLs 2009; Sewell et al., CACM
# 53(7), 2010; Intel SDM vol. 3, 8.2.3).  Each scenario claims that its outcome never
# happens: under ``tso`` that claim fails (BUG) exactly when x86-TSO allows the outcome, and
# under ``sc`` it holds for every one of them.  tests/test_tso.py checks the same answers
# against an independent TSO interpreter.


class Litmus(Scenario):
    """Base: ``progs`` gives each CPU's operations, ``outcome`` the claimed-impossible one.

    An operation is ("w", loc, value), ("w-mb", loc, value) (a store then smp_mb()),
    ("xchg", loc, value) (a LOCK'd store) or ("r", loc, register).  The observation is the
    registers in ``regs`` order, then (with ``final``) the final x and y.
    """

    name = ""
    cpus = 2
    memory_model = "tso"
    allowed = True  # does x86-TSO allow the outcome?
    progs: ClassVar[tuple[tuple[tuple[Any, ...], ...], ...]] = ()
    regs: ClassVar[tuple[str, ...]] = ()
    final = False
    outcome: ClassVar[tuple[int, ...]] = ()

    def setup(self, k: Any, m: Machine) -> None:
        self.v = Vars(name="v")
        self.r: dict[str, int] = {}
        m.at_end(self.check)

    def check(self) -> None:
        got = tuple(self.r[n] for n in self.regs)
        if self.final:
            got += (self.v.raw("x"), self.v.raw("y"))
        assert got != self.outcome, f"{self.name.removeprefix('engine.litmus-')}: outcome {got} reached"

    def _run(self, c: int) -> None:
        for op in self.progs[c]:
            if op[0] == "r":
                self.r[op[2]] = getattr(self.v, op[1])
            elif op[0] == "xchg":
                xchg(self.v, op[1], op[2])
            else:
                setattr(self.v, op[1], op[2])
                if op[0] == "w-mb":
                    smp_mb()


def _cpu(c: int) -> Any:
    def cpu(self: Litmus, k: Any) -> None:
        self._run(c)

    cpu.__name__ = f"cpu{c}"
    return cpu


def _litmus(name: str, allowed: bool, progs: Any, regs: Any, outcome: Any, final: bool = False, doc: str = "") -> Any:
    cls = type(
        "Litmus_" + name.replace("+", "_").replace("-", "_"),
        (Litmus,),
        {
            "__doc__": doc,
            "name": f"engine.litmus-{name}",
            "cpus": len(progs),
            "allowed": allowed,
            "progs": progs,
            "regs": regs,
            "final": final,
            "outcome": outcome,
            "expect": {"v6.17": BUG if allowed else OK, "v6.17@sc": OK},
            **{f"cpu{c}": _cpu(c) for c in range(len(progs))},
        },
    )
    cls.__module__ = __name__
    return cls


LitmusSB = _litmus(
    "sb",
    True,
    ((("w", "x", 1), ("r", "y", "a")), (("w", "y", 1), ("r", "x", "b"))),
    ("a", "b"),
    (0, 0),
    doc="SB: both loads pass the other CPU's buffered store.",
)
LitmusSBMfences = _litmus(
    "sb-mfences",
    False,
    ((("w-mb", "x", 1), ("r", "y", "a")), (("w-mb", "y", 1), ("r", "x", "b"))),
    ("a", "b"),
    (0, 0),
    doc="SB with smp_mb() on both sides: forbidden.",
)
LitmusSBXchg = _litmus(
    "sb-xchg-one-side",
    True,
    ((("xchg", "x", 1), ("r", "y", "a")), (("w", "y", 1), ("r", "x", "b"))),
    ("a", "b"),
    (0, 0),
    doc="SB with one side a LOCK'd store: the other side's store still waits in its buffer.",
)
LitmusMP = _litmus(
    "mp",
    False,
    ((("w", "x", 1), ("w", "y", 1)), (("r", "y", "a"), ("r", "x", "b"))),
    ("a", "b"),
    (1, 0),
    doc="MP: stores leave a buffer in order and loads are not reordered: forbidden.",
)
LitmusLB = _litmus(
    "lb",
    False,
    ((("r", "x", "a"), ("w", "y", 1)), (("r", "y", "b"), ("w", "x", 1))),
    ("a", "b"),
    (1, 1),
    doc="LB: no load sees a store that comes after a later load: forbidden.",
)
LitmusR = _litmus(
    "r",
    True,
    ((("w", "x", 1), ("w", "y", 1)), (("w", "y", 2), ("r", "x", "b"))),
    ("b",),
    (0, 1, 2),
    True,
    doc="R: y ends 2 yet CPU1 read x = 0: its load passed its buffered store.",
)
Litmus2p2W = _litmus(
    "2+2w",
    False,
    ((("w", "x", 1), ("w", "y", 2)), (("w", "y", 1), ("w", "x", 2))),
    (),
    (1, 1),
    True,
    doc="2+2W: both locations ending with each CPU's first store: forbidden.",
)
LitmusS = _litmus(
    "s",
    False,
    ((("w", "x", 2), ("w", "y", 1)), (("r", "y", "a"), ("w", "x", 1))),
    ("a",),
    (1, 2, 1),
    True,
    doc="S: CPU1 saw y = 1, yet CPU0's earlier store to x won: forbidden.",
)
LitmusForwarding = _litmus(
    "store-forwarding",
    True,
    ((("w", "x", 1), ("r", "x", "a"), ("r", "y", "b")), (("w", "y", 1), ("r", "y", "c"), ("r", "x", "d"))),
    ("a", "b", "c", "d"),
    (1, 0, 1, 0),
    doc="SDM 8.2.3.5: each CPU reads its own store early (forwarding) and the other's late.",
)
LitmusN6 = _litmus(
    "n6",
    True,
    ((("w", "x", 1), ("r", "x", "a"), ("r", "y", "b")), (("w", "y", 2), ("w", "x", 2))),
    ("a", "b"),
    (1, 0, 1, 2),
    True,
    doc="n6 (Owens et al.): CPU0 reads x = 1 and y = 0, yet x ends 1.",
)
LitmusIRIW = _litmus(
    "iriw",
    False,
    ((("w", "x", 1),), (("w", "y", 1),), (("r", "x", "a"), ("r", "y", "b")), (("r", "y", "c"), ("r", "x", "d"))),
    ("a", "b", "c", "d"),
    (1, 0, 1, 0),
    doc="IRIW: the readers disagree on the order of two stores: forbidden.",
)
LitmusWRC = _litmus(
    "wrc",
    False,
    ((("w", "x", 1),), (("r", "x", "a"), ("w", "y", 1)), (("r", "y", "b"), ("r", "x", "c"))),
    ("a", "b", "c"),
    (1, 1, 0),
    doc="WRC: causality is transitive on x86: forbidden.",
)
