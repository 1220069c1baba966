# SPDX-License-Identifier: GPL-2.0-only
"""Exhaustive exploration: optimal dynamic partial-order reduction with blocking steps.

The search is stateless: every execution runs the program from scratch, following the
choices kept in the exploration stack and in the wakeup tree below the branch being
explored, then goes on with a default choice (the CPU that ran last, else the lowest
actor).  It explores one execution per Mazurkiewicz trace (two executions are equivalent
when one is a reordering of the other that swaps only independent neighbouring steps).

The algorithm, and where each part comes from
---------------------------------------------

* **Dependence** (:func:`independent`).  Two steps are dependent when they access a
  common location and one of them writes it (a failed cmpxchg counts as a write).
  Commuting updates (UPDATE: atomic_add/sub/inc/dec without result, an IPI send setting a
  bit in a local APIC's IRR) of one location are independent of each other.  Every step of
  a CPU reads the CPU's control location, which interrupt entry and ``local_irq_*`` write,
  so an interrupt's arrival is dependent with every step of the CPU it interrupts.

* **Happens-before** is computed with vector clocks, incrementally: the stack keeps each
  step's clock, so after an execution only the steps after the branch point are analysed
  (:class:`History`).

* **Races and wakeup sequences** (Abdulla, Aronis, Jonsson, Sagonas, "Source sets: a
  foundation for optimal dynamic partial order reduction", JACM 64(4), 2017, which extends
  their POPL'14 paper).  For a step e' and an earlier dependent step e of another actor that
  is not ordered before e' through other steps, the reversal ``v = notdep(e).e'`` -- the
  steps after e that do not happen after it, then e' -- is inserted into the wakeup tree
  at e's node, unless an actor in that node's sleep set (which includes the siblings
  already explored there) is a weak initial of v.

* **Blocking steps ("guards").**  Some steps can only run when the machine's state allows
  it: a wait on a location (``await_field``, ``smp_cond_load_*``, spinlock acquisition:
  the spin-assume reduction of a spin loop), the pause of a ``cpu_relax()`` loop (enabled
  once another CPU stored to something the loop read), an interrupt's arrival (a
  deliverable vector and interrupts on), bringing a CPU up (it must have died), an event
  source (its guard, its budget, the fault budget).  Such a step's *guard* depends only on
  locations in the step's own footprint, so an independent step never enables or disables
  it, and the theory above still holds for the steps that do run.  What changes is which
  races can be reversed: e' may be disabled in the state ``pre(e).notdep(e)`` where the
  reversal would put it.  Following Nidhugg's treatment of awaits (Jonsson, Lang, Sagonas,
  "Awaiting for Godot", 2022; src/TSOTraceBuilder.cpp, ``do_await``) and of lock
  acquisitions (a lock race is the acquisition against the previous one, reversible only
  when the two are not ordered through other steps), a guarded step is not only raced with
  its immediate predecessors: the search walks back over *all* earlier dependent steps,
  newest first, skipping those ordered before e' by its program-order predecessor, and
  evaluates e'\\ 's guard in the state the reversal would reach (:class:`Feasibility`,
  from the values each step stored and a snapshot of the interrupt state per node).  A
  step where the guard holds is a race; one where it does not is passed over and does not
  hide the steps before it, so the reversal lands at the latest place where e' can really
  run.  In the new execution the walk goes on from there.  The same walk runs for every
  actor still disabled when an execution ends (a CPU waiting forever, an interrupt never
  taken, an event source that never fired): that is how a wait that is the last step is
  reordered, and how the "CPU1 runs first" executions of a deadlock are found.

* **Sleep sets and sleep-set blocking.**  A node's sleep set holds the actors whose
  continuations are covered elsewhere; the wakeup tree's sequences keep the search out of
  states where every enabled actor sleeps.  Without blocking steps no execution is
  sleep-set blocked (tests/test_dpor_oracle.py checks it); with them a few can be, and
  they are counted apart.

* **Value choices** (faults) made inside a step are explored exhaustively at its node,
  within the fault budget.

* **Cut-short executions.**  A violation ends an execution early; the next steps of the
  actors that could still move are raced too, and each is also tried at the last node.

* **Preemption bound** (optional): a switch away from a CPU that could still step costs
  one preemption; schedules beyond the bound are not explored, every reversal is also added
  at the latest earlier switch point (bounded POR, Coons, Musuvathi, McKinley, OOPSLA'13),
  and only branches whose subtree the bound did not prune may put an actor to sleep.  Any
  pruning is reported: the result then holds only within the bound.

Soundness and optimality are tested against a brute-force enumerator of every
interleaving (tests/oracle.py, tests/test_dpor_oracle.py, bench/dpor_oracle.py); the
argument is in docs/engine.md ("Why the search misses nothing").
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .core import FAULTS, NMI_VECTOR, UPDATE, Accesses, Key, Machine, sb_buffered
from .execution import Outcome, Program, run

Event = tuple[int, Accesses, list[tuple[Key, Any, Any]], Any, list[Key], list[int], int]  # Machine.events
# A step in a wakeup sequence: the actor, the footprint of its step, and the value choices
# (faults) the step made in the execution the sequence comes from.
Step = tuple[int, Accesses, "tuple[int, ...] | None"]


def independent(a: Accesses, b: Accesses) -> bool:
    """No common location that one of them writes; two UPDATEs of one location commute."""
    for ka, wa in a:
        for kb, wb in b:
            if ka == kb and (wa or wb) and (wa != UPDATE or wb != UPDATE):
                return False
    return True


def weak_initial(actor: int, acc: Accesses, w: list[Step]) -> int | None:
    """Whether ``actor`` (next step ``acc``) is a weak initial of ``w``.

    Returns the index of the actor's first step in ``w`` when it is an initial of ``w``
    (no earlier step of ``w`` is dependent with it), -1 when the actor does not occur in
    ``w`` and its step is independent of all of ``w``, and None otherwise.
    """
    for idx, x in enumerate(w):
        if x[0] == actor:
            acc_x = x[1]
            for y in range(idx):
                if not independent(w[y][1], acc_x):
                    return None
            return idx
    for x in w:
        if not independent(acc, x[1]):
            return None
    return -1


_MASK = (1 << 64) - 1


def _mix(x: int) -> int:
    """splitmix64's finalizer: a non-linear 64-bit mix (sums of mixed hashes do not cancel)."""
    x &= _MASK
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & _MASK
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB & _MASK
    return x ^ (x >> 31)


