# SPDX-License-Identifier: GPL-2.0-only
"""Engine self-test programs, as scenarios (family ``engine.``).

They use no ported kernel code: each pins one behaviour of the machine or the
explorer, and each comes with a twin that flips its verdict, so that the pair
proves the engine can tell the two apart.  tests/test_engine_golden.py pins
their execution counts.
"""

from __future__ import annotations

from typing import Any

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
