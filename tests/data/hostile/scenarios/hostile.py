# SPDX-License-Identifier: GPL-2.0-only
"""Scenarios that misbehave at run time on purpose, for tests/test_reliability2.py.

Every one of them passes validation; each breaks in a way the tools must report as the
scenario's own defect (verdict ``error``, exit 4) -- never as a kernel bug, a user
interrupt, a budget, or a traceback.  Two of them are fine: one finds a real race (for
the results store and the signals), one finds nothing.
"""

from __future__ import annotations

import sys
from typing import Any

from greenlet import GreenletExit

from kernel_port.engine import Machine, Struct, field, kfunc
from kernel_port.engine.timed import CostModel
from kernel_port.scenario import BUG, OK, Scenario
from kernel_port.simulate import TimedSpec


class V(Struct):
    x = field(0)
    y = field(0)


class Boom(BaseException):
    """Not an Exception: escapes every ``except Exception``."""


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("this exception cannot be printed")


class _TwoCpus(Scenario):
    cpus = 2
    expect = {"v6.17": OK}

    def setup(self, k: Any, m: Machine) -> None:
        self.v = V(name="v")

    def cpu0(self, k: Any) -> None:
        self.v.x = 1

    def cpu1(self, k: Any) -> None:
        self.v.y = self.v.x


class RaisesBaseException(_TwoCpus):
    """CPU1 raises a BaseException subclass after its first step."""

    name = "hostile.base-exception"

    def cpu1(self, k: Any) -> None:
        self.v.y = 1
        raise Boom("boom")


class RaisesUnprintable(_TwoCpus):
    """CPU1 raises an exception whose __str__ raises."""

    name = "hostile.bad-str"

    def cpu1(self, k: Any) -> None:
        self.v.y = 1
        raise Unprintable()


class RaisesKeyboardInterrupt(_TwoCpus):
    """CPU1's code raises KeyboardInterrupt itself: no user pressed Ctrl-C."""

    name = "hostile.keyboard-interrupt"

    def cpu1(self, k: Any) -> None:
        self.v.y = 1
        raise KeyboardInterrupt


class RaisesGreenletExit(_TwoCpus):
    """CPU1's code raises GreenletExit (which would silently end its greenlet)."""

    name = "hostile.greenlet-exit"

    def cpu1(self, k: Any) -> None:
        self.v.y = 1
        raise GreenletExit


class ExitsInCpuCode(_TwoCpus):
    """CPU1's code calls sys.exit(0)."""

    name = "hostile.sys-exit"

    def cpu1(self, k: Any) -> None:
        self.v.y = 1
        sys.exit(0)


class AssertsInSetup(_TwoCpus):
    """An assertion in setup() fails: a broken scenario, not a property violation."""

    name = "hostile.setup-assert"

    def setup(self, k: Any, m: Machine) -> None:
        self.v = V(name="v")
        assert self.v.x == 42, "setup expected x == 42"


@kfunc("kernel/hostile.c", "v6.17", line=1)
def spin_on_locals(limit: int) -> int:
    n = 0
    while n != limit:  # never reaches a step: only local state
        try:
            n += 1
        except Exception:  # and swallows whatever Exception it can
            pass
    return n


class LoopsWithoutSteps(_TwoCpus):
    """CPU1 loops on local variables for ever: no step, so no step budget."""

    name = "hostile.cpu-loop"

    def cpu1(self, k: Any) -> None:
        self.v.y = 1
        spin_on_locals(-1)


class SetupLoops(_TwoCpus):
    """setup() never returns."""

    name = "hostile.setup-loop"

    def setup(self, k: Any, m: Machine) -> None:
        self.v = V(name="v")
        while True:
            pass


class StallWithState(Scenario):
    """An obligation unmet (stall), while an at_end check fails too and the scenario has state."""

    name = "hostile.stall"
    cpus = 1
    expect = {"v6.17": BUG}

    def setup(self, k: Any, m: Machine) -> None:
        self.v = V(name="v")
        self.seen: dict[str, int] = {}
        m.eventually("v.y becomes 1", lambda: self.v.y == 1)
        m.at_end(self.final)

    def final(self) -> None:
        assert self.v.x == 2, f"x ended as {self.v.x}"

    def cpu0(self, k: Any) -> None:
        self.v.x = 1
        self.seen["x"] = 1


class Race(Scenario):
    """A lost update: a real race (for the results store, replays and signals)."""

    name = "hostile.race"
    cpus = 2
    expect = {"v6.17": BUG}

    def setup(self, k: Any, m: Machine) -> None:
        self.v = V(name="v")
        m.at_end(lambda: self._check())

    def _check(self) -> None:
        assert self.v.x == 2, f"an update was lost (x = {self.v.x})"

    def cpu0(self, k: Any) -> None:
        self.v.x = self.v.x + 1

    def cpu1(self, k: Any) -> None:
        self.v.x = self.v.x + 1


class BugThenLong(Scenario):
    """A violation in the very first execution, then a search far too large to finish (for
    SIGTERM: the partial result has a counterexample to save)."""

    name = "hostile.bug-then-long"
    cpus = 8
    expect = {"v6.17": BUG}

    def setup(self, k: Any, m: Machine) -> None:
        self.v = V(name="v")
        m.at_end(self._check)

    def _check(self) -> None:
        # The CPUs one after the other (every execution without preemptions, the first one
        # among them) end with the largest x: a violation at preemption bound 0, whose search
        # (8! orders of the CPUs) is long enough to be interrupted.
        assert self.v.x != 8 * sum(range(12)), "the CPUs ran one after the other"

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

    def cpu4(self, k: Any) -> None:
        self._work()

    def cpu5(self, k: Any) -> None:
        self._work()

    def cpu6(self, k: Any) -> None:
        self._work()

    def cpu7(self, k: Any) -> None:
        self._work()


class Fine(_TwoCpus):
    """Nothing wrong."""

    name = "hostile.fine"


class _Timed(Scenario):
    cpus = 1
    expect = {"v6.17": OK}
    # A sample at every step: the timed driver checks --wall-limit every 4096 of its rounds,
    # and a round runs a CPU up to the next event (here: the next step).
    timed = TimedSpec(
        cost=CostModel(step_ns=100_000),
        calibration="none (a test fixture)",
        cpus={"full": 2, "small": 2},
        until_ns={"full": 10**15, "small": 10**15},
        sample_ns={"full": 100_000, "small": 100_000},
    )

    def cpu0(self, k: Any) -> None:
        pass

    def timed_build(self, k: Any, m: Machine, size: str) -> dict[int, Any]:
        self.v = V(name="v")
        m.probe("x", lambda: self.v.x)
        return {0: self._writer, 1: self._other}

    def _writer(self, k: Any) -> None:
        while True:
            self.v.x = self.v.x + 1

    def _other(self, k: Any) -> None:
        self.v.y = 1


class TimedRaises(_Timed):
    """The timed form's CPU1 reads a field that does not exist (AttributeError)."""

    name = "hostile.timed-raises"

    def _other(self, k: Any) -> None:
        self.v.y = 1
        print(self.v.no_such_field)


class TimedLong(_Timed):
    """A timed form that runs far longer than any wall limit."""

    name = "hostile.timed-long"

