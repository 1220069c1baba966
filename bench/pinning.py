# SPDX-License-Identifier: GPL-2.0-only
"""Pinning a bench to one core (the DESIGN goals are for one core of a 2-core machine)."""

from __future__ import annotations

import os
import shutil
import sys


def pin_to_one_core() -> str:
    """Re-exec under taskset -c 0 unless pinned already; returns a note."""
    try:
        aff = os.sched_getaffinity(0)
    except AttributeError:
        return "not pinned (no sched_getaffinity on this platform)"
    if len(aff) == 1:
        return f"pinned to CPU {next(iter(aff))} (of {os.cpu_count()} online)"
    ts = shutil.which("taskset")
    if ts is None:
        return f"NOT pinned: taskset is not installed; ran on {len(aff)} cores (single-threaded anyway)"
    os.execv(ts, [ts, "-c", "0", sys.executable, *sys.argv])
    raise AssertionError("unreachable")
