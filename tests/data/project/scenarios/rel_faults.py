# SPDX-License-Identifier: GPL-2.0-only
"""Scenarios that fail on purpose, for tests/test_reliability.py (not part of the corpus).

Each one makes the scenario or the "port" itself misbehave: an exception on one schedule, a
set-up that raises, a loop that never blocks, a Ctrl-C in the middle of a search, a search
too large to finish.  (A broken machine description, ``cpus = "two"``, is now refused when
the module loads: tests/data/invalid.)
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from kernel_port.engine import Machine, Struct, field, kfunc
from kernel_port.scenario import BUG, OK, Scenario


class V(Struct):
    x = field(0)
    y = field(0)


@kfunc("kernel/rel_fake.c", "v6.17", line=10)
def fake_lookup(v: V) -> int:
    table = {0: "zero"}
    return len(table[v.x])  # KeyError when CPU0's store came first


@kfunc("kernel/rel_fake.c", "v6.17", line=20)
def spin_without_relax(v: V) -> None:
    while True:  # a livelock: writes forever, never blocks
        v.y = v.y + 1


class RaisesOnOneSchedule(Scenario):
    """CPU1's lookup raises KeyError when it runs after CPU0's store: an error of the port, not a bug."""

    name = "rel.raises"
    cpus = 2
    expect = {"v6.17": OK}

    def setup(self, k: Any, m: Machine) -> None:
        self.v = V(name="v")

    def cpu0(self, k: Any) -> None:
        self.v.x = 1

    def cpu1(self, k: Any) -> None:
        fake_lookup(self.v)


class SetupRaises(Scenario):
    """The scenario's set-up itself raises."""

    name = "rel.setup-raises"
    cpus = 1
    expect = {"v6.17": OK}

    def setup(self, k: Any, m: Machine) -> None:
        raise ValueError("set-up broke")


class Spins(Scenario):
    """CPU0 loops without ever blocking: the step budget is hit (inconclusive, never OK)."""

    name = "rel.spins"
    cpus = 2
    step_budget = 300
    expect = {"v6.17": OK}

    def setup(self, k: Any, m: Machine) -> None:
        self.v = V(name="v")

    def cpu0(self, k: Any) -> None:
        spin_without_relax(self.v)

    def cpu1(self, k: Any) -> None:
        self.v.x = 1


class InterruptedSearch(Scenario):
    """A bug on the first execution, then Ctrl-C (a real SIGINT to this process) in a later one."""

    name = "rel.interrupted"
    cpus = 2
    expect = {"v6.17": BUG}
    finals = 0  # complete executions so far in this process (tests reset it)
    interrupt_at = 3

    def setup(self, k: Any, m: Machine) -> None:
        self.v = V(name="v")
        self.seen: dict[int, int] = {}
        m.at_end(self.check)

    def check(self) -> None:
        cls = type(self)
        cls.finals += 1
        if cls.finals == cls.interrupt_at:
            os.kill(os.getpid(), signal.SIGINT)  # the user's Ctrl-C, as a real signal
            time.sleep(5)  # the handler raises before this returns
        assert self.seen.get(1) != 2, "CPU1 saw both of CPU0's stores"

    def cpu0(self, k: Any) -> None:
        self.v.x = 1
        self.v.x = 2
        self.v.y = 1
        self.v.y = 2

    def cpu1(self, k: Any) -> None:
        self.seen[1] = self.v.x
        self.v.y = 3
        self.seen[2] = self.v.y


class Large(Scenario):
    """Four CPUs writing one location many times: far too many schedules to finish (for Ctrl-C)."""

    name = "rel.large"
    cpus = 4
    expect = {"v6.17": OK}

    def setup(self, k: Any, m: Machine) -> None:
        self.v = V(name="v")

    def _work(self) -> None:
        for i in range(12):
            self.v.x = self.v.x + i

    def cpu0(self, k: Any) -> None:
        self._work()

    def cpu1(self, k: Any) -> None:
        self._work()

    def cpu2(self, k: Any) -> None:
        self._work()

    def cpu3(self, k: Any) -> None:
        self._work()


class Fine(Scenario):
    """Nothing wrong (a scenario that does load, beside those that do not)."""

    name = "rel.fine"
    cpus = 1
    expect = {"v6.17": OK, "v6.16": BUG}

    def cpu0(self, k: Any) -> None:
        pass
