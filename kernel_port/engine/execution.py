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

import re
import traceback
from dataclasses import dataclass, field
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


def run(program: Program, driver: Driver, *, tracing: bool = False, keep_machine: bool = False) -> Outcome:
    """Run one execution of ``program`` with the choices of ``driver``."""
    _reap()
    rec = _Recorder(driver)
    out = Outcome("complete")
    try:
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
