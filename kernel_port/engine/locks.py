# SPDX-License-Identifier: GPL-2.0-only
"""Spinning and sleeping locks.

``raw_spinlock_t`` is a test-and-set lock word.  Acquiring is one step that
waits until the word is free and takes it (the spin's failed attempts change
nothing, so they are not run); ``raw_spin_trylock`` is one cmpxchg.  A CPU that spins on a lock it
already holds (an interrupt handler taking a lock its own task holds) can
therefore never progress, and the machine reports a deadlock naming the lock.

``spinlock_t`` is a raw spinlock plus preempt_disable() without PREEMPT_RT.
With PREEMPT_RT it is a sleeping lock (rt_mutex based): taking it checks
might_sleep() first -- the check that catches a spinlock_t in hard interrupt
context.  Abstraction: contention on an RT spinlock_t blocks the CPU like a
spin (the task model has no run queue to put the waiter on); the property
checked (may this context sleep?) is the same.
"""

from __future__ import annotations

from . import core
from .memory import Struct, field
from .primitives import (
    await_field,
    cmpxchg_acquire_lock,
    kconfig,
    local_irq_restore,
    local_irq_save,
    might_sleep,
    preempt_disable,
    preempt_enable,
)


class raw_spinlock_t(Struct):
    locked = field(0)
    owner = field(-1, shared=False)


def raw_spin_lock(lock: raw_spinlock_t) -> None:
    # The test-and-set spin reduced to one step: the CPU waits until the
    # word is free and takes it atomically (failed attempts change nothing).
    cpu = core.CUR
    holder = lock.owner
    await_field(
        lock,
        "locked",
        lambda v: v == 0,
        update=lambda v: 1,
        what="raw_spin_lock",
        hint=f"held by CPU{holder}" if holder >= 0 else "",
    )
    lock.owner = cpu.id if cpu is not None else -1


def raw_spin_trylock(lock: raw_spinlock_t) -> bool:
    if cmpxchg_acquire_lock(lock, "locked", 0, 1) != 0:
        return False
    cpu = core.CUR
    lock.owner = cpu.id if cpu is not None else -1
    return True


def raw_spin_unlock(lock: raw_spinlock_t) -> None:
    lock.owner = -1
    lock.locked = 0


def raw_spin_lock_irqsave(lock: raw_spinlock_t) -> bool:
    flags = local_irq_save()
    raw_spin_lock(lock)
    return flags


def raw_spin_unlock_irqrestore(lock: raw_spinlock_t, flags: bool) -> None:
    raw_spin_unlock(lock)
    local_irq_restore(flags)


def raw_spin_lock_irq(lock: raw_spinlock_t) -> None:
    from .primitives import local_irq_disable

    local_irq_disable()
    raw_spin_lock(lock)


def raw_spin_unlock_irq(lock: raw_spinlock_t) -> None:
    from .primitives import local_irq_enable

    raw_spin_unlock(lock)
    local_irq_enable()


class spinlock_t(raw_spinlock_t):
    pass


def spin_lock(lock: spinlock_t) -> None:
    if kconfig("PREEMPT_RT"):
        might_sleep("spin_lock() on PREEMPT_RT (a sleeping lock)")
        raw_spin_lock(lock)
        return
    preempt_disable()
    raw_spin_lock(lock)


def spin_unlock(lock: spinlock_t) -> None:
    raw_spin_unlock(lock)
    if not kconfig("PREEMPT_RT"):
        preempt_enable()


def spin_lock_irqsave(lock: spinlock_t) -> bool:
    if kconfig("PREEMPT_RT"):
        # On RT the irqsave variant neither disables interrupts nor may be
        # taken where sleeping is forbidden.
        might_sleep("spin_lock_irqsave() on PREEMPT_RT (a sleeping lock)")
        raw_spin_lock(lock)
        return True
    flags = local_irq_save()
    preempt_disable()
    raw_spin_lock(lock)
    return flags


def spin_unlock_irqrestore(lock: spinlock_t, flags: bool) -> None:
    raw_spin_unlock(lock)
    if kconfig("PREEMPT_RT"):
        return
    preempt_enable()
    local_irq_restore(flags)