def _vkey(values: Any) -> Any:
    """Value choices up to "no choice made yet": None and all zeros (no fault, the first
    combination a node explores) are the same."""
    if values is None or not any(values):
        return None
    return tuple(values)


class WNode:
    """A wakeup-tree node: one step and the sequences that continue it.

    ``values`` are the value choices (faults) the step makes on the way to its children:
    a node explores every value of its step, and the children apply only to these (a
    sibling entry of the same actor holds the sequences that follow other values).  None:
    a branch chosen by default, with no sequence below it yet."""

    __slots__ = ("acc", "actor", "children", "values")

    def __init__(self, actor: int, acc: Accesses, values: tuple[int, ...] | None = None) -> None:
        self.actor = actor
        self.acc = acc
        self.values = values
        self.children: list[WNode] = []


class Node:
    """One node of the exploration stack: the state before the step at ``depth``."""

    __slots__ = (
        "accs",
        "actor",
        "covered",
        "cpu_of",
        "cpus_on",
        "cur",
        "cur_pruned",
        "cut",
        "depth",
        "done",
        "enabled",
        "enabled_set",
        "hw",
        "nopts",
        "preempts",
        "prev_cpu",
        "sleep",
        "values",
        "wut",
    )

    def __init__(
        self,
        depth: int,
        enabled: list[int],
        sleep: dict[int, Accesses],
        accs: dict[int, Accesses],
        prev_cpu: int,
        preempts: int,
        hw: tuple[int, ...],
        cpu_of: dict[int, int],
    ) -> None:
        self.depth = depth
        self.enabled = enabled
        self.enabled_set = set(enabled)
        self.sleep = sleep  # actor -> the footprint of its next step
        self.accs = accs  # footprint of every enabled actor's next step here
        self.done: set[int] = set()  # branches explored here (they sleep in later siblings)
        # Branches whose subtree the preemption bound did not prune: only these may put an
        # actor to sleep under a bound.
        self.covered: set[int] = set()
        self.cur_pruned = False
        # An actor whose step here raised a violation: that branch stopped there, so it
        # covers nothing the other branches go on to do (it never sleeps in them).
        self.cut = -1
        self.wut: list[WNode] = []  # branches still to explore, in order (the current one first)
        self.cur: WNode | None = None
        self.actor = -1
        self.values: list[int] = []
        self.nopts: list[int] = []
        self.prev_cpu = prev_cpu  # the CPU whose code ran last (preemption bound)
        self.preempts = preempts
        self.hw = hw  # Machine.hw_state() here
        self.cpu_of = cpu_of  # enabled actor -> the CPU its step runs (Machine.step_cpu)
        self.cpus_on = {c for c in cpu_of.values() if c >= 0}  # the CPUs whose code could run here


# -- the analysis of the current path --------------------------------------------------------


def _kind(acc: Accesses, key: Key) -> Any:
    for k, w in acc:
        if k == key:
            return w
    return None


