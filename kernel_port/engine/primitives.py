# SPDX-License-Identifier: GPL-2.0-only
"""Kernel-named primitives for ported code.

Each primitive that touches shared state is exactly one step: it announces the
location(s) it will touch, waits to be scheduled, then performs its access
atomically.  Where C takes an address (``&head->first``), the Python spelling
passes the object and the field name: ``cmpxchg(head, "first", old, new)``.
Plain field reads and writes (``head.first``, ``head.first = x``) are steps too
(see memory.py); ``READ_ONCE(head.first)`` is therefore just that read.

Memory model: sequential consistency.  Barriers (``smp_mb`` and friends) are
recorded in traces so a reader sees where the C has them, but they do not
change what an execution can observe: every step is already globally ordered.
Orderings that only a weak memory model allows are outside this engine (see
docs/engine.md).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from . import core
from .core import ACQUIRE, CPU, FAULTS, HARDIRQ_MASK, NMI_MASK, NMI_VECTOR, SOFTIRQ_MASK, SOFTIRQ_OFFSET, UPDATE, fmt
from .errors import KernelBUG, KernelWARN, SleepingInAtomic
from .memory import Struct, field


def _cpu() -> CPU:
    cpu = core.CUR
    if cpu is None:
        raise RuntimeError("kernel primitive called outside a CPU")
    return cpu


def _label(cpu: CPU, obj: Struct, name: str) -> str:
    return cpu.m.key_label((obj.__dict__["_oid"], name))


# --------------------------------------------------------------------------
# Marked accesses


def READ_ONCE(value: Any) -> Any:
    """``READ_ONCE(obj.field)``: the field read is the step; returns its value."""
    return value


def WRITE_ONCE(obj: Struct, name: str, value: Any) -> None:
    setattr(obj, name, value)


def smp_load_acquire(value: Any) -> Any:
    return value


def smp_store_release(obj: Struct, name: str, value: Any) -> None:
    setattr(obj, name, value)


def _rmw(obj: Struct, name: str, what: str, fn: Callable[[Any], tuple[bool, Any, Any]], kind: Any = True) -> Any:
    """One read-modify-write step.  ``fn(old) -> (store?, new, result)``.

    ``kind`` is the access kind announced (ACQUIRE for a lock attempt, UPDATE for an
    update whose result is not used: it reads nothing a spin loop could wait on)."""
    d = obj.__dict__
    cpu = core.CUR
    if cpu is None:
        store, new, res = fn(d[name])
        if store:
            d[name] = new
        return res
    key = (d["_oid"], name)
    if cpu.m.tso:
        # A LOCK'd instruction (every x86 read-modify-write, a failed cmpxchg too) waits for
        # the store buffer to drain and then acts on memory.
        cpu.sb_drain(f"{what}: LOCK")
        cpu.park(cpu.m.tso_writes(key, kind), what)
    else:
        cpu.park(((key, kind),), what)
    m = cpu.m
    if kind != UPDATE and key not in cpu.reads:
        cpu.reads[key] = m.version.get(key, 0)
        cpu.read_at[key] = len(m.events) - 1
    old = d[name]
    store, new, res = fn(old)
    if store:
        d[name] = new
        m.vals.append((key, old, new))
        m.stores.append(key)
    if cpu.m.tracing:
        lab = cpu.m.key_label(key)
        if store:
            cpu.m.emit(cpu, "step", f"{what}({lab}): {fmt(old)} -> {fmt(new)}")
        else:
            cpu.m.emit(cpu, "step", f"{what}({lab}): {fmt(old)} (unchanged)")
    return res


def cmpxchg(obj: Struct, name: str, old: Any, new: Any) -> Any:
    """Store ``new`` if the field equals ``old``; returns the prior value."""
    return _rmw(obj, name, "cmpxchg", lambda cur: (cur == old, new, cur))


def try_cmpxchg(obj: Struct, name: str, old: Any, new: Any) -> tuple[bool, Any]:
    """C's try_cmpxchg: returns (succeeded, value seen) -- C updates *old in place."""
    return _rmw(obj, name, "try_cmpxchg", lambda cur: (cur == old, new, (cur == old, cur)))  # type: ignore[no-any-return]


def cmpxchg_acquire_lock(obj: Struct, name: str, old: Any, new: Any) -> Any:
    """cmpxchg used to take a lock (trylock): announced as a lock acquisition."""
    return _rmw(obj, name, "cmpxchg", lambda cur: (cur == old, new, cur), kind=ACQUIRE)


