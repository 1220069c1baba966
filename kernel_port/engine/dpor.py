# SPDX-License-Identifier: GPL-2.0-only
"""Exhaustive exploration with dynamic partial-order reduction.

Optimal DPOR with wakeup trees and sleep sets (Abdulla, Aronis, Jonsson,
Sagonas, "Optimal dynamic partial order reduction", POPL'14), stateless:
every execution re-runs the program from scratch, following the choices
recorded in the exploration stack and the wakeup tree below the branch being
explored, then continues with a default choice (keep running the CPU that ran
last, else the lowest actor).

* **Dependence.** Two events are dependent when they touch a common key and
  one of them writes it (an RMW counts as a write even when a cmpxchg fails).
  Commuting updates (UPDATE: atomic_add/sub/inc/dec without a result, an IPI
  send) of the same key are independent of each other; a read or write after
  them races with each one since the last write.
  Interrupt entry writes the CPU's control key, which every step of that CPU
  reads, so an interrupt's arrival point is explored against each step of the
  CPU it interrupts; ``local_irq_*`` write it too.
* **Races.** After each execution, happens-before is computed with vector
  clocks; for every pair of events ``e < e'`` of different actors that are
  dependent and not ordered through other events, the reversal ``v =
  notdep(e).e'`` is inserted into the wakeup tree at ``e``'s node unless a
  sleeping actor or an existing branch already covers it (weak initials).
  An interrupt entry that cannot happen at ``e``'s node because ``e`` lies in
  an interrupts-off section of that CPU is raced instead against the
  section's ``local_irq_disable``/``save`` (the way DPOR treats a lock
  acquisition); other reversals that cannot run there (a spin not yet woken,
  a lock not yet released) go to the latest earlier node where they can, as
  Flanagan and Godefroid do for disabled threads (conservative).
* **Sleep sets** guarantee that no two complete explored executions are
  Mazurkiewicz-equivalent; following wakeup sequences avoids most
  *sleep-set blocked* executions (every enabled actor asleep), which are
  abandoned and counted separately.
* **Value choices** (faults) made inside a step are explored exhaustively at
  their node, within the fault budget.
* **Cut-short executions.** A violation ends an execution early; the next
  events of the other actors are raced too, and each of them is also tried at
  the last node (its step could violate a property as well).
* **Preemption bound** (optional): a switch away from a CPU that could still
  step costs one preemption; schedules beyond the bound are not explored, and
  every reversal is also added at the latest earlier switch point, the
  conservative rule of bounded POR (Coons, Musuvathi, McKinley, OOPSLA'13);
  sleep sets are off under a bound, since the sibling branches they rely on
  may have been pruned.  Any pruning is reported: the result then holds only
  within the bound.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .core import ACQUIRE, UPDATE, Accesses, Machine
from .execution import Outcome, Program, run

Event = tuple[int, Accesses]  # (actor, accesses)


class WNode:
    """A wakeup-tree node: one event and the sequences that continue it."""

    __slots__ = ("acc", "actor", "children")

    def __init__(self, actor: int, acc: Accesses) -> None:
        self.actor = actor
        self.acc = acc
        self.children: list[WNode] = []


class Node:
    __slots__ = (
        "accs",
        "actor",
        "covered",
        "cur",
        "cur_pruned",
        "depth",
        "done",
        "enabled",
        "enabled_set",
        "irqs",
        "memo",
        "nopts",
        "preempts",
        "prev_cpu",
        "sleep",
        "values",
        "waiting",
        "wut",
    )

    def __init__(
        self,
        enabled: list[int],
        sleep: set[int],
        accs: dict[int, Accesses],
        prev_cpu: int,
        preempts: int,
        irqs: tuple[bool, ...],
        waiting: frozenset[int] = frozenset(),
    ) -> None:
        self.enabled = enabled
        self.enabled_set = set(enabled)
        self.sleep = sleep
        self.done: set[int] = set()
        # Actors whose whole subtree was explored with nothing pruned by the
        # preemption bound: only these may put an actor to sleep.
        self.covered: set[int] = set()
        self.cur_pruned = False  # the bound pruned something below the current branch
        self.wut: list[WNode] = []  # branches still to explore, in order
        self.cur: WNode | None = None  # the branch being explored
        self.actor = -1
        self.values: list[int] = []
        self.nopts: list[int] = []
        self.accs = accs
        self.prev_cpu = prev_cpu
        self.preempts = preempts
        self.irqs = irqs  # interrupts enabled, per CPU, before this node's event
        self.waiting = waiting  # CPUs spinning (on a lock, a condition, a store) here
        self.depth = 0  # index in the exploration stack
        self.memo: Any = None  # parallel.py's summary of this node; None after a change


def independent(a: Accesses, b: Accesses) -> bool:
    """No common key that one of them writes.  Two commuting updates (UPDATE:
    atomic_inc/add/dec/sub, an IPI setting a bit in the target's IRR) of the
    same key are independent of each other; an UPDATE and a read or a write
    of that key are dependent."""
    for ka, wa in a:
        for kb, wb in b:
            if ka == kb and (wa or wb) and (wa != UPDATE or wb != UPDATE):
                return False
    return True


def weak_initial(actor: int, acc: Accesses, w: list[Event]) -> int | None:
    """Whether ``actor`` (next event ``acc``) is a weak initial of ``w``.

    Returns the index in ``w`` of the actor's first event when it is an
    initial of ``w`` (no earlier event of ``w`` happens before it), -1 when
    the actor does not occur in ``w`` and its event commutes with all of
    ``w``, and None otherwise.
    """
    for idx, (a, acc_x) in enumerate(w):
        if a == actor:
            for y in range(idx):
                ay, acc_y = w[y]
                if not independent(acc_y, acc_x):
                    return None
            return idx
    for _a, acc_x in w:
        if not independent(acc, acc_x):
            return None
    return -1


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
    parallel: Any = None  # parallel.ParallelStats of a split search


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
        self.subtree: list[WNode] = []  # wakeup tree below the current branch
        # Subtree tasks (parallel.py): nodes above ``split`` belong to the
        # caller; updates of them are applied here and also recorded in
        # ``log`` for the caller to replay, and ``advance`` stops before
        # changing their branches (``at_split``).  ``stop_at`` ends an
        # execution (as blocked) when it reaches that depth.
        self.split = 0
        self.log: list[tuple[Any, ...]] | None = None
        self.at_split = False
        self.stop_at: int | None = None

    # -- driver protocol -------------------------------------------------------
    def begin(self) -> None:
        self.depth = 0
        self.cur = None
        self.vi = 0
        self.subtree = []

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
            self.subtree = node.cur.children if node.cur is not None else []
            return node.actor
        if self.stop_at is not None and d >= self.stop_at:
            return None
        # A new node: its sleep set comes from the parent's.
        n = self.n
        if d:
            p = stack[d - 1]
            if p.actor < n:
                prev = p.actor
                preempts = p.preempts + self._cost(p, p.actor)
            else:
                prev = p.prev_cpu
                preempts = p.preempts
            sleep = set()
            # Sleep sets assume the sibling branch explored every reordering;
            # under a preemption bound only branches where nothing was pruned
            # count (``covered``).
            if self.reduction:
                eacc = m.events[d - 1][1]
                for q in p.sleep | (p.done if self.bound is None else p.covered):
                    # (An actor can be "done" at a node without having run
                    # there: a wakeup-tree entry it could not take.  It does
                    # not sleep.)
                    if q != p.actor and q in p.accs and independent(p.accs[q], eacc):
                        sleep.add(q)
        else:
            sleep = set()
            prev = -1
            preempts = 0
        accs = {a: m.accesses(a) for a in enabled}
        for q in sleep:
            if q not in accs:
                accs[q] = m.accesses(q)
        waiting = frozenset(c.id for c in m.cpus if c.wait is not None or (c.awaiting is not None and c.id not in accs))
        node = Node(enabled, sleep, accs, prev, preempts, tuple(c.irqs_on for c in m.cpus), waiting)
        node.depth = d
        choice: WNode | None = None
        # Follow the wakeup tree below the branch being explored.
        for w in self.subtree:
            if w.actor in node.enabled_set and w.actor not in sleep and self.allowed(node, w.actor):
                choice = w
                break
        if choice is not None:
            node.wut = list(self.subtree)
        else:
            a_choice = -1
            if prev >= 0 and prev in node.enabled_set and prev not in sleep:
                a_choice = prev
            else:
                for a in enabled:
                    if a not in sleep:
                        if self.allowed(node, a):
                            a_choice = a
                            break
                        self.bound_pruned += 1
                        self._mark_pruned(d)
            if a_choice < 0:
                return None
            choice = WNode(a_choice, accs[a_choice])
            node.wut = [choice]
            if not self.reduction:
                node.wut += [WNode(a, accs[a]) for a in enabled if a != a_choice]
        node.actor = choice.actor
        node.cur = choice
        self.subtree = choice.children
        stack.append(node)
        self.depth = d + 1
        self.cur = node
        self.vi = 0
        return choice.actor

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
        """Insert a wakeup sequence for every race of the execution just run.

        ``pending`` lists actors that could still move when the execution
        was cut short (by a violation): their next events race too, as in
        the classic formulation that checks next events at every state.
        """
        if not self.reduction:
            return
        events = m.events
        stack = self.stack
        L = min(len(events), len(stack))
        if L < 1:
            return
        A = m.nactors
        clocks: list[list[int]] = []
        last_of_actor: dict[int, int] = {}
        last_write: dict[object, int] = {}
        last_acq: dict[object, int] = {}
        reads_since: dict[object, dict[int, int]] = {}
        # Commuting updates (UPDATE) since the last write, per actor: they do
        # not race with each other, but a later read or write races with
        # every one of them, and an update races with the reads and the write
        # before it (``last_write`` and ``reads_since`` are not reset by one).
        updates_since: dict[object, dict[int, int]] = {}
        evs: list[Event] = [events[j] for j in range(L)]
        actors = [e[0] for e in evs]
        races: list[tuple[int, int]] = []

        def add_event(j: int, a: int, acc: Accesses) -> list[int]:
            po = last_of_actor.get(a)
            vc = clocks[po][:] if po is not None else [0] * A
            cands: set[int] = set()
            acq_races: list[int] = []
            for k, w in acc:
                lw = last_write.get(k)
                if lw is not None and actors[lw] != a:
                    cands.add(lw)
                if w == ACQUIRE:
                    # Lock acquisitions race with the previous acquisition
                    # (the release in between only orders them).
                    la = last_acq.get(k)
                    if la is not None and actors[la] != a:
                        acq_races.append(la)
                if w != UPDATE:
                    us = updates_since.get(k)
                    if us:
                        for ua, ui in us.items():
                            if ua != a:
                                cands.add(ui)
                if w:
                    rs = reads_since.get(k)
                    if rs:
                        for ra, ri in rs.items():
                            if ra != a:
                                cands.add(ri)
            imm: list[int] = list(acq_races)
            # Immediate races: candidates not already ordered before j
            # through program order or another candidate.
            for i in sorted(cands):
                ai = actors[i]
                if vc[ai] > i:
                    continue
                if any(k2 != i and clocks[k2][ai] > i for k2 in cands):
                    continue
                if i not in imm:
                    imm.append(i)
            for i in cands:
                ci = clocks[i]
                for x in range(A):
                    if ci[x] > vc[x]:
                        vc[x] = ci[x]
            vc[a] = j + 1
            clocks.append(vc)
            return imm

        for j in range(L):
            a, acc = evs[j]
            for i in add_event(j, a, acc):
                races.append((i, j))
            last_of_actor[a] = j
            for k, w in acc:
                if w == ACQUIRE:
                    last_acq[k] = j
                if w == UPDATE:
                    us = updates_since.get(k)
                    if us is None:
                        updates_since[k] = {a: j}
                    else:
                        us[a] = j
                elif w:
                    last_write[k] = j
                    reads_since[k] = {}
                    updates_since[k] = {}
                else:
                    rs = reads_since.get(k)
                    if rs is None:
                        reads_since[k] = {a: j}
                    else:
                        rs[a] = j
        irqoff = m.irqoff_events
        for i, j in races:
            self._reverse(i, j, evs, clocks, irqoff)
        # An actor that a step disabled before it ever ran (an event source
        # whose guard a CPU turned false, an interrupt masked by cli) never
        # shows up in a race above: try it before the disabling step.
        for d in range(min(L, len(stack) - 1)):
            nd = stack[d]
            gone = nd.enabled_set - stack[d + 1].enabled_set
            gone.discard(nd.actor)
            for q in sorted(gone):
                if q not in nd.sleep:
                    self._insert(nd, [(q, nd.accs[q])])
        # Next events of actors that never got to run them.
        for a in pending:
            acc = m.accesses(a)
            j = len(evs)
            evs.append((a, acc))
            actors.append(a)
            for i in add_event(j, a, acc):
                self._reverse(i, j, evs, clocks, irqoff)
            evs.pop()
            actors.pop()
            clocks.pop()
        # A violation cuts the execution short, but another actor's next
        # step may violate a property too (in any equivalent order, since
        # the two steps commute): explore each of them at the last node.
        if pending:
            # (Not through the wakeup tree: an existing branch that commutes
            # with a's step does not cover it, since the violation stops the
            # execution before a would run.)
            last = stack[L - 1]
            for a in pending:
                self._add_branch(last, a)

    def _reverse(self, i: int, j: int, evs: list[Event], clocks: list[list[int]], irqoff: dict[int, int]) -> None:
        aj = evs[j][0]
        n = self.n
        if n <= aj < 2 * n and not self._irq_feasible(i, j, evs, clocks):
            # The interrupt cannot arrive there: e lies in an interrupts-off
            # section of that CPU.  Race it with the section's start instead.
            c = aj - n
            for k in range(i, -1, -1):
                if irqoff.get(k) == c:
                    if self._irq_feasible(k, j, evs, clocks):
                        self._reverse_at(k, j, evs, clocks)
                    return
            return
        self._reverse_at(i, j, evs, clocks)
        if aj not in self.stack[i].waiting:
            return
        # e' cannot run at e's node (its CPU waits on a lock or a spin there,
        # unless something in the reversal wakes it): also reverse it with
        # the step that made it wait, at the latest earlier node where it
        # could run.  Conservative.
        for k in range(i - 1, -1, -1):
            nk = self.stack[k]
            if aj in nk.enabled_set:
                if evs[k][0] != aj and aj not in nk.sleep:
                    self._reverse_at(k, j, evs, clocks)
                return

    def _notdep(self, i: int, j: int, evs: list[Event], clocks: list[list[int]]) -> list[int]:
        ai = evs[i][0]
        v = [k for k in range(i + 1, j) if clocks[k][ai] <= i]
        v.append(j)
        return v

    def _irq_feasible(self, i: int, j: int, evs: list[Event], clocks: list[list[int]]) -> bool:
        """Would CPU c have interrupts on just before e' in notdep(e_i).e'?"""
        c = evs[j][0] - self.n
        on = self.stack[i].irqs[c]
        for x in self._notdep(i, j, evs, clocks)[:-1]:
            if evs[x][0] == c and x + 1 < len(self.stack):
                on = self.stack[x + 1].irqs[c]
        return on

    def _reverse_at(self, i: int, j: int, evs: list[Event], clocks: list[list[int]]) -> bool:
        """Insert the reversal of e_i and e_j at e_i's node.

        Returns False when the reversal's first event cannot run there.
        """
        node = self.stack[i]
        v = [evs[x] for x in self._notdep(i, j, evs, clocks)]
        for q in node.sleep:
            if weak_initial(q, node.accs[q], v) is not None:
                return True  # a sleeping actor covers it
        if v[0][0] not in node.enabled_set:
            return False
        self._insert(node, v)
        if self.bound is not None:
            # Bounded POR: also at the latest earlier switch point.
            a0 = v[0][0]
            for k in range(i, -1, -1):
                nk = self.stack[k]
                p = nk.prev_cpu
                free = p < 0 or p not in nk.enabled_set or (nk.actor < self.n and nk.actor != p)
                if free:
                    # Directly as a branch: with a bound, the wakeup tree's
                    # "a commuting branch reaches it later" may be pruned.
                    self._add_branch(nk, a0)
                    break
        return True

    def _mark_pruned(self, depth: int) -> None:
        """The bound pruned a choice at ``depth``: no branch above it is complete."""
        logged = False
        for k in range(min(depth, len(self.stack) - 1), -1, -1):
            if k < self.split and self.log is not None and not logged:
                self.log.append(("pruned", k))
                logged = True
            nk = self.stack[k]
            if nk.cur_pruned:
                break
            nk.cur_pruned = True
            nk.memo = None

    def _add_branch(self, node: Node, a: int) -> None:
        """Explore actor ``a`` first at ``node`` (unless done, asleep or queued)."""
        if a in node.enabled_set and a not in node.sleep and a not in node.done:
            if all(w.actor != a for w in node.wut):
                if node.depth < self.split and self.log is not None:
                    self.log.append(("branch", node.depth, a))
                node.wut.append(WNode(a, node.accs[a]))
            elif node.depth < self.split and self.log is not None and not self._in_head(node, a):
                self.log.append(("branch", node.depth, a))

    @staticmethod
    def _in_head(node: Node, a: int) -> bool:
        """Is ``a`` among the entries up to the current branch (which a subtree task has as they are)?"""
        for w in node.wut:
            if w.actor == a:
                return True
            if w is node.cur:
                return False
        return False

    def _insert(self, node: Node, v: list[Event]) -> None:
        """Insert sequence ``v`` into the wakeup tree of ``node``.

        A sequence that starts like the branch being explored at ``node``
        belongs below it: the walk goes on in the wakeup tree of the next
        node of the stack (a copy of that branch's subtree made when the node
        was created, plus what was inserted there since), so the insertion is
        seen by the search in progress.  At the last node of the stack it is
        dropped: nothing below runs again.  Entries are copied on the way
        down, so a branch's subtree never changes once the node below it
        exists: nothing is shared between nodes (parallel.py relies on it).
        """
        if self.log is not None and node.depth < self.split:
            # A subtree task has the nodes above its split only up to their
            # current branches: the walk is recorded for the caller when it
            # goes past them there (what it does before that is the same on
            # the caller's nodes, and a walk that goes on below the split is
            # the task's own business).
            if self._walk(node, list(v), self.split):
                self.log.append(("insert", node.depth, v))
            return
        self._walk(node, list(v), 0)

    def _walk(self, node: Node, w: list[Event], split: int) -> bool:
        """The insertion walk; True when it went past the current branch of
        a node above ``split`` (or changed something there)."""
        stack = self.stack
        while True:
            cur = node.wut
            first = True
            below: Node | None = None
            above = node.depth < split
            head = above
            while below is None:
                for i, child in enumerate(cur):
                    if first and child.actor in node.done:
                        continue
                    idx = weak_initial(child.actor, child.acc, w)
                    if idx is None:
                        if first and child is node.cur:
                            head = False
                        continue
                    if idx >= 0:
                        del w[idx]
                    if not child.children or not w:
                        return above and not head  # an existing branch already leads there
                    if first and child is node.cur:
                        if node.depth + 1 >= len(stack):
                            return False
                        below = stack[node.depth + 1]
                        break
                    # Copy the entry before changing below it: it may also
                    # be in the subtree a node above keeps for re-creating
                    # this node (its next value choice), which stays as it was.
                    mine = WNode(child.actor, child.acc)
                    mine.children = list(child.children)
                    cur[i] = mine
                    cur = mine.children
                    if above:
                        return True  # below an entry other than the current branch
                    break
                else:
                    # No branch starts like w: add it as a new branch.
                    if first and w[0][0] in node.done:
                        return above
                    parent = cur
                    for a, acc in w:
                        nw = WNode(a, acc)
                        parent.append(nw)
                        parent = nw.children
                    return above
                first = False
            node = below

    def replay_log(self, log: list[tuple[Any, ...]]) -> None:
        """Apply the updates a subtree task made to the nodes above its split."""
        stack = self.stack
        for op in log:
            if op[0] == "insert":
                self._insert(stack[op[1]], op[2])
            elif op[0] == "branch":
                self._add_branch(stack[op[1]], op[2])
            else:
                self._mark_pruned(op[1])

    def advance(self) -> bool:
        """Move to the next unexplored branch; False when the search is exhausted."""
        stack = self.stack
        while stack:
            if len(stack) <= self.split:
                self.at_split = True
                return False
            node = stack[-1]
            node.memo = None
            vals = node.values
            for i in range(len(vals) - 1, -1, -1):
                if vals[i] + 1 < node.nopts[i]:
                    node.values = vals[:i] + [vals[i] + 1]
                    node.nopts = node.nopts[: i + 1]
                    return True
            node.done.add(node.actor)
            if not node.cur_pruned:
                node.covered.add(node.actor)
            node.cur_pruned = False
            node.wut = [w for w in node.wut if w.actor not in node.done and w.actor not in node.sleep]
            while node.wut:
                w = node.wut[0]
                if self.allowed(node, w.actor) and w.actor in node.enabled_set:
                    node.actor = w.actor
                    node.cur = w
                    node.values = []
                    node.nopts = []
                    return True
                node.wut.pop(0)
                node.done.add(w.actor)
                self.bound_pruned += 1
                self._mark_pruned(len(stack) - 2)
            stack.pop()
        return False


@dataclass
class Limits:
    """When a search stops before it is exhausted."""

    max_executions: int | None = None
    max_seconds: float | None = None
    stop_on_bug: bool = False
    after_bug: int | None = None  # executions to go on for after the first bug


def record(st: DporStats, out: Outcome) -> None:
    """Count one finished execution in ``st``."""
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


class Stopper:
    """The stop rules checked after each execution, in the serial order."""

    def __init__(self, limits: Limits, t0: float) -> None:
        self.limits = limits
        self.t0 = t0
        self.first_bug_at: int | None = None

    def after_outcome(self, st: DporStats, out: Outcome) -> bool:
        """Checked before moving on to the next branch: True to stop."""
        lim = self.limits
        if out.status == "error" or (lim.stop_on_bug and out.status == "bug"):
            return True
        if lim.after_bug is not None and st.bugs and self.first_bug_at is None:
            self.first_bug_at = st.executions
        return (
            self.first_bug_at is not None
            and lim.after_bug is not None
            and st.executions - self.first_bug_at >= lim.after_bug
        )

    def after_advance(self, st: DporStats) -> bool:
        """Checked once the next branch is chosen: True to stop."""
        lim = self.limits
        if lim.max_executions is not None and st.executions >= lim.max_executions:
            return True
        return lim.max_seconds is not None and time.perf_counter() - self.t0 > lim.max_seconds


def search(
    program: Program,
    drv: DporDriver,
    st: DporStats,
    stopper: Stopper,
    *,
    keep_events: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    progress: Callable[[DporStats], None] | None = None,
    yield_after: float | None = None,
) -> str:
    """Run executions until the driver's tree is exhausted (``"exhausted"``),
    it reaches its split (``"split"``), or a stop rule holds (``"stopped"``);
    with ``yield_after``, also stop once that many seconds have passed and
    the next branch is chosen (``"yield"``: the stack is the serial state)."""
    while True:
        drv.begin()
        out = run(program, drv, keep_machine=True)
        m = out.machine
        assert m is not None
        out.machine = None
        if keep_events:
            out.events = list(m.events)
            st.all_outcomes.append(out)
        record(st, out)
        if on_outcome is not None:
            on_outcome(out)
        # Drop the stack below a failed step: nothing after it was explored.
        del drv.stack[len(m.events) :]
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
        if stopper.after_outcome(st, out):
            return "stopped"
        if not drv.advance():
            return "split" if drv.at_split else "exhausted"
        if stopper.after_advance(st):
            return "stopped"
        if yield_after is not None and time.perf_counter() - stopper.t0 > yield_after:
            return "yield"
        if progress is not None and st.executions % 256 == 0:
            st.seconds = time.perf_counter() - stopper.t0
            progress(st)


def explore(
    program: Program,
    *,
    preemption_bound: int | None = None,
    max_executions: int | None = None,
    max_seconds: float | None = None,
    stop_on_bug: bool = False,
    after_bug: int | None = None,
    reduction: bool = True,
    keep_events: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    progress: Callable[[DporStats], None] | None = None,
    jobs: int | None = None,
    pool: Any = None,
    split: int | None = None,
    yield_after: float | None = None,
) -> DporStats:
    """Exhaustively explore ``program``; returns statistics and the bad outcomes.

    With ``jobs`` (worker processes on this machine) or ``pool`` (a
    :mod:`parallel` pool, e.g. on a Dask cluster) the same search runs split
    into subtree tasks (parallel.py); its results are those of the serial
    search, execution for execution.  ``split`` fixes the split depth and
    ``yield_after`` the seconds after which a task hands back the rest of
    its subtree (by default both adapt; for tests and benches).
    """
    limits = Limits(max_executions, max_seconds, stop_on_bug, after_bug)
    if pool is not None or (jobs is not None and jobs > 1):
        from . import parallel

        return parallel.explore_parallel(
            program,
            limits,
            preemption_bound=preemption_bound,
            reduction=reduction,
            keep_events=keep_events,
            on_outcome=on_outcome,
            progress=progress,
            jobs=jobs,
            pool=pool,
            split=split,
            yield_after=yield_after,
        )
    drv = DporDriver(program.ncpus, preemption_bound, reduction)
    st = DporStats()
    t0 = time.perf_counter()
    why = search(
        program, drv, st, Stopper(limits, t0), keep_events=keep_events, on_outcome=on_outcome, progress=progress
    )
    st.exhausted = why == "exhausted"
    st.bound_pruned = drv.bound_pruned
    st.seconds = time.perf_counter() - t0
    return st
