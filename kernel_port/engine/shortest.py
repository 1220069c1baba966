# SPDX-License-Identifier: GPL-2.0-only
"""The counterexample to report: fewest preemptions, then faults, then steps.

The explorer (explorer.py) finds the fewest preemptions exactly, by iterative preemption
bounding (Musuvathi and Qadeer, PLDI'07): searches at bounds 0, 1, 2, ... in turn, each run to
the end, stop at the first bound with a violation.  Every violating trace at that bound is
then a candidate; this module turns each into its shortest form and picks one by a total
order, so that the answer does not depend on the order the search (or its workers) met them:

* **Slice.**  A violation raised by a step depends only on that step's causal past: the steps
  that happen before it (program order, the locations it and its predecessors read, the
  interrupt entries that put the CPU in its handler, the faults on the way).  Running only
  those, in an order that respects happens-before, reaches the same step in the same state:
  the same violation in fewer steps.  The order is built greedily (keep the CPU that ran
  last while it has a step of the slice, else the lowest actor) and checked by replaying it;
  a slice that does not replay to the same violation, or needs more preemptions than the
  bound allowed, is not used (the execution is kept whole).  A violation found at the end
  of an execution (deadlock, stall, a final check) depends on the whole execution: no slice.
* **Total order.**  (preemptions, faults, steps, trace fingerprint): the fingerprint
  (dpor.History.fingerprint) names the trace independently of its interleaving, so two
  searches that met the same violations in different orders pick the same one.
"""

from __future__ import annotations

from typing import Any

from .dpor import History
from .execution import Outcome, Program, ReplayDriver, run


def _events(program: Program, choices: list[int]) -> tuple[Outcome, Any]:
    out = run(program, ReplayDriver(choices), keep_machine=True)
    m = out.machine
    out.machine = None
    return out, m


def _history(m: Any) -> History:
    h = History(m.ncpus, m.nactors)
    for e in m.events:
        h.add(e)
    return h


def causal_slice(m: Any) -> list[int] | None:
    """The indices of the steps the last step of ``m`` depends on (itself included), in
    execution order; None when the violation is the end state's (no step raised)."""
    if not m.events or m.finishing:
        return None
    h = _history(m)
    v = len(h.ev) - 1
    cv = h.clk[v]
    return [x for x in range(v + 1) if x == v or cv[h.ev[x][0]] > x]


def linearize(m: Any, steps: list[int]) -> list[int]:
    """A schedule (flat choices: actors and the value choices of their steps) that runs
    ``steps`` of ``m``'s execution in an order respecting happens-before: the CPU that ran
    last goes on while it has a step left, else the lowest actor whose next step is ready."""
    h = _history(m)
    n = m.ncpus
    # Each step's predecessors among the chosen ones.
    waiting: dict[int, int] = {}
    after: dict[int, list[int]] = {x: [] for x in steps}
    for i, x in enumerate(steps):
        cx = h.clk[x]
        preds = [y for y in steps[:i] if cx[h.ev[y][0]] > y]
        waiting[x] = len(preds)
        for y in preds:
            after[y].append(x)
    ready = [x for x in steps if waiting[x] == 0]
    order: list[int] = []
    prev = -1
    while ready:
        by_actor: dict[int, int] = {}
        for x in ready:
            a = h.ev[x][0]
            if a not in by_actor or x < by_actor[a]:
                by_actor[a] = x
        got = by_actor.get(prev)
        x = by_actor[min(by_actor)] if got is None else got
        a = h.ev[x][0]
        if a < n:
            prev = a
        order.append(x)
        ready.remove(x)
        for z in after[x]:
            waiting[z] -= 1
            if waiting[z] == 0:
                ready.append(z)
    assert len(order) == len(steps)
    choices: list[int] = []
    for x in order:
        choices.append(h.ev[x][0])
        choices += list(h.ev[x][5])
    return choices


def fingerprint(m: Any) -> int:
    return _history(m).fingerprint()


def shortest(program: Program, out: Outcome, bound: int | None) -> tuple[Outcome, int]:
    """``out`` (a violation) in its shortest form, and its trace fingerprint."""
    full, m = _events(program, out.choices)
    steps = causal_slice(m)
    if steps is not None and len(steps) < len(m.events):
        choices = linearize(m, steps)
        sl, sm = _events(program, choices)
        if (
            sl.status == out.status
            and (sl.kind, sl.message) == (out.kind, out.message)
            and (bound is None or sl.preemptions <= bound)
            and sl.preemptions <= full.preemptions
            and sl.faults <= full.faults
        ):
            return sl, fingerprint(sm)
    return full, fingerprint(m)


def pick(program: Program, bugs: list[Outcome], bound: int | None, limit: int = 400) -> Outcome:
    """The violation to report among ``bugs`` (all of one search): each in its shortest form,
    the least by (preemptions, faults, steps, fingerprint).  At most ``limit`` candidates
    are shortened, the least by (preemptions, faults, steps) as found."""
    cands = sorted(bugs, key=lambda o: (o.preemptions, o.faults, o.steps, o.fingerprint))[:limit]
    best: tuple[Any, ...] | None = None
    best_out: Outcome | None = None
    for o in cands:
        s, fp = shortest(program, o, bound)
        key = (s.preemptions, s.faults, s.steps, fp)
        if best is None or key < best:
            best, best_out = key, s
    assert best_out is not None
    return best_out