def xchg(obj: Struct, name: str, new: Any) -> Any:
    return _rmw(obj, name, "xchg", lambda cur: (True, new, cur))


# --------------------------------------------------------------------------
# atomic_t


class atomic_t(Struct):
    counter = field(0)


def ATOMIC_INIT(i: int, name: str | None = None) -> atomic_t:
    return atomic_t(name=name, counter=i)


def atomic_read(v: atomic_t) -> int:
    return v.counter  # type: ignore[no-any-return]


def atomic_read_acquire(v: atomic_t) -> int:
    return v.counter  # type: ignore[no-any-return]


def atomic_set(v: atomic_t, i: int) -> None:
    v.counter = i


def atomic_set_release(v: atomic_t, i: int) -> None:
    v.counter = i


def atomic_add(i: int, v: atomic_t) -> None:
    _rmw(v, "counter", "atomic_add", lambda c: (True, c + i, None), kind=UPDATE)


def atomic_sub(i: int, v: atomic_t) -> None:
    _rmw(v, "counter", "atomic_sub", lambda c: (True, c - i, None), kind=UPDATE)


def atomic_inc(v: atomic_t) -> None:
    _rmw(v, "counter", "atomic_inc", lambda c: (True, c + 1, None), kind=UPDATE)


def atomic_dec(v: atomic_t) -> None:
    _rmw(v, "counter", "atomic_dec", lambda c: (True, c - 1, None), kind=UPDATE)


def atomic_add_return(i: int, v: atomic_t) -> int:
    return _rmw(v, "counter", "atomic_add_return", lambda c: (True, c + i, c + i))  # type: ignore[no-any-return]


def atomic_inc_return(v: atomic_t) -> int:
    return atomic_add_return(1, v)


def atomic_dec_return(v: atomic_t) -> int:
    return _rmw(v, "counter", "atomic_dec_return", lambda c: (True, c - 1, c - 1))  # type: ignore[no-any-return]


def atomic_dec_and_test(v: atomic_t) -> bool:
    return atomic_dec_return(v) == 0


def atomic_fetch_add(i: int, v: atomic_t) -> int:
    return _rmw(v, "counter", "atomic_fetch_add", lambda c: (True, c + i, c))  # type: ignore[no-any-return]


def atomic_fetch_or(i: int, v: atomic_t) -> int:
    return _rmw(v, "counter", "atomic_fetch_or", lambda c: (True, c | i, c))  # type: ignore[no-any-return]


def atomic_fetch_and(i: int, v: atomic_t) -> int:
    return _rmw(v, "counter", "atomic_fetch_and", lambda c: (True, c & i, c))  # type: ignore[no-any-return]


def atomic_fetch_andnot(i: int, v: atomic_t) -> int:
    return _rmw(v, "counter", "atomic_fetch_andnot", lambda c: (True, c & ~i, c))  # type: ignore[no-any-return]


def atomic_cmpxchg(v: atomic_t, old: int, new: int) -> int:
    return _rmw(v, "counter", "atomic_cmpxchg", lambda c: (c == old, new, c))  # type: ignore[no-any-return]


def atomic_cmpxchg_acquire(v: atomic_t, old: int, new: int) -> int:
    return _rmw(v, "counter", "atomic_cmpxchg_acquire", lambda c: (c == old, new, c))  # type: ignore[no-any-return]


def atomic_try_cmpxchg(v: atomic_t, old: int, new: int) -> tuple[bool, int]:
    return _rmw(v, "counter", "atomic_try_cmpxchg", lambda c: (c == old, new, (c == old, c)))  # type: ignore[no-any-return]


def atomic_xchg(v: atomic_t, new: int) -> int:
    return _rmw(v, "counter", "atomic_xchg", lambda c: (True, new, c))  # type: ignore[no-any-return]


# --------------------------------------------------------------------------
# Barriers: recorded, no effect under sequential consistency.


def _barrier(name: str) -> None:
    """A barrier that orders nothing a TSO machine can reorder: on x86 smp_wmb(), smp_rmb(),
    smp_mb__before/after_atomic() and the acquire/release halves are compiler barriers
    (arch/x86/include/asm/barrier.h, v6.17), so under both models they are not steps."""
    cpu = core.CUR
    if cpu is not None and cpu.m.tracing:
        cpu.m.emit(cpu, "note", f"{name}()")


