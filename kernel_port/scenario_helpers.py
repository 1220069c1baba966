# SPDX-License-Identifier: GPL-2.0-only
"""Helpers for scenario authors: calls that differ between trees, queue inspection, WARN expectations.

Scenario modules are loaded by path under a private prefix, so one scenario module cannot
import another; what several scenarios (or an outside author's) need lives here, in the
installed package::

    from kernel_port.scenario_helpers import call_async, call_queue, expect_warn, lists_holding

Everything here that *looks* at kernel state does it engine-side: it reads with
``Struct.raw()`` and follows pointers without making steps, so it may be used in
``m.eventually`` / ``m.at_end`` checks and in CPU code alike (in CPU code it is invisible to
the explorer: it must not decide what the CPU does next, only what the scenario asserts).

What each helper relies on
--------------------------
* ``call_async``: the caller-owned-CSD API of each tree.  v3.10 has only
  ``__smp_call_function_single(cpu, csd, wait)`` (the port's ``_smp_call_function_single``);
  v3.15 (tree ``pre-8d056c48``) onward have ``smp_call_function_single_async(cpu, csd)``.
* ``call_queue``: ``call_single_queue[cpu]`` is a tuple of CSDs in a ``list`` field on v3.10
  (trees/v3_10.py) and an llist (``first``, nodes with ``next`` and ``owner``) from v3.14 on.
* ``expect_warn``: the engine records every WARN_ON/WARN_ON_ONCE that fires by appending its
  text to ``m.warnings`` (engine/primitives.py, ``_warn``), before it raises under
  ``warn_fatal``.  A forbidding expectation replaces that list by one whose ``append`` checks
  the text; a requiring one is an ``m.at_end`` check.  (If the engine ever records warnings
  another way, tests/test_scenario_helpers.py fails.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .engine.core import Machine
from .engine.errors import KernelViolation, KernelWARN

__all__ = [
    "call_async",
    "call_queue",
    "call_queue_empty",
    "expect_warn",
    "lists_holding",
    "llist_chain",
    "warnings",
]

# How many nodes a chain walk follows before it calls the list corrupted (a node linked
# onto two lists can make a chain loop back on itself).
MAX_CHAIN = 10_000


# -- calls ----------------------------------------------------------------------------------


def call_async(k: Any, cpu: int, csd: Any) -> int:
    """Queue the caller-owned ``csd`` (its func and info set) to run on ``cpu``, not waiting.

    ``__smp_call_function_single(cpu, csd, 0)`` on v3.10 (returns nothing: 0 here),
    ``smp_call_function_single_async(cpu, csd)`` on every later tree (its error code).
    Call it from CPU code; the ported function does the steps.
    """
    if hasattr(k, "_smp_call_function_single"):  # only v3.10 has the old API
        k._smp_call_function_single(cpu, csd, 0)
        return 0
    return k.smp_call_function_single_async(cpu, csd)  # type: ignore[no-any-return]


# -- queues -----------------------------------------------------------------------------------


class CorruptList(KernelViolation):
    """A chain walk met a loop: some node was linked onto a list twice."""

    kind = "assertion"


def llist_chain(head: Any) -> list[Any]:
    """The nodes of an ``llist_head`` in chain order (newest first), engine-side.

    Raises :class:`CorruptList` (a kernel violation, verdict ``bug``) if the chain loops.
    """
    out: list[Any] = []
    seen: set[int] = set()
    node = head.raw("first")
    while node is not None:
        if id(node) in seen or len(out) >= MAX_CHAIN:
            raise CorruptList(f"{head!r} is corrupted: its chain comes back to {node!r}")
        seen.add(id(node))
        out.append(node)
        node = node.raw("next")
    return out


def call_queue(k: Any, cpu: int) -> list[Any]:
    """What waits on ``cpu``'s call_single_queue, oldest first: the CSDs (or irq_works) queued
    there and not yet taken by a flush.  Engine-side; works on every tree."""
    q = k.call_single_queue[cpu]
    if "list" in q.__dict__:  # v3.10: a tuple under the queue's spinlock
        return list(q.raw("list"))
    return [node.owner for node in reversed(llist_chain(q))]


def call_queue_empty(k: Any, cpu: int) -> bool:
    """Whether ``cpu``'s call_single_queue is empty (engine-side)."""
    q = k.call_single_queue[cpu]
    if "list" in q.__dict__:
        return not q.raw("list")
    return q.raw("first") is None


def lists_holding(node: Any, heads: dict[str, Any]) -> list[str]:
    """The names (keys of ``heads``) of the llists whose chain reaches ``node``.

    ``heads`` maps a name to an ``llist_head``, e.g. ``{"lazy_list[1]": k.lazy_list[1],
    "call_single_queue[1]": k.call_single_queue[1]}``; ``node`` is an ``llist_node``
    (``work.node.llist``).  A node on two lists at once has been linked twice.  A chain that
    loops counts as holding the node if the node is met before the loop closes.
    """
    found = []
    for name, head in heads.items():
        seen: set[int] = set()
        n = head.raw("first")
        while n is not None and id(n) not in seen and len(seen) < MAX_CHAIN:
            if n is node:
                found.append(name)
                break
            seen.add(id(n))
            n = n.raw("next")
    return found


# -- WARN expectations -----------------------------------------------------------------------


def warnings(m: Machine) -> list[str]:
    """Every WARN_ON/WARN_ON_ONCE that fired so far in this execution, in order
    (``"WARNING on CPU2 in <function>: <message>"``)."""
    return list(m.warnings)


class _CheckedWarnings(list):  # type: ignore[type-arg]
    """``m.warnings`` with forbidden patterns: appending a matching text is a violation."""

    def __init__(self, items: Iterable[str]) -> None:
        super().__init__(items)
        self.forbidden: list[tuple[re.Pattern[str], str]] = []

    def append(self, text: str) -> None:
        super().append(text)
        for pat, why in self.forbidden:
            if pat.search(text):
                raise KernelWARN(f"{text} (a warning this scenario says must not fire{': ' + why if why else ''})")


def expect_warn(m: Machine, match: str, *, fires: bool, why: str = "") -> None:
    """State that a WARN whose text matches the regular expression ``match`` must fire
    (``fires=True``) or must not fire (``fires=False``) in every execution.

    * must not fire: the WARN is a violation (kind ``WARN``) at the step it fires, with the
      trace up to there -- like the scenario-wide ``warn_fatal``, but for this message only;
      other WARNs are still only recorded.
    * must fire: checked when the execution is complete (an ``m.at_end`` check, kind
      ``assertion``): an execution that ends without it is a violation.

    Call it in ``setup(k, m)``.  ``why`` is quoted in the verdict.
    """
    pat = re.compile(match)
    if fires:

        def check() -> None:
            if not any(pat.search(w) for w in m.warnings):
                raise KernelViolation(
                    f"no WARN matching {match!r} fired{' (' + why + ')' if why else ''}; "
                    f"warnings: {list(m.warnings) or 'none'}"
                )

        m.at_end(check)
        return
    if not isinstance(m.warnings, _CheckedWarnings):
        m.warnings = _CheckedWarnings(m.warnings)
    m.warnings.forbidden.append((pat, why))
