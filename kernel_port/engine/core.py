# SPDX-License-Identifier: GPL-2.0-only
"""The deterministic SMP machine.

One ``Machine`` is one execution of a program on ``ncpus`` x86-like CPUs.  The
explorer drives it through four calls -- ``enabled()``, ``accesses(actor)``,
``step(actor)`` and ``finish()`` -- and decides every choice: which actor moves
next, and the value of every nondeterministic choice made inside a step
(faults).  Nothing else in the machine is random, so a list of choices replays
an execution exactly.

Actors
------
For ``n`` CPUs the actors are numbered:

* ``0 .. n-1``     CPU ``c`` performs its next step (its pending primitive);
* ``n .. 2n-1``    CPU ``c`` takes the highest-priority deliverable vector of
                   its local APIC (interrupt entry, then the handler runs up to
                   its first primitive);
* ``2n ..``        an external event source fires (a device or timer raising
                   a vector, or a budgeted fault such as a spurious interrupt).

Steps
-----
Ported code runs in one greenlet per CPU and reads like C: plain calls and
loops.  Every access to shared state goes through an engine primitive, which
*announces* the access (object keys, read or write) and parks the greenlet.
When the explorer schedules that CPU, the primitive performs its access and the
CPU runs local code up to its next primitive.  A step is therefore one shared
access plus the local computation after it, executed atomically: the model is
sequentially consistent; barriers are recorded but have no effect on ordering
(see docs/engine.md for what this abstracts).

Each CPU step also reads the CPU's control key ``("ctl", c)``; interrupt entry
writes it.  That makes an interrupt's arrival dependent with every step of the
CPU it interrupts, so exhaustive search tries the arrival at every step
boundary where interrupts are enabled -- the real hardware's freedom.

Blocking
--------
``cpu_relax()`` makes a CPU unschedulable until some actor writes a key the CPU
read since its previous ``cpu_relax()`` (a spin loop cannot make progress
otherwise).  ``safe_halt()`` parks an idle CPU until an interrupt is delivered.
When no actor is enabled the execution ends: *deadlock* if a CPU is spinning,
*stall* if a liveness obligation is unmet, otherwise complete.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Any

from greenlet import greenlet

from .errors import KernelViolation, StepBudgetExceeded

# The CPU currently executing ported code, or None when the engine itself (or
# scenario set-up / final checks) runs.  Primitives read it on every call.
CUR: CPU | None = None

# preempt_count layout as in include/linux/preempt.h.
PREEMPT_MASK = 0x000000FF
SOFTIRQ_OFFSET = 0x00000100
SOFTIRQ_MASK = 0x0000FF00
HARDIRQ_OFFSET = 0x00010000
HARDIRQ_MASK = 0x000F0000
NMI_OFFSET = 0x00100000
NMI_MASK = 0x00F00000

NMI_VECTOR = 2

Key = Any  # a hashable name of one shared location
# The machine's fault budget as a location: a step that may spend a fault (an IPI send that may
# be lost) updates it, a fault source reads and updates it (it can fire only while the budget
# lasts), so the explorer sees every step that can change whether a fault source may fire.
FAULTS: Key = ("faults",)
Access = tuple[Key, Any]  # (key, False: read | True: write | ACQUIRE: lock acquisition, a write | UPDATE)
ACQUIRE = 2
# A commuting update: a read-modify-write whose result the code does not use and
# whose effect commutes with every other UPDATE of the same key (atomic_add/inc/
# sub/dec, setting a vector in a local APIC's IRR).  Two UPDATEs of one key are
# independent; an UPDATE and a plain read or write of it are dependent.
UPDATE = 3
Accesses = tuple[Access, ...]


class Apic:
    """Local APIC of one CPU: request (IRR) and in-service (ISR) vectors.

    A vector sent while already pending in IRR coalesces (one handler run for
    two sends).  A vector is accepted only if its priority class (vector >> 4)
    is above the class of the highest vector in service; EOI retires the
    highest in-service vector.
    """

    __slots__ = ("irr", "isr")

    def __init__(self) -> None:
        self.irr: set[int] = set()
        self.isr: list[int] = []

    def deliverable(self) -> int | None:
        if not self.irr:
            return None
        v = max(self.irr)
        if self.isr and (v >> 4) <= (max(self.isr) >> 4):
            return None
        return v

    def accept(self) -> int:
        v = self.deliverable()
        assert v is not None
        self.irr.discard(v)
        self.isr.append(v)
        return v

    def eoi(self) -> int | None:
        if not self.isr:
            return None
        v = max(self.isr)
        self.isr.remove(v)
        return v

    def reset(self) -> None:
        self.irr.clear()
        self.isr.clear()


class Frame:
    """One kernel function on a CPU's call stack (for traces and diagnostics)."""

    __slots__ = ("file", "line", "name", "version")

    def __init__(self, name: str, file: str, version: str, line: int | None = None) -> None:
        self.name = name
        self.file = file
        self.version = version
        self.line = line

    def __repr__(self) -> str:
        return f"{self.name}()"