def smp_mb() -> None:
    """A full barrier.  Under x86-TSO it is a fence (MFENCE, or the LOCK'd add x86 uses for
    smp_mb() since v4.15: the same effect on ordinary memory): one step that waits for the
    store buffer to drain.  Under SC it orders nothing that is not already ordered."""
    cpu = core.CUR
    if cpu is not None and cpu.m.tso:
        cpu.sb_drain("smp_mb")
        return
    _barrier("smp_mb")


def weak_wrmsr_fence() -> None:
    """arch/x86/include/asm/barrier.h, weak_wrmsr_fence() (v6.17): MFENCE; LFENCE before a
    WRMSR that is not serializing (the x2APIC ICR), so that earlier stores are visible before
    the IPI.  The MFENCE half is a drain under TSO; LFENCE (no later instruction starts
    before it completes) orders nothing a TSO machine reorders, and is left out."""
    cpu = core.CUR
    if cpu is not None and cpu.m.tso:
        cpu.sb_drain("weak_wrmsr_fence")
        return
    _barrier("weak_wrmsr_fence")


def smp_wmb() -> None:
    _barrier("smp_wmb")


def smp_rmb() -> None:
    _barrier("smp_rmb")


def smp_mb__before_atomic() -> None:
    _barrier("smp_mb__before_atomic")


def smp_mb__after_atomic() -> None:
    _barrier("smp_mb__after_atomic")


def barrier() -> None:
    pass


# --------------------------------------------------------------------------
# Spinning


def cpu_relax(hint: str = "") -> None:
    """A spin-loop pause: the CPU waits until something it read is written.

    The loop's reads since the previous pause cannot change while nothing writes what they
    read, so the pause is a step that waits (like await_field) until another CPU has stored to
    one of those locations since the loop read it; it then reads them again and the loop goes
    on.  A pause whose locations nobody will ever write is a deadlock.  An interrupt ends the
    wait (the loop reads again afterwards, as on hardware).  ``hint`` says what the CPU waits
    for; a deadlock report quotes it.
    """
    cpu = _cpu()
    cpu.wait_hint = hint
    reads = cpu.reads
    if not reads:
        return
    m = cpu.m
    if m.timed is not None:
        _cpu_relax_timed(cpu, reads)
        return
    version = m.version
    seen = dict(reads)
    read_at = cpu.read_at
    keys = tuple(reads)
    cpu.reads = {}
    cpu.read_at = {}
    cpu.relax_seen = seen  # its store buffer's steps are no news either (Machine.wake_after)
    cpu.awaiting = lambda: any(version.get(k, 0) != v for k, v in seen.items())
    cpu.await_key = None
    cpu.guard = ("relax", cpu.id, tuple((k, read_at.get(k, -1)) for k in keys))
    m.mark_spinner(cpu)
    cpu.await_what = "a store to " + ", ".join(sorted(m.key_label(k) for k in keys))
    cpu.park(tuple((k, False) for k in keys), "cpu_relax")
    cpu.relax_seen = None
    cpu.awaiting = None
    cpu.guard = None
    cpu.wait_hint = ""
    if m.tracing:
        m.emit(cpu, "note", "cpu_relax()")


def _cpu_relax_timed(cpu: CPU, reads: dict[Any, int]) -> None:
    # Timed mode keeps the pause as a step followed by a block until a store (engine/timed.py
    # drives it through CPU.wait); there is no explorer to tell it what enables a step.
    m = cpu.m
    cpu.park(tuple((k, False) for k in reads), "cpu_relax")
    cpu.reads = {}
    cpu.read_at = {}
    version = m.version
    changed = any(version.get(k, 0) != v for k, v in reads.items())
    if not changed:
        cpu.wait = frozenset(reads)
        m.mark_spinner(cpu)


