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

import functools
import os
import re
import traceback
from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from itertools import repeat
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType
from typing import Any, Protocol

from greenlet import GreenletExit, greenlet

from . import core, memory
from .core import CPU, Machine
from .errors import KernelViolation, ScenarioError, Signalled, StepBudgetExceeded, WatchdogTimeout

Label = tuple[str, str, str, str]  # (actor, function, primitive, object): engine/token.py


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
    # Replay only: the label of every choice made (engine/token.py), and where a
    # replay that followed labels departed from the raw recording.
    labels: list[Label] | None = None
    notes: list[str] = field(default_factory=list)
    fingerprint: int = 0  # the explorer's name of the execution's trace (dpor.History.fingerprint)


class Preemptions:
    """Counts preemptions as a schedule goes: a step of a CPU's code (its interrupted code
    or its handler, Machine.step_cpu) right after a step of another CPU that could still
    run.  An interrupt's arrival and an event source are free (the hardware's doing)."""

    def __init__(self) -> None:
        self.prev = -1
        self.count = 0

    def before(self, m: Machine, actor: int, enabled: list[int]) -> None:
        c = m.step_cpu(actor)
        if c < 0:
            return
        p = self.prev
        if p >= 0 and c != p and any(m.step_cpu(a) == p for a in enabled):
            self.count += 1
        self.prev = c


class _Recorder:
    """Wraps a driver and records the flat choice list."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.choices: list[int] = []

    def value(self, n: int, what: str) -> int:
        v = self.driver.value(n, what)
        self.choices.append(v)
        return v


# The CPU (and kernel-thread) greenlets of the previous execution.  A CPU left
# parked at its last step keeps its greenlet alive, and through the frames
# inside it the whole machine: the garbage collector cannot look into a
# suspended greenlet's frames.  The next run unwinds them (GreenletExit), once
# the caller has finished looking at the machine (DPOR analyses it after run()).
_PARKED: list[greenlet] = []


def _greenlets_of(m: Machine) -> list[greenlet]:
    found: list[greenlet] = []
    for cpu in m.cpus:
        if cpu.g is not None:
            found.append(cpu.g)
        sched = cpu.local.get("sched")
        if isinstance(sched, dict):
            saved = [sched.get("base")] + [getattr(t, "saved", None) for t in sched.get("tasks", ())]
            found += [d["g"] for d in saved if isinstance(d, dict) and isinstance(d.get("g"), greenlet)]
    return found


def _reap() -> None:
    parked, _PARKED[:] = list(_PARKED), []
    me = greenlet.getcurrent()
    for g in parked:
        if g.dead or g is me:
            continue
        try:
            g.parent = me
            g.throw(GreenletExit)
        except Exception:
            pass  # whatever the unwinding raised, that machine is gone


# -- per-execution set-up: the world built once, restored in place -------------------------
#
# Building a program's kernel state (Machine(), program.build(m): the composed kernel's
# init_* functions, the scenario's setup(), about 400 Struct constructions for a corpus
# scenario) costs about as much as a hundred steps.  A search runs the same program
# thousands of times, so the world built for one execution is kept: after the build a
# snapshot records the contents of every mutable container reachable from the machine and
# the CPUs' entry functions (instance __dict__s and __slots__, dicts, lists, sets, deques,
# closure cells), and the next execution of the same program puts those contents back in
# place instead of building again.  Every object keeps its identity, so the closures that
# set-up registered (m.eventually, m.at_end, event sources, the scenario's own state such as
# self.r dicts) still point at the right objects; objects an execution created are dropped
# with the containers that held them.  See docs/engine.md, "Per-execution set-up".
#
# A world that holds something the snapshot cannot put back (an object of a C type with
# state of its own: a greenlet, a random.Random, an iterator) is not reused: that program
# is built afresh for every execution, as before (_World.unsafe names what was found).

_ATOMS: frozenset[type] = frozenset(
    {
        type(None),
        bool,
        int,
        float,
        complex,
        str,
        bytes,
        range,
        slice,
        type,
        ModuleType,
        BuiltinFunctionType,
        type(re.compile("")),
        type(Ellipsis),
        type(NotImplemented),
    }
)
# C base classes whose own state cannot change (or is saved as a container's): a subclass
# defined in Python is saved through its __dict__ / __slots__ (and its items).
_STATELESS_BASES: frozenset[type] = frozenset(
    {object, dict, list, set, Exception, BaseException, tuple, frozenset, int, float, str, bytes}
)
_MISSING = object()


def _c_state(t: type) -> list[type]:
    """The classes in ``t``'s MRO that keep state of their own in C (beyond __dict__, __slots__
    and the immutable or container bases in _STATELESS_BASES): a class defined in Python adds
    to its base's instance size only one pointer per slot, __dict__ and __weakref__."""
    bad = []
    for k in t.__mro__:
        if k in _STATELESS_BASES:
            continue
        base = k.__base__
        own = vars(k).get("__slots__")
        allowed = 16 if own is None else 8 * (1 if isinstance(own, str) else len(own)) + 16
        if base is None or k.__basicsize__ - base.__basicsize__ > allowed or k.__itemsize__ != base.__itemsize__:
            bad.append(k)
    return bad


