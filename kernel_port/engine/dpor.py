# SPDX-License-Identifier: GPL-2.0-only
"""Exhaustive exploration with dynamic partial-order reduction.

Source-DPOR with sleep sets (Abdulla, Aronis, Jonsson, Sagonas, POPL'14),
stateless: every execution re-runs the program from scratch, following the
choices recorded in the exploration stack, then continues with a default
choice (keep running the CPU that ran last, else the lowest actor).

* **Dependence.** Two events are dependent when they touch a common key and
  one of them writes it (an RMW counts as a write even when a cmpxchg fails).
  Interrupt entry writes the CPU's control key, which every step of that CPU
  reads, so an interrupt's arrival point is explored against each step of the
  CPU it interrupts; ``local_irq_*`` write it too.
* **Races.** After each execution, happens-before is computed with vector
  clocks; for every pair of events ``e < e'`` of different actors that are
  dependent and not ordered through other events, the reversal ``v =
  notdep(e).e'`` is formed and, unless one of its initial actors is already in
  the backtrack or sleep set at ``e``'s node, one enabled initial is added.
  Reversals whose initials are all disabled at that node are impossible orders
  (an interrupt before the send that raised it, a spin read before it could
  run) and are dropped.
* **Sleep sets** guarantee that no two complete explored executions are
  Mazurkiewicz-equivalent; an execution whose every enabled actor is asleep is
  *sleep-set blocked* and abandoned.  Counts of complete and blocked
  executions are reported separately (optimal DPOR would have no blocked ones).
* **Value choices** (faults) made inside a step are explored exhaustively at
  their node, within the fault budget.
* **Preemption bound** (optional): a switch away from a CPU that could still
  step costs one preemption; schedules beyond the bound are not explored, and
  every backtrack point is also added at the latest earlier switch point, the
  conservative rule of bounded POR (Coons, Musuvathi, McKinley, OOPSLA'13).
  Any pruning is reported: the result then holds only within the bound.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .core import Accesses, Machine
from .execution import Outcome, Program, run


class Node:
    __slots__ = (
        "enabled",
        "enabled_set",
        "sleep",
        "done",
        "backtrack",
        "actor",
        "values",
        "nopts",
        "accs",
        "prev_cpu",
        "preempts",
    )

    def __init__(self, enabled: list[int], sleep: set[int], accs: dict[int, Accesses], prev_cpu: int, preempts: int) -> None:
        self.enabled = enabled
        self.enabled_set = set(enabled)
        self.sleep = sleep
        self.done: set[int] = set()
        self.backtrack: set[int] = set()
        self.actor = -1
        self.values: list[int] = []
        self.nopts: list[int] = []
        self.accs = accs
        self.prev_cpu = prev_cpu
        self.preempts = preempts


def independent(a: Accesses, b: Accesses) -> bool:
    for ka, wa in a:
        for kb, wb in b:
            if ka == kb and (wa or wb):
                return False
    return True


@dataclass
class DporStats:
    executions: int = 0
    complete: int = 0
    blocked: int = 0
    bugs: int = 0
    errors: int = 0
    budget: int = 0
    steps: int = 0
    bound_pruned: int = 0
    exhausted: bool = False
    seconds: float = 0.0
    max_depth: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    all_outcomes: list[Outcome] = field(default_factory=list)  # with keep_events


class DporDriver:
    def __init__(self, ncpus: int, preemption_bound: int | None, reduction: bool = True) -> None:
        self.n = ncpus
        self.reduction = reduction
        self.bound = preemption_bound
        self.stack: list[Node] = []
        self.depth = 0
        self.cur: Node | None = None
        self.vi = 0
        self.bound_pruned = 0

    # -- driver protocol -------------------------------------------------------
    def begin(self) -> None:
        self.depth = 0
        self.cur = None
        self.vi = 0

    def _cost(self, node: Node, a: int) -> int:
        p = node.prev_cpu
        return 1 if (a < self.n and p >= 0 and a != p and p in node.enabled_set) else 0

    def allowed(self, node: Node, a: int) -> bool:
        return self.bound is None or node.preempts + self._cost(node, a) <= self.bound

    def pick(self, m: Machine, enabled: list[int]) -> int | None:
        d = self.depth
        stack = self.stack
        if d < len(stack):
            node = stack[d]
            if node.actor not in enabled:
                raise RuntimeError(
                    f"nondeterministic program: replaying depth {d}, {m.actor_name(node.actor)} "
                    "is not enabled although it was in the recorded execution"
                )
            self.depth = d + 1
            self.cur = node
            self.vi = 0
            return node.actor
        # A new node: its sleep set comes from the parent's.
        n = self.n
        if d and not self.reduction:
            p = stack[d - 1]
            sleep = set()
            prev, preempts = (p.actor, p.preempts + self._cost(p, p.actor)) if p.actor < n else (p.prev_cpu, p.preempts)
        elif d:
            p = stack[d - 1]
            eacc = m.events[d - 1][1]
            sleep = set()
            for q in p.sleep | p.done:
                if q != p.actor and independent(p.accs[q], eacc):
                    sleep.add(q)
            if p.actor < n:
                prev = p.actor
                preempts = p.preempts + self._cost(p, p.actor)
            else:
                prev = p.prev_cpu
                preempts = p.preempts
        else:
            sleep = set()
            prev = -1
            preempts = 0
        accs = {a: m.accesses(a) for a in enabled}
        for q in sleep:
            if q not in accs:
                accs[q] = m.accesses(q)
        node = Node(enabled, sleep, accs, prev, preempts)
        choice = -1
        if prev >= 0 and prev in node.enabled_set and prev not in sleep:
            choice = prev
        else:
            for a in enabled:
                if a not in sleep:
                    if self.allowed(node, a):
                        choice = a
                        break
                    self.bound_pruned += 1
        if choice < 0:
            return None
        node.actor = choice
        node.backtrack.add(choice)
        if not self.reduction:
            node.backtrack.update(enabled)
        stack.append(node)
        self.depth = d + 1
        self.cur = node
        self.vi = 0
        return choice

    def value(self, nopts: int, what: str) -> int:
        node = self.cur
        assert node is not None
        i = self.vi
        self.vi += 1
        if i < len(node.values):
            if node.nopts[i] != nopts:
                raise RuntimeError(f"nondeterministic program: value choice '{what}' changed its options")
            return node.values[i]
        node.values.append(0)
        node.nopts.append(nopts)
        return 0

    # -- after an execution -----------------------------------------------------
    def analyse(self, m: Machine, pending: list[int] = ()) -> None:  # type: ignore[assignment]
        """Add backtrack points for every race of the execution just run.

        ``pending`` lists actors that could still move when the execution
        was cut short (by a violation): their next events race too, as in
        the classic formulation that checks next events at every state.
        """
        if not self.reduction:
            return
        events = m.events
        stack = self.stack
        L = min(len(events), len(stack))
        if L < 2:
            return
        A = m.nactors
        clocks: list[list[int]] = []
        last_of_actor: dict[int, int] = {}
        last_write: dict[object, int] = {}
        reads_since: dict[object, dict[int, int]] = {}
        actors = [events[j][0] for j in range(L)]
        races: list[tuple[int, int]] = []
        for j in range(L):
            a, acc = events[j]
            po = last_of_actor.get(a)
            vc = clocks[po][:] if po is not None else [0] * A
            cands: set[int] = set()
            for k, w in acc:
                lw = last_write.get(k)
                if lw is not None and actors[lw] != a:
                    cands.add(lw)
                if w:
                    rs = reads_since.get(k)
                    if rs:
                        for ra, ri in rs.items():
                            if ra != a:
                                cands.add(ri)
            if cands:
                # Immediate races: candidates not already ordered before j
                # through program order or another candidate.
                for i in sorted(cands):
                    ai = actors[i]
                    if vc[ai] > i:
                        continue
                    covered = False
                    for k2 in cands:
                        if k2 != i and clocks[k2][ai] > i:
                            covered = True
                            break
                    if not covered:
                        races.append((i, j))
                for i in cands:
                    ci = clocks[i]
                    for x in range(A):
                        if ci[x] > vc[x]:
                            vc[x] = ci[x]
            vc[a] = j + 1
            clocks.append(vc)
            last_of_actor[a] = j
            for k, w in acc:
                if w:
                    last_write[k] = j
                    reads_since[k] = {}
                else:
                    rs = reads_since.get(k)
                    if rs is None:
                        reads_since[k] = {a: j}
                    else:
                        rs[a] = j
        irqoff = m.irqoff_events
        for i, j in races:
            self._reverse(i, j, actors, clocks, irqoff)
        # Next events of actors that never got to run them.
        for a in pending:
            acc = m.accesses(a)
            po = last_of_actor.get(a)
            vc = clocks[po][:] if po is not None else [0] * A
            cands = set()
            for k, w in acc:
                lw = last_write.get(k)
                if lw is not None and actors[lw] != a:
                    cands.add(lw)
                if w:
                    for ra, ri in (reads_since.get(k) or {}).items():
                        if ra != a:
                            cands.add(ri)
            if not cands:
                continue
            imm = []
            for i in sorted(cands):
                ai = actors[i]
                if vc[ai] > i or any(k2 != i and clocks[k2][ai] > i for k2 in cands):
                    continue
                imm.append(i)
            for i in cands:
                ci = clocks[i]
                for x in range(A):
                    if ci[x] > vc[x]:
                        vc[x] = ci[x]
            j = len(actors)
            vc[a] = j + 1
            actors.append(a)
            clocks.append(vc)
            for i in imm:
                self._reverse(i, j, actors, clocks, irqoff)
            actors.pop()
            clocks.pop()
        # A violation cuts the execution short, but another actor's next
        # step may violate a property too (in any equivalent order, since
        # the two steps commute): explore each of them at the last node.
        if pending and stack:
            last = stack[L - 1] if L - 1 < len(stack) else stack[-1]
            for a in pending:
                if a in last.enabled_set and a not in last.sleep:
                    last.backtrack.add(a)

    def _reverse(self, i: int, j: int, actors: list[int], clocks: list[list[int]], irqoff: dict[int, int]) -> None:
        aj = actors[j]
        res = self._reverse_at(i, j, actors, clocks)
        if res is not None:
            return
        # e' cannot run at e's node.  An interrupt entry is disabled there
        # when e lies inside an interrupts-off section of its CPU: the race
        # to reverse is with the section's local_irq_disable/save, which is
        # what blocked the interrupt (as DPOR treats a lock acquisition).
        n = self.n
        if n <= aj < 2 * n:
            c = aj - n
            for k in range(i, -1, -1):
                if irqoff.get(k) == c:
                    if self._reverse_at(k, j, actors, clocks) is not None:
                        return
                    break
        # Otherwise (a lock or spin that had not been released yet): the
        # latest earlier node where e' could run, as Flanagan-Godefroid do
        # for disabled threads.  Conservative.
        for k in range(i - 1, -1, -1):
            nk = self.stack[k]
            if aj in nk.enabled_set:
                if aj not in nk.backtrack and aj not in nk.sleep:
                    nk.backtrack.add(aj)
                return

    def _reverse_at(self, i: int, j: int, actors: list[int], clocks: list[list[int]]) -> bool | None:
        """Source-DPOR reversal of e_i and e_j at e_i's node.

        Returns True when a backtrack point was added or one already covers
        the reversal, None when no initial of the reversal can run there.
        """
        ai = actors[i]
        seen: set[int] = set()
        initials: list[int] = []
        v: list[int] = []
        for k in range(i + 1, j):
            if clocks[k][ai] > i:
                continue  # happens after e: stays after it in the reversal
            v.append(k)
        v.append(j)
        for idx, x in enumerate(v):
            ax = actors[x]
            if ax in seen:
                continue
            seen.add(ax)
            cx = clocks[x]
            first = True
            for y in v[:idx]:
                if cx[actors[y]] > y:
                    first = False
                    break
            if first:
                initials.append(ax)
        node = self.stack[i]
        for q in initials:
            if q in node.backtrack or q in node.sleep:
                return True
        aj = actors[j]
        cands = [q for q in initials if q in node.enabled_set]
        if not cands:
            return None
        pref = aj if aj in cands else min(cands)
        node.backtrack.add(pref)
        if self.bound is not None:
            # Bounded POR: also at the latest earlier switch point.
            for k in range(i, 0, -1):
                nk = self.stack[k]
                if nk.actor < self.n and nk.prev_cpu >= 0 and nk.actor != nk.prev_cpu:
                    if pref in nk.enabled_set and pref not in nk.sleep:
                        nk.backtrack.add(pref)
                    break
        return True

    def advance(self) -> bool:
        """Move to the next unexplored branch; False when the search is exhausted."""
        stack = self.stack
        while stack:
            node = stack[-1]
            vals = node.values
            for i in range(len(vals) - 1, -1, -1):
                if vals[i] + 1 < node.nopts[i]:
                    node.values = vals[:i] + [vals[i] + 1]
                    node.nopts = node.nopts[: i + 1]
                    return True
            node.done.add(node.actor)
            for a in sorted(node.backtrack - node.done - node.sleep):
                if self.allowed(node, a):
                    node.actor = a
                    node.values = []
                    node.nopts = []
                    return True
                node.done.add(a)
                self.bound_pruned += 1
            stack.pop()
        return False


def explore(
    program: Program,
    *,
    preemption_bound: int | None = None,
    max_executions: int | None = None,
    max_seconds: float | None = None,
    stop_on_bug: bool = False,
    reduction: bool = True,
    keep_events: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    progress: Callable[[DporStats], None] | None = None,
) -> DporStats:
    """Exhaustively explore ``program``; returns statistics and the bad outcomes."""
    drv = DporDriver(program.ncpus, preemption_bound, reduction)
    st = DporStats()
    t0 = time.perf_counter()
    while True:
        drv.begin()
        out = run(program, drv, keep_machine=True)
        m = out.machine
        assert m is not None
        out.machine = None
        if keep_events:
            out.events = list(m.events)
            st.all_outcomes.append(out)
        st.executions += 1
        st.steps += out.steps
        st.max_depth = max(st.max_depth, out.steps)
        if out.status == "complete":
            st.complete += 1
        elif out.status == "blocked":
            st.blocked += 1
        elif out.status == "bug":
            st.bugs += 1
        elif out.status == "error":
            st.errors += 1
        else:
            st.budget += 1
        if out.status in ("bug", "error", "budget"):
            st.outcomes.append(out)
        if on_outcome is not None:
            on_outcome(out)
        # Drop the stack below a failed step: nothing after it was explored.
        del drv.stack[len(m.events):]
        pending: list[int] = []
        if out.status == "bug" and m.events:
            last_cpu = m.actor_cpu(m.events[-1][0])
            for a in m.enabled():
                c = m.actor_cpu(a)
                if a < 2 * m.ncpus and c == last_cpu:
                    continue  # that CPU raised: it has no next event
                pending.append(a)
        drv.analyse(m, pending)
        del m
        if out.status == "error" or (stop_on_bug and out.status == "bug"):
            break
        if not drv.advance():
            st.exhausted = True
            break
        if max_executions is not None and st.executions >= max_executions:
            break
        if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
            break
        if progress is not None and st.executions % 256 == 0:
            st.seconds = time.perf_counter() - t0
            progress(st)
    st.bound_pruned = drv.bound_pruned
    st.seconds = time.perf_counter() - t0
    return st