def await_field(
    obj: Struct,
    name: str,
    cond: Callable[[Any], bool],
    *,
    update: Callable[[Any], Any] | None = None,
    what: str = "await",
    hint: str = "",
) -> Any:
    """A spin loop reduced to one step: wait until ``cond(obj.name)``, then
    read it (and, with ``update``, store ``update(value)`` in the same step).

    A spin loop's failed re-reads change nothing, so the machine does not
    run them: the CPU is simply not schedulable while the condition is false
    (the spin-assume / await reduction of GenMC and loom).  A condition that
    can never become true leaves the CPU spinning forever: a deadlock naming
    the location and ``hint``.  Interrupts still arrive while it waits.
    """
    cpu = core.CUR
    d = obj.__dict__
    if cpu is None:
        v = d[name]
        if update is not None:
            d[name] = update(v)
        return v
    m = cpu.m
    key = (d["_oid"], name)
    if m.tso:
        if update is not None:
            cpu.sb_drain(f"{what}: LOCK")  # an acquisition is a LOCK'd read-modify-write
        else:
            # The first read may be the CPU's own buffered store (forwarding); while that store
            # is buffered every read sees it, so a value that does not end the wait is followed
            # by a wait for that store to reach memory, then the wait on memory.  The steps are
            # the same whatever the buffer holds (the store waited for is the CPU's newest to
            # the location, which its own steps decide), so when its buffer's steps run orders
            # nothing this code does.
            from .memory import tso_load

            v = tso_load(cpu, key, d, name, what)
            if cond(v):
                return v
            cpu.sb_wait_for(key, f"{what}: own store")
    label = m.key_label(key)
    cpu.awaiting = lambda: bool(cond(d[name]))
    cpu.await_key = key
    cpu.guard = ("await", key, cond)
    m.mark_spinner(cpu)
    # (A deadlock report adds the value the location ends with: core.Machine.finish.)
    cpu.await_what = f"{label} to change"
    cpu.wait_hint = hint
    # An acquisition (await plus update) reads and writes the location in one step.
    if update is not None and m.tso:
        cpu.park(m.tso_writes(key, ACQUIRE), what)
    else:
        cpu.park(((key, ACQUIRE if update is not None else False),), what)
    cpu.awaiting = None
    cpu.guard = None
    cpu.wait_hint = ""
    v = d[name]
    if update is not None:
        new = update(v)
        d[name] = new
        m.vals.append((key, v, new))
        m.stores.append(key)
        if m.tracing:
            m.emit(cpu, "step", f"{what}({label}): {fmt(v)} -> {fmt(new)}")
    elif m.tracing:
        m.emit(cpu, "step", f"{what}({label}) -> {fmt(v)}")
    return v


def smp_cond_load_acquire(obj: Struct, name: str, cond: Callable[[Any], bool], hint: str = "") -> Any:
    """Spin until ``cond(obj.name)``; returns that value (one step, see await_field)."""
    return await_field(obj, name, cond, what="smp_cond_load_acquire", hint=hint)


def smp_cond_load_relaxed(obj: Struct, name: str, cond: Callable[[Any], bool], hint: str = "") -> Any:
    return await_field(obj, name, cond, what="smp_cond_load_relaxed", hint=hint)


def local_clock() -> int:
    """This CPU's clock in nanoseconds: its virtual clock in timed mode, 0 in untimed mode
    (where only order matters; code comparing times then sees no time pass)."""
    return _cpu().clock


def need_resched() -> bool:
    """TIF_NEED_RESCHED as the CPU sees it (folded into its preemption state): one step
    reading the CPU's run queue, the location a remote wake-up writes."""
    cpu = _cpu()
    cpu.park(((("rq", cpu.id), False),), "need_resched")
    st = cpu.local.get("sched")
    v = bool(st is not None and st["need_resched"])
    if cpu.m.tracing:
        cpu.m.emit(cpu, "step", f"need_resched() -> {'true' if v else 'false'}")
    return v


def set_need_resched(cpu_id: int, value: bool = True) -> None:
    """Set (or clear) CPU ``cpu_id``'s folded need-resched state, as a port's resched_curr()
    or scheduler_ipi() does; part of the caller's step (the caller's own access covers it).
    The engine's preemption at interrupt return and ports' need_resched() read it."""
    core.sched_state(_cpu().m.cpus[cpu_id])["need_resched"] = value


def sched_point() -> None:
    """This CPU passes a scheduling point (a port's abstracted schedule()): runs the machine's
    ``sched_hooks`` (the soft-lockup watchdog's stopper, kport simulate's stall measure).
    Not a step: the hooks make their own."""
    cpu = _cpu()
    for hook in cpu.m.sched_hooks:
        hook(cpu)


def busy_loop(ns: int, what: str = "busy loop") -> None:
    """Code that keeps the CPU busy for ``ns`` nanoseconds without touching shared state
    (a tasklet body's loop, mdelay()).  Untimed: one local step, interruptible at its
    boundaries.  Timed: ``ns`` of the CPU's time, interruptible anywhere in between (an
    interrupt stretches the loop by its own duration, as on hardware)."""
    cpu = _cpu()
    m = cpu.m
    if m.timed is None:
        cpu.park((), what)
        if m.tracing:
            m.emit(cpu, "step", f"{what} ({ns} ns)")
        return
    m.timed_busy(cpu, ns, what)