def _slots(t: type) -> tuple[str, ...]:
    names: list[str] = []
    for k in t.__mro__:
        s = vars(k).get("__slots__", ())
        if isinstance(s, str):
            s = (s,)
        names += [n for n in s if n not in ("__dict__", "__weakref__")]
    return tuple(names)


class _World:
    """The state of one built program, saved right after its set-up and restorable in place."""

    def __init__(self, m: Machine, entries: dict[int, Any], outside: set[int] | None = None) -> None:
        self.m = m
        self.entries = entries
        self.unsafe: list[str] = []
        self.dicts: list[dict[Any, Any]] = []
        self.dsaved: list[dict[Any, Any]] = []
        self.lists: list[list[Any]] = []
        self.lsaved: list[list[Any]] = []
        self.sets: list[set[Any]] = []
        self.ssaved: list[list[Any]] = []
        self.deques: list[tuple[deque[Any], list[Any]]] = []
        self.slotted: list[tuple[Any, tuple[str, ...], tuple[Any, ...]]] = []
        self.cells: list[tuple[Any, Any]] = []
        self.seen: set[int] = set()
        # Objects made before set-up (met in another build too: a module's table, a watched
        # function's closure): not the world's, never saved or restored, as a fresh build
        # would not reset them either.
        self.outside = outside if outside is not None else set()
        self.shared: list[Any] = []
        # The chooser is the current execution's (its driver, and whatever that holds):
        # not part of the world; run() sets it for each execution.
        chooser, m.chooser = m.chooser, None
        try:
            self._walk([m, entries])
        finally:
            m.chooser = chooser
        for o in self.shared:
            # Set-up that links an object made before it to its own objects (registers them
            # in a module's list, say) resets it in every build: a restore would not.
            for kid in _kids(o):
                if type(kid) not in _ATOMS and id(kid) not in self.outside and not isinstance(kid, Enum | type):
                    self.unsafe.append(
                        f"{type(o).__module__}.{type(o).__qualname__} made before set-up holds its objects"
                    )
                    break

    def _walk(self, roots: list[Any]) -> None:
        seen = self.seen
        outside = self.outside
        stack = list(roots)
        push = stack.extend
        slots_of: dict[type, tuple[str, ...]] = {}
        c_state: dict[type, list[type]] = {}
        while stack:
            o = stack.pop()
            t = type(o)
            if t in _ATOMS:
                continue
            i = id(o)
            if i in seen:
                continue
            seen.add(i)
            if i in outside:
                self.shared.append(o)
                continue
            if t is dict:
                c = o.copy()
                self.dicts.append(o)
                self.dsaved.append(c)
                push(c)
                push(c.values())
            elif t is list:
                c = list(o)
                self.lists.append(o)
                self.lsaved.append(c)
                push(c)
            elif t is tuple or t is frozenset:
                push(o)
            elif t is set:
                c = list(o)
                self.sets.append(o)
                self.ssaved.append(c)
                push(c)
            elif t is deque:
                c = list(o)
                self.deques.append((o, c))
                push(c)
            elif t is FunctionType:
                if o.__closure__:
                    for cell in o.__closure__:
                        try:
                            v = cell.cell_contents
                        except ValueError:
                            continue  # an empty cell (a name bound later)
                        self.cells.append((cell, v))
                        stack.append(v)
                if "<locals>" in o.__qualname__:
                    # made at set-up: its defaults and attributes (functools.wraps) are the world's
                    push((o.__defaults__, o.__kwdefaults__, o.__dict__))
            elif t is MethodType:
                push((o.__self__, o.__func__))
            elif t is functools.partial:
                push((o.func, o.args, o.keywords))
            elif isinstance(o, Enum | type):
                continue
            else:
                bad = c_state.get(t)
                if bad is None:
                    bad = c_state[t] = _c_state(t)
                if bad:
                    self.unsafe.append(f"{t.__module__}.{t.__qualname__}")
                    continue
                if isinstance(o, dict):
                    self.unsafe.append(f"{t.__module__}.{t.__qualname__} (a dict subclass)")
                    continue
                if isinstance(o, list | set):
                    self.unsafe.append(f"{t.__module__}.{t.__qualname__} (a {type(o).__mro__[-2].__name__} subclass)")
                    continue
                if isinstance(o, tuple | frozenset):
                    push(o)  # an immutable value of a class of its own (a cpumask): its items
                names = slots_of.get(t)
                if names is None:
                    names = slots_of[t] = _slots(t)
                if names:
                    vals = tuple(getattr(o, n, _MISSING) for n in names)
                    self.slotted.append((o, names, vals))
                    push(vals)
                try:
                    d = object.__getattribute__(o, "__dict__")
                except AttributeError:
                    continue
                if d.__class__ is dict and id(d) not in seen:
                    seen.add(id(d))
                    c = d.copy()
                    self.dicts.append(d)
                    self.dsaved.append(c)
                    push(c.values())

    def restore(self) -> None:
        """Put every saved content back (the objects stay the same objects)."""
        for _ in map(dict.update, map(_cleared, self.dicts), self.dsaved):
            pass
        for _ in map(list.__setitem__, self.lists, repeat(slice(None)), self.lsaved):
            pass
        for s, c in zip(self.sets, self.ssaved, strict=False):
            s.clear()
            s.update(c)
        for dq, c in self.deques:
            dq.clear()
            dq.extend(c)
        for o, names, vals in self.slotted:
            for n, v in zip(names, vals, strict=False):
                if v is _MISSING:
                    if hasattr(o, n):
                        delattr(o, n)
                else:
                    setattr(o, n, v)
        for cell, v in self.cells:
            cell.cell_contents = v

    def stats(self) -> dict[str, int]:
        return {
            "dicts": len(self.dicts),
            "dict_items": sum(map(len, self.dsaved)),
            "lists": len(self.lists),
            "sets": len(self.sets),
            "deques": len(self.deques),
            "slotted": len(self.slotted),
            "cells": len(self.cells),
        }