class History:
    """Happens-before and per-location access lists of the steps on the current path.

    Kept across executions: after a branch point at depth d only the steps from d on are
    (re)computed (``truncate(d)`` then ``add`` per step).  Per location the steps that read,
    write and update it are listed apart (``R``, ``W``, ``U``, step indices in order).
    """

    def __init__(self, ncpus: int, nactors: int) -> None:
        self.n = ncpus
        self.A = nactors
        self.ev: list[Event] = []
        self.clk: list[list[int]] = []
        self.po: list[list[int]] = [[] for _ in range(nactors)]
        self.R: dict[Key, list[int]] = {}
        self.W: dict[Key, list[int]] = {}
        self.U: dict[Key, list[int]] = {}
        # Values stored, per location: (step, index in the step's record, is_update).
        self.SV: dict[Key, list[tuple[int, int, bool]]] = {}
        # Per CPU control location, the steps that read or write it, per actor
        # (Feasibility.status: along one actor's steps, happening after a given step is
        # monotone, so the newest of them a reversal keeps is found by bisection).
        self.CA: dict[Key, dict[int, list[int]]] = {}
        # The trace's fingerprint (fingerprint()): each step's rank in its actor's program
        # order, and per step the sum of the hashes of the steps up to it.
        self.rank: list[int] = []
        self.fp: list[int] = []

    def truncate(self, d: int) -> None:
        ev = self.ev
        while len(ev) > d:
            a, acc, vals, _g, _s, _v, _c = ev.pop()
            self.clk.pop()
            self.rank.pop()
            self.fp.pop()
            self.po[a].pop()
            for k, w in acc:
                (self.U if w == UPDATE else self.W if w else self.R)[k].pop()
                if w != UPDATE and type(k) is tuple and k[0] == "ctl":
                    per = self.CA[k][a]
                    if per and per[-1] == len(ev):
                        per.pop()
            for key, _b, _a in vals:
                self.SV[key].pop()

    def refresh(self, events: list[Event]) -> None:
        """Take the records of the current execution for the steps kept from the previous
        one: the same steps, but their stored values and guards belong to this machine."""
        ev = self.ev
        for x in range(len(ev)):
            ev[x] = events[x]

    def add(self, e: Event) -> list[int]:
        """Append step ``e``; returns the candidates it races with (the latest dependent
        step of another actor per location, before the filter for immediate races)."""
        j = len(self.ev)
        a, acc, vals, _g, _s, _v, _c = e
        po = self.po[a]
        clk = self.clk
        vc = clk[po[-1]][:] if po else [0] * self.A
        cands: list[int] = []
        for k, w in acc:
            W = self.W.get(k)
            lw = W[-1] if W else -1
            if lw >= 0 and self.ev[lw][0] != a:
                cands.append(lw)
            if w == UPDATE or (w and w != UPDATE):
                # reads since the last write
                R = self.R.get(k)
                if R:
                    for x in reversed(R):
                        if x < lw:
                            break
                        if self.ev[x][0] != a:
                            cands.append(x)
            if w != UPDATE:
                U = self.U.get(k)
                if U:
                    for x in reversed(U):
                        if x < lw:
                            break
                        if self.ev[x][0] != a:
                            cands.append(x)
        if cands:
            ev = self.ev
            # Newest first: a step already ordered before vc (its own clock entry covered)
            # adds nothing to the join.
            for x in sorted(set(cands), reverse=True) if len(cands) > 1 else cands:
                if vc[ev[x][0]] <= x:
                    vc = [p if p > q else q for p, q in zip(vc, clk[x], strict=True)]
        # The step as a node of the partial order, whatever the interleaving: its actor, its
        # rank in that actor's steps, its faults, and for every actor how many of its steps
        # happen before it (taken before vc[a] names this step, which has no rank yet).
        rank = self.rank
        r = len(po)
        fr = [rank[x - 1] + 1 if x else 0 for x in vc]
        fr[a] = r + 1
        front = tuple(fr)
        vc[a] = j + 1
        # (Only ints in the hashed tuple: hash(None) differs from process to process.  The
        # mixer matters: Python's tuple hash is additive enough that two traces differing
        # only in which send lost its IPI would sum to the same number.)
        h = _mix(hash((a, r, _vkey(e[5]) or (), front)))
        self.fp.append((self.fp[-1] + h) & _MASK if self.fp else h)
        rank.append(r)
        # Record.
        self.ev.append(e)
        clk.append(vc)
        po.append(j)
        for k, w in acc:
            d = self.U if w == UPDATE else self.W if w else self.R
            lst = d.get(k)
            if lst is None:
                d[k] = [j]
            else:
                lst.append(j)
            if w != UPDATE and type(k) is tuple and k[0] == "ctl":
                per = self.CA.setdefault(k, {}).setdefault(a, [])
                if not per or per[-1] != j:  # a step that reads and writes it: once
                    per.append(j)
        for pos, (key, _before, _after) in enumerate(vals):
            sv = self.SV.get(key)
            rec = (j, pos, _kind(acc, key) == UPDATE)
            if sv is None:
                self.SV[key] = [rec]
            else:
                sv.append(rec)
        return cands

    def fingerprint(self) -> int:
        """The Mazurkiewicz trace of the path as a number: the sum of its steps' hashes, each
        step named by its place in the partial order (so every interleaving of one trace gets
        the same number).  Counting distinct fingerprints counts traces, independently of
        the order the search met them in (a split search's results, parallel.py)."""
        return self.fp[-1] if self.fp else 0

    def po_clock(self, a: int, j: int, ctrl: int = -1) -> list[int] | None:
        """What orders actor ``a``'s step at ``j`` before any race: the clock of its previous
        step, joined with that of ``ctrl`` (Machine.events' last field), the step that
        handed a CPU its current code: the return from the interrupt that woke it from
        halt or ended its spin loop's pause, the bring-up that started it.  Without that
        step this one would not exist.  None: nothing orders it."""
        best: list[int] | None = None
        for x in reversed(self.po[a]):
            if x < j:
                best = self.clk[x]
                break
        if 0 <= ctrl < j:
            cx = self.clk[ctrl]
            best = cx if best is None else [p if p > q else q for p, q in zip(best, cx, strict=True)]
        return best

    def conflicts(self, a: int, acc: Accesses, j: int) -> list[int]:
        """Every step before ``j`` of another actor that is dependent with a step of actor
        ``a`` whose footprint is ``acc``, newest first."""
        out: set[int] = set()
        ev = self.ev
        for k, w in acc:
            lists = [self.W.get(k)]
            if w == UPDATE:
                lists.append(self.R.get(k))
            elif w:
                lists += [self.R.get(k), self.U.get(k)]
            else:
                lists.append(self.U.get(k))
            for lst in lists:
                if lst:
                    for x in lst:
                        if x < j and ev[x][0] != a:
                            out.add(x)
        return sorted(out, reverse=True)


# -- guards: can a blocked step run in the state a reversal reaches? --------------------------


