# SPDX-License-Identifier: GPL-2.0-only
"""request_irq() / free_irq() and the synchronisation between them.

Ports kernel/irq/manage.c of Linux v6.17 (read at Kingxukai/linux 9b44fff6,
v6.17-rc; line numbers checked against the hunk header of a 2025 patch on
that file) -- the free and request sequences an x86 PCI/MSI interrupt goes
through.

Free (``__free_irq``), in this order:

1. under ``request_mutex`` and ``desc->lock``: unlink the action; if it was
   the last one, ``irq_shutdown()`` -- on MSI that *masks* the interrupt;
2. drop ``desc->lock``; ``__synchronize_irq()``: wait until no CPU runs the
   handler (IRQD_IRQ_INPROGRESS), then ask the chip whether the interrupt is
   still active.  On x86 neither the PCI/MSI chip nor the vector domain's
   ``lapic_controller`` can answer (no ``irq_get_irqchip_state``), so an
   interrupt sitting in another CPU's APIC IRR -- raised before the mask took
   effect, held back because that CPU has interrupts disabled -- is
   **invisible** here;
3. under ``desc->lock`` again: ``irq_domain_deactivate_irq()`` -> empty MSI
   message, then ``x86_vector_deactivate`` -> slot = VECTOR_SHUTDOWN and the
   vector back to the matrix.

Request (``__setup_irq``), in one ``desc->lock`` section under
``request_mutex``: ``irq_activate()`` (vector from the matrix -- the same one
-- and slot = descriptor, then the MSI message), ``irq_startup()`` (unmask,
replay a pending edge), then publish the action.  A CPU that sees the new
descriptor in the slot spins on ``desc->lock`` in ``handle_edge_irq`` until
all of that is done.

What is abstracted
------------------
* Threaded handlers, shared interrupts, nested threads, bus locks, proc
  entries, PM and module references, affinity notifiers and the
  IRQF_TRIGGER handling are not modelled; requesting a shared or threaded
  interrupt is an error, and a second action on a busy line gets -EBUSY.
* ``wait_event(desc->wait_for_threads, ...)`` is a spin on threads_active,
  which no modelled code raises.
* ``__irq_get_irqchip_state`` walks the chip hierarchy as in C; no modelled
  chip implements the callback, which is exactly the x86 situation.
"""

from __future__ import annotations

from typing import Any

from ...engine import (
    WARN_ON,
    atomic_read,
    cpu_relax,
    in_interrupt,
    kfunc,
    raw_spin_lock_irqsave,
    raw_spin_unlock_irqrestore,
)
from .irqdesc import (
    EBUSY,
    EINVAL,
    ENOSYS,
    ENOTCONN,
    IRQCHIP_STATE_ACTIVE,
    IRQF_NO_AUTOEN,
    IRQF_SHARED,
    IRQS_AUTODETECT,
    IRQS_ONESHOT,
    IRQS_SPURIOUS_DISABLED,
    IRQS_WAITING,
    irq_data,
    irq_desc,
    irqaction,
    irqd_irq_inprogress,
    irqd_set_inprogress,
    mutex_lock,
    mutex_unlock,
    no_irq_chip,
)

MANAGE_C = "kernel/irq/manage.c"
INTERRUPT_H = "include/linux/interrupt.h"

IRQ_NOTCONNECTED = 1 << 31
ENODEV = 19


