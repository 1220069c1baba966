# SPDX-License-Identifier: GPL-2.0-only
"""``kport diagram``: the causal slice of a counterexample, drawn as kernel mail draws races.

A counterexample is every step of one execution (``kport check`` prints them all: 117 for
irq_work.lost-self-ipi, most of them tick and idle bookkeeping).  A maintainer's mail shows
the handful that matter.  This module finds them and draws them.

The slice
---------
The execution is cut into *activities*: what one CPU does in one top-level kernel call (an
``irq_work_queue()``, a ``do_idle()`` pass), in one interrupt handler (from the arrival to
its return), or as an event source firing.  Each step reads locations; the step it *read
from* is the last one that stored there (``Machine.events``: the accesses and stores of
every step).  Within one activity program order explains the data flow; across activities
it is communication, and that is what a race diagram shows.

* **Seeds**, by the kind of violation: the step that failed (an assertion, BUG, WARN or a
  sleeping lock in atomic context), with the interrupt it ran in and the step that turned
  interrupts off; for a deadlock, the stuck CPU's last step and the last stores to what it
  waits on; for a stall or a failed final check, what the failing check read (recorded while
  it is evaluated again on the final state) and, because a stall is about something that did
  *not* happen, every read across activities of the objects the scenario owns or the check
  read (a raised list still pointing at a work item is such a read); in every case each
  injected fault.
* **Closure**: for each step in the slice, every read made earlier in its activity whose
  value another activity stored is a *decisive read*; the storing step joins the slice, and
  so, transitively, what its own activity read before it.  An interrupt handler reads its
  vector from the step that sent it (the IPI or the event source): the sender joins too.
  Locks' words are not followed (they order, they carry no data), nor the per-CPU control
  word every step reads.
* **Folding**: the diagram shows each activity that holds a slice step as its top-level call
  (with its arguments and result when the port shows them), and under it only the calls on
  the way to the slice steps (``llist_add(...) -> false``) and the slice steps themselves;
  everything else an activity did is folded into its call row.

The slice is checked: tests/test_mail.py replays, for every BUG cell of the corpus, the slice's
steps in their order as a partial schedule (each CPU runs what program order needs before its
next slice step, nothing else runs, no other fault is injected) and requires the same kind of
violation (``partial_schedule`` below; what it leaves out is stated there).
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .engine import core, memory
from .engine.core import ACQUIRE, FAULTS, UPDATE, Machine
from .engine.explorer import Result, replay
from .engine.trace import Row, rows

Key = Any

# -- replaying with the reads that make no step -------------------------------------------------


@dataclass
class Recorded:
    """One counterexample replayed with tracing, with the reads that are not steps."""

    machine: Machine
    kind: str
    message: str
    raw_reads: dict[int, set[Key]]  # step -> locations read with raw() by CPU code in that step
    check_reads: list[Key]  # what the failing check read (stall, final check), in order
    check: str  # which check that was ("" if none)
    scenario: Any = None  # the scenario instance that ran (None for a plain program)
    raw_writes: dict[int, set[Key]] = field(default_factory=dict)  # step -> scenario state CPU code stored
    raw_values: dict[tuple[int, Key], Any] = field(default_factory=dict)  # what it stored, when plain
    raw_where: dict[tuple[int, Key], str] = field(default_factory=dict)  # in which function


class _Sink:
    def __init__(self) -> None:
        self.steps: dict[int, set[Key]] = {}
        self.writes: dict[int, set[Key]] = {}
        self.values: dict[tuple[int, Key], Any] = {}  # (step, key) -> the plain value it stored
        self.where: dict[tuple[int, Key], str] = {}  # (step, key) -> the function that stored it
        self.engine: list[Key] | None = None

    def note(self, key: Key) -> None:
        cpu = core.CUR
        if cpu is not None:
            self.steps.setdefault(cpu.m.nsteps, set()).add(key)
        elif self.engine is not None and key not in self.engine:
            self.engine.append(key)

    def store(self, key: Key, value: Any = None, known: bool = False) -> None:
        cpu = core.CUR
        if cpu is not None:
            self.writes.setdefault(cpu.m.nsteps, set()).add(key)
            if known:
                self.values[(cpu.m.nsteps, key)] = value
            fn = next((f.name for f in reversed(cpu.kstack) if not f.name.startswith("<")), "")
            self.where[(cpu.m.nsteps, key)] = fn


# The scenario's own Python state (``self.pulls``, a dict CPU code fills) as locations: what
# CPU code reads and stores there is recorded like a field's, under these keys.
SCENARIO = "scenario"


@contextlib.contextmanager
def _recording(sink: _Sink) -> Iterator[None]:
    """Record reads made without a step: ``raw()`` anywhere, and engine-side field reads (a
    check's) while ``sink.engine`` is a list."""
    orig_raw = memory.Struct.raw
    orig_get = memory.field.__get__

    def raw(self: memory.Struct, name: str) -> Any:
        d = self.__dict__
        sink.note((d["_oid"], name))
        return d[name]

    def get(self: memory.field, obj: Any, owner: type | None = None) -> Any:
        if obj is not None and self.shared and core.CUR is None and sink.engine is not None:
            sink.note((obj.__dict__["_oid"], self.name))
        return orig_get(self, obj, owner)

    memory.Struct.raw = raw  # type: ignore[method-assign]
    memory.field.__get__ = get  # type: ignore[method-assign]
    try:
        yield
    finally:
        memory.Struct.raw = orig_raw  # type: ignore[method-assign]
        memory.field.__get__ = orig_get  # type: ignore[method-assign]


def record(prog: Any, choices: list[int]) -> Recorded:
    """Replay ``choices`` on ``prog`` with tracing, recording the reads that make no step and
    what the failing check reads."""
    sink = _Sink()
    held: list[Any] = []
    sc_cls = getattr(prog, "scenario", None)
    if isinstance(sc_cls, type) and dataclasses.is_dataclass(prog):
        # The same scenario, keeping hold of its instance (the objects it owns).
        class Held(sc_cls):  # type: ignore[valid-type,misc]
            def __init__(self) -> None:
                super().__init__()
                held.append(self)

            def __getattribute__(self, name: str) -> Any:
                v = object.__getattribute__(self, name)
                if not name.startswith("__") and name in object.__getattribute__(self, "__dict__"):
                    if not callable(v) and not isinstance(v, memory.Struct):
                        sink.note((SCENARIO, name))
                        if isinstance(v, dict | list | set) and core.CUR is not None:
                            sink.store((SCENARIO, name))  # (CPU code may fill it)
                return v

            def __setattr__(self, name: str, value: Any) -> None:
                if not callable(value):
                    plain = isinstance(value, int | str | float | bool | type(None))
                    sink.store((SCENARIO, name), value, plain)
                object.__setattr__(self, name, value)

        Held.__name__ = sc_cls.__name__
        Held.__qualname__ = sc_cls.__qualname__
        Held.__module__ = sc_cls.__module__
        prog = dataclasses.replace(prog, scenario=Held)
    with _recording(sink):
        out, _div = replay(prog, choices)
        m = out.machine
        assert m is not None
        check, reads = "", []
        if m.finishing and out.status == "bug" and out.kind != "deadlock":
            memory.BUILDING[0] = m  # (a check may name objects)
            try:
                check, reads = _failing_check(m, sink, out.kind or "")
            finally:
                memory.BUILDING[0] = None
    return Recorded(
        m,
        out.kind or "",
        out.message,
        sink.steps,
        reads,
        check,
        held[-1] if held else None,
        sink.writes,
        sink.values,
        sink.where,
    )


def _failing_check(m: Machine, sink: _Sink, kind: str) -> tuple[str, list[Key]]:
    """Evaluate the checks of the final state again, recording what the failing one reads."""
    if kind == "stall":
        for desc, pred in m.obligations:
            inner = getattr(pred, "pred", pred)  # (scenario.py wraps it to explain stalls)
            sink.engine = []
            try:
                ok = bool(inner())
            except Exception:
                ok = False
            reads, sink.engine = sink.engine, None
            if not ok:
                return desc, reads
        return "", []
    for check in m.finals:
        sink.engine = []
        try:
            check()
            ok = True
        except BaseException:
            ok = False
        reads, sink.engine = sink.engine, None
        if not ok:
            return getattr(check, "__name__", "final check"), reads
    return "", []


# -- the execution as steps and activities ------------------------------------------------------


@dataclass
class Step:
    n: int  # step number, 1-based (the trace's numbering)
    actor: int
    cpu: int  # the CPU it acts on (a source: the CPU it raises a vector on)
    kind: str  # "cpu", "irq" (interrupt entry) or "src" (an event source fires)
    reads: list[Key]
    locks: list[Key]  # lock words taken (not followed: they order, they carry no data)
    writes: list[Key]
    values: list[int]  # value choices made in the step (faults)
    fault: bool
    sets: list[tuple[int, int]]  # (target CPU, vector) an IPI send or a source put in an IRR
    rows: list[int] = field(default_factory=list)  # indices into the rows
    activity: int = -1
    vector: str = ""  # interrupt entry: the vector's name


@dataclass
class Node:
    """A function call, an interrupt, or a trace row, in one CPU's call tree."""

    kind: str  # "cpu" (root), "func", "irq", "leaf", "source"
    row: int  # its opening row (-1 for a root)
    cpu: int
    depth: int
    step: int
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    result: int | None = None  # the "= f(...) -> v" row closing a shown call
    exit: int | None = None  # "</VECTOR>"
    activity: int = -1


@dataclass
class Activity:
    id: int
    cpu: int
    kind: str  # "call", "irq", "program", "source"
    node: Node
    steps: list[int] = field(default_factory=list)


@dataclass
class Execution:
    m: Machine
    rows: list[Row]
    steps: list[Step]  # steps[n - 1] is step n
    nodes: list[Node]  # one per row (the node a row opens, or the leaf it is)
    roots: list[Node]  # per CPU
    activities: list[Activity]
    writers: dict[Key, list[int]]  # key -> steps that stored to it, in order
    raw_reads: dict[int, set[Key]]
    raw_values: dict[tuple[int, Key], Any] = field(default_factory=dict)
    raw_where: dict[tuple[int, Key], str] = field(default_factory=dict)

    def step(self, n: int) -> Step:
        return self.steps[n - 1]

    def writer(self, n: int, key: Key) -> int | None:
        """The last step before step ``n`` that stored to ``key`` (None: its initial value)."""
        ws = self.writers.get(key)
        if not ws:
            return None
        lo, hi = 0, len(ws)
        while lo < hi:
            mid = (lo + hi) // 2
            if ws[mid] < n:
                lo = mid + 1
            else:
                hi = mid
        return ws[lo - 1] if lo else None

    def value(self, n: int, key: Key) -> Any:
        """The value step ``n`` stored to ``key`` (None if unknown)."""
        if (n, key) in self.raw_values:
            return self.raw_values[(n, key)]
        ev = self.m.events[n - 1]
        for k, _before, after in ev[2]:
            if k == key:
                return after
        return None


_VEC = re.compile(r"^</?(.+?)>$")


def label(m: Machine, key: Key) -> str:
    """A location's name in a trace (the scenario's own state as ``scenario.NAME``)."""
    if type(key) is tuple and len(key) == 2 and key[0] == SCENARIO:
        return f"scenario.{key[1]}"
    return m.key_label(key)


def analyse(
    m: Machine, raw_reads: dict[int, set[Key]] | None = None, raw_writes: dict[int, set[Key]] | None = None
) -> Execution:
    rs = rows(m)
    n = m.ncpus
    steps: list[Step] = []
    for i, ev in enumerate(m.events):
        actor, acc, vals, _guard, stores, values = ev[:6]
        if actor < n:
            kind, cpu = "cpu", actor
        elif actor < 2 * n:
            kind, cpu = "irq", actor - n
        elif actor - 2 * n < len(m.sources):
            kind, cpu = "src", m.sources[actor - 2 * n].cpu
        else:
            # A CPU's code at an interrupt level, its store buffer (TSO), or an actor this
            # module does not know (an engine may add some): its CPU's step.
            try:
                c = m.actor_cpu(actor)
            except (IndexError, AttributeError):
                c = None
            kind, cpu = "cpu", c if isinstance(c, int) else 0
        sets = [(k[1], v.bit_length() - 1) for k, _b, v in vals if type(k) is tuple and k[:1] == ("apic",) and v]
        steps.append(
            Step(
                i + 1,
                actor,
                cpu,
                kind,
                [],
                [],
                [k for k in stores if k != FAULTS and not _ctl(k)],
                list(values),
                False,
                sets,
            )
        )
        st = steps[-1]
        st._acc = acc  # type: ignore[attr-defined]
    for idx, r in enumerate(rs):
        if 1 <= r.step <= len(steps):
            steps[r.step - 1].rows.append(idx)
    for st in steps:
        if st.kind == "irq" and not any(rs[i].kind == "irq-enter" for i in st.rows):
            # An interrupt actor's step that enters no interrupt: the CPU's own step inside
            # its handler (an engine may run those under the interrupt's actor).
            st.kind = "cpu"
    for st in steps:
        # A store buffer's step (TSO) puts a buffered store into memory: a write, it reads nothing.
        plain_write = _is_flush(m, st.actor) or any(
            rs[i].kind == "step" and rs[i].text.startswith("WRITE ") for i in st.rows
        )
        for k, w in st._acc:  # type: ignore[attr-defined]
            if k == FAULTS or _ctl(k):
                continue
            if w is False:
                st.reads.append(k)
            elif w == ACQUIRE:
                st.locks.append(k)
            elif w == UPDATE:
                continue
            elif st.kind == "cpu" and not plain_write and not (type(k) is tuple and k[:1] == ("apic",)):
                st.reads.append(k)  # a read-modify-write reads what it replaces
        del st._acc  # type: ignore[attr-defined]
        st.fault = any(rs[i].kind == "fault" for i in st.rows) or (st.kind == "src" and _is_fault_source(m, st))
        if st.kind == "irq":
            for i in st.rows:
                if rs[i].kind == "irq-enter":
                    mv = _VEC.match(rs[i].text)
                    st.vector = mv.group(1) if mv else rs[i].text
                    break
    for n, keys in (raw_writes or {}).items():
        if 1 <= n <= len(steps):
            steps[n - 1].writes += sorted(keys - set(steps[n - 1].writes), key=repr)
    writers: dict[Key, list[int]] = {}
    for st in steps:
        for k in st.writes:
            writers.setdefault(k, []).append(st.n)
    nodes, roots, acts = _trees(m, rs, steps)
    return Execution(m, rs, steps, nodes, roots, acts, writers, raw_reads or {})


def _is_flush(m: Machine, actor: int) -> bool:
    """Is ``actor`` a CPU's store buffer (the x86-TSO machine's)?"""
    return bool(getattr(m, "tso", False)) and actor >= m.sb_actor0


def _ctl(k: Key) -> bool:
    return type(k) is tuple and len(k) == 2 and k[0] == "ctl"


def _is_fault_source(m: Machine, st: Step) -> bool:
    i = st.actor - 2 * m.ncpus
    return 0 <= i < len(m.sources) and bool(m.sources[i].fault)


def _trees(m: Machine, rs: list[Row], steps: list[Step]) -> tuple[list[Node], list[Node], list[Activity]]:
    """Each CPU's call tree from the rows, and the activities: top-level calls, interrupt
    handlers, the CPU's own program (rows outside any kernel call), event sources."""
    roots = [Node("cpu", -1, c, -1, 0) for c in range(m.ncpus)]
    acts: list[Activity] = []
    program: dict[int, int] = {}
    stacks: dict[int, list[Node]] = {c: [roots[c]] for c in range(m.ncpus)}
    nodes: list[Node] = []

    def new_activity(cpu: int, kind: str, node: Node) -> int:
        acts.append(Activity(len(acts), cpu, kind, node))
        return len(acts) - 1

    def activity_of(stack: list[Node], cpu: int) -> int:
        for nd in reversed(stack[1:]):
            if nd.kind == "irq" or nd.depth == 0 or nd.parent is roots[cpu]:
                return nd.activity
        if cpu not in program:
            program[cpu] = new_activity(cpu, "program", roots[cpu])
        return program[cpu]

    for idx, r in enumerate(rs):
        c = r.cpu
        if r.kind == "source":
            nd = Node("source", idx, c, 0, r.step)
            nd.activity = new_activity(c, "source", nd)
            nodes.append(nd)
            continue
        st = stacks[c]
        d = r.depth
        if r.kind in ("func", "irq-enter"):
            while len(st) > 1 and st[-1].depth >= d:
                st.pop()
            nd = Node("func" if r.kind == "func" else "irq", idx, c, d, r.step, st[-1])
            st[-1].children.append(nd)
            if nd.kind == "irq":
                nd.activity = new_activity(c, "irq", nd)
            elif nd.parent is roots[c]:
                nd.activity = new_activity(c, "call", nd)
            else:
                nd.activity = activity_of(st, c)
            st.append(nd)
            nodes.append(nd)
            continue
        if r.kind == "call":
            # "= f(...) -> v" closes the call of f that opened at this depth.
            closed = None
            while len(st) > 1 and st[-1].depth >= d:
                closed = st.pop()
            target = closed if closed is not None and closed.depth == d and closed.kind == "func" else None
            if target is None:
                parent = st[-1]
                target = next((ch for ch in reversed(parent.children) if ch.kind == "func" and ch.depth == d), None)
            nd = Node("leaf", idx, c, d, r.step, st[-1])
            if target is not None and target.result is None:
                target.result = idx
                nd.parent = target
                nd.activity = target.activity
            else:
                st[-1].children.append(nd)
                nd.activity = activity_of(st, c)
            nodes.append(nd)
            continue
        if r.kind == "irq-exit":
            irq = None
            while len(st) > 1 and st[-1].depth >= d:
                top = st.pop()
                if top.kind == "irq" and top.depth == d:
                    irq = top
            nd = Node("leaf", idx, c, d, r.step, irq or st[-1])
            if irq is not None:
                irq.exit = idx
                nd.activity = irq.activity
            else:
                nd.activity = activity_of(st, c)
            nodes.append(nd)
            continue
        while len(st) > 1 and st[-1].depth >= d:
            st.pop()
        nd = Node("leaf", idx, c, d, r.step, st[-1])
        st[-1].children.append(nd)
        nd.activity = activity_of(st, c)
        nodes.append(nd)
    # Each step belongs to the activity of its first row that is not a function's opening
    # (a step with no row: the activity its CPU was in).
    current: dict[int, int] = {}
    by_step: dict[int, list[int]] = {}
    for idx, r in enumerate(rs):
        by_step.setdefault(r.step, []).append(idx)
    for stp in steps:
        idxs = by_step.get(stp.n, [])
        first = next((i for i in idxs if rs[i].kind != "func"), idxs[0] if idxs else None)
        if first is not None:
            a = nodes[first].activity
        elif stp.cpu in current:
            a = current[stp.cpu]
        else:
            if stp.cpu not in program:
                program[stp.cpu] = new_activity(stp.cpu, "program", roots[stp.cpu])
            a = program[stp.cpu]
        stp.activity = a
        acts[a].steps.append(stp.n)
        if idxs:
            current[stp.cpu] = nodes[idxs[-1]].activity
    return nodes, roots, acts


# -- the slice ------------------------------------------------------------------------------------


@dataclass
class Read:
    """A decisive read: step ``reader`` read ``key``, last stored by ``writer`` in another
    activity (None: the location still held its initial value)."""

    reader: int
    key: Key
    writer: int | None
    value: Any = None


@dataclass
class Slice:
    ex: Execution
    kind: str
    message: str
    steps: set[int]  # the slice
    seeds: set[int]
    reads: list[Read]  # decisive reads, in step order
    faults: list[int]
    check: str  # the failing check (stall, final check)
    check_reads: list[tuple[Key, int | None]]  # what it read, and the step that last stored it
    stuck: list[tuple[int, str, list[tuple[Key, int | None]]]]  # deadlock: (cpu, function, waited-on keys)
    sender: dict[int, int]  # interrupt entry step -> the step that sent its vector
    level: dict[int, int]  # slice step -> distance from the seeds (0: a seed)
    races: set[int] = field(default_factory=set)  # stores to, and overtaken reads of, what the verdict read
    cross: set[int] = field(default_factory=set)  # decisive reads from another CPU, and their stores
    cross_writer: dict[int, list[int]] = field(default_factory=dict)  # such a read -> the stores it read
    hints: dict[int, str] = field(default_factory=dict)  # stuck CPU -> what it waits for, in words


def _vector_number(m: Machine, name: str) -> int | None:
    for v, (nm, _h) in m.vectors.items():
        if nm == name:
            return v
    mv = re.match(r"vector (0x[0-9a-f]+)$", name)
    return int(mv.group(1), 16) if mv else None


def _senders(ex: Execution) -> dict[int, int]:
    """Interrupt entry -> the step that put its vector in the IRR (the last send before it)."""
    out: dict[int, int] = {}
    last: dict[tuple[int, int], int] = {}
    for st in ex.steps:
        if st.kind == "irq":
            v = _vector_number(ex.m, st.vector)
            if v is not None and (st.cpu, v) in last:
                out[st.n] = last.pop((st.cpu, v))
        for target, vec in st.sets:
            last.setdefault((target, vec), st.n)  # a second send coalesces: the first one set it
    return out


def _objects_of(sc: Any, m: Machine) -> set[int]:
    """Object ids the scenario holds (its attributes, in lists, tuples and dicts, and the
    structs those hold), a few levels deep."""
    seen: set[int] = set()
    todo: list[tuple[Any, int]] = [(v, 0) for v in vars(sc).values()] if sc is not None else []
    while todo:
        v, depth = todo.pop()
        if depth > 4:
            continue
        if isinstance(v, memory.Struct):
            oid = v.__dict__.get("_oid")
            if oid in seen or oid is None:
                continue
            seen.add(oid)
            todo += [(x, depth + 1) for k, x in v.__dict__.items() if k != "_oid"]
        elif isinstance(v, list | tuple | set | frozenset):
            todo += [(x, depth + 1) for x in list(v)[:64]]
        elif isinstance(v, dict):
            todo += [(x, depth + 1) for x in list(v.values())[:64]]
    return seen


def _refers(v: Any, objs: set[int]) -> bool:
    if isinstance(v, memory.Struct):
        return v.__dict__.get("_oid") in objs
    if isinstance(v, tuple | list | frozenset | set):
        return any(_refers(x, objs) for x in list(v)[:16])
    return False


def compute(rec: Recorded) -> Slice:
    """The causal slice of the recorded counterexample (see the module docstring)."""
    m = rec.machine
    sc = rec.scenario
    ex = analyse(m, rec.raw_reads, rec.raw_writes)
    ex.raw_values = rec.raw_values
    ex.raw_where = rec.raw_where
    steps = ex.steps
    last = len(steps)
    sender = _senders(ex)
    level: dict[int, int] = {}  # slice step -> how far from the seeds (0: a seed)
    seeds: set[int] = set()
    faults = [st.n for st in steps if st.fault]
    seeds.update(faults)
    check_reads: list[tuple[Key, int | None]] = []
    stuck: list[tuple[int, str, list[tuple[Key, int | None]]]] = []
    hints: dict[int, str] = {}  # what a stuck CPU waits for, in the port's words
    final_keys: set[Key] = set()  # what the verdict read: races on these are followed both ways
    interest: set[int] = set()
    if not m.finishing and last:
        seeds.add(last)
        lst = ex.step(last)
        final_keys.update(lst.reads)
        final_keys.update(ex.raw_reads.get(last, ()))
        # The context it ran in: the interrupt entry, the step that turned interrupts off.
        for st in reversed(steps[: last - 1]):
            if st.cpu != lst.cpu:
                continue
            if st.kind == "irq" and st.activity == lst.activity:
                seeds.add(st.n)
            if st.kind == "cpu" and any(
                ex.rows[i].text.startswith(("local_irq_disable", "local_irq_save")) for i in st.rows
            ):
                if not m.cpus[lst.cpu].irqs_on:
                    seeds.add(st.n)
                break
    elif rec.kind == "deadlock":
        for c in m.cpus:
            if c.dead or (c.awaiting is None and c.wait is None):
                continue
            keys: list[Key] = []
            g = c.guard
            if g is not None and g[0] == "await":
                keys.append(g[1])
            elif g is not None and g[0] == "relax":
                keys += [k for k, _s in g[2]]
            keys += sorted(c.wait or (), key=repr)
            keys = [k for k in dict.fromkeys(keys) if not _ctl(k)]
            waits = [(k, ex.writer(last + 1, k)) for k in keys]
            stuck.append((c.id, c.where().split(" (")[0], waits))
            if c.wait_hint:
                hints[c.id] = c.wait_hint
            final_keys.update(keys)
            mine = [st.n for st in steps if st.cpu == c.id and st.kind == "cpu"]
            if mine:
                seeds.add(mine[-1])
            seeds.update(w for _k, w in waits if w is not None)
    else:
        for k in rec.check_reads:
            w = ex.writer(last + 1, k)
            check_reads.append((k, w))
            final_keys.add(k)
            if w is not None:
                seeds.add(w)
        if not rec.check_reads:
            # The check looked at the scenario's own Python state (what CPU code stored in a
            # dict): every CPU's last step, and every race on what they read, decide it.
            for c in range(m.ncpus):
                mine = [st.n for st in steps if st.cpu == c and st.kind == "cpu"]
                if mine:
                    seeds.add(mine[-1])
            final_keys.update(k for st in steps for k in st.reads)
        if rec.kind == "stall":
            interest = _objects_of(sc, m) | {k[0] for k in rec.check_reads if type(k) is tuple}
    for n in seeds:
        level[n] = 0
    todo: list[int] = sorted(seeds)
    races: set[int] = set()

    def concurrent(x: int, y: int) -> bool:
        """Two steps whose order no program order fixes: on different CPUs, or one of them in
        an interrupt handler (which may arrive anywhere)."""
        a, b = ex.step(x), ex.step(y)
        if a.activity == b.activity:
            return False
        if a.cpu != b.cpu:
            return True
        return "irq" in (ex.activities[a.activity].kind, ex.activities[b.activity].kind)

    if m.finishing and rec.kind != "stall":
        # A final check's value is the last store of a race: every store to what it read that
        # races with another, and every read of it that a concurrent store overtook, keep
        # their order.
        for st in steps:
            for k in final_keys.intersection(st.writes):
                if any(concurrent(st.n, x) for x in ex.writers.get(k, ()) if x != st.n):
                    level.setdefault(st.n, 1)
                    races.add(st.n)
                    todo.append(st.n)
            for k in final_keys.intersection(st.reads):
                if any(x > st.n and concurrent(st.n, x) for x in ex.writers.get(k, ())):
                    level.setdefault(st.n, 1)
                    races.add(st.n)
                    todo.append(st.n)
    if interest:
        # A stall is about what did not happen: the reads across activities of what the
        # scenario owns (a list still pointing at a work item) are seeds too (the first read of
        # each store in each activity).
        first_read: set[tuple[int, Key, int]] = set()
        for st in steps:
            for k in st.reads:
                w = ex.writer(st.n, k)
                if w is None or ex.step(w).activity == st.activity or (st.activity, k, w) in first_read:
                    continue
                first_read.add((st.activity, k, w))
                if (type(k) is tuple and k[0] in interest) or _refers(ex.value(w, k), interest):
                    level.setdefault(st.n, 0)
                    seeds.add(st.n)
                    todo.append(st.n)
                    break
    if rec.kind == "stall" or (m.finishing and rec.kind != "deadlock"):
        # ... and so is what consumed a seed's store in another activity: the interrupt its
        # send raised, a read of what it wrote.
        for n in sorted(level):
            st = ex.step(n)
            for u in steps[n:]:
                if u.activity == st.activity:
                    continue
                if (u.kind == "irq" and sender.get(u.n) == n) or any(ex.writer(u.n, k) == n for k in u.reads):
                    # ... with what that activity went on to do with it.
                    for x in (u.n, ex.activities[u.activity].steps[-1]):
                        level.setdefault(x, 1)
                        todo.append(x)
    reads: dict[tuple[int, Key], Read] = {}
    seen_reads: dict[tuple[int, Key, int], int] = {}
    done_upto: dict[int, int] = {}
    slice_steps: set[int] = set()

    def add(n: int, lv: int) -> None:
        if n not in level or level[n] > lv:
            level[n] = lv
        todo.append(n)

    while todo:
        n = todo.pop(0)
        slice_steps.add(n)
        st = ex.step(n)
        a = st.activity
        lo = done_upto.get(a, 0)
        if n <= lo:
            continue
        done_upto[a] = n
        lv = level.get(n, 0) + 1
        for u in ex.activities[a].steps:
            if u <= lo or u > n:
                continue
            ust = ex.step(u)
            if ust.kind == "irq" and u in sender:
                level.setdefault(u, lv - 1)
                slice_steps.add(u)
                if sender[u] not in slice_steps:
                    add(sender[u], lv)
                continue
            for k in list(ust.reads) + sorted(ex.raw_reads.get(u, ()), key=repr):
                w = ex.writer(u, k)
                if k in final_keys:
                    # A race on what the verdict read: the other activity's store just before
                    # this read, and the one just after it, keep their order with it.
                    nxt = next((x for x in ex.writers.get(k, ()) if x > u and concurrent(u, x)), None)
                    if nxt is not None:
                        reads.setdefault((u, k), Read(u, k, w, ex.value(w, k) if w else None))
                        level.setdefault(u, lv)
                        slice_steps.add(u)
                        if nxt not in slice_steps:
                            add(nxt, lv)
                if w is None or ex.step(w).activity == a:
                    continue
                if (a, k, w) in seen_reads and seen_reads[(a, k, w)] < u:
                    continue  # the same value read again in the same activity
                seen_reads[(a, k, w)] = u
                if (u, k) not in reads:
                    reads[(u, k)] = Read(u, k, w, ex.value(w, k))
                level.setdefault(u, lv)
                slice_steps.add(u)
                if w not in slice_steps:
                    add(w, lv)
    # Stores to what the verdict read, by other activities before the last one: their order
    # decides the final value.
    for k in final_keys:
        ws = [w for w in ex.writers.get(k, ()) if w in slice_steps]
        for w in ws:
            prev = ex.writer(w, k)
            if prev is not None and prev not in slice_steps and concurrent(prev, w):
                level.setdefault(prev, level.get(w, 0) + 1)
                slice_steps.add(prev)
    slice_steps |= seeds
    for n in slice_steps:
        level.setdefault(n, 9)
    cross: set[int] = set()
    cross_writer: dict[int, list[int]] = {}
    for rd in reads.values():
        if rd.writer is not None and ex.step(rd.writer).cpu != ex.step(rd.reader).cpu:
            cross.update((rd.reader, rd.writer))
            cross_writer.setdefault(rd.reader, []).append(rd.writer)
    return Slice(
        ex,
        rec.kind,
        rec.message,
        slice_steps,
        seeds,
        sorted(reads.values(), key=lambda r: (r.reader, repr(r.key))),
        faults,
        rec.check,
        check_reads,
        stuck,
        sender,
        level,
        races,
        cross,
        cross_writer,
        hints,
    )


# -- what to show ------------------------------------------------------------------------------


MAX_ROWS = 25  # the whole diagram: header, rows and wrapped lines
WIDTH = 72


@dataclass
class Line:
    cpu: int
    step: int
    indent: int
    text: str
    order: float  # position in the execution (row index), for interleaving the columns


def void_functions(m: Machine) -> set[str]:
    """Kernel functions of the machine's port that return nothing (their "-> NULL" is noise)."""
    import inspect

    from .report import kfuncs_of

    k = getattr(m, "kernel", None)
    if k is None:
        return set()
    out = set()
    for name, (_attr, fn) in kfuncs_of(type(k)).items():
        ann = getattr(inspect.unwrap(fn), "__annotations__", {}).get("return", "?")
        if ann in ("None", None):
            out.add(name)
    return out


def _short(ex: Execution, idx: int, decode: dict[Key, Any], void: set[str] | None = None) -> str:
    """A row's text for a diagram: flag words decoded, the call marker dropped, a function
    that returns nothing shown without "-> NULL"."""
    r = ex.rows[idx]
    text = r.text
    if r.kind == "call" and text.startswith("= "):
        text = text[2:]
        name = text.split("(", 1)[0]
        if void and name in void and text.endswith(" -> NULL"):
            text = text[: -len(" -> NULL")]
    if r.kind == "irq-enter":
        return text
    if r.kind == "step" and text.startswith("send ") and text.endswith(" (sent)"):
        text = text[: -len(" (sent)")]
    for key, dec in decode.items():
        label = ex.m.key_label(key)
        if label in text:
            from .report.flags import decode_text

            text = decode_text(text, label, dec)
    return text


def _access_row(ex: Execution, n: int) -> int | None:
    """The row that shows step ``n``'s access (its first row that opens no function)."""
    st = ex.step(n)
    return next((i for i in st.rows if ex.rows[i].kind != "func"), st.rows[0] if st.rows else None)


def lines_of(sl: Slice, shown: set[int], extra: list[Line] | None = None) -> list[Line]:
    """The diagram's lines for the slice steps ``shown``: each with the calls on its way, the
    activity's top-level call, folded where the inside is not shown."""
    ex = sl.ex
    from .report.flags import decoders

    decode = decoders(ex.m)
    void = void_functions(ex.m)
    marked: set[int] = set()  # node ids (id()) to render
    show_rows: set[int] = set()
    extra = list(extra or [])
    for n in shown:
        idx = _access_row(ex, n)
        if idx is None:
            continue
        for i in ex.step(n).rows:
            if ex.rows[i].kind == "violation":
                show_rows.add(i)
                v_nd: Node | None = ex.nodes[i]
                while v_nd is not None and v_nd.kind != "cpu":
                    marked.add(id(v_nd))
                    v_nd = v_nd.parent
        stores = sorted((k for (x, k) in ex.raw_where if x == n), key=repr)
        if stores and idx not in _must_rows(sl, n):
            # What matters in this step is the scenario's own state it stored (in a callback):
            # drawn as that store, under the step's last row.
            rs_n = ex.step(n).rows
            last_row = next((i for i in rs_n if ex.rows[i].kind == "violation"), rs_n[-1] + 1) - 0.5
            said = []
            for k in stores:
                name = k[1] if type(k) is tuple and k[0] == SCENARIO else label(ex.m, k)
                said.append(f"{name} = {ex.raw_values[(n, k)]}" if (n, k) in ex.raw_values else name)
            fn = next((ex.raw_where[(n, k)] for k in stores if ex.raw_where.get((n, k))), "")
            text = (f"{fn}: " if fn else "") + "scenario sets " + ", ".join(said)
            extra.append(Line(ex.step(n).cpu, n, 1, text, last_row))
            continue
        show_rows.add(idx)
        nd: Node | None = ex.nodes[idx]
        while nd is not None and nd.kind != "cpu":
            marked.add(id(nd))
            nd = nd.parent
    out: list[Line] = []

    keep = {idx for idx in show_rows if ex.rows[idx].kind in ("fault", "violation", "source", "irq-enter")}
    for n in sl.seeds | sl.races:
        idx = _access_row(ex, n)
        if idx is not None:
            keep.add(idx)

    def folded(nd: Node) -> bool:
        """A shown call whose shown steps inside are all plain: drawn as its call row alone."""
        if nd.result is None:
            return False
        todo = list(nd.children)
        while todo:
            x = todo.pop()
            if id(x) not in marked:
                continue
            if x.row in keep:
                return False
            todo += x.children
        return True

    def render(nd: Node, indent: int, shown_parent: bool) -> None:
        for ch in nd.children:
            if id(ch) not in marked:
                continue
            if ch.kind == "leaf" or ch.kind == "source":
                if ch.row in show_rows:
                    text = _short(ex, ch.row, decode, void)
                    plain = ex.rows[ch.row].kind == "step" and not text.startswith("send ")
                    if not shown_parent and nd.kind == "func" and plain:
                        # The function that made the access, when its own row is folded away.
                        text = f"{ex.rows[nd.row].func}: {text}"
                    out.append(Line(ch.cpu, ex.rows[ch.row].step, indent, text, ch.row))
                continue
            kids = [k for k in ch.children if id(k) in marked]
            top = ch.parent is not None and (ch.parent.kind == "cpu" or ch.kind == "irq")
            visible = (
                top
                or ch.kind == "irq"
                or ch.result is not None
                or len(kids) != 1
                or ch.row in show_rows
                or any(k.row in show_rows and ex.rows[k.row].kind == "violation" for k in kids)
            )
            if (
                visible
                and not top
                and ch.kind == "func"
                and nd.kind == "func"
                and ex.rows[nd.row].func == ex.rows[ch.row].func
            ):
                visible = False  # the original a patch's override calls: drawn once
            if visible:
                if ch.result is not None:
                    text = _short(ex, ch.result, decode, void)
                else:
                    text = _short(ex, ch.row, decode, void)
                out.append(Line(ch.cpu, ex.rows[ch.row].step, indent, text, ch.row))
                if folded(ch):
                    continue
            render(ch, indent + 1 if visible else indent, visible)

    for root in ex.roots:
        render(root, 0, True)
    for nd in ex.nodes:
        if nd.kind == "source" and nd.row in show_rows:
            out.append(Line(nd.cpu, ex.rows[nd.row].step, 0, _short(ex, nd.row, decode), nd.row))
    out += extra
    out.sort(key=lambda ln: ln.order)
    return out


def _ancestors(nd: Node) -> list[Node]:
    out = []
    p = nd.parent
    while p is not None and p.kind != "cpu":
        out.append(p)
        p = p.parent
    return out


def _must_rows(sl: Slice, n: int) -> set[int]:
    """Rows of step ``n`` that must be drawn as they are (a fault, the violation, a seed's)."""
    ex = sl.ex
    out = {i for i in ex.step(n).rows if ex.rows[i].kind in ("fault", "violation", "irq-enter", "source")}
    if n in sl.seeds and not any(k[0] == SCENARIO for k in ex.raw_reads.get(n, ()) if type(k) is tuple):
        idx = _access_row(ex, n)
        if idx is not None:
            out.add(idx)
    return out


def layout(lines: list[Line], ncpus: int, width: int = WIDTH) -> list[str]:
    """The lines in CPU columns (only the CPUs that have one), at most ``width`` wide: each
    column as wide as its text needs, the widest narrowed first but never below its longest
    word, text wrapped at token boundaries (engine/trace.py, ``wrap``).  When even the
    longest words do not fit side by side, indentation shrinks; a word is cut only when it
    alone is wider than its column could ever be."""
    from .engine.trace import words, wrap

    cpus = sorted({ln.cpu for ln in lines}) or [0]
    col = {c: i for i, c in enumerate(cpus)}
    top = max((ln.step for ln in lines), default=0)
    gutter = len(str(top)) + 1
    sep = " | "
    avail = width - gutter - len(sep) * (len(cpus) - 1)
    unit = 2
    while True:

        def full(ln: Line, u: int = unit) -> str:
            return " " * (u * ln.indent) + ln.text

        need = {c: max([len(f"CPU{c}")] + [len(full(ln)) for ln in lines if ln.cpu == c]) for c in cpus}
        floor = {
            c: max(
                [len(f"CPU{c}")]
                + [
                    min(len(full(ln)), unit * ln.indent + 2 + max((len(w) for w in words(ln.text, 24)), default=0))
                    for ln in lines
                    if ln.cpu == c
                ]
            )
            for c in cpus
        }
        if sum(floor.values()) <= avail or unit == 0:
            break
        unit -= 1
    widths = dict(need)
    while sum(widths.values()) > avail:
        slack = [c for c in cpus if widths[c] > floor[c]]
        if not slack:
            share = avail // len(cpus)
            widths = {c: max(8, share) for c in cpus}
            break
        c = max(slack, key=lambda x: (widths[x], -x))
        widths[c] -= 1
    # Then move width between columns while that saves rows (a column that wraps a lot takes
    # from one that does not).
    texts = {c: [" " * (unit * ln.indent) + ln.text for ln in lines if ln.cpu == c] for c in cpus}

    def rows_at(c: int, w: int) -> int:
        return sum(len(wrap(t, w)) for t in texts[c])

    if len(cpus) > 1 and sum(widths.values()) <= avail:
        spare = avail - sum(widths.values())
        improved = True
        while improved:
            improved = False
            for c in cpus:
                for d in cpus:
                    if c == d:
                        continue
                    for step in (8, 4, 2, 1):
                        give = min(step, widths[d] - floor[d]) if spare == 0 else 0
                        take = spare if spare else give
                        if take <= 0:
                            continue
                        before = rows_at(c, widths[c]) + rows_at(d, widths[d])
                        after = rows_at(c, widths[c] + take) + rows_at(d, widths[d] - (0 if spare else take))
                        if after < before:
                            widths[c] += take
                            if spare:
                                spare = 0
                            else:
                                widths[d] -= take
                            improved = True
                            break
    out = [" " * gutter + sep.join(f"CPU{c}".ljust(widths[c]) for c in cpus).rstrip()]
    out.append(" " * gutter + sep.join(("-" * len(f"CPU{c}")).ljust(widths[c]) for c in cpus).rstrip())
    last_step = None
    for ln in lines:
        text = " " * (unit * ln.indent) + ln.text
        j = col[ln.cpu]
        # A name wider than its column may run on over the (empty) columns to its right on
        # that row: it is never cut while the line has room for it.
        room = width - gutter - sum(widths[c] + len(sep) for c in cpus[:j])
        for i, chunk in enumerate(_cut(wrap(text, widths[ln.cpu]), room)):
            g = ""
            if i == 0 and ln.step and ln.step != last_step:
                g = str(ln.step)
                last_step = ln.step
            left = sep.join(" " * widths[c] for c in cpus[:j])
            if len(chunk) > widths[ln.cpu]:
                body = (left + sep if j else "") + chunk
            else:
                cells = [""] * len(cpus)
                cells[j] = chunk
                body = sep.join(cells[x].ljust(widths[c]) for x, c in enumerate(cpus))
            out.append((g.rjust(gutter - 1) + " " + body).rstrip())
    return [o.rstrip() for o in out]


def _cut(chunks: list[str], width: int) -> list[str]:
    """The last resort of a diagram's width: a word wider than its column, cut (marked "\\")."""
    out: list[str] = []
    for ch in chunks:
        while len(ch) > width:
            lead = len(ch) - len(ch.lstrip())
            out.append(ch[: width - 1] + "\\")
            ch = " " * min(lead, width // 2) + ch[width - 1 :]
        out.append(ch)
    return out


# -- replaying a diagram's steps as a partial schedule --------------------------------------------


@dataclass
class Target:
    step: int
    actor: int
    label: tuple[str, str, str, str]
    values: list[int]
    entry: bool = False  # an interrupt entry (matched by its vector)
    cpu: int = 0  # the CPU it acts on


def targets(prog: Any, choices: list[int], ex: Execution, shown: set[int]) -> list[Target]:
    """The steps ``shown``, in execution order, each with the label it had (who acted, in which
    function, which primitive, which object) and the value choices it made."""
    from .engine.explorer import schedule_labels

    labels = schedule_labels(prog, choices)
    if labels is None:
        raise RuntimeError("the counterexample does not replay")
    out: list[Target] = []
    i = 0
    for st in ex.steps:
        if st.n in shown:
            lab = labels[i]
            if _is_flush(ex.m, st.actor) and st.writes:
                lab = _flush_label(ex.m, st.actor - ex.m.sb_actor0, st.writes[0])
            out.append(
                Target(st.n, st.actor, (lab[0], lab[1], lab[2], lab[3]), list(st.values), st.kind == "irq", st.cpu)
            )
        i += 1 + len(st.values)
    return out


def _flush_label(m: Machine, cpu: int, key: Key) -> tuple[str, str, str, str]:
    """A store buffer's step named by the store it puts into memory (the engine's label names
    only the actor, and one buffer's steps differ by their store)."""
    return (f"sb@CPU{cpu}", "", "flush", re.sub(r"#\d+", "#", m.key_label(key)))


class PartialSchedule:
    """A driver that makes the execution take the target steps, in their order, and nothing
    else that is not needed: before each target step, only the target's own CPU runs (the
    steps program order puts before it), and only when it cannot, another CPU's steps that
    precede that CPU's own next target; no interrupt is taken and no event source fires
    unless a target says so; no fault is injected unless a target made it.  Once the targets
    are used up, the execution runs to its end: the CPU that ran last while it can, else the
    lowest-numbered actor, no faults.

    What it leaves out, and why that cannot matter for the verdict it checks: every other
    step of the original execution.  Steps of a CPU before its next target run anyway
    (program order), in the same order; steps of other CPUs run only when the target's CPU
    cannot move, and never one that is a later target; interrupts and sources that are not
    targets do not happen before the last target.  If the violation still follows, the
    steps left out were not needed for it (the test says which cells hold this)."""

    def __init__(self, ts: list[Target]) -> None:
        self.ts = ts
        self.pos = 0
        self.last_cpu = -1
        self.values: list[int] = []
        self.taken: list[int] = []  # original step numbers of the targets, as they were taken
        self.stuck = ""

    def _label(self, m: Machine, a: int) -> tuple[str, str, str, str]:
        from .engine.execution import actor_label

        if _is_flush(m, a):
            buf = m.cpus[a - m.sb_actor0].sb
            if buf:
                return _flush_label(m, a - m.sb_actor0, buf[0][0])
        lab = actor_label(m, a)
        return (lab[0], lab[1], lab[2], lab[3])

    def _matches(self, m: Machine, a: int, t: Target) -> bool:
        n = m.ncpus
        lab = self._label(m, a)
        if t.entry:
            if n <= a < 2 * n:
                cpu = m.cpus[a - n]
                if cpu.nested_irqs > 0 and not cpu.irqs_on:
                    return False  # the interrupt's actor would go on with the handler it is in
            # An interrupt entry: the function it interrupts does not matter.
            return (lab[0], lab[2], lab[3]) == (t.label[0], t.label[2], t.label[3])
        if 2 * n <= a < 2 * n + len(m.sources) or t.label[2] == "fire":
            return (lab[0], lab[2], lab[3]) == (t.label[0], t.label[2], t.label[3])
        if lab == t.label:
            return True
        # A step an engine runs under the interrupt's own actor: that actor, in the handler.
        return a == t.actor and n <= a < 2 * n and m.cpus[a - n].nested_irqs > 0 and lab[0] == t.label[0]

    def _context(self, m: Machine, a: int) -> int | None:
        """The CPU whose code actor ``a`` would run next (None: an interrupt entry or a source)."""
        n = m.ncpus
        if a < n:
            return a
        if a < 2 * n:
            cpu = m.cpus[a - n]
            return cpu.id if cpu.nested_irqs > 0 and not cpu.irqs_on else None
        if a < 2 * n + len(m.sources):
            return None
        name = self._label(m, a)[0]
        mo = re.match(r"CPU(\d+)", name)
        return int(mo.group(1)) if mo else None

    def _next_for(self, m: Machine, a: int) -> Target | None:
        """The next target that actor ``a`` would have to take (by its label's actor name)."""
        name = self._label(m, a)[0]
        for t in self.ts[self.pos :]:
            if t.actor == a or t.label[0] == name:
                return t
        return None

    def pick(self, m: Machine, enabled: list[int]) -> int | None:
        n = m.ncpus
        if self.pos >= len(self.ts):
            self.values = []
            a = self.last_cpu if self.last_cpu in enabled else min(enabled)
            if a < n:
                self.last_cpu = a
            return a
        t = self.ts[self.pos]
        for a in [t.actor] + [x for x in enabled if x != t.actor]:
            if a in enabled and self._matches(m, a, t):
                self.pos += 1
                self.values = list(t.values)
                self.taken.append(t.step)
                if a < n:
                    self.last_cpu = a
                return a
        self.values = []
        own = t.cpu
        # The target's CPU first, then CPUs that still have targets, then the others.
        later = {t2.cpu for t2 in self.ts[self.pos :]}
        order = [own] + sorted((c for c in range(n) if c != own), key=lambda c: (c not in later, c))
        for c in order:
            # What runs that CPU's own code next (its task, or the handler it is in); never an
            # interrupt entry or an event source.
            for a in enabled:
                if self._context(m, a) != c:
                    continue
                nxt = self._next_for(m, a)
                if nxt is not None and self._matches(m, a, nxt):
                    continue  # that CPU waits at its own next target
                if a < n:
                    self.last_cpu = c
                return a
            # Its code cannot move while its store buffer (TSO) must drain first (a locked
            # instruction, a barrier): the buffer's next store, unless that is a later target.
            sb = m.sb_actor0 + c if getattr(m, "tso", False) else -1
            if sb in enabled and not any(x in enabled and self._context(m, x) == c for x in enabled):
                nxt = self._next_for(m, sb)
                if nxt is None or not self._matches(m, sb, nxt):
                    return sb
        self.stuck = (
            f"before step {t.step} ({t.label[0]}: {t.label[2]} {t.label[3]}) no CPU could move on "
            f"(could: {', '.join(m.actor_name(a) for a in enabled)})"
        )
        return None

    def value(self, n: int, what: str) -> int:
        if self.values:
            return self.values.pop(0)
        return 0


def replay_partial(prog: Any, ts: list[Target]) -> tuple[Any, PartialSchedule]:
    """Run ``prog`` under a :class:`PartialSchedule` of the targets ``ts``."""
    from .engine.execution import run

    drv = PartialSchedule(ts)
    out = run(prog, drv)
    return out, drv


# -- choosing what fits ---------------------------------------------------------------------------


_KIND_ROW = {
    "assertion": "!! assertion fails",
    "BUG": "!! BUG_ON() fires",
    "WARN": "!! WARN_ON() fires",
    "sleeping-in-atomic": "!! sleeps in atomic context",
}


def end_lines(sl: Slice) -> list[Line]:
    """Where the violation shows: the failing step's CPU, each CPU that spins forever."""
    ex = sl.ex
    out: list[Line] = []
    end = len(ex.rows) + 1
    if sl.stuck:
        for cpu, where, keys in sl.stuck:
            what = sl.hints.get(cpu) if len(keys) > 2 and sl.hints.get(cpu) else f"waits for {_waits(ex.m, keys)}"
            out.append(Line(cpu, 0, 0, f"!! spins forever in {where}: {what}", end + cpu))
    elif sl.kind == "stall":
        for c in ex.m.cpus:
            state = "offline" if c.dead else "idle: nothing pending wakes it" if c.halted else ""
            if state:
                out.append(Line(c.id, 0, 0, f"!! {state}", end + c.id))
    elif not ex.m.finishing and ex.steps and not any(ex.rows[i].kind == "violation" for i in ex.steps[-1].rows):
        lst = ex.steps[-1]
        idx = lst.rows[-1] if lst.rows else None
        depth = 0
        if idx is not None:
            nd = ex.nodes[idx]
            while nd.parent is not None and nd.parent.kind != "cpu":
                nd = nd.parent
                depth += 1
        out.append(Line(lst.cpu, lst.n, 1, _KIND_ROW.get(sl.kind, f"!! {sl.kind}"), end))
    return out


def _waits(m: Machine, keys: list[tuple[Key, int | None]]) -> str:
    """What a stuck CPU waits on, in a few words: its first locations, and how many more."""
    names = [label(m, k) for k, _w in keys]
    if not names:
        return "a store"
    if len(names) <= 2:
        return " or ".join(names) + " to change"
    return f"{names[0]}, {names[1]} or {len(names) - 2} more locations it read to change"


def _companions(sl: Slice, n: int) -> set[int]:
    """What a step needs beside it to be drawn and replayed: the interrupt it runs in and the
    step that sent that interrupt, transitively."""
    ex = sl.ex
    out: set[int] = set()
    todo = [n]
    while todo:
        x = todo.pop()
        if x in out:
            continue
        out.add(x)
        a = ex.activities[ex.step(x).activity]
        first = a.steps[0] if a.steps else None
        if a.kind == "irq" and first is not None and ex.step(first).kind == "irq":
            todo.append(first)
        if x in sl.sender:
            todo.append(sl.sender[x])
    return out


def _priority(sl: Slice, n: int) -> tuple[int, int, int]:
    st = sl.ex.step(n)
    if n in sl.seeds or st.fault or n in sl.races:
        cls = 0
    elif st.kind in ("irq", "src") or n in sl.sender.values():
        cls = 1
    else:
        cls = 2
    if cls == 0 and n in sl.races and n not in sl.seeds:
        return (0, 1, -n)  # races: the one nearest the end first
    if cls == 2 and n not in sl.cross:
        cls = 3  # a read of what the same CPU stored earlier: program order says most of it
    return (cls, sl.level.get(n, 9), n)


@dataclass
class Diagram:
    sl: Slice
    shown: set[int]
    lines: list[Line]
    text: list[str]  # the drawn rows (header included)
    verified: bool | None  # the shown steps replayed as a partial schedule reach the violation
    note: str = ""
    why: str = ""


def choose(sl: Slice, budget: int = MAX_ROWS, width: int = WIDTH, prog: Any = None, choices: Any = None) -> Diagram:
    """The slice steps that fit ``budget`` rows of ``width`` columns, most important first
    (seeds, faults and the races on what the verdict read, then the interrupts and their
    senders, then the decisive reads nearest the seeds); each with the interrupt it ran in and
    that interrupt's sender.

    With ``prog`` and ``choices`` the choice is checked: the shown steps, replayed in their
    order as a partial schedule (:class:`PartialSchedule`), must reach the same violation.
    When the most important steps alone do not, the next ones in order of importance are
    added until they do, and only then is the rest of the budget filled (checked again)."""
    ends = end_lines(sl)
    ncpus = sl.ex.m.ncpus
    order = sorted(sl.steps, key=lambda n: _priority(sl, n))

    def rows_of(cand: set[int]) -> list[str]:
        return layout(lines_of(sl, cand, ends), ncpus, width)

    def with_(cand: set[int], n: int) -> set[int]:
        return cand | _companions(sl, n)

    def fits(cand: set[int], n: int) -> set[int] | None:
        """``cand`` with step ``n`` and what it needs, and the other CPU's store it read when
        that fits too; None if even ``n`` alone does not fit."""
        base = with_(cand, n)
        if len(rows_of(base)) > budget:
            return None
        more = base
        for w in sl.cross_writer.get(n, ()):
            trial = more | _companions(sl, w)
            if len(rows_of(trial)) <= budget:
                more = trial
        return more

    checking = prog is not None and choices is not None
    cache: dict[frozenset[int], tuple[bool, str]] = {}

    def ok(cand: set[int]) -> tuple[bool, str]:
        key = frozenset(cand)
        if key not in cache:
            cache[key] = check_partial(sl, prog, choices, drawn(sl, cand, ends))
        return cache[key]

    # What must be there whatever it costs: the failing step, the faults, a stuck CPU's last
    # step (with the interrupt each ran in); then the other seeds and the races, as they fit.
    shown: set[int] = set()
    ex = sl.ex
    essential = set(sl.faults)
    if not ex.m.finishing and ex.steps:
        essential.add(ex.steps[-1].n)
    for cpu, _fn, _keys in sl.stuck:
        mine = [st.n for st in ex.steps if st.cpu == cpu and st.kind == "cpu"]
        if mine:
            essential.add(mine[-1])
    for n in sorted(essential):
        shown = with_(shown, n)
    for n in order:
        if _priority(sl, n)[0] == 0 and n not in shown:
            cand = fits(shown, n)
            if cand is not None:
                shown = cand
            elif not shown:
                shown = with_(shown, n)
    verified: bool | None = None
    note = ""
    if checking:
        verified, note = ok(shown)
        if not verified:
            # More of the slice, most important first, until the partial schedule holds.
            for n in order:
                if n in shown:
                    continue
                cand = fits(shown, n)
                if cand is None:
                    continue
                shown = cand
                verified, note = ok(shown)
                if verified:
                    break
    # The rest of the budget, most important first (what stays checked, if it was); not what
    # a CPU read of its own earlier stores (program order already says it).
    for n in order:
        if n in shown or _priority(sl, n)[0] > 2:
            continue
        cand = fits(shown, n)
        if cand is None:
            continue
        if checking and verified and not ok(cand)[0]:
            continue
        shown = cand
    return Diagram(sl, drawn(sl, shown, ends), lines_of(sl, shown, ends), rows_of(shown), verified, note)


def drawn(sl: Slice, shown: set[int], ends: list[Line] | None = None) -> set[int]:
    """The steps a diagram draws: the chosen steps and the first step of every call it shows
    (a call row stands for its steps from its first one)."""
    return set(shown) | {ln.step for ln in lines_of(sl, shown, ends) if ln.step}


def check_partial(sl: Slice, prog: Any, choices: list[int], shown: set[int]) -> tuple[bool, str]:
    """Whether the steps ``shown``, replayed in their order as a partial schedule, reach the same
    kind of violation; and what happened instead when they do not."""
    ts = targets(prog, choices, sl.ex, shown)
    out, drv = replay_partial(prog, ts)
    ok = out.status == "bug" and out.kind == sl.kind and len(drv.taken) == len(ts)
    if ok:
        return True, ""
    why = drv.stuck or f"ended {out.status}" + (f" ({out.kind}: {out.message})" if out.kind else "")
    return False, f"took {len(drv.taken)} of {len(ts)} steps; {why}"


# -- the why, in words ----------------------------------------------------------------------------


def _value(ex: Execution, v: Any, key: Key, decode: dict[Key, Any]) -> str:
    from .engine.core import fmt

    dec = decode.get(key)
    if dec is not None and isinstance(v, int) and not isinstance(v, bool):
        return str(dec(v))
    return fmt(v)


def _call_of(ex: Execution, n: int) -> str:
    """The top-level call (or interrupt) step ``n`` ran in, as a reader names it."""
    a = ex.activities[ex.step(n).activity]
    nd = a.node
    if a.kind == "irq":
        return f"the {ex.rows[nd.row].text.strip('<>')} handler"
    if a.kind == "source":
        return ex.rows[nd.row].text.lstrip("~ ").split(":")[0]
    if nd.row < 0:
        return "its program"
    text = ex.rows[nd.result].text[2:] if nd.result is not None else ex.rows[nd.row].text
    return text.split(" -> ")[0]


def _by(ex: Execution, w: int) -> str:
    """ "by CPU1 in f()" for the step that stored, or the event source's name."""
    st = ex.step(w)
    if st.kind == "src":
        return f"by {ex.m.actor_name(st.actor)}"
    return f"by CPU{st.cpu} in {_call_of(ex, w)}"


def _decided(ex: Execution, n: int, void: set[str]) -> str:
    """ ", so f() returned v" for the nearest shown call around step ``n`` whose result shows."""
    idx = _access_row(ex, n)
    if idx is None:
        return ""
    nd = ex.nodes[idx].parent
    while nd is not None and nd.kind == "func":
        if nd.result is not None:
            text = ex.rows[nd.result].text[2:]
            name = text.split("(", 1)[0]
            if name in void:
                return ""
            call, _, res = text.rpartition(" -> ")
            return f", so {name}() returned {res}" if call else ""
        nd = nd.parent
    return ""


def why(d: Diagram, width: int = WIDTH) -> str:
    """The decisive reads of the diagram, in words, generated from the slice: what each CPU read
    that another activity had stored (and which call that decided), the faults and where the
    interrupts came from, what the failing check or the stuck CPU read."""

    sl = d.sl
    ex = sl.ex
    m = ex.m
    with _named(m):
        return _why(d, width)


def _why(d: Diagram, width: int) -> str:
    import textwrap

    sl = d.sl
    ex = sl.ex
    m = ex.m
    from .report.flags import decoders

    decode = decoders(m)
    void = void_functions(m)
    parts: list[tuple[int, str]] = []
    shown = d.shown
    for rd in sl.reads:
        if rd.reader not in shown:
            continue
        st = ex.step(rd.reader)
        where = _call_of(ex, rd.reader)
        fn = ex.rows[_access_row(ex, rd.reader) or 0].func
        infn = f" in {fn}()" if fn and not where.startswith(fn + "(") else ""
        if rd.writer is None:
            src = "its initial value"
        else:
            src = f"stored at step {rd.writer} {_by(ex, rd.writer)}"
        val = _value(ex, rd.value, rd.key, decode) if rd.writer is not None else "it"
        parts.append(
            (
                rd.reader,
                f"at step {rd.reader} CPU{st.cpu}{infn} ({where}) read {label(m, rd.key)} = {val}, "
                f"{src}{_decided(ex, rd.reader, void)}",
            )
        )
    for n in sl.faults:
        st = ex.step(n)
        text = next((ex.rows[i].text for i in st.rows if ex.rows[i].kind == "fault"), "")
        text = text.lstrip("! ").replace("IPI LOST: send ", "")
        what = f"the {text} IPI" if text else f"{m.actor_name(st.actor)} (a fault)"
        parts.append((n, f"at step {n} {what} that CPU{st.cpu} sent in {_call_of(ex, n)} was lost"))
    for n in sorted(sl.sender):
        if n in shown and sl.sender[n] in shown:
            st = ex.step(n)
            w = ex.step(sl.sender[n])
            by = f"CPU{w.cpu}" if w.kind == "cpu" else m.actor_name(w.actor)
            parts.append((n, f"CPU{st.cpu} took {st.vector} at step {n}, sent at step {w.n} by {by}"))
    end = len(ex.steps) + 1
    for key, w in sl.check_reads:
        if w is None and type(key) is tuple and key[0] == SCENARIO:
            continue
        where = f"last stored at step {w} {_by(ex, w)}" if w else "never stored"
        parts.append((end, f"the check '{sl.check}' read {label(m, key)}: {where}"))
    for cpu, fn, keys in sl.stuck:
        mine = [st.n for st in ex.steps if st.cpu == cpu and st.kind == "cpu"]
        if mine:
            parts.append((end - 1, f"after step {mine[-1]} CPU{cpu} cannot go on"))
        if len(keys) > 3:
            # A spin loop's pause waits on all it read; the ones the slice drew say the most.
            drawn = [(k, w) for k, w in keys if w is not None and w in shown]
            rest = len(keys) - len(drawn[:2])
            if drawn[:2]:
                parts.append((end, f"CPU{cpu} spins in {fn} until one of the {len(keys)} locations it read changes"))
            else:
                parts.append(
                    (
                        end,
                        f"CPU{cpu} spins in {fn} until one of the {len(keys)} locations it read changes, "
                        "and nothing stores any of them again",
                    )
                )
            keys = drawn[:2]
            if not keys:
                continue
            del rest
        for key, w in keys:
            last = f"last stored at step {w} {_by(ex, w)}" if w else "never stored"
            parts.append(
                (
                    end,
                    f"CPU{cpu} spins in {fn} waiting for {label(m, key)} to change: {last}, "
                    "and nothing stores it again",
                )
            )
        if not keys:
            parts.append((end, f"CPU{cpu} spins in {fn}"))
    if not parts:
        parts.append((0, "the interleaving alone: no read of the slice crosses from one activity to another"))
    parts.sort(key=lambda p: p[0])
    text = "Why: " + "; ".join(p for _n, p in parts) + "."
    return textwrap.fill(text, width) + "\n"


# -- the command ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _named(m: Machine) -> Iterator[None]:
    """Objects print by their names (``&work0.llist``) while the diagram is drawn."""
    old = memory.BUILDING[0]
    memory.BUILDING[0] = m
    try:
        yield
    finally:
        memory.BUILDING[0] = old


def build(prog: Any, choices: list[int], *, width: int = WIDTH, budget: int = MAX_ROWS, verify: bool = True) -> Diagram:
    """The race diagram of one counterexample (its choices) of ``prog``."""
    rec = record(prog, choices)
    sl = compute(rec)
    with _named(rec.machine):
        d = choose(sl, budget, width, prog if verify else None, choices if verify else None)
        d.why = why(d, width)
    return d


def render(d: Diagram, *, verdict: str = "", width: int = WIDTH) -> str:
    """The diagram, the verdict, the why, and what was checked, each at most ``width`` wide
    (the verdict and the words are wrapped; the diagram is drawn that wide)."""
    import textwrap

    out = "\n".join(d.text) + "\n"
    if verdict:
        out += "\n" + textwrap.fill(verdict, width, subsequent_indent="  ", break_long_words=False) + "\n"
    out += "\n" + d.why
    total = len(d.sl.ex.steps)
    these = f"these {len(d.shown)} of the {total} steps" if len(d.shown) != 1 else f"this 1 of the {total} steps"
    if d.verified:
        note = (
            f"Checked: {these}, replayed in this order as a partial schedule "
            f"(each CPU runs only what program order needs before its next one; no other interrupt, event "
            f"or fault), end in the same {d.sl.kind}."
        )
    elif d.verified is None:
        note = f"Not replayed: {these}."
    else:
        note = (
            f"Not checked: {these}, replayed on their own as a partial "
            f"schedule, do not reach the {d.sl.kind} ({d.note}); the full trace (kport check) has every step."
        )
    out += "\n" + textwrap.fill(note, width, break_long_words=False) + "\n"
    return out


def diagram_of(prog: Any, r: Result, width: int = WIDTH) -> str:
    """For ``kport check`` and ``kport explain --short``: the diagram of ``r``'s counterexample
    with its verdict line ("" when there is none)."""
    from .report import verdict_line

    ce = r.counterexample
    if ce is None or r.verdict != "bug":
        return ""
    d = build(prog, ce.choices, width=width)
    return render(d, verdict=verdict_line(r), width=width)


def cmd_diagram(args: Any) -> int:
    """``kport diagram SCENARIO --variant V``: the counterexample as a race diagram."""
    from .memory_model import check
    from .report import verdict_line
    from .scenario import program

    width = max(40, min(int(getattr(args, "width", None) or WIDTH), 1000))
    model = getattr(args, "memory_model", None)
    prog = program(args.scenario, args.variant, faults=getattr(args, "faults", None), memory_model=model)
    r = check(prog, "dfs", preemptions=prog.preemption_bound)
    head = f"{prog.name} on {prog.variant}: {r.verdict.upper()}" + (f" ({r.kind})" if r.kind else "")
    if r.counterexample is None or r.verdict != "bug":
        print(head)
        print(verdict_line(r))
        print("No counterexample to draw.")
        return {"ok": 0, "bug": 1, "inconclusive": 3, "error": 4}[r.verdict]
    print(head)
    print()
    print(diagram_of(prog, r, width), end="")
    print(f"Replay:   kport replay {r.token}")
    return 1