class CPU:
    """One CPU: its greenlet, interrupt state, context stack and wait state."""

    def __init__(self, machine: Machine, cpu_id: int) -> None:
        self.m = machine
        self.id = cpu_id
        self.ctl: Key = ("ctl", cpu_id)
        self.apic_key: Key = ("apic", cpu_id)
        self.ctl_read: Access = (self.ctl, False)
        self.apic = Apic()
        self.pending: Accesses = ()
        self.pending_what = ""
        self.irqs_on = True
        self.preempt_count = 0
        self.ctx: list[str] = ["task"]
        self.halted = False
        self.wait: frozenset[Key] | None = None  # timed mode: spin-blocked on these keys
        self.reads: dict[Key, int] = {}  # keys read since the last cpu_relax(), with their versions
        self.read_at: dict[Key, int] = {}  # ... and the step at which each was first read
        # What enables the pending step, for the explorer (None: it is enabled whenever the CPU
        # can run): ("await", key, cond) for a wait on one location, ("relax", cpu,
        # ((key, step), ...)) for a spin loop's pause, ("boot", cpu) for a bring-up that waits
        # for the target's death.  See dpor.py, "Guards".
        self.guard: Any = None
        # The step (index in Machine.events) that handed the CPU's interrupted-level code its
        # current run: the return from the interrupt that woke the halted CPU or ended its
        # spin loop's pause, the bring-up that started it (-1: its own program).  The
        # CPU's steps are ordered after it like program order (dpor.py).
        # Per interrupt level (0: the CPU's own code; k: the k-th nested handler): the step
        # that handed that level its current code -- the interrupt entry for a handler; for
        # the CPU's own code, the return that woke it from halt or ended its spin loop's
        # pause, or the bring-up that started it (-1: its own program).
        self.ctrl: list[int] = [-1]
        # Per level: the next step of that level is the first after a nested handler returned.
        self.after_iret: list[bool] = [False]
        self.woken = False  # the interrupt being delivered woke the CPU from halt
        self.dead = False
        self.program_done = False
        self.kstack: list[Frame] = []
        self.entry: Callable[[], Any] | None = None
        self.idle: Callable[[], Any] | None = None
        self.g: greenlet | None = None
        self.local: dict[str, Any] = {}  # per-CPU engine-side state for ports
        self.nested_irqs = 0
        self.wait_hint = ""  # what a spinning CPU waits for, for diagnostics
        # A spin reduced to a wait (smp_cond_load_*, spinlock acquisition):
        # the CPU can take its pending step only when this returns true.
        self.awaiting: Callable[[], bool] | None = None
        self.await_key: Key | None = None  # the location an await_field() waits on (None: not a store)
        self.await_what = ""
        self.booting = False  # brought online again: starts when first scheduled
        self.clock = 0  # virtual nanoseconds (timed mode); stays 0 untimed
        self.busy_left = 0  # timed mode: what remains of the busy_loop() the CPU is in
        self.irqoff_since = -1  # timed mode: when the CPU last had interrupts off with one pending
        self.timed_base = 0  # timed mode: what any step of this CPU costs at least
        # x86-TSO (Machine.tso): the CPU's store buffer, oldest first, as [key, the object's
        # __dict__, field name, value, location].  A buffered store's location names it by
        # the interrupt level that made it and its number among that level's stores
        # (("sb", cpu, level, n), see sb_store()), so that no store's name depends on
        # whether an interrupt came in first.  Per active level (0: the CPU's own code; k:
        # the k-th nested handler, since it was entered): the location of its newest store,
        # and per field the location of its newest store to it.
        self.sb: list[list[Any]] = []
        self.sb_count: dict[int, int] = {}
        # The versions a cpu_relax() pause waits to see change (None: not pausing).
        self.relax_seen: dict[Key, int] | None = None
        self.sb_act: list[list[Any]] = [[None, {}]]

    # -- running code ------------------------------------------------------
    def _main(self) -> None:
        if self.entry is not None:
            self.entry()
        self.program_done = True
        idle = self.idle
        while True:
            if idle is not None:
                idle()
            else:
                self.m.safe_halt()

    def boot(self, entry: Callable[[], Any] | None) -> None:
        """Reset to a freshly onlined CPU that will run ``entry`` then idle."""
        self.apic.reset()
        self.irqs_on = True
        self.preempt_count = 0
        self.ctx = ["task"]
        self.halted = False
        self.wait = None
        self.reads = {}
        self.read_at = {}
        self.guard = None
        self.dead = False
        self.program_done = False
        self.kstack = []
        self.entry = entry
        self.g = greenlet(self._main, parent=self.m.root)
        self.ctrl = [len(self.m.events) - 1 if self.m.timed is None else -1]
        self.after_iret = [False]
        self.booting = True
        self.pending = ((self.ctl, True), (self.apic_key, True))
        self.pending_what = "boot"

    def park(self, acc: Accesses, what: str) -> None:
        """Announce the next access and wait to be scheduled (CPU greenlet)."""
        m = self.m
        root = m.root
        while True:
            self.pending = acc
            self.pending_what = what
            if m.fast is self:
                # Timed mode: go on in line, or hand over to whatever comes next.
                if m.timed_inline(self):
                    return
                cmd = m.timed_handoff(self)
            else:
                cmd = root.switch()
            if cmd is None:
                return
            self.take_interrupt(cmd)

    # -- x86-TSO store buffer (Machine.tso) --------------------------------
    def sb_newest(self, key: Key) -> int:
        """The index in ``sb`` of the newest buffered store to ``key``, or -1."""
        sb = self.sb
        for k in range(len(sb) - 1, -1, -1):
            if sb[k][0] == key:
                return k
        return -1

    def sb_next_loc(self) -> Key:
        """The location the CPU's next store will have (its level, its number there)."""
        lv = self.nested_irqs
        return ("sb", self.id, lv, self.sb_count.get(lv, 0))

    def sb_store(self, key: Key, d: dict[str, Any], name: str, value: Any) -> Key:
        """Put a store into the buffer (in the CPU's step); returns its location."""
        lv = self.nested_irqs
        n = self.sb_count.get(lv, 0)
        self.sb_count[lv] = n + 1
        loc = ("sb", self.id, lv, n)
        self.sb.append([key, d, name, value, loc])
        act = self.sb_act
        while len(act) <= lv:
            act.append([None, {}])
        act[lv][0] = loc
        act[lv][1][key] = loc
        return loc

    def sb_enter(self) -> None:
        """An interrupt level begins (take_interrupt): it has stored nothing yet."""
        del self.sb_act[self.nested_irqs :]
        while len(self.sb_act) <= self.nested_irqs:
            self.sb_act.append([None, {}])

    def sb_target(self, key: Key | None = None) -> Key | None:
        """The newest store, by the code running now or the code it interrupted (to ``key``
        if given), that can still be in the buffer: the handlers that ran before returned
        through IRET, which drained theirs.  It depends only on those levels' own steps."""
        act = self.sb_act
        for lv in range(min(self.nested_irqs, len(act) - 1), -1, -1):
            got = act[lv][0] if key is None else act[lv][1].get(key)
            if got is not None:
                return got
        return None

    def sb_drain(self, what: str) -> None:
        """Wait until every store this CPU buffered has reached memory (MFENCE, a LOCK'd
        instruction, IRET, going offline): one step that reads the location of the newest
        store that can be buffered (sb_target) and is enabled once it is in memory.  The
        buffer's FIFO order makes that "all of them"."""
        if self.m.ablate and self._ablated():
            return
        self._sb_wait(self.sb_target(), what, f"CPU{self.id}'s store buffer to drain")
        if self.m.tracing:
            self.m.emit(self, "step", f"{what}: store buffer empty")

    def sb_wait_for(self, key: Key, what: str) -> None:
        """Wait until the CPU's newest store to ``key`` has reached memory (none: the step is
        always enabled): one step reading that store's location."""
        self._sb_wait(self.sb_target(key), what, f"CPU{self.id}'s store to {self.m.key_label(key)} to reach memory")

    def _sb_wait(self, loc: Key | None, what: str, waits: str) -> None:
        saved = (self.awaiting, self.await_what, self.guard)
        if loc is not None:
            self.awaiting = lambda: all(e[4] != loc for e in self.sb)
            self.await_what = waits
            self.guard = ("await", loc, sb_flushed)
        else:
            loc = ("sb", self.id, -1, -1)  # never written: the step depends on nothing
        self.park(((loc, False),), what)
        self.awaiting, self.await_what, self.guard = saved

    def _ablated(self) -> bool:
        """Is a line the barrier audit leaves out on the stack of this drain?"""
        f = sys._getframe(2)
        while f is not None:
            for path, line in self.m.ablate:
                if f.f_lineno == line and f.f_code.co_filename.endswith(path):
                    self.m.ablated += 1
                    return True
            f = f.f_back  # type: ignore[assignment]
        return False

    def take_interrupt(self, vec: int) -> None:
        """Interrupt entry, the handler, irq_exit and the return.

        Untimed, everything from the entry to the return (IRET) is the *interrupt thread* of
        the CPU (the explorer's actor ``n + cpu``): while it runs, the interrupted code (actor
        ``cpu``) cannot move, and the return is a step of its own that hands the CPU back
        (it writes the CPU's control state, as the entry does)."""
        m = self.m
        name, handler = m.vectors.get(vec, (f"vector {vec:#04x}", None))
        nmi = vec == NMI_VECTOR
        saved_if = self.irqs_on
        self.irqs_on = False
        woke = self.woken
        self.woken = False
        # An interrupted spin loop re-reads when it resumes, as on hardware.
        self.wait = None
        self.reads = {}
        self.read_at = {}
        saved_await = (self.awaiting, self.await_what, self.wait_hint, self.guard)
        abandoned = self.guard is not None and self.guard[0] == "relax"
        if abandoned:
            # The pause of a spin loop ends with the interrupt: the loop reads again.
            saved_await = (None, "", "", None)
        self.awaiting = None
        self.guard = None
        kind = "nmi" if nmi else "hardirq"
        timed = m.timed
        if timed is not None:
            self.clock += timed.irq_entry_ns
        self.ctx.append(kind)
        self.preempt_count += NMI_OFFSET if nmi else HARDIRQ_OFFSET
        self.nested_irqs += 1
        self.sb_enter()
        self.ctrl.append(len(m.events) - 1 if timed is None else -1)
        self.after_iret.append(False)
        if m.tracing:
            m.emit(self, "irq-enter", f"<{name}>")
        frame = Frame(f"<{name}>", "arch/x86/entry", "", None)
        self.kstack.append(frame)
        left_irq = False
        done = False
        try:
            if handler is None:
                raise RuntimeError(f"CPU{self.id}: no handler registered for vector {vec:#04x}")
            handler(vec)
            # irq_exit: leave hardirq context first (interrupts still off), then
            # the exit hooks (pending softirqs, the nohz tick), as __irq_exit_rcu does.
            self.preempt_count -= NMI_OFFSET if nmi else HARDIRQ_OFFSET
            self.ctx.pop()
            left_irq = True
            if not nmi:
                for hook in m.irq_exit_hooks:
                    hook(self)
            done = True
        finally:
            self.kstack.pop()
            if not left_irq:
                self.preempt_count -= NMI_OFFSET if nmi else HARDIRQ_OFFSET
                self.ctx.pop()
            if not done:
                self.nested_irqs -= 1
                self.ctrl.pop()
                self.after_iret.pop()
        iret = -1
        if timed is None:
            if m.tso:
                # IRET is serializing (SDM vol. 3, 10.3): the handler's stores reach memory
                # before the interrupted code goes on.
                self.sb_drain("iret")
            self.park(((self.ctl, True),), "iret")
            iret = len(m.events) - 1
        self.nested_irqs -= 1
        self.ctrl.pop()
        self.after_iret.pop()
        self.after_iret[-1] = timed is None
        if abandoned or woke:
            # The code below goes on only because the interrupt ended its spin loop's pause
            # or woke the CPU from halt (whatever runs next: the idle loop, a woken thread).
            self.ctrl[-1] = iret
        self.irqs_on = saved_if
        if timed is not None:
            self.clock += timed.irq_exit_ns
        self.awaiting, self.await_what, self.wait_hint, self.guard = saved_await
        if m.tracing:
            m.emit(self, "irq-exit", f"</{name}>")
        sched = self.local.get("sched")
        if (
            sched is not None
            and not nmi
            and sched["need_resched"]
            and len(self.ctx) == 1
            and not self.preempt_count
            and not (m.config.get("PREEMPT_NONE") or m.config.get("PREEMPT_VOLUNTARY"))
        ):
            # Return to task level: a woken thread that outranks the interrupted context runs
            # now (preemption on interrupt exit, as CONFIG_PREEMPT and PREEMPT_RT kernels do;
            # PREEMPT_NONE and PREEMPT_VOLUNTARY kernels wait for the next schedule() call).
            if m.scheduler is not None:
                m.scheduler.preempt_check(self)

    # -- queries ------------------------------------------------------------
    def in_hardirq(self) -> bool:
        return bool(self.preempt_count & HARDIRQ_MASK)

    def in_nmi(self) -> bool:
        return bool(self.preempt_count & NMI_MASK)

    def in_serving_softirq(self) -> bool:
        return bool(self.preempt_count & SOFTIRQ_OFFSET) and self.ctx[-1] == "softirq"

    def where(self) -> str:
        """The kernel function this CPU is in, for diagnostics."""
        for fr in reversed(self.kstack):
            if not fr.name.startswith("<"):
                return f"{fr.name}() ({fr.file})"
        return "its scenario program"


