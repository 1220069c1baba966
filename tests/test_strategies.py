# SPDX-License-Identifier: GPL-2.0-only
"""The sampling strategies find the seeded bugs; hypothesis shrinks; pct states its bound."""

from __future__ import annotations

from kernel_port.engine.explorer import check, replay
from kernel_port.scenario import program


def test_random_finds_lost_update() -> None:
    r = check(program("engine.lost-update"), "random", seed=1, executions=200)
    assert r.verdict == "bug" and r.kind == "assertion"
    out, div = replay(program("engine.lost-update"), r.counterexample.choices)  # type: ignore[union-attr]
    assert div is None and out.status == "bug"


def test_random_cannot_prove_absence() -> None:
    r = check(program("engine.atomic-update"), "random", seed=1, executions=50)
    assert r.verdict == "inconclusive" and not r.complete
    assert "50 sampled executions" in r.message


def test_pct_states_its_guarantee() -> None:
    r = check(program("engine.atomic-update"), "pct", seed=2, executions=30, pct_depth=2)
    assert r.verdict == "inconclusive"
    assert "1/(n*k^(d-1))" in r.coverage and "P(miss" in r.coverage


def test_pct_finds_a_depth_two_bug() -> None:
    r = check(program("engine.irqs-on"), "pct", seed=0, executions=500, pct_depth=2)
    assert r.verdict == "bug"


def test_hypothesis_shrinks_to_a_minimal_schedule() -> None:
    r = check(program("engine.lost-update"), "hypothesis", seed=3, executions=300)
    assert r.verdict == "bug"
    ce = r.counterexample
    assert ce is not None
    # The lost update needs exactly one preemption (read, switch, read, write,
    # write); shrinking gets there from whatever it first found.
    assert ce.preemptions == 1
    assert ce.faults == 0
    dfs = check(program("engine.lost-update"))
    assert dfs.counterexample is not None
    assert ce.steps <= dfs.counterexample.steps + 1


def test_hypothesis_shrinks_faults_away_when_not_needed() -> None:
    r = check(program("engine.lost-ipi"), "hypothesis", seed=5, executions=300)
    assert r.verdict == "bug" and r.kind == "stall"
    assert r.counterexample is not None and r.counterexample.faults == 1


def test_dfs_minimises_preemptions_then_faults_then_steps() -> None:
    r = check(program("engine.abba"))
    assert r.verdict == "bug" and r.counterexample is not None
    assert r.counterexample.preemptions == 1