class Feasibility:
    """Evaluates a step's guard in the state ``pre(e_i).notdep(e_i)`` of one reversal.

    That state S holds the steps before i and the steps between i and j that do not happen
    after step i.  For a location whose non-UPDATE stores are totally ordered, the stores in S
    are a prefix of its stores, so its value in S is the value after the last of them in S,
    plus the UPDATEs in S after it.  A CPU's control state (interrupts on, dead, booting,
    halted) changes only in steps that access its control location, which are totally
    ordered, so it is the state after the last such step in S (a node's ``hw`` snapshot).
    """

    def __init__(self, drv: DporDriver, m: Machine, i: int, j: int) -> None:
        assert drv.history is not None
        self.h: History = drv.history
        self.stack = drv.stack
        self.m = m
        self.end_hw = drv.end_hw
        self.i = i
        self.j = j
        self.ai = self.h.ev[i][0]
        self.statuses: dict[int, int] = {}

    def in_s(self, x: int) -> bool:
        if x < self.i:
            return True
        if x == self.i or x >= self.j:
            return False
        return self.h.clk[x][self.ai] <= self.i

    def hw_after(self, x: int) -> tuple[int, ...]:
        """The interrupt state after step x (before step 0 when x < 0)."""
        y = x + 1
        if y < len(self.stack):
            return self.stack[y].hw
        return self.end_hw

    def value(self, key: Key) -> Any:
        """A field's value in S."""
        h = self.h
        sv = h.SV.get(key)
        ups: list[Any] = []
        base: Any = None
        found = False
        if sv:
            for x, pos, isu in reversed(sv):
                if x >= self.j or not self.in_s(x):
                    continue
                _k, before, after = h.ev[x][2][pos]
                if isu:
                    ups.append(after - before)
                    continue
                base = after
                found = True
                break
            if not found:
                x, pos, _isu = sv[0]
                base = h.ev[x][2][pos][1]
        elif type(key) is tuple and key[0] == "sb":
            base = 0  # a buffered store's location (core.CPU.sb_store) before the store
        else:
            obj = self.m.objs.get(key[0]) if type(key) is tuple else None
            if obj is None:
                raise KeyError(key)
            base = obj.__dict__[key[1]]
        for d in ups:
            base = base + d
        return base

    def status(self, c: int) -> int:
        """CPU c's status bits in S (core.Machine.hw_state)."""
        got = self.statuses.get(c)
        if got is not None:
            return got
        h = self.h
        key = ("ctl", c)
        best = -1
        i, j, ai, clk = self.i, self.j, self.ai, h.clk
        # The newest step in S that accesses the control location: every step before i is in
        # S; of those between i and j, per actor the ones that do not happen after step i
        # come first (happening after it is monotone along an actor's steps), so bisect.
        for lst in (h.R.get(key), h.W.get(key)):
            if lst:
                k = bisect_left(lst, i) - 1
                if k >= 0 and lst[k] > best:
                    best = lst[k]
        per = h.CA.get(key)
        if per:
            for b, lst in per.items():
                if b == ai:
                    continue  # after step i in its actor's order: never in S
                lo = bisect_right(lst, i)
                hi = bisect_left(lst, j)
                if lo >= hi or clk[lst[lo]][ai] > i:
                    continue
                hi -= 1
                while lo < hi:
                    mid = (lo + hi + 1) >> 1
                    if clk[lst[mid]][ai] <= i:
                        lo = mid
                    else:
                        hi = mid - 1
                if lst[lo] > best:
                    best = lst[lo]
        st = self.hw_after(best)[3 * c]
        self.statuses[c] = st
        return st

    def apic(self, c: int) -> tuple[int, int]:
        """CPU c's IRR and ISR (bit masks) in S."""
        h = self.h
        key = ("apic", c)
        base = -1
        i, j, ai, clk = self.i, self.j, self.ai, h.clk
        for x in reversed(h.W.get(key, ())):
            if x < i or (i < x < j and clk[x][ai] <= i):
                base = x
                break
        hw = self.hw_after(base)
        irr, isr = hw[3 * c + 1], hw[3 * c + 2]
        for x in reversed(h.U.get(key, ())):
            if x <= base:
                break
            if x < i or (i < x < j and clk[x][ai] <= i):
                for k, _b, mask in h.ev[x][2]:
                    if k == key:
                        irr |= mask
        return irr, isr

    def irq(self, c: int) -> bool:
        st = self.status(c)
        if st & 6:  # dead or booting
            return False
        irr, isr = self.apic(c)
        if not irr:
            return False
        v = irr.bit_length() - 1
        if isr and (v >> 4) <= ((isr.bit_length() - 1) >> 4):
            return False
        return bool(st & 1) or v == NMI_VECTOR

    def relax(self, c: int, reads: tuple[tuple[Key, int], ...]) -> bool:
        """A spin loop's pause can go once another CPU stored to something the loop read."""
        h = self.h
        m = self.m
        for k, r in reads:
            for lst in (h.W.get(k), h.U.get(k)):
                if not lst:
                    continue
                for x in reversed(lst):
                    if x <= r:
                        break
                    if x >= self.j or not self.in_s(x):
                        continue
                    a = h.ev[x][0]
                    if (m.is_cpu_actor(a) or (m.tso and a >= m.sb_actor0)) and m.actor_cpu(a) == c:
                        continue  # the CPU's own store (or its store buffer's step) is no news
                    if k in h.ev[x][4]:
                        return True
        return False

    def faults_used(self) -> int:
        # Only a step that accesses FAULTS can spend the fault budget (a send that may lose
        # its IPI, a fault source): count those in S that did.
        h = self.h
        n = 0
        for lst in (h.U.get(FAULTS), h.W.get(FAULTS), h.R.get(FAULTS)):
            for x in lst or ():
                if x < self.j and self.in_s(x) and FAULTS in h.ev[x][4]:
                    n += 1
        return n

    def source(self, s: int) -> bool:
        m = self.m
        src = m.sources[s]
        if src.fault and self.faults_used() >= m.faults:
            return False
        if src.vector is not None and self.status(src.cpu) & 2:
            return False
        if src.guard is None:
            return True
        # Evaluate the source's own guard with its declared locations set to their values in
        # S (and the CPUs' control state), then put everything back.
        saved: list[tuple[dict[str, Any], str, Any]] = []
        saved_cpu: list[tuple[Any, tuple[bool, bool, bool, bool]]] = []
        try:
            for k, _w in src.accesses:
                if type(k) is tuple and len(k) == 2 and type(k[0]) is int:
                    obj = m.objs.get(k[0])
                    if obj is not None:
                        d = obj.__dict__
                        saved.append((d, k[1], d[k[1]]))
                        d[k[1]] = self.value(k)
                elif type(k) is tuple and len(k) == 2 and k[0] == "ctl":
                    cpu = m.cpus[k[1]]
                    saved_cpu.append((cpu, (cpu.irqs_on, cpu.dead, cpu.booting, cpu.halted)))
                    st = self.status(k[1])
                    cpu.irqs_on, cpu.dead, cpu.booting, cpu.halted = (
                        bool(st & 1),
                        bool(st & 2),
                        bool(st & 4),
                        bool(st & 8),
                    )
            return bool(src.guard())
        finally:
            for d, name, v in saved:
                d[name] = v
            for cpu, (a, b, c, e) in saved_cpu:
                cpu.irqs_on, cpu.dead, cpu.booting, cpu.halted = a, b, c, e

    def holds(self, guard: Any) -> bool:
        kind = guard[0]
        if kind == "resume":
            # Code at interrupt level k runs only when no deeper handler runs on its CPU.
            return self.status(guard[1]) >> 4 == guard[2] and (guard[3] is None or self.holds(guard[3]))
        if kind == "await":
            return bool(guard[2](self.value(guard[1])))
        if kind == "irq":
            return self.irq(guard[1])
        if kind == "relax":
            return self.relax(guard[1], guard[2])
        if kind == "boot":
            return bool(self.status(guard[1]) & 2)
        if kind == "src":
            return self.source(guard[1])
        raise ValueError(f"unknown guard {kind!r}")