class manage_c:
    """Port of kernel/irq/manage.c (free/request/synchronize)."""

    OWN_INITS: tuple[str, ...] = ()

    # -- synchronisation ---------------------------------------------------------

    @kfunc(MANAGE_C, name="__synchronize_hardirq", line=40)
    def _synchronize_hardirq(self, desc: irq_desc, sync_chip: bool) -> None:
        irqd = desc.irq_data
        while True:
            # Lockless first: wait while a CPU runs the handler.
            while irqd_irq_inprogress(desc.irq_data):
                cpu_relax("the interrupt handler to finish on another CPU")
            # Then check again under desc->lock (guard: the loop body).
            flags = raw_spin_lock_irqsave(desc.lock)
            inprogress = irqd_irq_inprogress(desc.irq_data)
            # Ask the chip whether the interrupt is still in flight; its
            # answer is ignored when it cannot tell.
            if not inprogress and sync_chip:
                _err, state = self._irq_get_irqchip_state(irqd, IRQCHIP_STATE_ACTIVE)
                inprogress = inprogress or state
            raw_spin_unlock_irqrestore(desc.lock, flags)
            if not inprogress:
                break

    @kfunc(MANAGE_C, name="__synchronize_irq", line=108)
    def _synchronize_irq(self, desc: irq_desc) -> None:
        self._synchronize_hardirq(desc, True)
        # wait_event(desc->wait_for_threads, !threads_active)
        while atomic_read(desc.threads_active):
            cpu_relax("the interrupt threads to finish")

    @kfunc(MANAGE_C, line=133)
    def synchronize_irq(self, irq: int) -> None:
        desc = self.irq_to_desc(irq)
        if desc is not None:
            self._synchronize_irq(desc)

    @kfunc(MANAGE_C, name="__irq_get_irqchip_state", show=True)
    def _irq_get_irqchip_state(self, data: irq_data, which: int) -> tuple[int, bool]:
        """Returns (error, state); C returns the error and fills *state."""
        err = -EINVAL
        state = False
        while data is not None:
            chip = data.chip
            if WARN_ON(chip is None):
                return -ENODEV, state
            if chip.irq_get_irqchip_state is not None:
                break
            data = data.parent_data
        if data is not None:
            err, state = data.chip.irq_get_irqchip_state(data, which)
        return err, state

    # -- request ---------------------------------------------------------------------

    @kfunc(MANAGE_C, name="__setup_irq", line=1436)
    def _setup_irq(self, irq: int, desc: irq_desc | None, new: irqaction) -> int:
        if desc is None:
            return -EINVAL
        if desc.irq_data.chip is no_irq_chip:
            return -ENOSYS
        new.irq = irq
        if desc.nested_thread or new.thread_fn is not None:
            raise NotImplementedError("threaded interrupts are not modelled")

        # request_mutex serialises request/free; desc->lock the hard interrupt.
        mutex_lock(desc.request_mutex)
        # chip_bus_lock(desc): PCI/MSI has no bus lock.
        if desc.action is None and desc.irq_data.chip.irq_request_resources is not None:
            raise NotImplementedError("irq_request_resources is not modelled")
        flags = raw_spin_lock_irqsave(desc.lock)
        old = desc.action
        shared = False
        if old is not None:
            # Sharing is not modelled: two users of one line do not match.
            ret = -EBUSY
            raw_spin_unlock_irqrestore(desc.lock, flags)
            mutex_unlock(desc.request_mutex)
            return ret
        if not shared:
            ret = self.irq_activate(desc)
            if ret:
                raw_spin_unlock_irqrestore(desc.lock, flags)
                mutex_unlock(desc.request_mutex)
                return ret  # type: ignore[no-any-return]
            desc.istate = desc.istate & ~(IRQS_AUTODETECT | IRQS_SPURIOUS_DISABLED | IRQS_ONESHOT | IRQS_WAITING)
            irqd_set_inprogress(desc.irq_data, False)
            if not (new.flags & IRQF_NO_AUTOEN) and not desc.noautoen:
                self.irq_startup(desc, True, False)  # IRQ_RESEND, IRQ_START_COND
            else:
                desc.depth = 1
        # Publish the action, still under desc->lock.
        desc.action = new
        raw_spin_unlock_irqrestore(desc.lock, flags)
        # chip_bus_sync_unlock(desc)
        mutex_unlock(desc.request_mutex)
        return 0

    @kfunc(MANAGE_C, line=2066)
    def request_threaded_irq(
        self, irq: int, handler: Any, thread_fn: Any, irqflags: int, devname: str, dev_id: Any
    ) -> int:
        if irq == IRQ_NOTCONNECTED:
            return -ENOTCONN
        if (irqflags & IRQF_SHARED) and dev_id is None:
            return -EINVAL
        if irqflags & IRQF_SHARED:
            raise NotImplementedError("shared interrupts are not modelled")
        desc = self.irq_to_desc(irq)
        if desc is None:
            return -EINVAL
        if handler is None:
            if thread_fn is None:
                return -EINVAL
            raise NotImplementedError("threaded interrupts are not modelled")
        action = irqaction(
            name=f"irqaction({devname})", handler=handler, thread_fn=thread_fn, flags=irqflags, dev_id=dev_id
        )
        action.__dict__["name"] = devname
        # irq_chip_pm_get(&desc->irq_data): runtime PM is not modelled.
        retval = self._setup_irq(irq, desc, action)
        return retval  # type: ignore[no-any-return]

    @kfunc(INTERRUPT_H, show=True)
    def request_irq(self, irq: int, handler: Any, flags: int, name: str, dev: Any) -> int:
        return self.request_threaded_irq(irq, handler, None, flags, name, dev)

    # -- free --------------------------------------------------------------------------

    @kfunc(MANAGE_C, name="__free_irq", line=1808)
    def _free_irq(self, desc: irq_desc, dev_id: Any) -> irqaction | None:
        irq = desc.irq
        WARN_ON(in_interrupt(), f"Trying to free IRQ {irq} from IRQ context!")
        mutex_lock(desc.request_mutex)
        # chip_bus_lock(desc)
        flags = raw_spin_lock_irqsave(desc.lock)
        # Find the action of this dev_id.
        action = desc.action
        prev = None
        while True:
            if action is None:
                WARN_ON(True, f"Trying to free already-free IRQ {irq}")
                raw_spin_unlock_irqrestore(desc.lock, flags)
                mutex_unlock(desc.request_mutex)
                return None
            if action.dev_id is dev_id:
                break
            prev = action
            action = action.next
        # Unlink it.
        nxt = action.next
        if prev is None:
            desc.action = nxt
        else:
            prev.next = nxt
        # Last action gone: only shut down (mask) now; deactivate after the
        # synchronisation below.
        if desc.action is None:
            self.irq_shutdown(desc)
        raw_spin_unlock_irqrestore(desc.lock, flags)
        # chip_bus_sync_unlock(desc)
        self._synchronize_irq(desc)
        if desc.action is None:
            # chip_bus_lock(desc); scoped_guard(raw_spinlock_irqsave, &desc->lock)
            flags = raw_spin_lock_irqsave(desc.lock)
            self.irq_domain_deactivate_irq(desc.irq_data)
            raw_spin_unlock_irqrestore(desc.lock, flags)
            # irq_release_resources(desc); chip_bus_sync_unlock(desc)
        mutex_unlock(desc.request_mutex)
        return action

    @kfunc(MANAGE_C, line=1955, show=True)
    def free_irq(self, irq: int, dev_id: Any) -> str | None:
        desc = self.irq_to_desc(irq)
        if desc is None:
            return None
        action = self._free_irq(desc, dev_id)
        if action is None:
            return None
        devname = action.name
        return devname  # type: ignore[no-any-return]


PORT = manage_c