# --------------------------------------------------------------------------
# Timed mode: waits for a scenario's stand-in of CPUs it does not run (never for ported code).
#
# A stand-in (rt.push-ipi-storm's puller plays 190 CPUs) may skip work that would only repeat
# what it just did; it then waits with these until that work could make a difference.  The
# values are looked at engine-side, so a wait adds no access of its own: the CPU is blocked
# and its clock jumps to the moment it can go, plus one plain step.  The CPUs behind a
# stand-in keep scheduling all along, so kport simulate's out-of-schedule() measure leaves a
# waiting stand-in out, and an interrupt ends the wait (the watchdog's timer then finds the
# stand-in scheduling as before).  The scenario says why skipping is exact for its case.


def timed_wait(obj: Struct, name: str, cond: Callable[[Any], bool], what: str) -> None:
    """Wait until ``cond(obj.name)`` holds (or an interrupt has come in)."""
    cpu = _cpu()
    m = cpu.m
    if m.timed is None:
        raise RuntimeError("timed_wait() is for a scenario's timed form")
    d = obj.__dict__
    if cond(d[name]):
        return
    key = (d["_oid"], name)
    local = cpu.local
    _timed_block(
        cpu,
        lambda: local["timed_wait"] is not True or bool(cond(d[name])),
        key,
        f"{m.key_label(key)} to change",
        what,
    )


def timed_watch() -> int:
    """Start recording what this CPU reads (for timed_wait_for_change()); returns a mark."""
    cpu = _cpu()
    m = cpu.m
    if m.timed is None:
        raise RuntimeError("timed_watch() is for a scenario's timed form")
    if _timed_wait_irq not in m.irq_exit_hooks:
        m.irq_exit_hooks.append(_timed_wait_irq)
    cpu.reads = {}
    return int(cpu.local.get("timed_irqs", 0))


def timed_wait_for_change(mark: int, what: str) -> None:
    """Wait until another CPU stores to something this CPU read since ``mark`` (timed_watch())
    (or an interrupt has come in).  No wait if an interrupt came in since the mark: it
    started a record of its own (a spin loop re-reads after an interrupt), so what was read
    before it is no longer known."""
    cpu = _cpu()
    m = cpu.m
    if cpu.local.get("timed_irqs", 0) != mark:
        return
    reads = cpu.reads
    version = m.version
    if not reads or any(version.get(k, 0) != v for k, v in reads.items()):
        return
    # Nothing changed since the reads: the versions now are the ones they saw (the driver
    # evaluates the condition at every event, so it compares two tuples, no more).
    keys = tuple(reads)
    seen = tuple(map(version.get, keys))
    get = version.get
    local = cpu.local
    _timed_block(
        cpu,
        lambda: local["timed_wait"] is not True or tuple(map(get, keys)) != seen,
        frozenset(keys),
        "a store to what it read",
        what,
    )


def _timed_block(cpu: CPU, ready: Callable[[], bool], key: Any, await_what: str, what: str) -> None:
    """Block ``cpu`` until ``ready()`` (which must also be true once ``cpu.local["timed_wait"]``
    is no longer True: an interrupt ended the wait)."""
    if _timed_wait_irq not in cpu.m.irq_exit_hooks:
        cpu.m.irq_exit_hooks.append(_timed_wait_irq)
    local = cpu.local
    local["timed_wait"] = True
    cpu.awaiting = ready
    # What the driver's run of another CPU checks its stores against (timed_wake()).
    cpu.await_key = key
    cpu.await_what = await_what
    cpu.wait_hint = what
    cpu.park((), what)
    cpu.awaiting = None
    cpu.wait_hint = ""
    local["timed_wait"] = False


def _timed_wait_irq(cpu: CPU) -> None:
    # At each interrupt exit: count it, and end a stand-in's wait.
    local = cpu.local
    local["timed_irqs"] = local.get("timed_irqs", 0) + 1
    if local.get("timed_wait") is True:
        local["timed_wait"] = "interrupted"