# -- the driver ---------------------------------------------------------------------------------


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
    anomalies: int = 0  # wakeup-tree entries found disabled or asleep (never expected)
    # Fingerprints (History.fingerprint) of the executions that were not sleep-set blocked:
    # their number is the number of Mazurkiewicz traces explored, whatever the order.
    fingerprints: set[int] = field(default_factory=set)

    @property
    def traces(self) -> int:
        return len(self.fingerprints)

    outcomes: list[Outcome] = field(default_factory=list)
    all_outcomes: list[Outcome] = field(default_factory=list)  # with keep_events
    parallel: Any = None


class DporDriver:
    """The exploration stack and the wakeup trees; the driver protocol of execution.run."""

    def __init__(self, ncpus: int, preemption_bound: int | None, reduction: bool = True) -> None:
        self.n = ncpus
        self.reduction = reduction
        self.bound = preemption_bound
        self.stack: list[Node] = []
        self.depth = 0
        self.cur: Node | None = None
        self.vi = 0
        self.bound_pruned = 0
        self.anomalies = 0
        self.subtree: list[WNode] = []  # wakeup tree below the current branch
        self.history: History | None = None
        self.fresh = 0  # first depth whose step is new in the current execution
        self.end_hw: tuple[int, ...] = ()
        # A subtree task (parallel.py): the nodes up to depth ``root`` are not this search's
        # to branch at.  ``forced`` gives each of them its (actor, value choices); the one at
        # ``root`` explores only ``root_branch`` (with the sleep set ``root_sleep``).  A
        # wakeup sequence or a branch for a node at or above ``root`` is not inserted but
        # kept in ``forwarded`` (depth, sequence) for the controller.
        self.root = -1
        self.forced: list[tuple[int, list[int]]] = []
        self.root_branch: WNode | None = None
        self.root_sleep: dict[int, Accesses] = {}
        self.forwarded: list[tuple[int, list[Step]]] = []
        # Source-set insertion (Abdulla et al., source-DPOR): a sleeper or a waiting branch
        # covers a sequence only when it occurs in it as an initial, not when it merely
        # commutes with it.  A split search needs it (parallel.py): the sequences the
        # optimal test relies on below a branch may reach that branch after its task began.
        self.initials_only = False

    # -- driver protocol -------------------------------------------------------------------
    def begin(self) -> None:
        self.depth = 0
        self.cur = None
        self.vi = 0
        self.subtree = []

    @staticmethod
    def _cost(node: Node, a: int) -> int:
        """1 if taking ``a`` here switches away from a CPU that could still run (the rule of
        execution.Preemptions), else 0."""
        c = node.cpu_of.get(a, -1)
        p = node.prev_cpu
        return 1 if (c >= 0 and p >= 0 and c != p and p in node.cpus_on) else 0

    def allowed(self, node: Node, a: int) -> bool:
        return self.bound is None or node.preempts + self._cost(node, a) <= self.bound

    def below_node(self, node: Node) -> list[WNode]:
        """The wakeup subtree that continues ``node``'s current step with the values it took."""
        cur = node.cur
        if cur is None:
            return []
        key = _vkey(node.values)
        if _vkey(cur.values) == key:
            return cur.children
        for w in node.wut:
            if w.actor == cur.actor and _vkey(w.values) == key:
                return w.children
        return []

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
        # A new step: the wakeup subtree below the parent's branch, with the values its step took.
        self.subtree = self.below_node(stack[d - 1]) if d else []
        if d:
            p = stack[d - 1]
            pc = p.cpu_of.get(p.actor, -1)
            prev = pc if pc >= 0 else p.prev_cpu
            preempts = p.preempts + self._cost(p, p.actor)
        else:
            prev = -1
            preempts = 0
        accesses = m.accesses
        accs: dict[int, Accesses] = {}
        cpu_of: dict[int, int] = {}
        # Machine.step_cpu, inlined: the CPU whose code the actor runs, -1 for the hardware's.
        n = m.ncpus
        lim = 2 * n + len(m.sources)
        sb0 = m.sb_actor0
        for a in enabled:
            accs[a] = accesses(a)
            cpu_of[a] = a if a < n else -1 if a < lim or a >= sb0 else (a - lim) % n
        sleep: dict[int, Accesses] = {}
        if d and self.reduction:
            # The parent's sleepers and explored siblings (under a bound: only the siblings
            # whose subtree nothing pruned) that the parent's step does not wake.
            p = stack[d - 1]
            eacc = m.events[d - 1][1]
            for q, fq in p.sleep.items():
                if q != p.actor and independent(fq, eacc):
                    sleep[q] = fq
            for q in p.done if self.bound is None else p.covered:
                if q != p.actor and q != p.cut and q in p.accs and independent(p.accs[q], eacc):
                    sleep[q] = p.accs[q]
        if d == self.root:
            sleep = dict(self.root_sleep)
        node = Node(d, enabled, sleep, accs, prev, preempts, m.hw_state(), cpu_of)
        if d and self.reduction:
            self._check_enabling(m, stack[d - 1], node)
        if d <= self.root:
            # The task's path: the node's step is given (and, at the root, its subtree).
            a, vals = self.forced[d]
            if a not in node.enabled_set:
                raise RuntimeError(f"nondeterministic program: a task's path expects {m.actor_name(a)} at depth {d}")
            w = self.root_branch if d == self.root and self.root_branch is not None else WNode(a, accs[a])
            node.wut = [w]
            node.actor = a
            node.cur = w
            node.values = list(vals)
            node.nopts = []
            stack.append(node)
            self.depth = d + 1
            self.cur = node
            self.vi = 0
            return a
        choice: WNode | None = None
        # Follow the wakeup tree below the branch being explored.
        for w in self.subtree:
            if w.actor in node.enabled_set and w.actor not in sleep:
                if self.allowed(node, w.actor):
                    choice = w
                    break
                self.bound_pruned += 1
                self._mark_pruned(d)
            else:
                self.anomalies += 1
        if choice is not None:
            node.wut = list(self.subtree)
        else:
            a_choice = -1
            # Default: the CPU that ran last goes on (its interrupted code or its handler).
            for a in enabled:
                if cpu_of[a] == prev and prev >= 0 and a not in sleep and self.allowed(node, a):
                    a_choice = a
                    break
            if a_choice < 0:
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
        stack.append(node)
        self.depth = d + 1
        self.cur = node
        self.vi = 0
        return choice.actor

    @staticmethod
    def _check_enabling(m: Machine, parent: Node, node: Node) -> None:
        """The theory needs every step that enables or disables an actor to be dependent
        with that actor's next step (a guard reads only locations in its footprint).  A
        step that breaks it would make the search unsound, so it is an error of the
        program (an event source whose guard reads undeclared state, typically)."""
        changed = parent.enabled_set ^ node.enabled_set
        if not changed:
            return
        acc = m.events[parent.depth][1]
        for q in changed:
            if q == parent.actor:
                continue
            fq = parent.accs[q] if q in parent.accs else node.accs[q]
            if independent(acc, fq):
                raise RuntimeError(
                    f"step {parent.depth} of {m.actor_name(parent.actor)} "
                    f"{'enabled' if q in node.enabled_set else 'disabled'} {m.actor_name(q)}, "
                    "but the two touch no common location: what enables that actor reads state "
                    "its footprint does not declare (an event source's guard must read only its keys)"
                )

    def value(self, nopts: int, what: str) -> int:
        node = self.cur
        assert node is not None
        i = self.vi
        self.vi += 1
        if i < len(node.values):
            if i >= len(node.nopts):
                node.nopts.append(nopts)  # a task's given value (parallel.py)
            elif node.nopts[i] != nopts:
                raise RuntimeError(f"nondeterministic program: value choice '{what}' changed its options")
            return node.values[i]
        node.values.append(0)
        node.nopts.append(nopts)
        return 0

    # -- after an execution --------------------------------------------------------------------
    def analyse(self, m: Machine, pending: list[int] = (), failed: int = -1) -> None:  # type: ignore[assignment]
        """Insert a wakeup sequence for every race of the execution just run that involves
        a step new in it, and for the next steps of actors that could not (or, after a
        violation, did not get to) run them."""
        events = m.events
        stack = self.stack
        L = min(len(events), len(stack))
        h = self.history
        if h is None:
            h = self.history = History(m.ncpus, m.nactors)
        h.truncate(min(self.fresh, L))
        h.refresh(events)
        self.end_hw = m.hw_state()
        for j in range(len(h.ev), L):
            e = events[j]
            cands = h.add(e)
            if not self.reduction:
                continue
            vals = tuple(e[5])
            if e[3] is None:
                self._immediate_races(m, j, e[0], e[1], cands, vals, e[6])
            else:
                self._walk(m, j, e[0], e[1], e[3], vals, e[6])
        if L < 1 or not self.reduction:
            return
        # The next step of every actor that could not run it when the execution ended.
        for a, acc, guard in self._next_steps(m, pending, failed):
            ctrl = m.cpus[m.actor_cpu(a) or 0].ctrl[-1] if m.is_cpu_actor(a) and not m.ncpus <= a < 2 * m.ncpus else -1
            if guard is None:
                self._immediate_races(m, L, a, acc, self._virtual_cands(a, acc, L), None, ctrl)
            else:
                self._walk(m, L, a, acc, guard, None, ctrl)
        # A violation cut the execution short, but another actor's next step may violate a
        # property too (its step commutes with the violating one): try each at the last node.
        if pending:
            last = stack[L - 1]
            last.cut = last.actor
            for a in pending:
                self._add_branch(last, a)

    def _next_steps(self, m: Machine, pending: list[int], failed: int) -> list[tuple[int, Accesses, Any]]:
        """(actor, footprint, guard) of each actor's next step that did not run: the actors
        still enabled after a violation (``pending``), and every actor that was disabled
        when the execution ended (a guarded step), except on the CPU that failed."""
        out: list[tuple[int, Accesses, Any]] = []
        n = m.ncpus
        en = set(m.enabled()) if failed < 0 else set(pending)
        for a in sorted(pending):
            out.append((a, m.accesses(a), self._guard_now(m, a)))
        for c, cpu in enumerate(m.cpus):
            if c == failed or cpu.dead or cpu.halted:
                continue
            a = m.level_actor(c, cpu.nested_irqs)
            if a in en:
                continue
            if cpu.guard is not None and cpu.awaiting is not None:
                out.append((a, m.accesses(a), self._guard_now(m, a)))  # a wait
        hist = self.history
        assert hist is not None
        for c, cpu in enumerate(m.cpus):
            a = n + c
            if a in en or c == failed:
                continue
            key = ("apic", c)
            if not hist.U.get(key) and not hist.W.get(key) and not cpu.apic.irr:
                continue  # nothing ever pended here
            out.append((a, m.accesses(a), m.irq_guards[c]))
        for s, src in enumerate(m.sources):
            a = 2 * n + s
            if a in en or src.budget <= 0:
                continue
            out.append((a, src.accesses, src.gdesc))
        return out

    @staticmethod
    def _guard_now(m: Machine, a: int) -> Any:
        """The guard of actor ``a``'s next step as the machine is now (Machine.step's)."""
        n = m.ncpus
        if n <= a < 2 * n:
            return m.irq_guards[a - n]
        if a >= m.sb_actor0:
            cpu = m.cpus[a - m.sb_actor0]
            return ("await", cpu.sb[0][4], sb_buffered)
        if not m.is_cpu_actor(a):
            return m.sources[a - 2 * n].gdesc
        cpu = m.cpus[m.actor_cpu(a) or 0]
        if cpu.after_iret[-1]:
            return ("resume", cpu.id, cpu.nested_irqs, cpu.guard)
        return cpu.guard

    def _virtual_cands(self, a: int, acc: Accesses, j: int) -> list[int]:
        """The latest dependent steps of a step that did not run (at the end of the path)."""
        h = self.history
        assert h is not None
        out: list[int] = []
        ev = h.ev
        for k, w in acc:
            W = h.W.get(k)
            lw = W[-1] if W else -1
            if lw >= 0 and ev[lw][0] != a:
                out.append(lw)
            if w:
                for x in reversed(h.R.get(k, ())):
                    if x < lw:
                        break
                    if ev[x][0] != a:
                        out.append(x)
            if w != UPDATE:
                for x in reversed(h.U.get(k, ())):
                    if x < lw:
                        break
                    if ev[x][0] != a:
                        out.append(x)
        return out

    def _immediate_races(
        self, m: Machine, j: int, a: int, acc: Accesses, cands: list[int], vals: Any = None, ctrl: int = -1
    ) -> None:
        """Races of an unguarded step: its dependent steps not ordered before it through its
        program-order predecessor or another dependent step."""
        h = self.history
        assert h is not None
        if not cands:
            return
        # h.po_clock without joining the two clocks: a step is ordered before if either is.
        prev = None
        for x in reversed(h.po[a]):
            if x < j:
                prev = h.clk[x]
                break
        clk = h.clk
        cc = clk[ctrl] if 0 <= ctrl < j else None
        for i in sorted(set(cands)):
            ai = h.ev[i][0]
            if (prev is not None and prev[ai] > i) or (cc is not None and cc[ai] > i):
                continue
            if any(k2 != i and clk[k2][ai] > i for k2 in cands):
                continue
            self._reverse(m, i, j, a, acc, vals)

    def _walk(self, m: Machine, j: int, a: int, acc: Accesses, guard: Any, vals: Any = None, ctrl: int = -1) -> None:
        """Races of a guarded step: every earlier dependent step, newest first, where the
        step could run in the reversal's state; a step where it could not hides nothing."""
        h = self.history
        assert h is not None
        above = h.po_clock(a, j, ctrl)
        clk = h.clk
        raced: list[int] = []
        # An interrupt's arrival with nothing pending: let x be the last write of the CPU's
        # APIC before j.  For a reversal at i > x, S holds x and no later write, so the IRR
        # in S is the one after x plus the sends after x; with neither, Feasibility.irq is
        # false at every such i, and there is nothing to evaluate.
        none_after = -2
        if guard[0] == "irq":
            key = ("apic", guard[1])
            W = h.W.get(key, ())
            k = bisect_left(W, j) - 1
            x = W[k] if k >= 0 else -1
            U = h.U.get(key, ())
            k = bisect_left(U, j) - 1
            if (k < 0 or U[k] <= x) and not self._hw_after(x)[3 * guard[1] + 1]:
                none_after = x
        for i in h.conflicts(a, acc, j if none_after < -1 else none_after + 1):
            ai = h.ev[i][0]
            if above is not None and above[ai] > i:
                continue
            if any(clk[r][ai] > i for r in raced):
                continue
            if Feasibility(self, m, i, j).holds(guard):
                raced.append(i)
                self._reverse(m, i, j, a, acc, vals)

    def _hw_after(self, x: int) -> tuple[int, ...]:
        """The interrupt state after step x on the current path (Feasibility.hw_after)."""
        y = x + 1
        return self.stack[y].hw if y < len(self.stack) else self.end_hw

    def _notdep(self, i: int, j: int) -> list[Step]:
        h = self.history
        assert h is not None
        ai = h.ev[i][0]
        clk = h.clk
        ev = h.ev
        return [(ev[k][0], ev[k][1], tuple(ev[k][5])) for k in range(i + 1, min(j, len(ev))) if clk[k][ai] <= i]

    def _reverse(self, m: Machine, i: int, j: int, a: int, acc: Accesses, vals: Any = None) -> None:
        """Insert the reversal ``notdep(e_i).e'`` at node i.  Under a preemption bound only the
        steps of notdep(e_i) that e' needs (those happening before it) go first: the others
        can come after e', and putting them first may cost preemptions the bound refuses."""
        node = self.stack[i]
        v = self._notdep(i, j)
        h = self.history
        if self.bound is not None and h is not None and j < len(h.ev):
            cj = h.clk[j]
            ev = h.ev
            keep = [k for k in range(i + 1, j) if h.clk[k][ev[i][0]] <= i and cj[ev[k][0]] > k]
            v = [(ev[k][0], ev[k][1], tuple(ev[k][5])) for k in keep]
        v.append((a, acc, vals))
        if v[0][0] not in node.enabled_set:
            self.anomalies += 1
            return
        self._insert(node, v)
        if self.bound is not None:
            # Bounded POR (Coons et al.): also at the latest earlier point where switching is
            # free, the reversal's first actor and the racing actor.
            for k in range(i, -1, -1):
                nk = self.stack[k]
                p = nk.prev_cpu
                c = nk.cpu_of.get(nk.actor, -1)
                free = p < 0 or p not in nk.cpus_on or (c >= 0 and c != p)
                if free:
                    for b in (v[0][0], a):
                        if b in nk.enabled_set:
                            self._add_branch(nk, b)
                    break

    def _sleepers(self, node: Node) -> list[tuple[int, Accesses]]:
        out = list(node.sleep.items())
        for q in node.done if self.bound is None else node.covered:
            if q in node.accs and q != node.cut:
                out.append((q, node.accs[q]))
        return out

    def _forward(self, node: Node, v: list[Step]) -> bool:
        """A subtree task hands sequences for the nodes it does not own to its controller."""
        if node.depth <= self.root:
            self.forwarded.append((node.depth, v))
            return True
        return False

    def _insert(self, node: Node, v: list[Step]) -> None:
        """Insert sequence ``v`` into the wakeup tree of ``node`` (Abdulla et al., the
        operation insert[E](v, wut)): unless a sleeper (an actor asleep there or a branch
        already explored there) is a weak initial of v, descend through the branches that are
        weak initials of what is left of v; stop if one is a leaf or v is used up; else add
        the rest of v as a new branch.  Branches are copied on the way down, so a subtree
        handed to a node below never changes under it."""
        if self._forward(node, v):
            return
        for q, fq in self._sleepers(node):
            k = weak_initial(q, fq, v)
            if k is not None and (k >= 0 or not (self.initials_only or self.bound is not None)):
                return
        w = list(v)
        cur = node.wut
        top = True
        while True:
            for idx, child in enumerate(cur):
                if top and child is node.cur:
                    # The branch being explored: its subtree lives in the stack below.  Its
                    # step conflicts with v's last step, so it is never a weak initial here.
                    if weak_initial(child.actor, child.acc, w) is not None:
                        self.anomalies += 1
                    continue
                k = weak_initial(child.actor, child.acc, w)
                if k is None or (k < 0 and (self.bound is not None or self.initials_only)):
                    # (Under a preemption bound a branch that merely commutes with w does not
                    # lead to it: the bound may prune what that branch would run.)
                    continue
                if k >= 0:
                    if _vkey(w[k][2]) != _vkey(child.values):
                        continue  # the same step with other faults: a sibling of its own
                    del w[k]
                if not child.children or not w:
                    return  # an existing branch already leads there
                mine = WNode(child.actor, child.acc, child.values)
                mine.children = list(child.children)
                cur[idx] = mine
                cur = mine.children
                break
            else:
                parent = cur
                for a, acc, vals in w:
                    nw = WNode(a, acc, vals)
                    parent.append(nw)
                    parent = nw.children
                return
            top = False

    def _mark_pruned(self, depth: int) -> None:
        """The bound pruned a choice at ``depth``: no branch above it is complete."""
        for k in range(min(depth, len(self.stack) - 1), -1, -1):
            nk = self.stack[k]
            if nk.cur_pruned:
                break
            nk.cur_pruned = True

    def _add_branch(self, node: Node, a: int) -> None:
        """Explore actor ``a`` first at ``node`` (unless done, asleep or queued)."""
        if a in node.enabled_set and self._forward(node, [(a, node.accs[a], None)]):
            return
        if a in node.enabled_set and a not in node.sleep and a not in node.done:
            if all(w.actor != a for w in node.wut):
                node.wut.append(WNode(a, node.accs[a]))

    def advance(self) -> bool:
        """Move to the next unexplored branch; False when the search is exhausted."""
        stack = self.stack
        while stack:
            node = stack[-1]
            if node.depth < self.root:
                return False  # a task's path: not ours to branch at
            vals = node.values
            for i in range(len(vals) - 1, -1, -1):
                if vals[i] + 1 < node.nopts[i]:
                    node.values = vals[:i] + [vals[i] + 1]
                    node.nopts = node.nopts[: i + 1]
                    self.fresh = len(stack) - 1
                    return True
            if node.depth == self.root:
                return False  # the task's branch is done
            node.done.add(node.actor)
            if not node.cur_pruned:
                node.covered.add(node.actor)
            node.cur_pruned = False
            node.wut = [w for w in node.wut if w.actor not in node.done and w.actor not in node.sleep]
            while node.wut:
                w = node.wut[0]
                if w.actor in node.enabled_set and self.allowed(node, w.actor):
                    node.actor = w.actor
                    node.cur = w
                    node.values = []
                    node.nopts = []
                    self.fresh = len(stack) - 1
                    return True
                node.wut.pop(0)
                if w.actor not in node.enabled_set:
                    self.anomalies += 1
                    continue
                node.done.add(w.actor)
                self.bound_pruned += 1
                self._mark_pruned(len(stack) - 2)
            stack.pop()
        return False


