# SPDX-License-Identifier: GPL-2.0-only
"""A brute-force oracle for the explorer: every interleaving, no reduction.

Deliberately simple and independent of kernel_port/engine/dpor.py: an odometer over the
choice points of an execution.  The first execution takes option 0 at every choice (the
lowest enabled actor, no fault); each next one keeps the choices of the previous execution
up to its last choice point that has an option left, takes that option, and takes option 0
afterwards.  That enumerates every schedule and every value choice (lost IPIs, ...) exactly
once, whatever the engine's reduction does.

Each execution is summarised as an :class:`Run`: its status and message, its final state
(whatever the program's ``at_end`` hooks put into ``result``), its preemptions, and its
Mazurkiewicz trace (:func:`trace_of`), so that a test can compare *sets*: final states,
violations, traces.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kernel_port.engine.core import ACQUIRE, UPDATE, Machine
from kernel_port.engine.execution import Program, run


class _Odometer:
    """Follows ``prefix`` (an option index per choice point), then option 0."""

    def __init__(self, prefix: list[int]) -> None:
        self.prefix = prefix
        self.taken: list[int] = []
        self.counts: list[int] = []
        self.actors: list[int] = []
        self.values: list[list[int]] = []  # value choices made in each step

    def _next(self, n: int) -> int:
        k = len(self.taken)
        i = self.prefix[k] if k < len(self.prefix) else 0
        self.taken.append(i)
        self.counts.append(n)
        return i

    def pick(self, m: Machine, enabled: list[int]) -> int | None:
        a = sorted(enabled)[self._next(len(enabled))]
        self.actors.append(a)
        self.values.append([])
        return a

    def value(self, n: int, what: str) -> int:
        v = self._next(n)
        if self.values:
            self.values[-1].append(v)
        return v


@dataclass
class Run:
    status: str  # complete | bug | error | budget
    kind: str | None
    message: str
    final: Any  # what the program's final checks recorded (None: none ran)
    preemptions: int
    trace: Any  # the Mazurkiewicz trace (trace_of)
    choices: list[int]
    steps: int


def trace_of(events: list[tuple[int, Any]], values: list[list[int]]) -> Any:
    """The Mazurkiewicz trace of an execution: per location, the order of the steps that
    access it, up to swapping neighbours that commute (reads with reads, UPDATEs with
    UPDATEs), plus the faults chosen in each step.  A step that accesses a location in two
    ways counts as a write of it."""
    count: dict[int, int] = defaultdict(int)
    per_key: dict[Any, list[Any]] = defaultdict(list)
    chosen = []
    for idx, (a, acc) in enumerate(events):
        eid = (a, count[a])
        count[a] += 1
        if idx < len(values) and any(values[idx]):
            # (Option 0 is "no fault": a step that could have lost its IPI and did not is
            # the same step as one that could not.)
            chosen.append((eid, tuple(values[idx])))
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
    keys = tuple(
        sorted(
            (repr(k), tuple((t, x if t == "W" else tuple(sorted(x))) for t, x in blocks))
            for k, blocks in per_key.items()
        )
    )
    return (keys, tuple(sorted(chosen)), tuple(sorted(count.items())))


def executions(make: Callable[[dict[str, Any]], Program], limit: int = 100_000) -> Iterator[Run]:
    """Every execution of the program ``make(result)`` builds (``result["final"]`` is
    whatever its final checks record).  Raises RuntimeError past ``limit`` executions."""
    prefix: list[int] = []
    done = 0
    while True:
        done += 1
        if done > limit:
            raise RuntimeError(f"more than {limit} executions")
        result: dict[str, Any] = {}
        drv = _Odometer(prefix)
        out = run(make(result), drv, keep_machine=True)
        m = out.machine
        assert m is not None
        events = [(e[0], e[1]) for e in m.events]
        yield Run(
            out.status,
            out.kind,
            out.message,
            result.get("final"),
            out.preemptions,
            trace_of(events, drv.values),
            list(out.choices),
            out.steps,
        )
        k = len(drv.taken) - 1
        while k >= 0 and drv.taken[k] + 1 >= drv.counts[k]:
            k -= 1
        if k < 0:
            return
        prefix = drv.taken[:k] + [drv.taken[k] + 1]


@dataclass
class Summary:
    executions: int
    finals: set[Any]
    violations: set[tuple[str | None, str]]
    traces: set[Any]  # of executions that ran to their end (complete, or a deadlock/stall)
    errors: list[str]


def summarise(runs: Iterator[Run], bound: int | None = None) -> Summary:
    """What a search must find: the final states, violations and traces of every execution
    (with at most ``bound`` preemptions when a bound is given)."""
    s = Summary(0, set(), set(), set(), [])
    for r in runs:
        s.executions += 1
        if bound is not None and r.preemptions > bound:
            continue
        if r.status == "complete":
            s.finals.add(r.final)
            s.traces.add(r.trace)
        elif r.status == "bug":
            s.violations.add((r.kind, r.message))
            if r.kind in ("deadlock", "stall"):
                s.traces.add(r.trace)
        elif r.status == "error":
            s.errors.append(r.message)
    return s


class Finals(dict):  # type: ignore[type-arg]
    """A program's result dict that keeps every final state stored in it (the search runs the
    program many times; each run's ``at_end`` check stores its final state)."""

    def __init__(self) -> None:
        super().__init__()
        self.finals: set[Any] = set()

    def __setitem__(self, k: Any, v: Any) -> None:
        if k == "final":
            self.finals.add(v)
        super().__setitem__(k, v)