def printk(text: str, level: str = "") -> None:
    """Kernel log output: a trace note and an entry in ``m.dmesg``."""
    cpu = core.CUR
    m = cpu.m if cpu is not None else _machine()
    line = f"{level}{text}" if not level else f"[{level}] {text}"
    if m.timed is not None:
        # Timed mode: the kernel's timestamp prefix, in seconds of virtual time.
        ns = cpu.clock if cpu is not None else m.now
        line = f"[{ns // 1_000_000_000:5d}.{ns % 1_000_000_000 // 1000:06d}] {line}"
    m.dmesg.append(line if cpu is None else f"CPU{cpu.id}: {line}")
    if cpu is not None and m.tracing:
        m.emit(cpu, "note", f"printk: {line}")


# --------------------------------------------------------------------------
# Interrupt and preemption state


def local_irq_disable() -> None:
    cpu = _cpu()
    cpu.park(((cpu.ctl, True),), "local_irq_disable")
    cpu.m.irqs_off(cpu)
    if cpu.m.tracing:
        cpu.m.emit(cpu, "step", "local_irq_disable()")


def local_irq_enable() -> None:
    cpu = _cpu()
    cpu.park(((cpu.ctl, True),), "local_irq_enable")
    cpu.irqs_on = True
    if cpu.m.tracing:
        cpu.m.emit(cpu, "step", "local_irq_enable()")


def local_irq_save() -> bool:
    """Returns the flags to restore (True: interrupts were enabled)."""
    cpu = _cpu()
    cpu.park(((cpu.ctl, True),), "local_irq_save")
    flags = cpu.irqs_on
    cpu.m.irqs_off(cpu)
    if cpu.m.tracing:
        cpu.m.emit(cpu, "step", f"local_irq_save() (irqs were {'on' if flags else 'off'})")
    return flags


def local_irq_restore(flags: bool) -> None:
    cpu = _cpu()
    cpu.park(((cpu.ctl, True),), "local_irq_restore")
    if flags:
        cpu.irqs_on = True
    else:
        cpu.m.irqs_off(cpu)
    if cpu.m.tracing:
        cpu.m.emit(cpu, "step", f"local_irq_restore() (irqs {'on' if flags else 'off'})")


def irqs_disabled() -> bool:
    return not _cpu().irqs_on


def preempt_disable() -> None:
    _cpu().preempt_count += 1


def preempt_enable() -> None:
    cpu = _cpu()
    cpu.preempt_count -= 1
    if cpu.preempt_count & 0xFF < 0 or cpu.preempt_count < 0:
        raise KernelBUG(f"CPU{cpu.id}: preempt_count underflow in {cpu.where()}")


def preempt_count() -> int:
    return _cpu().preempt_count


def local_bh_disable() -> None:
    _cpu().preempt_count += 2 * SOFTIRQ_OFFSET


def local_bh_enable() -> None:
    _cpu().preempt_count -= 2 * SOFTIRQ_OFFSET


def softirq_enter() -> None:
    """Enter softirq context on this CPU (what __do_softirq() does first:
    SOFTIRQ_OFFSET in preempt_count, so in_serving_softirq() is true)."""
    cpu = _cpu()
    cpu.ctx.append("softirq")
    cpu.preempt_count += SOFTIRQ_OFFSET
    if cpu.m.tracing:
        cpu.m.emit(cpu, "note", "<softirq>")


def softirq_exit() -> None:
    cpu = _cpu()
    if cpu.ctx[-1] != "softirq":
        raise RuntimeError(f"CPU{cpu.id}: softirq_exit() outside softirq context")
    cpu.ctx.pop()
    cpu.preempt_count -= SOFTIRQ_OFFSET
    if cpu.m.tracing:
        cpu.m.emit(cpu, "note", "</softirq>")


def in_serving_softirq() -> bool:
    return bool(_cpu().preempt_count & SOFTIRQ_OFFSET)


def in_hardirq() -> bool:
    return bool(_cpu().preempt_count & HARDIRQ_MASK)


in_irq = in_hardirq


def in_nmi() -> bool:
    return bool(_cpu().preempt_count & NMI_MASK)


def in_softirq() -> bool:
    return bool(_cpu().preempt_count & SOFTIRQ_MASK)


def in_interrupt() -> bool:
    return bool(_cpu().preempt_count & (HARDIRQ_MASK | SOFTIRQ_MASK | NMI_MASK))


def in_task() -> bool:
    return not in_interrupt()


def smp_processor_id() -> int:
    return _cpu().id


raw_smp_processor_id = smp_processor_id


def nr_cpu_ids() -> int:
    return _cpu().m.ncpus


