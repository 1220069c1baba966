# SPDX-License-Identifier: GPL-2.0-only
"""Exceptions of the engine.

Two families, never mixed up:

* ``KernelViolation`` and its subclasses are *findings*: something the modelled
  kernel did (BUG_ON fired, a sleeping lock in hard interrupt context, a failed
  scenario assertion).  They end an execution with verdict ``bug``.
* ``KportError`` and its subclasses are *user or tool errors*: a malformed
  token, an unknown scenario, a scenario that does not build.  The command line
  turns them into a one-line message and exit status 2.

Anything else raised while a CPU runs ported or scenario code is an ``error``
verdict (the port or the scenario is broken), never a kernel bug.
"""

from __future__ import annotations


class KportError(Exception):
    """A user-facing error: reported in one line, exit status 2."""


class UsageError(KportError):
    """Bad command-line usage or option value."""


class TokenError(KportError):
    """A replay token that is malformed, truncated, foreign or of another version."""


class ReplayDivergence(KportError):
    """A recorded schedule does not fit the program it is replayed on."""


class KernelViolation(Exception):
    """A property violation found in the modelled kernel (verdict ``bug``)."""

    kind = "assertion"

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind
        self.message = message


class KernelBUG(KernelViolation):
    kind = "BUG"


class KernelWARN(KernelViolation):
    kind = "WARN"


class SleepingInAtomic(KernelViolation):
    kind = "sleeping-in-atomic"


class StepBudgetExceeded(Exception):
    """One execution ran more steps than its budget (verdict ``inconclusive``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
