# SPDX-License-Identifier: GPL-2.0-only
"""The corpus matrix, cell by cell: every scenario's expected verdict per variant and memory
model (``sc``, or ``tso`` for an ``expect`` key ``VARIANT@tso``; a key without suffix is under the
scenario's own ``memory_model``)."""

from __future__ import annotations

from typing import Any

import pytest

from kernel_port.matrix import WANT
from kernel_port.scenario import BUG, FIND, OK, scenarios

CELLS = [(name, v, mm, e) for name, sc in scenarios().items() for v, mm, e in sc.cells()]


@pytest.mark.parametrize(
    ("name", "variant", "memory_model", "expected"), CELLS, ids=[f"{n}@{v}@{mm}" for n, v, mm, _ in CELLS]
)
def test_cell(name: str, variant: str, memory_model: str, expected: str, kport: Any) -> None:
    """Through the plugin's ``kport`` fixture: a cell that differs prints its trace (CPU
    columns), its token and the ``--kp-replay=`` option that repeats it."""
    sc = scenarios()[name]
    if expected == FIND:
        recorded = sc.found.get(sc.expect_key(variant, memory_model) or variant)
        assert recorded in (BUG, OK), f"{name} on {variant}: a find cell needs its recorded result in `found`"
        assert sc.__doc__ and variant in sc.__doc__, f"{name}: the docstring must give the reason for {variant}"
        expected = recorded
    r = kport.check(name, variant, expect=expected, memory_model=memory_model)
    assert r.stats.get("memory_model") == memory_model
    if r.strategy not in ("dfs", "replay"):
        return  # a sampling strategy (--kp-strategy) cannot prove OK, nor promise the shortest BUG
    assert r.verdict == WANT[expected]
    if expected == OK and r.strategy == "dfs":
        assert r.complete, f"{name} on {variant}: OK needs a complete search: {r.coverage}"
    elif expected == BUG:
        assert r.token and r.counterexample is not None


def test_each_kernel_scenario_has_a_bug_and_an_ok_cell() -> None:
    for name, sc in scenarios().items():
        if name.startswith("engine."):
            continue  # engine self-tests come in twins instead (scenarios/engine.py)
        # Cells of every memory model count: a scenario whose every sc cell is OK gets its BUG
        # cells from tso (irq_work.busy-flag-race).
        got = {sc.expected(v, mm) for v, mm, _e in sc.cells()}
        assert BUG in got and OK in got, f"{name} proves nothing about patches: {sc.expect}"


def test_engine_twins_cover_both_verdicts() -> None:
    eng = [sc for n, sc in scenarios().items() if n.startswith("engine.")]
    assert {e for sc in eng for e in sc.expect.values()} == {BUG, OK}