def cpu_online(cpu: int) -> bool:
    """Test a CPU's bit in cpu_online_mask (a read step of ``online[cpu]``)."""
    c = core.CUR
    if c is None:
        return _machine().cpu_online[cpu]
    key = ("online", cpu)
    c.park(((key, False),), "cpu_online")
    if key not in c.reads:
        c.reads[key] = c.m.version.get(key, 0)
        c.read_at[key] = len(c.m.events) - 1
    v = c.m.cpu_online[cpu]
    if c.m.tracing:
        c.m.emit(c, "step", f"cpu_online({cpu}) -> {fmt(v)}")
    return v


def cpu_is_offline(cpu: int) -> bool:
    return not cpu_online(cpu)


def set_cpu_online(cpu: int, online: bool) -> None:
    """Set or clear a CPU's bit in cpu_online_mask (a write step)."""
    c = core.CUR
    if c is None:
        _machine().cpu_online[cpu] = online
        return
    key = ("online", cpu)
    c.park(((key, True),), "set_cpu_online")
    c.m.cpu_online[cpu] = online
    c.m.stores.append(key)
    if c.m.tracing:
        c.m.emit(c, "step", f"set_cpu_online({cpu}, {fmt(online)})")


def cpu_die() -> None:
    """The calling CPU dies (the end of the offline path): its APIC state is
    discarded and it never runs again unless brought up with cpu_boot()."""
    cpu = _cpu()
    m = cpu.m
    if m.tso:
        cpu.sb_drain("cpu_die")  # a CPU going offline leaves nothing in its store buffer
    cpu.park(((cpu.ctl, True), (cpu.apic_key, True)), "cpu_die")
    m.stores.append(cpu.ctl)
    lost = sorted(cpu.apic.irr)
    cpu.apic.reset()
    cpu.dead = True
    cpu.irqs_on = False
    m.stores.append(cpu.apic_key)
    if m.tracing:
        names = ", ".join(m.vector_name(v) for v in lost)
        m.emit(cpu, "step", f"CPU{cpu.id} dead" + (f" (pending {names} discarded)" if lost else ""))
    m.root.switch()
    raise RuntimeError(f"CPU{cpu.id} ran after it died")


def cpu_boot(target: int, entry: Callable[[], Any] | None = None) -> None:
    """Bring dead CPU ``target`` online again: empty APIC, interrupts on; it
    runs ``entry`` (then idles) when first scheduled.  Marking it online in
    cpu_online_mask is the caller's job, as in the kernel's bring-up path."""
    cpu = _cpu()
    m = cpu.m
    t = m.cpus[target]
    # INIT/SIPI resets the target wherever it is; the model waits until it
    # has reached cpu_die() (the end of its offline path).
    cpu.awaiting = lambda: t.dead
    cpu.await_key = None  # freed by the target's death, not by a store
    cpu.guard = ("boot", target)
    m.mark_spinner(cpu)
    cpu.await_what = f"CPU{target} to finish dying"
    cpu.park(((t.ctl, True), (t.apic_key, True)), "cpu_boot")
    cpu.awaiting = None
    cpu.guard = None
    t.boot(entry)
    m.stores.append(t.apic_key)
    if m.tracing:
        m.emit(cpu, "step", f"boot CPU{target}")


def _machine() -> core.Machine:
    from .memory import building

    return building()


def kconfig(name: str) -> bool:
    """IS_ENABLED(CONFIG_<name>) for the machine's configuration."""
    c = core.CUR
    m = c.m if c is not None else _machine()
    return bool(m.config.get(name, False))


# --------------------------------------------------------------------------
# BUG/WARN and sleeping checks


def BUG_ON(cond: Any) -> None:
    if cond:
        cpu = _cpu()
        raise KernelBUG(f"kernel BUG on CPU{cpu.id} in {cpu.where()}")


def BUG() -> None:
    BUG_ON(True)


def WARN_ON(cond: Any, message: str = "") -> bool:
    if cond:
        cpu = _cpu()
        text = f"WARNING on CPU{cpu.id} in {cpu.where()}" + (f": {message}" if message else "")
        _warn(cpu, text)
    return bool(cond)


def WARN_ON_ONCE(cond: Any, message: str = "") -> bool:
    if cond:
        cpu = _cpu()
        f = sys._getframe(1)
        site = (f.f_code.co_filename, f.f_lineno)
        if site not in cpu.m.warned_once:
            cpu.m.warned_once.add(site)
            text = f"WARNING on CPU{cpu.id} in {cpu.where()}" + (f": {message}" if message else "")
            _warn(cpu, text)
    return bool(cond)


