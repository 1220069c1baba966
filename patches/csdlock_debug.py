# SPDX-License-Identifier: GPL-2.0-only
"""csdlock-debug: CONFIG_CSD_LOCK_WAIT_DEBUG=y booted with csdlock_debug=1.

A configuration switch, not a code change: the debug waiter is part of the
v6.17 port (kernel_port/kernel/smp.py, ``__csd_lock_wait`` and
``csd_lock_wait_toolong``).  With it, a CPU spinning in ``csd_lock_wait()``
reports after ``csd_lock_timeout`` (5 s) and, when the target CPU is not
inside any CSD callback, sends the CALL_FUNCTION_SINGLE IPI again -- the
kernel's own repair for an IPI that got lost.  How "after the timeout" is
modelled without time: see the module docstring of kernel/smp.py (a
budgeted per-CPU timeout event, enabled only while that CPU waits).
"""

from __future__ import annotations

from kernel_port.variants import Patch


class csd_lock_wait_debug:
    """No function changes: the configuration selects the debug waiter."""


PATCH = Patch(
    name="csdlock-debug",
    cls=csd_lock_wait_debug,
    title="CONFIG_CSD_LOCK_WAIT_DEBUG with csdlock_debug=1",
    author="Paul E. McKenney (CSD lock diagnostics), Juergen Gross (boot switch)",
    date="2020-06-30",
    kind="config",
    applies_to=("v6.17",),
    upstream="35feb60474bf",
    link="kernel/smp.c: csdlock_debug= boot parameter",
    config={"CSD_LOCK_WAIT_DEBUG": True, "csdlock_debug": 1},
)