def _built(program: Program, kept: _Kept, m: Machine, entries: dict[int, Any]) -> None:
    """A fresh build of the kept program: from its second build on, keep its world.

    What is the world's is found by building once more: an object reached from both builds
    was there before either (a module's table, a class's function and its closure), and is
    left alone; everything else a build made is saved."""
    kept.builds += 1
    if kept.builds < 2 or kept.world is not None or kept.unsafe:
        return
    try:
        other = _machine(program, False, None)
        memory.BUILDING[0] = other
        try:
            other_entries = program.build(other)
        finally:
            memory.BUILDING[0] = m
            restored = getattr(program, "restored", None)
            if restored is not None:
                restored(m)
    except Exception as e:
        kept.unsafe = [f"a second build raised {type(e).__name__}"]
        return
    before = _World(other, other_entries)
    w = _World(m, entries, outside=before.seen)
    if w.unsafe or before.unsafe:
        kept.unsafe = sorted(set(w.unsafe + before.unsafe))
    else:
        kept.world = w


def _kids(o: Any) -> list[Any]:
    """What ``o`` refers to, as _World._walk follows it."""
    t = type(o)
    if isinstance(o, dict):
        return [*o.keys(), *o.values(), *getattr(o, "__dict__", {}).values()]
    if isinstance(o, list | tuple | set | frozenset | deque):
        return [*o, *getattr(o, "__dict__", {}).values()]
    if t is FunctionType:
        kids: list[Any] = [o.__defaults__, o.__kwdefaults__, o.__dict__] if "<locals>" in o.__qualname__ else []
        for cell in o.__closure__ or ():
            try:
                kids.append(cell.cell_contents)
            except ValueError:
                pass
        return kids
    if t is MethodType:
        return [o.__self__, o.__func__]
    if t is functools.partial:
        return [o.func, o.args, o.keywords]
    kids = [getattr(o, n, None) for n in _slots(t)]
    d = getattr(o, "__dict__", None)
    if isinstance(d, dict):
        kids += d.values()
    return kids