def _warn(cpu: CPU, text: str) -> None:
    cpu.m.warnings.append(text)
    if cpu.m.tracing:
        cpu.m.emit(cpu, "note", text)
    if cpu.m.warn_fatal:
        raise KernelWARN(text)


def might_sleep(what: str = "might_sleep()") -> None:
    """Report a sleeping operation in atomic context (hardirq, irqs off, preempt off)."""
    cpu = _cpu()
    reasons = []
    if cpu.preempt_count & NMI_MASK:
        reasons.append("in NMI")
    elif cpu.preempt_count & HARDIRQ_MASK:
        reasons.append("in hard interrupt context")
    if not cpu.irqs_on:
        reasons.append("with interrupts disabled")
    if cpu.preempt_count & 0xFF:
        reasons.append(f"with preemption disabled (preempt_count {cpu.preempt_count:#x})")
    if reasons:
        raise SleepingInAtomic(
            f"BUG: sleeping function called from invalid context on CPU{cpu.id}: "
            f"{what} in {cpu.where()} " + ", ".join(reasons)
        )


# --------------------------------------------------------------------------
# Local APIC


def apic_send_IPI(target: int, vector: int) -> None:
    """Send ``vector`` to CPU ``target`` (one step; a lost-IPI fault may drop it).

    Setting a bit in the target's IRR commutes with every other send to it (the IRR
    is a set; "coalesced" only names which send came second), so the step is an
    UPDATE of the target's APIC: dependent with its interrupt entry, EOI and reads."""
    cpu = _cpu()
    m = cpu.m
    key = ("apic", target)
    if m.tso and m.config.get("APIC_MODE", "xapic") == "xapic":
        # An xAPIC ICR write is an uncached MMIO store: it waits for the earlier stores
        # (SDM vol. 3, 11.12.3 and 8.2.5).  In x2APIC mode the ICR is an MSR and WRMSR to
        # it is not serializing: the IPI may go out first unless the sender fences
        # (weak_wrmsr_fence()).
        cpu.sb_drain("send_IPI: xAPIC ICR write")
    if "lost-ipi" in m.fault_kinds and m.faults and (m.lossy_vectors is None or vector in m.lossy_vectors):
        # This send may spend the fault budget (core.FAULTS).
        cpu.park(((key, UPDATE), (FAULTS, UPDATE)), "send_IPI")
    else:
        cpu.park(((key, UPDATE),), "send_IPI")
    result = m.send_ipi(cpu, target, vector)
    if m.tracing:
        kind = "fault" if result == "LOST" else "step"
        text = f"send {m.vector_name(vector)} -> CPU{target}"
        m.emit(cpu, kind, f"IPI LOST: {text}" if result == "LOST" else f"{text} ({result})")
    if result != "LOST":
        m.stores.append(key)
        if result in ("sent", "coalesced"):
            # The bit this send sets (already set if it coalesced: in another order it is the
            # one that sets it).
            m.vals.append((key, 0, 1 << vector))


def apic_send_IPI_self(vector: int) -> None:
    apic_send_IPI(_cpu().id, vector)


def apic_eoi() -> None:
    cpu = _cpu()
    cpu.park(((cpu.apic_key, True),), "apic_eoi")
    v = cpu.apic.eoi()
    cpu.m.stores.append(cpu.apic_key)
    if cpu.m.tracing:
        cpu.m.emit(cpu, "step", f"apic_eoi() (retires {cpu.m.vector_name(v) if v is not None else 'nothing'})")


def apic_irr_pending(target: int, vector: int) -> bool:
    """Whether ``vector`` is pending in CPU ``target``'s IRR (a read step)."""
    cpu = _cpu()
    key = ("apic", target)
    cpu.park(((key, False),), "apic_read_irr")
    if key not in cpu.reads:
        cpu.reads[key] = cpu.m.version.get(key, 0)
        cpu.read_at[key] = len(cpu.m.events) - 1
    return vector in cpu.m.cpus[target].apic.irr


def safe_halt() -> None:
    _cpu().m.safe_halt()


def raise_nmi(target: int) -> None:
    apic_send_IPI(target, NMI_VECTOR)


__all__ = sorted(
    n for n, v in list(globals().items()) if not n.startswith("_") and getattr(v, "__module__", None) == __name__
) + ["in_irq", "raw_smp_processor_id"]
