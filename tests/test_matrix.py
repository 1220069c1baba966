# SPDX-License-Identifier: GPL-2.0-only
"""The corpus matrix, cell by cell: every scenario's expected verdict per variant."""

from __future__ import annotations

import pytest

from kernel_port.matrix import WANT, run_cell
from kernel_port.scenario import BUG, FIND, OK, scenarios

CELLS = [(name, v, e) for name, sc in scenarios().items() for v, e in sc.expect.items()]


@pytest.mark.parametrize(("name", "variant", "expected"), CELLS, ids=[f"{n}@{v}" for n, v, _ in CELLS])
def test_cell(name: str, variant: str, expected: str) -> None:
    sc = scenarios()[name]
    r = run_cell(sc, variant)
    if expected == FIND:
        recorded = sc.found.get(variant)
        assert recorded in (BUG, OK), f"{name} on {variant}: a find cell needs its recorded result in `found`"
        assert sc.__doc__ and variant in sc.__doc__, f"{name}: the docstring must give the reason for {variant}"
        expected = recorded
    assert r.verdict == WANT[expected], f"{name} on {variant}: expected {expected}, got {r.verdict}: {r.message}"
    if expected == OK:
        assert r.complete
    else:
        assert r.token and r.counterexample is not None


def test_each_kernel_scenario_has_a_bug_and_an_ok_cell() -> None:
    for name, sc in scenarios().items():
        if name.startswith("engine."):
            continue  # engine self-tests come in twins instead (scenarios/engine.py)
        got = {sc.expected(v) for v in sc.expect}
        assert BUG in got and OK in got, f"{name} proves nothing about patches: {sc.expect}"


def test_engine_twins_cover_both_verdicts() -> None:
    eng = [sc for n, sc in scenarios().items() if n.startswith("engine.")]
    assert {e for sc in eng for e in sc.expect.values()} == {BUG, OK}