def _cleared(d: dict[Any, Any]) -> dict[Any, Any]:
    d.clear()
    return d


class _Kept:
    """The world kept for the program run last (one per process)."""

    __slots__ = ("builds", "program", "sig", "unsafe", "world")

    def __init__(self, program: Program, sig: tuple[Any, ...]) -> None:
        self.program = program
        self.sig = sig
        self.builds = 0
        self.world: _World | None = None
        self.unsafe: list[str] = []


_KEPT: list[_Kept | None] = [None]


def _signature(program: Program) -> tuple[Any, ...]:
    """What a built world depends on besides the program object itself: the machine's
    parameters and the program's own attributes (by identity)."""
    attrs = tuple((k, id(v)) for k, v in vars(program).items()) if hasattr(program, "__dict__") else ()
    return (
        program.ncpus,
        program.faults,
        tuple(program.fault_kinds),
        program.step_budget,
        sorted(program.config.items(), key=repr),
        program.warn_fatal,
        attrs,
    )


def _kept_for(program: Program) -> _Kept:
    sig = _signature(program)
    kept = _KEPT[0]
    if kept is None or kept.program is not program or kept.sig != sig:
        kept = _KEPT[0] = _Kept(program, sig)
    return kept


def world_info(program: Program) -> dict[str, Any]:
    """Whether ``program``'s world is being reused, and what its snapshot holds (bench, tests)."""
    kept = _KEPT[0]
    if kept is None or kept.program is not program:
        return {"reused": False, "builds": 0, "unsafe": []}
    w = kept.world
    return {
        "reused": w is not None,
        "builds": kept.builds,
        "unsafe": list(kept.unsafe),
        **(w.stats() if w is not None else {}),
    }


def forget_world() -> None:
    """Drop the kept world (the next execution builds afresh)."""
    _KEPT[0] = None


def _machine(program: Program, tracing: bool, chooser: Any) -> Machine:
    return Machine(
        program.ncpus,
        faults=program.faults,
        fault_kinds=program.fault_kinds,
        step_budget=program.step_budget,
        tracing=tracing,
        chooser=chooser,
        config=program.config,
        warn_fatal=program.warn_fatal,
    )


def _fresh_only() -> bool:
    return os.environ.get("KPORT_FRESH_WORLD", "") not in ("", "0")