class Source:
    """An external event: a device or timer raising a vector, or a fault."""

    def __init__(
        self,
        name: str,
        cpu: int,
        vector: int | None,
        budget: int,
        guard: Callable[[], bool] | None,
        keys: Iterable[Key],
        action: Callable[[], None] | None,
        fault: bool,
        at_ns: int | None = None,
        period_ns: int = 0,
    ) -> None:
        self.name = name
        # Timed mode: when the source fires (and again every period_ns if non-zero).
        self.at_ns = at_ns
        self.period_ns = period_ns
        self.cpu = cpu
        self.vector = vector
        self.budget = budget
        self.guard = guard
        self.action = action
        self.fault = fault
        acc: list[Access] = [(("apic", cpu), True)] if vector is not None else []
        acc += [(k, True) for k in keys]
        if fault:
            acc.append((FAULTS, True))
        self.accesses: Accesses = tuple(acc)
        self.gdesc: tuple[str, int] = ("src", -1)  # the explorer's name of its guard (add_source)


def _no_handoff(cpu: CPU) -> Any:
    raise RuntimeError("timed hand-over outside timed mode")


class Machine:
    """The whole machine for one execution."""

    def __init__(
        self,
        ncpus: int,
        *,
        faults: int = 0,
        fault_kinds: Iterable[str] = (),
        step_budget: int = 20000,
        tracing: bool = False,
        chooser: Callable[[int, str], int] | None = None,
        config: dict[str, Any] | None = None,
        warn_fatal: bool = False,
    ) -> None:
        self.ncpus = ncpus
        self.cpus = [CPU(self, c) for c in range(ncpus)]
        self.faults = faults
        self.fault_kinds = frozenset(fault_kinds)
        self.faults_used = 0
        self.fault_log: list[str] = []
        self.step_budget = step_budget
        self.nsteps = 0
        self.tracing = tracing
        self.chooser = chooser
        self.config: dict[str, Any] = dict(config or {})
        self.warn_fatal = warn_fatal
        self.vectors: dict[int, tuple[str, Callable[[int], Any] | None]] = {}
        self.lossy_vectors: frozenset[int] | None = None  # None: every vector
        self.sources: list[Source] = []
        self.irq_exit_hooks: list[Callable[[CPU], None]] = []
        self.obligations: list[tuple[str, Callable[[], bool]]] = []
        self.finals: list[Callable[[], None]] = []
        self.warnings: list[str] = []
        self.warned_once: set[Any] = set()
        # One record per step: (actor, accesses, values stored, guard, locations stored, value
        # choices made, the step that handed a CPU its code: CPU.ctrl).  The values stored are
        # (key, before, after) for each field written in the step (an UPDATE's too), which the
        # explorer needs to tell what a wait would have seen in a reordered execution; the guard
        # is what enabled the step (CPU.guard, ("irq", cpu), ("src", index)) or None.
        self.events: list[tuple[int, Accesses, list[tuple[Key, Any, Any]], Any, list[Key], list[int], int]] = []
        self.vals: list[tuple[Key, Any, Any]] = []  # values stored in the current step
        self.values: list[int] = []  # value choices made in the current step
        self.stores: list[Key] = []  # keys actually stored to in the current step
        self.objs: dict[int, Any] = {}  # object id -> Struct (for evaluating guards, dpor.py)
        self.finishing = False  # finish() has begun: no actor could move
        self.irq_guards = tuple(("irq", c) for c in range(ncpus))
        self.version: dict[Key, int] = {}  # how many stores each key has had
        # Event index -> CPU, for steps that turned interrupts off on that CPU.
        self.irqoff_events: dict[int, int] = {}
        self.trace: list[tuple[Any, ...]] = []
        self.root: Any = None
        self._oid = 0
        self._started = False
        self.kernel: Any = None  # the composed port, for scenarios
        self.cpu_online: list[bool] = [True] * ncpus
        self.dmesg: list[str] = []  # printk() output
        self.timed: Any = None  # the cost model in timed mode (engine/timed.py), None untimed
        self.now = 0  # timed mode: the time of the event being executed
        self.timed_arrivals: list[tuple[int, int, int, int]] = []  # heap of (ns, seq, cpu, vector)
        self._seq = 0
        # Called with the CPU whenever it passes a scheduling point (schedule(), preemption
        # at interrupt exit, the idle loop): what "the CPU reached schedule()" means.
        self.sched_hooks: list[Callable[[CPU], None]] = []
        # The kernel-thread scheduler (tasks.py) once a scenario creates a thread: the machine
        # calls its preempt_check() at interrupt return and idle_pick() from the idle loop.
        self.scheduler: Any = None
        # The memory model: sequential consistency, or x86-TSO with a store buffer per CPU
        # whose oldest store reaching memory is a step of its own actor (CPU.sb, Machine.step).
        # Timed mode is always sequentially consistent (timed_setup).
        self.tso = self.config.get("MEMORY_MODEL", "sc") == "tso"
        # The barrier audit (bench/barriers.py): drains to leave out, each named by a source
        # line of ported code ("kernel/smp.py:512"): a drain is skipped when that line is on
        # the stack (a fence there, or a LOCK'd operation it calls, keeps its atomicity and
        # loses its ordering).  ``ablated`` counts the drains skipped.
        self.ablate: tuple[tuple[str, int], ...] = tuple(
            (f.rsplit(":", 1)[0], int(f.rsplit(":", 1)[1])) for f in self.config.get("ABLATE_FENCES", ())
        )
        self.ablated = 0
        self.probes: list[tuple[str, Callable[[], float]]] = []
        # CPUs that have ever spun (cpu_relax / await): only they can need waking.
        self.spin_cpus: list[CPU] = []
        # Timed mode's inline path: the CPU the driver let run ahead, until fast_horizon.
        self.fast: CPU | None = None
        self.fast_horizon = 0
        self.fast_post = False  # the running step still needs its stores and cost accounted
        self.fast_ns = 0  # what the running step costs (timed_cost() when it started)
        self.fast_step_ns = 0
        self.fast_objects = False  # the cost model charges extra for some objects
        self.fast_extra: dict[Key, int] = {}  # key -> extra ns, filled as keys are met
        self.fast_blocked: list[CPU] = []  # CPUs blocked when the driver started the run
        self.fast_delivery = False  # the running step is an interrupt delivery (timed.py)
        self.fast_horizon_stop = False  # the run stopped only at another event's time
        # The timed driver's choice of what follows a run that cannot go on in line.
        self.timed_handoff: Callable[[CPU], Any] = _no_handoff
        # Human names of object ids, filled in as objects are created (set-up
        # is deterministic, so an id names the same object in every execution).
        self.names: dict[int, str] = {}

    def key_label(self, key: Key) -> str:
        if isinstance(key, tuple) and len(key) == 2:
            a, b = key
            if a in ("ctl", "apic"):
                return f"{a}[{b}]"
            if isinstance(a, int):
                base = self.names.get(a, f"obj{a}")
                return f"{base}.{b}" if b else base
        if isinstance(key, tuple) and len(key) == 4 and key[0] == "sb":
            lv = "" if key[2] == 0 else f" (interrupt level {key[2]})"
            return f"CPU{key[1]} store #{key[3]}{lv}"
        if isinstance(key, tuple) and len(key) == 3 and isinstance(key[0], int):
            return f"{self.key_label(key[:2])}@CPU{key[2]}"  # a TSO load's alias (tso_writes)
        return repr(key)

    # -- set-up API (engine context) -----------------------------------------
    def new_oid(self) -> int:
        self._oid += 1
        return self._oid

    def register_vector(self, vector: int, name: str, handler: Callable[[int], Any] | None) -> None:
        self.vectors[vector] = (name, handler)

    def vector_name(self, vector: int) -> str:
        return self.vectors.get(vector, (f"vector {vector:#04x}", None))[0]

    def add_source(
        self,
        name: str,
        cpu: int,
        vector: int | None = None,
        *,
        budget: int = 1,
        guard: Callable[[], bool] | None = None,
        keys: Iterable[Key] = (),
        action: Callable[[], None] | None = None,
        fault: bool = False,
        at_ns: int | None = None,
        period_ns: int = 0,
    ) -> Source:
        src = Source(name, cpu, vector, budget, guard, keys, action, fault, at_ns, period_ns)
        if self.tso:
            # What the source writes is read through per-CPU aliases by TSO loads (tso_writes).
            src.accesses += tuple(a for k in keys for a in self.tso_writes(k)[1:])
        src.gdesc = ("src", len(self.sources))
        self.sources.append(src)
        return src

    def probe(self, name: str, fn: Callable[[], float]) -> None:
        """A quantity sampled over virtual time by the timed driver (read engine-side, no steps)."""
        self.probes.append((name, fn))

    def eventually(self, description: str, predicate: Callable[[], bool]) -> None:
        """A liveness obligation checked when no actor can move."""
        self.obligations.append((description, predicate))

    def at_end(self, check: Callable[[], None]) -> None:
        """A final-state check (may raise KernelViolation) for complete executions."""
        self.finals.append(check)

    def start(self, entries: dict[int, Callable[[], Any]]) -> None:
        """Create the CPU greenlets and run each up to its first primitive."""
        global CUR
        self.root = greenlet.getcurrent()
        for cpu in self.cpus:
            cpu.entry = entries.get(cpu.id)
            cpu.g = greenlet(cpu._main)
        for cpu in self.cpus:
            if cpu.dead:
                continue
            CUR = cpu
            try:
                assert cpu.g is not None
                cpu.g.switch()
            finally:
                CUR = None
        self._started = True

    # -- explorer API --------------------------------------------------------
    # Actors: 0..n-1 each CPU's own code; n..2n-1 an interrupt's arrival on each CPU;
    # 2n..2n+S-1 the event sources; then, per interrupt level k = 1..irq_levels, the code of
    # each CPU's level-k handler (its interrupt thread at that level: the handler, irq_exit,
    # the return).  While a handler runs, the levels below it cannot move.
    irq_levels = 2

    # Under TSO, after those: each CPU's store buffer ("sb@CPU<n>"), whose step takes the
    # oldest buffered store to memory.

    @property
    def nactors(self) -> int:
        return self.sb_actor0 + (self.ncpus if self.tso else 0)

    @property
    def sb_actor0(self) -> int:
        """The actor number of CPU 0's store buffer (TSO)."""
        return 2 * self.ncpus + len(self.sources) + self.irq_levels * self.ncpus

    def level_actor(self, cpu: int, level: int) -> int:
        """The actor running CPU ``cpu``'s code at interrupt level ``level`` (0: its own)."""
        if level == 0:
            return cpu
        return 2 * self.ncpus + len(self.sources) + (level - 1) * self.ncpus + cpu

    def actor_name(self, actor: int) -> str:
        n = self.ncpus
        if actor < n:
            return f"CPU{actor}"
        if actor < 2 * n:
            return f"irq@CPU{actor - n}"
        s = actor - 2 * n
        if s < len(self.sources):
            return self.sources[s].name
        k, c = divmod(s - len(self.sources), n)
        if k >= self.irq_levels:
            return f"sb@CPU{c}"
        return f"CPU{c}/irq{k + 1}"

    def actor_cpu(self, actor: int) -> int | None:
        """The CPU an actor runs on (an event source: the CPU it raises its vector on)."""
        n = self.ncpus
        if actor < 2 * n:
            return actor % n
        s = actor - 2 * n
        if s < len(self.sources):
            return self.sources[s].cpu
        return (s - len(self.sources)) % n

    def is_cpu_actor(self, actor: int) -> bool:
        """Does the actor run a CPU's code or take its interrupts (not an event source)?"""
        n = self.ncpus
        return actor < 2 * n or 2 * n + len(self.sources) <= actor < self.sb_actor0

    def cpu_enabled(self, cpu: CPU) -> bool:
        if cpu.dead or cpu.halted or cpu.wait is not None:
            return False
        return cpu.awaiting is None or cpu.awaiting()

    def irq_enabled(self, cpu: CPU) -> bool:
        if cpu.dead or cpu.booting:
            return False
        v = cpu.apic.deliverable()
        if v is None:
            return False
        return cpu.irqs_on or v == NMI_VECTOR

    def source_enabled(self, src: Source) -> bool:
        if src.budget <= 0:
            return False
        if src.fault and self.faults_used >= self.faults:
            return False
        if self.cpus[src.cpu].dead and src.vector is not None:
            return False
        return src.guard is None or bool(src.guard())

    def enabled(self) -> list[int]:
        """The actors that can take a step now.  A CPU runs the code of its innermost
        interrupt level (its own code at level 0), as that level's actor; an interrupt can
        arrive when that code has interrupts on.  (Timed mode does not use this:
        engine/timed.py schedules CPUs itself.)"""
        out = []
        cpus = self.cpus
        for cpu in cpus:
            if not (cpu.dead or cpu.halted or cpu.wait is not None or cpu.nested_irqs):
                if cpu.awaiting is None or cpu.awaiting():
                    out.append(cpu.id)
        n = self.ncpus
        for cpu in cpus:
            if cpu.apic.irr and self.irq_enabled(cpu):
                if cpu.nested_irqs >= self.irq_levels:
                    raise RuntimeError(
                        f"CPU{cpu.id} could take an interrupt nested {cpu.nested_irqs + 1} deep; "
                        f"the machine models {self.irq_levels} levels (Machine.irq_levels)"
                    )
                out.append(n + cpu.id)
        if self.sources:
            base = 2 * n
            for i, src in enumerate(self.sources):
                if self.source_enabled(src):
                    out.append(base + i)
        for cpu in cpus:
            if cpu.nested_irqs and not cpu.dead and cpu.wait is None:
                if cpu.awaiting is None or cpu.awaiting():
                    out.append(self.level_actor(cpu.id, cpu.nested_irqs))
        if self.tso:
            base = self.sb_actor0
            for cpu in cpus:
                if cpu.sb:
                    out.append(base + cpu.id)
        return out

    def step_cpu(self, actor: int) -> int:
        """The CPU whose code ``actor``'s next step runs, or -1 for an interrupt's arrival
        and an event source: what a preemption bound counts (a switch away from a CPU that
        could still run costs one)."""
        n = self.ncpus
        if actor < n:
            return actor
        if actor < 2 * n + len(self.sources) or actor >= self.sb_actor0:
            return -1  # an arrival, an event source, a store buffer: the hardware's doing
        return (actor - 2 * n - len(self.sources)) % n

    def accesses(self, actor: int) -> Accesses:
        n = self.ncpus
        if actor < n:
            cpu = self.cpus[actor]
            return cpu.pending + (cpu.ctl_read,)
        if actor < 2 * n:
            cpu = self.cpus[actor - n]
            return ((cpu.ctl, True), (cpu.apic_key, True))
        s = actor - 2 * n
        if s < len(self.sources):
            return self.sources[s].accesses
        cpu = self.cpus[(s - len(self.sources)) % n]
        if actor >= self.sb_actor0:
            return ((cpu.sb[0][4], True),) + self.tso_writes(cpu.sb[0][0], True, cpu.id)
        return cpu.pending + (cpu.ctl_read,)

    def hw_state(self) -> tuple[int, ...]:
        """What decides whether each CPU can take an interrupt, as one tuple of ints: per CPU
        its status bits (1 interrupts on, 2 dead, 4 booting, 8 halted; from bit 4 up, the
        interrupt level its code runs at), its IRR and its ISR as
        bit masks of vectors.  The explorer keeps one per node (dpor.py)."""
        out: list[int] = []
        put = out.append
        for c in self.cpus:
            apic = c.apic
            put(c.irqs_on | c.dead << 1 | c.booting << 2 | c.halted << 3 | c.nested_irqs << 4)
            irr = 0
            if apic.irr:
                for v in apic.irr:
                    irr |= 1 << v
            put(irr)
            isr = 0
            if apic.isr:
                for v in apic.isr:
                    isr |= 1 << v
            put(isr)
        return tuple(out)

    def choose(self, n: int, what: str) -> int:
        """A nondeterministic value choice inside the current step."""
        if n <= 1:
            return 0
        if self.chooser is None:
            v = 0
        else:
            v = self.chooser(n, what)
        if not 0 <= v < n:
            raise ValueError(f"choice {v} out of range for {what} ({n} options)")
        self.values.append(v)
        return v

    def _run_cpu(self, cpu: CPU, cmd: int | None) -> None:
        global CUR
        CUR = cpu
        try:
            assert cpu.g is not None
            if cpu.booting:
                cpu.booting = False
                if self.tracing:
                    self.emit(cpu, "step", f"CPU{cpu.id} boots (empty APIC, interrupts on)")
                cpu.g.switch()
            else:
                cpu.g.switch(cmd)
        finally:
            CUR = None

    def step(self, actor: int) -> Accesses:
        """Execute one event of ``actor``; returns the accesses it made."""
        self.nsteps += 1
        if self.nsteps > self.step_budget:
            raise StepBudgetExceeded(self._budget_diagnosis())
        values: list[int] = []
        stores: list[Key] = []
        vals: list[tuple[Key, Any, Any]] = []
        self.values, self.stores, self.vals = values, stores, vals
        n = self.ncpus
        events = self.events if self.timed is None else []
        nsrc = len(self.sources)
        if self.tso and actor >= self.sb_actor0:
            acc = self._sb_flush(self.cpus[actor - self.sb_actor0], actor, events, vals, stores, values)
        elif actor < n or actor >= 2 * n + nsrc:
            # A CPU's code at its innermost interrupt level (its own code at level 0).
            cpu = self.cpus[actor if actor < n else (actor - 2 * n - nsrc) % n]
            acc = cpu.pending + (cpu.ctl_read,)
            guard = cpu.guard
            after = cpu.after_iret
            if after[-1]:
                # The first step after a nested handler returned: it could have run before
                # that interrupt came in (dpor.py races it with the entry), never during it.
                after[-1] = False
                guard = ("resume", cpu.id, cpu.nested_irqs, guard)
            events.append((actor, acc, vals, guard, stores, values, cpu.ctrl[-1]))
            self._run_cpu(cpu, None)
        elif actor < 2 * n:
            cpu = self.cpus[actor - n]
            acc = ((cpu.ctl, True), (cpu.apic_key, True))
            events.append((actor, acc, vals, self.irq_guards[cpu.id], stores, values, -1))
            vec = cpu.apic.accept()
            cpu.woken = cpu.halted
            cpu.halted = False
            stores.append(cpu.apic_key)
            self._run_cpu(cpu, vec)
        else:
            src = self.sources[actor - 2 * n]
            acc = src.accesses
            events.append((actor, acc, vals, src.gdesc, stores, values, -1))
            src.budget -= 1
            if src.fault:
                self.faults_used += 1
                self.fault_log.append(src.name)
            stores.extend(k for k, _ in acc)
            if src.vector is not None:
                irr = self.cpus[src.cpu].apic.irr
                vals.append((("apic", src.cpu), 0, 1 << src.vector))
                irr.add(src.vector)
            if src.action is not None:
                # The action writes the source's declared fields engine-side: record what it
                # stored, as a CPU's store records it (the explorer reads these values).
                fields = [(k, self.objs[k[0]].__dict__) for k, _ in acc if type(k) is tuple and k[0] in self.objs]
                before = [d[k[1]] for k, d in fields]
                src.action()
                for (k, d), b in zip(fields, before, strict=True):
                    vals.append((k, b, d[k[1]]))
            if self.tracing:
                what = src.name
                if src.vector is not None:
                    what += f": raise {self.vector_name(src.vector)}"
                self.emit_on(src.cpu, "source", what)
        # Wake spinners whose watched keys were stored to (a failed cmpxchg
        # stores nothing and wakes no one).
        if stores:
            self.wake_after(actor, stores)
        return acc

    def tso_writes(self, key: Key, kind: Any = True, owner: int = -1) -> Accesses:
        """The footprint of a write to memory location ``key`` under TSO.  Loads of a field
        by CPU c read its per-CPU alias (key + (c,)), so a write is also a write of every
        CPU's alias but its ``owner``'s: a CPU's store reaching memory commutes with that
        CPU's own loads of the location (adjacent, they see the same value either way:
        forwarded before, from memory after), and making them independent spares a trace
        per store-load pair that differ only in where the same value came from."""
        if not (self.tso and type(key) is tuple and len(key) == 2 and type(key[0]) is int):
            return ((key, kind),)
        ak = kind if kind == UPDATE else True
        return ((key, kind),) + tuple(((key[0], key[1], e), ak) for e in range(self.ncpus) if e != owner)

    def _sb_flush(
        self, cpu: CPU, actor: int, events: list[Any], vals: list[Any], stores: list[Key], values: list[int]
    ) -> Accesses:
        """The oldest store in ``cpu``'s buffer reaches memory (the buffer's actor)."""
        key, d, name, value, loc = cpu.sb.pop(0)
        acc: Accesses = ((loc, True),) + self.tso_writes(key, True, cpu.id)
        events.append((actor, acc, vals, ("await", loc, sb_buffered), stores, values, -1))
        vals.append((loc, 1, 2))
        vals.append((key, d[name], value))
        d[name] = value
        stores.append(key)
        if self.tracing:
            text = f"CPU{cpu.id} store buffer: {self.key_label(key)} = {fmt(value)} reaches memory"
            self.emit_on(cpu.id, "source", text)
        return acc

    def finish(self) -> None:
        """Called when no actor is enabled: deadlock, stall or final checks."""
        self.finishing = True  # a violation from here on is the end state's, not a step's
        spinning = [c for c in self.cpus if (c.wait is not None or c.awaiting is not None) and not c.dead]
        if spinning:
            parts = []
            for c in spinning:
                hint = f" ({c.wait_hint})" if c.wait_hint else ""
                if c.awaiting is not None:
                    now = ""
                    g = c.guard
                    if g is not None and g[0] == "await" and not c.wait_hint:
                        obj = self.objs.get(g[1][0])
                        if obj is not None:
                            now = f" (now {fmt(obj.__dict__[g[1][1]])})"
                    parts.append(f"CPU{c.id} spins in {c.where()} waiting for {c.await_what}{now}{hint}")
                    continue
                keys = ", ".join(sorted(self.key_label(k) for k in c.wait or ()))
                parts.append(f"CPU{c.id} spins in {c.where()} waiting for a write to {keys}{hint}")
            raise KernelViolation("; ".join(parts) + "; no CPU can make progress", kind="deadlock")
        for desc, pred in self.obligations:
            if not pred():
                raise KernelViolation(f"liveness obligation not met when no CPU could move: {desc}", kind="stall")
        for check in self.finals:
            check()

    def _budget_diagnosis(self) -> str:
        recent = [e[0] for e in self.events[-200:]]
        counts: dict[int, int] = {}
        for a in recent:
            counts[a] = counts.get(a, 0) + 1
        busiest = max(sorted(counts), key=lambda a: counts[a]) if counts else 0
        cpu_id = self.actor_cpu(busiest)
        where = self.cpus[cpu_id].where() if cpu_id is not None else "an event source"
        return (
            f"execution exceeded its step budget of {self.step_budget} steps; "
            f"{self.actor_name(busiest)} was busiest, in {where}: "
            "a loop that never blocks (a livelock, or a port that spins without cpu_relax())"
        )

    # -- primitive support (CPU context) ------------------------------------
    def safe_halt(self) -> None:
        """sti; hlt: enable interrupts and wait for one (idle)."""
        cpu = CUR
        assert cpu is not None
        for hook in self.sched_hooks:
            hook(cpu)
        if cpu.local.get("sched") is not None and self.scheduler is not None:
            if self.scheduler.idle_pick(cpu):
                return  # a kernel thread ran; the idle loop comes back here
        if not cpu.irqs_on:
            # sti is a step: it changes whether interrupts can arrive.  With
            # interrupts already on, halting changes nothing another CPU can
            # see, so it is not an event of its own.
            cpu.park(((cpu.ctl, True),), "safe_halt")
            cpu.irqs_on = True
        if self.tracing:
            self.emit(cpu, "step", "safe_halt() -> idle")
        cpu.halted = True
        cpu.pending = ()
        cpu.pending_what = "halted"
        cmd = self.root.switch()
        cpu.halted = False
        if cmd is not None:
            cpu.take_interrupt(cmd)

    def irqs_off(self, cpu: CPU) -> None:
        """Interrupts go off on ``cpu`` in the current step (for DPOR)."""
        if cpu.irqs_on and self.timed is None:
            self.irqoff_events[len(self.events) - 1] = cpu.id
        cpu.irqs_on = False

    def fault_allowed(self, kind: str) -> bool:
        return kind in self.fault_kinds and self.faults_used < self.faults

    def send_ipi(self, src: CPU, target: int, vector: int) -> str:
        """Perform an IPI send (already scheduled); returns what happened."""
        tcpu = self.cpus[target]
        if (
            self.fault_allowed("lost-ipi")
            and (self.lossy_vectors is None or vector in self.lossy_vectors)
            and not tcpu.dead
        ):
            if self.choose(2, "lost-ipi") == 1:
                self.faults_used += 1
                self.fault_log.append(f"lost {self.vector_name(vector)} CPU{src.id}->CPU{target}")
                return "LOST"
        if tcpu.dead:
            return "dropped (CPU offline)"
        if self.timed is not None:
            # In flight: the vector reaches the target's IRR after the IPI latency.
            lat = self.timed.self_ipi_latency_ns if tcpu is src else self.timed.ipi_latency_ns
            self.timed_arrival(src.clock + lat, target, vector)
            if src.clock + lat < self.fast_horizon:
                self.fast_horizon = src.clock + lat
            return "sent"
        if vector in tcpu.apic.irr:
            return "coalesced"
        tcpu.apic.irr.add(vector)
        return "sent"

    # -- timed mode (engine/timed.py drives it) ------------------------------
    def timed_arrival(self, ns: int, target: int, vector: int) -> None:
        import heapq

        self._seq += 1
        heapq.heappush(self.timed_arrivals, (ns, self._seq, target, vector))

    def mark_spinner(self, cpu: CPU) -> None:
        if self.timed is not None and cpu.wait is None:
            # Timed mode finds CPUs that await a condition by itself (the driver's scan, see
            # timed_wake()); only cpu_relax() spinners need wake_after()'s list.
            return
        if cpu not in self.spin_cpus:
            self.spin_cpus.append(cpu)
            self.spin_cpus.sort(key=lambda c: c.id)

    def wake_after(self, actor: int, stores: list[Key]) -> bool:
        """After a step of ``actor`` stored to ``stores``: bump versions and wake spinners whose
        watched keys were written.  Returns whether some CPU was woken."""
        version = self.version
        # A CPU's own stores are not news to its spin loop (unless another
        # actor stored to the location since the CPU first read it).
        # Its store buffer's steps neither: a loop that read its own buffered store reads the
        # same value once that store is in memory (see tso_writes).
        n = self.ncpus
        nsrc = len(self.sources)
        if actor < 2 * n:
            own: CPU | None = self.cpus[actor % n]
        elif actor < 2 * n + nsrc:
            own = None  # an event source
        else:
            # a CPU's code at an interrupt level, or (TSO) its store buffer
            own = self.cpus[(actor - 2 * n - nsrc) % n]
        for k in stores:
            old = version.get(k, 0)
            version[k] = old + 1
            if own is not None:
                if own.reads.get(k) == old:
                    own.reads[k] = old + 1
                seen = own.relax_seen
                if seen is not None and seen.get(k) == old:
                    seen[k] = old + 1
        woke = False
        for cpu in self.spin_cpus:
            w = cpu.wait
            if w is not None and not w.isdisjoint(stores):
                cpu.wait = None
                woke = True
                # The woken CPU's next step depends on the store that
                # woke it: it re-reads everything it waited on, whoever
                # stored (so the step is the same whichever store woke it).
                cpu.pending = cpu.pending + tuple((k, False) for k in sorted(w, key=repr))
        if not woke:
            # A CPU awaiting a location that was just stored to may be able to go now (the
            # driver decides); one awaiting something else (a CPU's death) may too.
            for c in self.spin_cpus:
                if c.awaiting is not None and c is not own and (c.await_key is None or c.await_key in stores):
                    return True
        return woke

    def timed_setup(self, cost: Any) -> None:
        """Timed mode: install the cost model (engine/timed.py calls this before set-up)."""
        self.timed = cost
        self.tso = False  # timed mode stays sequentially consistent (docs/engine.md)
        self.fast_step_ns = cost.step_ns
        self.fast_objects = bool(cost.objects)
        self.fast_extra = {}
        # Per CPU: step_ns plus the extra for the control key every CPU step reads.
        for c in self.cpus:
            c.timed_base = cost.step_ns + self.timed_extra(c.ctl)

    def timed_extra(self, key: Key) -> int:
        """The cost model's extra nanoseconds for an access to ``key`` (by its label), cached."""
        label = self.key_label(key)
        extra = 0
        for prefix, add in self.timed.objects:
            if label.startswith(prefix):
                extra = add
                break
        self.fast_extra[key] = extra
        return extra

    def timed_cost(self, cpu: CPU) -> int:
        """What ``cpu``'s pending step costs: ``step_ns`` plus the extras of the objects it
        touches (its pending accesses and the control key every CPU step reads)."""
        if not self.fast_objects:
            return self.fast_step_ns
        ns = cpu.timed_base
        extra = self.fast_extra
        for key, _kind in cpu.pending:
            e = extra.get(key)
            ns += self.timed_extra(key) if e is None else e
        return ns

    def timed_wake(self, cpu: CPU, stores: list[Key]) -> bool:
        """wake_after() for a step of the CPU the timed driver is running, looking only at the
        CPUs the driver found blocked when it started the run (``fast_blocked``: spinning in
        cpu_relax(), or awaiting a condition that was false).  No other CPU moved since, so
        these are the only ones a store can wake: the same effect as wake_after() without
        walking every CPU that ever spun."""
        version = self.version
        reads = cpu.reads
        for k in stores:
            old = version.get(k, 0)
            version[k] = old + 1
            if reads.get(k) == old:
                reads[k] = old + 1
        blocked = self.fast_blocked
        if not blocked:
            return False
        woke = False
        for c in blocked:
            w = c.wait
            if w is not None and not w.isdisjoint(stores):
                c.wait = None
                woke = True
                c.pending = c.pending + tuple((k, False) for k in sorted(w, key=repr))
        if not woke:
            for c in blocked:
                if c.awaiting is not None and c is not cpu:
                    k = c.await_key
                    if k is None:
                        return True
                    if type(k) is frozenset:  # a stand-in waiting on several (timed_wait_for_change)
                        if not k.isdisjoint(stores):
                            return True
                    elif k in stores:
                        return True
        return woke

    def timed_post(self, cpu: CPU) -> bool:
        """Account the step ``cpu`` just finished (timed inline path): its stores, then its
        cost (worked out when the step started)."""
        self.fast_post = False
        stores = self.stores
        woke = bool(stores) and self.timed_wake(cpu, stores)
        cpu.clock += self.fast_ns
        return woke

    def timed_irqoff_check(self, cpu: CPU) -> None:
        """A CPU that keeps interrupts off with an interrupt pending for the cost model's
        ``hardlockup_ns`` of virtual time is reported (a hard lockup: nothing but an NMI gets
        in; the kernel's NMI watchdog reports after 10 s, more virtual time than a run can
        afford when the CPU loops step by step)."""
        if cpu.irqs_on or not cpu.apic.irr:
            cpu.irqoff_since = -1
            return
        if cpu.irqoff_since < 0:
            cpu.irqoff_since = cpu.clock
            return
        limit = self.timed.hardlockup_ns
        if cpu.clock - cpu.irqoff_since > limit:
            pend = ", ".join(self.vector_name(v) for v in sorted(cpu.apic.irr))
            raise KernelViolation(
                f"hard LOCKUP: CPU{cpu.id} kept interrupts off for {limit / 1e6:g} ms with {pend} pending, "
                f"in {cpu.where()}",
                kind="hard-lockup",
            )

    def timed_inline(self, cpu: CPU) -> bool:
        """Timed mode, at a park of the CPU the driver is running: account the step just
        finished and, if no other event can come first, run the next step at once without
        going back to the driver (same order as the driver would choose; see timed.py).
        The hot path of timed mode: timed_post(), timed_irqoff_check() and timed_cost()
        written out in line.  (No step budget and no value choices here: a timed run has
        neither.)"""
        stores = self.stores
        if stores:
            woke = self.timed_wake(cpu, stores)
            self.stores = []  # (whoever starts the next step starts a new list anyway)
        else:
            woke = False
        clock = cpu.clock + self.fast_ns
        cpu.clock = clock
        if self.fast_delivery:
            # The step just finished delivered an interrupt (timed.py's handoff): the driver
            # loop makes no hard-lockup check after a delivery, so neither does this.
            self.fast_delivery = False
            if cpu.apic.irr and cpu.irqs_on:
                self.fast_post = False
                return False
        elif cpu.apic.irr:
            if cpu.irqs_on:
                cpu.irqoff_since = -1
                self.fast_post = False
                return False  # an interrupt may be taken first: the driver decides
            self.timed_irqoff_check(cpu)
        elif cpu.irqoff_since >= 0:
            cpu.irqoff_since = -1
        if woke or cpu.wait is not None:
            self.fast_post = False
            return False
        aw = cpu.awaiting
        if aw is not None and not aw():
            self.fast_post = False
            return False
        if clock >= self.fast_horizon:
            # Stopped only because another CPU's step comes first (or at the same time): the
            # driver may find it without a scan (timed.py, quick_next()).
            self.fast_horizon_stop = True
            self.fast_post = False
            return False
        self.now = clock
        self.nsteps += 1
        if self.fast_objects:
            ns = cpu.timed_base
            extra = self.fast_extra
            for key, _kind in cpu.pending:
                e = extra.get(key)
                ns += self.timed_extra(key) if e is None else e
            self.fast_ns = ns
        else:
            self.fast_ns = self.fast_step_ns
        # (fast_post, True on the way in, stays True: the step now starting is the next to
        # account.)
        return True

    def timed_run_cpu(self, cpu: CPU) -> None:
        """Timed mode: run the step the driver set up for ``cpu`` (and what follows it, in line
        or handed over to other CPUs, see timed.py) until a CPU gives control back to the
        driver; then account what that CPU left unaccounted."""
        try:
            self._run_cpu(cpu, None)
        finally:
            last = self.fast
            self.fast = None
        # The CPU that gave control back; a step it left unaccounted (it halted or died, not at
        # a park) is accounted here.  (At a park, timed_inline() accounted it.)
        if last is not None and self.fast_post:
            self.timed_post(last)
            if self.fast_delivery:
                self.fast_delivery = False
            else:
                self.timed_irqoff_check(last)

    def timed_busy(self, cpu: CPU, ns: int, what: str) -> None:
        """busy_loop() in timed mode: the driver completes the step ``ns`` later, or
        delivers interrupts in between and deducts the time already spent."""
        cpu.busy_left = ns
        while True:
            cpu.pending = ()
            cpu.pending_what = what
            if self.fast is cpu:
                # The step that started the loop (or the interrupt's last step) ends here:
                # account it, then hand over to what comes next (timed.py).
                if self.fast_post:
                    self.timed_post(cpu)
                    if self.fast_delivery:
                        self.fast_delivery = False
                    else:
                        self.timed_irqoff_check(cpu)
                cmd = self.timed_handoff(cpu)
            else:
                cmd = self.root.switch()
            if cmd is None:
                break
            # The driver has deducted the time spent so far; the handler's steps are not busy.
            left = cpu.busy_left
            cpu.busy_left = 0
            cpu.take_interrupt(cmd)
            cpu.busy_left = left
        cpu.busy_left = 0

    # -- tracing -----------------------------------------------------------
    def emit(self, cpu: CPU, kind: str, text: str) -> None:
        self.trace.append((kind, cpu.id, tuple(cpu.kstack), len(cpu.ctx) - 1, text, self.nsteps, cpu.irqs_on))

    def emit_on(self, cpu_id: int, kind: str, text: str) -> None:
        self.trace.append((kind, cpu_id, (), 0, text, self.nsteps, True))


def current_cpu() -> CPU:
    cpu = CUR
    if cpu is None:
        raise RuntimeError("a kernel primitive was called outside a CPU (scenario set-up?)")
    return cpu


def sb_flushed(v: Any) -> bool:
    """The guard of a drain: the store it waits for is in memory (CPU.sb_store)."""
    return bool(v == 2)


def sb_buffered(v: Any) -> bool:
    """The guard of a store buffer's step: the store it takes to memory is buffered."""
    return bool(v == 1)


def sched_state(cpu: CPU) -> dict[str, Any]:
    """The CPU's scheduler state (created on first use): its kernel threads, the one running,
    and the folded need-resched flag that set_need_resched() writes."""
    st: dict[str, Any] | None = cpu.local.get("sched")
    if st is None:
        st = {"tasks": [], "current": None, "base": None, "need_resched": False}
        cpu.local["sched"] = st
    return st


def fmt(v: Any) -> str:
    """Format a value the way a kernel person would read it (a struct by its name)."""
    if v is None:
        return "NULL"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int) and abs(v) >= 16:
        return hex(v)
    return repr(v) if isinstance(v, str) else str(v)