# -- the search ---------------------------------------------------------------------------------


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
    """The stop rules checked after each execution."""

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


def pending_actors(m: Machine) -> list[int]:
    """After a violation: the actors that could still move, except the CPU that raised."""
    out: list[int] = []
    if not m.events:
        return out
    last_cpu = m.actor_cpu(m.events[-1][0])
    for a in m.enabled():
        if m.is_cpu_actor(a) and m.actor_cpu(a) == last_cpu:
            continue  # that CPU raised: it has no next step
        out.append(a)
    return out


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
    """Run executions until the tree is exhausted (``"exhausted"``) or a stop rule holds
    (``"stopped"``); with ``yield_after``, also stop once that many seconds have passed and
    the next branch is chosen (``"yield"``: parallel.py hands the rest out)."""
    while True:
        drv.begin()
        out = run(program, drv, keep_machine=True, reuse=True)
        m = out.machine
        assert m is not None
        out.machine = None
        if keep_events:
            out.events = [(e[0], e[1]) for e in m.events]
            st.all_outcomes.append(out)
        record(st, out)
        if on_outcome is not None:
            on_outcome(out)
        # Drop the stack below a failed step: nothing after it was explored.
        del drv.stack[len(m.events) :]
        pending: list[int] = []
        failed = -1
        if out.status == "bug" and m.events and not m.finishing:
            # A step raised: the actors that could still move had their next steps cut off.
            pending = pending_actors(m)
            failed = m.actor_cpu(m.events[-1][0]) or 0
        drv.analyse(m, pending, failed)
        del m
        if out.status != "blocked" and drv.history is not None:
            out.fingerprint = drv.history.fingerprint()
            st.fingerprints.add(out.fingerprint)
        st.anomalies = drv.anomalies
        if stopper.after_outcome(st, out):
            return "stopped"
        if not drv.advance():
            return "exhausted"
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
) -> DporStats:
    """Exhaustively explore ``program``; returns statistics and the bad outcomes.  (The same
    search split over worker processes or a cluster: parallel.explore.)"""
    limits = Limits(max_executions, max_seconds, stop_on_bug, after_bug)
    drv = DporDriver(program.ncpus, preemption_bound, reduction)
    st = DporStats()
    t0 = time.perf_counter()
    why = search(
        program, drv, st, Stopper(limits, t0), keep_events=keep_events, on_outcome=on_outcome, progress=progress
    )
    st.exhausted = why == "exhausted"
    st.bound_pruned = drv.bound_pruned
    st.anomalies = drv.anomalies
    st.seconds = time.perf_counter() - t0
    return st