def run(
    program: Program,
    driver: Driver,
    *,
    tracing: bool = False,
    keep_machine: bool = False,
    reuse: bool | None = None,
) -> Outcome:
    """Run one execution of ``program`` with the choices of ``driver``.

    ``reuse``: whether the world built for an earlier execution of the same program may be
    restored instead of built again (see _World).  The default reuses it only when the
    machine is not handed out (neither ``tracing`` nor ``keep_machine``); ``True`` also
    with ``keep_machine``, for a caller that is done with ``out.machine`` before its next
    run() (a restored world is the same Machine object); ``False`` never.  A tracing
    execution always builds afresh, and so does a program whose ``reuse_world`` is false
    (set-up that resets state the world reaches only through a module's globals: beyond
    what the snapshot sees).  ``$KPORT_FRESH_WORLD=1`` turns reuse off."""
    _reap()
    rec = _Recorder(driver)
    out = Outcome("complete")
    may_reuse = (
        not tracing
        and (reuse if reuse is not None else not keep_machine)
        and getattr(program, "reuse_world", True)
        and not _fresh_only()
    )
    kept = _kept_for(program) if may_reuse else None
    world = kept.world if kept is not None else None
    if world is not None:
        world.restore()
        m = world.m
        m.chooser = rec.value
        restored = getattr(program, "restored", None)
        if restored is not None:
            restored(m)
    else:
        try:
            m = _machine(program, tracing, rec.value)
        except Exception as e:
            # The program's own description is broken (say ``cpus = "2"``): an
            # error of the scenario, reported on a stand-in machine of one CPU.
            out.status = "error"
            out.kind = type(e).__name__
            out.message = f"the program cannot set up its machine: {type(e).__name__}: {_text(e)}"
            out.traceback = traceback.format_exc()
            m = Machine(1, tracing=tracing)
            if tracing or keep_machine:
                out.machine = m
            return out
    actors: list[int] = []
    preempts = Preemptions()
    memory.BUILDING[0] = m
    try:
        try:
            if world is not None:
                entries = world.entries
            else:
                entries = program.build(m)
                if kept is not None:
                    _built(program, kept, m, entries)
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
                preempts.before(m, a, en)
                m.step(a)
        except KernelViolation as e:
            out.status = "bug"
            out.kind = e.kind
            out.message = e.message
        except AssertionError as e:
            # A scenario's assert is its property; an assert inside the
            # engine or a port is a defect of the tool (verdict error).
            text = _text(e)
            if _raised_in_tool(e):
                out.status = "error"
                out.kind = "AssertionError"
                out.message = f"internal assertion failed: {text}"
                out.traceback = _format_tb()
            else:
                out.status = "bug"
                out.kind = "assertion"
                out.message = f"assertion failed: {text}" if text else "assertion failed"
        except StepBudgetExceeded as e:
            out.status = "budget"
            out.kind = "step-budget"
            out.message = e.message
        except BaseException as e:  # whatever the port or scenario raised: it is broken (never a bug)
            if Signalled.is_stop(e):
                raise  # the user's interrupt, not the scenario's
            out.status = "error"
            if isinstance(e, ScenarioError | WatchdogTimeout):
                out.kind, out.message = e.kind, _text(e)
            else:
                text = _text(e)
                out.kind = type(e).__name__
                out.message = f"{out.kind}: {text}" if text else out.kind
                if isinstance(e, KeyboardInterrupt):
                    out.message += " (raised by the code under test, not by the user)"
            out.traceback = _format_tb()
    finally:
        memory.BUILDING[0] = None
        _PARKED.extend(_greenlets_of(m))
    out.choices = rec.choices
    out.steps = len(actors)
    out.preemptions = preempts.count
    out.faults = m.faults_used
    if tracing or keep_machine:
        out.machine = m
    return out


def _text(e: BaseException) -> str:
    """``str(e)``, even for an exception whose ``__str__`` raises."""
    try:
        return str(e)
    except BaseException as bad:
        if Signalled.is_stop(bad):
            raise
        return f"<{type(e).__name__}: str() raised {type(bad).__name__}>"


def _format_tb() -> str:
    try:
        return traceback.format_exc()
    except Exception:
        return ""


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


# -- labels ---------------------------------------------------------------------

_OID = re.compile(r"#\d+")


def _function(cpu: CPU) -> str:
    return cpu.kstack[-1].name if cpu.kstack else ""


def actor_label(m: Machine, actor: int) -> Label:
    """The stable label of the step ``actor`` would take now: who, in which kernel
    function, which primitive, on which object.  Object numbers of unnamed objects
    (``llist_node#7``) are left out: they shift when a program creates one more."""
    n = m.ncpus
    if m.is_cpu_actor(actor) and not n <= actor < 2 * n:
        # A CPU's code, at whatever interrupt level it runs (a handler is the CPU's code too).
        cpu = m.cpus[m.actor_cpu(actor) or 0]
        obj = m.key_label(cpu.pending[0][0]) if cpu.pending else ""
        return (f"CPU{cpu.id}", _function(cpu), cpu.pending_what, _OID.sub("#", obj))
    if actor < 2 * n:
        cpu = m.cpus[actor - n]
        v = cpu.apic.deliverable()
        return (f"irq@CPU{cpu.id}", _function(cpu), "interrupt", m.vector_name(v) if v is not None else "")
    if actor - 2 * n < len(m.sources):
        src = m.sources[actor - 2 * n]
        return (src.name, "", "fire", m.vector_name(src.vector) if src.vector is not None else "")
    return (f"actor{actor}", "", "", "")


