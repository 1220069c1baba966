# SPDX-License-Identifier: GPL-2.0-only
"""The SPIN peer's Promela models give the corpus verdicts (bench/spin/*.pml).

Runs SPIN itself (generation, gcc, pan) on one BUG and one OK cell of each model, about a
second of gcc per cell; skipped when spin or gcc is not installed.  The timings and the
comparison with kport are bench/spin_peer.py's job, not a test's.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    shutil.which("spin") is None or shutil.which("gcc") is None, reason="spin or gcc not installed"
)


def _peer() -> Any:
    spec = importlib.util.spec_from_file_location("spin_peer", ROOT / "bench" / "spin_peer.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("spin_peer", mod)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize(
    ("model", "defines", "verdict", "error"),
    [
        ("irq_work_lost_self_ipi.pml", [], "bug", "assertion violated"),
        ("irq_work_lost_self_ipi.pml", ["-DTICK_RERAISE"], "ok", None),
        ("smp_lost_ipi_waiter.pml", [], "bug", "invalid end state"),
        ("smp_lost_ipi_waiter.pml", ["-DCSDLOCK_DEBUG"], "ok", None),
    ],
)
def test_model_verdict(model: str, defines: list[str], verdict: str, error: str | None) -> None:
    peer = _peer()
    tools = {"spin": shutil.which("spin"), "gcc": shutil.which("gcc")}
    res = peer.spin_pipeline(tools, model, defines, ltl=False, replay=True)
    assert res["verdict"] == verdict, res
    if error is None:
        assert res["errors"] == 0 and res["search_completed"] and res["states_stored"] > 0
    else:
        assert res["error"].startswith(error)
        # The counterexample goes through the lost IPI, as kport's does.
        assert any("IPI LOST" in line for line in res["trail_events"]), res["trail_events"]


def test_parse_pan_verdicts() -> None:
    peer = _peer()
    bug = "pan:1: invalid end state (at depth 10)\nState-vector 36 byte, depth reached 11, errors: 1\n"
    bug += "        7 states, stored\n        0 states, matched\n        7 transitions (= stored+matched)\n"
    r = peer.parse_pan(bug)
    assert (r["verdict"], r["error"], r["error_depth"], r["states_stored"], r["transitions"]) == (
        "bug",
        "invalid end state",
        10,
        7,
        7,
    )
    ok = "State-vector 52 byte, depth reached 135, errors: 0\n     1122 states, stored\n"
    assert peer.parse_pan(ok)["verdict"] == "ok"
    assert peer.parse_pan(ok + "error: max search depth too small\n")["verdict"] == "inconclusive"
    assert peer.parse_pan("garbage")["verdict"] == "error"
