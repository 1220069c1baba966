# SPDX-License-Identifier: GPL-2.0-only
"""Running one execution of a program under a driver that makes the choices.

A *program* is anything with the attributes of :class:`Program`: how many
CPUs, the fault budget and kinds, the step budget, the configuration, and a
``build(machine)`` that creates the kernel state on a fresh machine and
returns each CPU's entry function.  Scenarios (kernel_port/scenario.py) and
the engine's own test programs both produce programs.

A *driver* makes the choices: ``pick(machine, enabled) -> actor or None``
(None stops the execution, e.g. when every enabled actor is asleep in DPOR)
and ``value(n, what) -> int`` for choices inside a step.  The execution
records the flat choice list (actors and values interleaved, in the order
they were made), which is the schedule a token encodes.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import memory
from .core import Machine
from .errors import KernelViolation, StepBudgetExceeded


class Program(Protocol):
    name: str
    ncpus: int
    faults: int
    fault_kinds: tuple[str, ...]
    step_budget: int
    config: dict[str, Any]
    warn_fatal: bool

    def build(self, m: Machine) -> dict[int, Any]: ...


class Driver(Protocol):
    def pick(self, m: Machine, enabled: list[int]) -> int | None: ...

    def value(self, n: int, what: str) -> int: ...


@dataclass
class Outcome:
    """How one execution ended."""

    status: str  # "complete", "bug", "blocked", "budget", "error"
    kind: str | None = None
    message: str = ""
    choices: list[int] = field(default_factory=list)
    steps: int = 0
    preemptions: int = 0
    faults: int = 0
    traceback: str = ""
    machine: Machine | None = None
    events: list[Any] | None = None  # (actor, accesses) per step, when asked for


def count_preemptions(m: Machine, actors: list[int], enabled_before: list[list[int]]) -> int:
    """Switches away from a CPU that could still have stepped."""
    n = m.ncpus
    prev = -1
    count = 0
    for a, en in zip(actors, enabled_before, strict=True):
        if a < n:
            if prev >= 0 and a != prev and prev in en:
                count += 1
            prev = a
    return count


class _Recorder:
    """Wraps a driver and records the flat choice list."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.choices: list[int] = []

    def value(self, n: int, what: str) -> int:
        v = self.driver.value(n, what)
        self.choices.append(v)
        return v


def run(program: Program, driver: Driver, *, tracing: bool = False, keep_machine: bool = False) -> Outcome:
    """Run one execution of ``program`` with the choices of ``driver``."""
    rec = _Recorder(driver)
    m = Machine(
        program.ncpus,
        faults=program.faults,
        fault_kinds=program.fault_kinds,
        step_budget=program.step_budget,
        tracing=tracing,
        chooser=rec.value,
        config=program.config,
        warn_fatal=program.warn_fatal,
    )
    actors: list[int] = []
    enabled_log: list[list[int]] = []
    memory.BUILDING[0] = m
    out = Outcome("complete")
    try:
        try:
            entries = program.build(m)
            m.start(entries)
            while True:
                en = m.enabled()
                if not en:
                    m.finish()
                    out.status = "complete"
                    break
                a = driver.pick(m, en)
                if a is None:
                    out.status = "blocked"
                    break
                rec.choices.append(a)
                actors.append(a)
                enabled_log.append(en)
                m.step(a)
        except KernelViolation as e:
            out.status = "bug"
            out.kind = e.kind
            out.message = e.message
        except AssertionError as e:
            # A scenario's assert is its property; an assert inside the
            # engine or a port is a defect of the tool (verdict error).
            if _raised_in_tool(e):
                out.status = "error"
                out.kind = "AssertionError"
                out.message = f"internal assertion failed: {e}"
                out.traceback = traceback.format_exc()
            else:
                out.status = "bug"
                out.kind = "assertion"
                out.message = f"assertion failed: {e}" if str(e) else "assertion failed"
        except StepBudgetExceeded as e:
            out.status = "budget"
            out.kind = "step-budget"
            out.message = e.message
        except Exception as e:  # the port or scenario itself is broken
            out.status = "error"
            out.kind = type(e).__name__
            out.message = f"{type(e).__name__}: {e}"
            out.traceback = traceback.format_exc()
    finally:
        memory.BUILDING[0] = None
    out.choices = rec.choices
    out.steps = len(actors)
    out.preemptions = count_preemptions(m, actors, enabled_log)
    out.faults = m.faults_used
    if tracing or keep_machine:
        out.machine = m
    return out


def _raised_in_tool(e: BaseException) -> bool:
    tb = e.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return False
    mod = str(last.tb_frame.f_globals.get("__name__", ""))
    return mod.startswith("kernel_port.")


class ReplayDriver:
    """Follows a recorded flat choice list exactly."""

    def __init__(self, choices: list[int]) -> None:
        self.choices = choices
        self.pos = 0
        self.diverged: str | None = None

    def _next(self, what: str) -> int:
        if self.pos >= len(self.choices):
            raise _ScheduleEnd(what)
        v = self.choices[self.pos]
        self.pos += 1
        return v

    def pick(self, m: Machine, enabled: list[int]) -> int | None:
        try:
            a = self._next("schedule")
        except _ScheduleEnd:
            self.diverged = f"schedule ended after {self.pos} choices while {len(enabled)} actor(s) could still move"
            return None
        if a not in enabled:
            names = ", ".join(m.actor_name(e) for e in enabled)
            self.diverged = (
                f"choice {self.pos - 1}: schedule says {m.actor_name(a) if a < m.nactors else a} "
                f"but only {names} can move"
            )
            return None
        return a

    def value(self, n: int, what: str) -> int:
        try:
            v = self._next(what)
        except _ScheduleEnd:
            self.diverged = f"schedule ended before the value choice '{what}'"
            raise
        if not 0 <= v < n:
            self.diverged = f"choice {self.pos - 1}: value {v} out of range for '{what}' ({n} options)"
            raise _ScheduleEnd(what)
        return v


class _ScheduleEnd(Exception):
    pass


@dataclass
class SimpleProgram:
    """A program made of a build function (for tests, benches and scenarios)."""

    name: str
    ncpus: int
    builder: Any
    faults: int = 0
    fault_kinds: tuple[str, ...] = ()
    step_budget: int = 20000
    config: dict[str, Any] = field(default_factory=dict)
    warn_fatal: bool = False

    def build(self, m: Machine) -> dict[int, Any]:
        return self.builder(m)  # type: ignore[no-any-return]