def value_label(what: str) -> Label:
    """The label of a value choice (a fault) made inside the current step."""
    cpu = core.CUR
    if cpu is None:
        return ("machine", "", "=" + what, "")
    return (f"CPU{cpu.id}", _function(cpu), "=" + what, "")


def describe(label: Label) -> str:
    """A label in words, for replay notes and divergence messages."""
    actor, fn, prim, obj = label
    where = actor
    if fn:
        where += f" in {fn}" if fn.startswith("<") else f" in {fn}()"
    if prim.startswith("="):
        return f"{where}: the choice {prim[1:]}"
    what = " ".join(x for x in (prim, obj) if x)
    return f"{where}: {what}" if what else where


class ReplayDriver:
    """Follows a recorded schedule and records the label of every choice it makes.

    Without labels (``kp1`` tokens) the raw choices are followed exactly, and the
    first one that does not fit ends the replay (``diverged`` says where).

    With labels, each recorded choice names the step it stood for, so the
    replay can follow the schedule on a program whose raw numbering differs
    (another variant, an edit elsewhere, an event source added):

    * the actor whose next step carries the recorded label runs, whatever its
      number now;
    * the same actor, primitive and object in another function is the same step;
    * if the actor's next step is one the recording has *later* for that actor,
      the recorded steps in between no longer exist: they are skipped;
    * otherwise the actor's next step is new (a patch added it): it runs, and the
      recorded step is still expected after it;
    * a recorded value choice the program no longer asks for is skipped, and a
      value choice it newly asks for takes option 0 (no fault);
    * when the recording is used up and the program can still move (a fix that
      adds steps), the run goes on with the default schedule: the CPU that ran
      last if it can, else the lowest-numbered actor, option 0 for values.

    Every such departure is a line in ``notes``; more than ``MAX_EDITS`` of them,
    or a recorded step whose actor cannot move at all, ends the replay with a
    ``diverged`` message that says at which step and what was expected against
    what was there.
    """

    MAX_EDITS = 200
    LOOKAHEAD = 16  # recorded steps of one actor searched for a skipped stretch

    def __init__(self, choices: list[int], labels: list[Label] | None = None) -> None:
        self.choices = list(choices)
        self.labels = labels if labels is not None and len(labels) == len(choices) else None
        self.pos = 0
        self.diverged: str | None = None
        self.notes: list[str] = []
        self.taken: list[Label] = []  # the label of every choice made, in order
        self.skipped: set[int] = set()
        self.edits = 0
        self.last_cpu = -1
        self.extended = False

    # -- raw replay (kp1) -----------------------------------------------------
    def _next(self, what: str) -> int:
        if self.pos >= len(self.choices):
            raise _ScheduleEnd(what)
        v = self.choices[self.pos]
        self.pos += 1
        return v

    def _pick_raw(self, m: Machine, enabled: list[int]) -> int | None:
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
        self.taken.append(actor_label(m, a))
        return a

    def _value_raw(self, n: int, what: str) -> int:
        try:
            v = self._next(what)
        except _ScheduleEnd:
            self.diverged = f"schedule ended before the value choice '{what}'"
            raise
        if not 0 <= v < n:
            self.diverged = f"choice {self.pos - 1}: value {v} out of range for '{what}' ({n} options)"
            raise _ScheduleEnd(what)
        self.taken.append(value_label(what))
        return v

    # -- replay by labels ---------------------------------------------------------
    def _skip(self) -> None:
        while self.pos in self.skipped:
            self.pos += 1

    def _note(self, text: str) -> bool:
        self.edits += 1
        if self.edits > self.MAX_EDITS:
            self.diverged = (
                f"{text}; that is more than {self.MAX_EDITS} departures from the recording, "
                "so the schedule no longer describes this program"
            )
            return False
        self.notes.append(text)
        return True

    def _later(self, actor: str, label: Label) -> int | None:
        """The index of a later recorded step of ``actor`` labelled ``label``."""
        assert self.labels is not None
        seen = 0
        for j in range(self.pos + 1, len(self.labels)):
            if j in self.skipped:
                continue
            lab = self.labels[j]
            if lab[0] != actor or lab[2].startswith("="):
                continue
            if lab == label:
                return j
            seen += 1
            if seen >= self.LOOKAHEAD:
                break
        return None

    def pick(self, m: Machine, enabled: list[int]) -> int | None:
        if self.labels is None:
            return self._pick_raw(m, enabled)
        labels = self.labels
        step = m.nsteps + 1
        cache: dict[int, Label] = {}

        def lab(a: int) -> Label:
            if a not in cache:
                cache[a] = actor_label(m, a)
            return cache[a]

        while True:
            self._skip()
            if self.pos >= len(labels):
                if not self._extend(step):
                    return None
                mine = [x for x in enabled if m.step_cpu(x) == self.last_cpu]
                a = mine[0] if mine else min(enabled)
                return self._take(a, lab(a), consume=False, m=m)
            rec, raw = labels[self.pos], self.choices[self.pos]
            if rec[2].startswith("="):
                # A value choice the program no longer makes here.
                if not self._note(f"step {step}: the recorded {describe(rec)} = {raw} is not made here; skipped"):
                    return None
                self.pos += 1
                continue
            if raw in enabled and lab(raw) == rec:
                return self._take(raw, rec, consume=True, m=m)
            for a in enabled:
                if lab(a) == rec:
                    return self._take(a, rec, consume=True, m=m)
            named = [a for a in enabled if lab(a)[0] == rec[0]]
            if not named:
                could = "; ".join(describe(lab(a)) for a in enabled)
                self.diverged = (
                    f"step {step}: the schedule expects {describe(rec)}, but {rec[0]} cannot move here "
                    f"(what can: {could})"
                )
                return None
            a = named[0]
            now = lab(a)
            if (now[0], now[2], now[3]) == (rec[0], rec[2], rec[3]):
                if not self._note(f"step {step}: {describe(rec)} now runs in {now[1] or 'the scenario'}"):
                    return None
                return self._take(a, now, consume=True, m=m)
            j = self._later(rec[0], now)
            if j is not None:
                gone = [
                    i
                    for i in range(self.pos, j)
                    if i not in self.skipped and labels[i][0] == rec[0] and not labels[i][2].startswith("=")
                ]
                self.skipped.update(gone)
                if not self._note(
                    f"step {step}: {len(gone)} recorded step(s) of {rec[0]} do not happen here "
                    f"(from {describe(rec)}); skipped"
                ):
                    return None
                continue
            if not self._note(f"step {step}: {describe(now)} is not in the recording; ran it"):
                return None
            return self._take(a, now, consume=False, m=m)

    def _take(self, a: int, label: Label, *, consume: bool, m: Machine) -> int:
        if consume:
            self.pos += 1
        if m.step_cpu(a) >= 0:
            self.last_cpu = m.step_cpu(a)
        self.taken.append(label)
        return a

    def _extend(self, step: int) -> bool:
        if not self.extended:
            self.extended = True
            return self._note(
                f"step {step}: the recorded schedule is used up; the run goes on with the default schedule "
                "(the CPU that ran last, else the lowest-numbered actor; no faults)"
            )
        return True

    def value(self, n: int, what: str) -> int:
        if self.labels is None:
            return self._value_raw(n, what)
        here = value_label(what)
        cpu = core.CUR
        step = cpu.m.nsteps if cpu is not None else 0
        self._skip()
        if self.pos >= len(self.labels):
            if not self._extend(step):
                raise _ScheduleEnd(what)
            self.taken.append(here)
            return 0
        rec, raw = self.labels[self.pos], self.choices[self.pos]
        if (rec[0], rec[2]) == (here[0], here[2]):
            if not 0 <= raw < n:
                self.diverged = f"step {step}: the recorded {describe(rec)} = {raw} is out of range here ({n} options)"
                raise _ScheduleEnd(what)
            self.pos += 1
            self.taken.append(here)
            return raw
        if rec[2].startswith("="):
            self.diverged = (
                f"step {step}: the schedule expects {describe(rec)}, but the program asks for {describe(here)}"
            )
            raise _ScheduleEnd(what)
        if not self._note(f"step {step}: {describe(here)} is new (not in the recording); took option 0"):
            raise _ScheduleEnd(what)
        self.taken.append(here)
        return 0

    def unused(self) -> int:
        """Recorded choices not reached (the execution ended before them)."""
        self._skip()
        return sum(1 for i in range(self.pos, len(self.choices)) if i not in self.skipped)


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
