# SPDX-License-Identifier: GPL-2.0-only
"""The split search (parallel.py) explores what the serial search explores.

What must agree is what does not depend on the order the traces are met in: the set of
Mazurkiewicz traces explored (their fingerprints), the violations found (kind and message),
and, through ``kport check``, every byte of the JSON except the wall-clock figures.  Checked on
random programs of the soundness generator (in-process pool, tasks handing their subtrees back
after every execution or never), on corpus scenarios (worker processes), through
``kport check --jobs`` and on a Dask cluster started on loopback.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel_port.engine import dpor, parallel
from kernel_port.engine.explorer import check
from kernel_port.scenario import program
from tests.genprog import interleavings, make, random_spec, specs


def bugs(s: dpor.DporStats) -> set[tuple[str | None, str]]:
    return {(o.kind, o.message) for o in s.outcomes if o.status == "bug"}


def both(spec: Any, yield_after: float | None, **kw: Any) -> tuple[dpor.DporStats, dpor.DporStats]:
    serial = dpor.explore(make(spec)({}), **kw)
    prog = make(spec)({})
    split = parallel.explore(prog, pool=parallel.InlinePool(prog, 2), yield_after=yield_after, **kw)
    return serial, split


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(specs(asserts=True), st.sampled_from([None, 0.0, 0.001]))
def test_split_search_explores_the_serial_traces(spec: Any, yield_after: float | None) -> None:
    """``yield_after=0``: every task hands its subtree back after one execution, so nearly
    every node above a task's root is cut and registered with the controller.  A small
    positive one mixes tasks that hand out after a few executions with tasks started while
    others waited, which run parallel.LONG_YIELD times longer."""
    if interleavings(spec) > 5000:
        return
    a, b = both(spec, yield_after)
    assert a.exhausted and b.exhausted
    assert b.fingerprints == a.fingerprints
    assert bugs(b) == bugs(a)
    # Optimality carries over: no trace is explored twice, whatever the split.
    assert b.executions - b.blocked == a.executions - a.blocked == a.traces


def test_split_search_on_the_fuzz_programs() -> None:
    """The seeded draw the bench uses (bench/dpor_oracle.py), larger than hypothesis' ones."""
    rng = random.Random(17)
    checked = 0
    for _ in range(120):
        spec = random_spec(rng, max_steps=12, asserts=True)
        if interleavings(spec) > 20000:
            continue
        a, b = both(spec, 0.0)
        assert b.fingerprints == a.fingerprints, spec
        assert bugs(b) == bugs(a), spec
        checked += 1
    assert checked >= 80


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(specs(asserts=True))
def test_split_search_stopping_at_the_first_bug_agrees_on_the_verdict(spec: Any) -> None:
    if interleavings(spec) > 5000:
        return
    a, b = both(spec, 0.0, stop_on_bug=True)
    assert bool(a.bugs) == bool(b.bugs)
    assert a.exhausted == b.exhausted == (not a.bugs)


# Unbounded corpus cells (the split search covers the unbounded searches; bounded ones run
# serially), one of each verdict.
CELLS = [
    ("irq_work.lost-self-ipi", "v6.17+herton-rfc"),
    ("irq_work.lost-self-ipi-idle-cpu", "v6.17"),
    ("smp.lost-ipi-waiter", "v6.17+csdlock-debug"),
]


@pytest.mark.parametrize(("name", "variant"), CELLS)
def test_worker_processes_give_the_serial_result(name: str, variant: str) -> None:
    prog = program(name, variant)
    serial = check(prog, "dfs", preemptions=prog.preemption_bound)
    split = check(program(name, variant), "dfs", preemptions=prog.preemption_bound, jobs=2)
    assert split.to_json() | {"seconds": 0} == serial.to_json() | {"seconds": 0}


def _kport(*args: str) -> dict[str, Any]:
    env = dict(os.environ, PYTHONHASHSEED="0")
    p = subprocess.run(
        [sys.executable, "-m", "kernel_port", *args, "--json"], capture_output=True, text=True, env=env, timeout=300
    )
    assert p.returncode in (0, 1), p.stderr
    doc = json.loads(p.stdout)
    doc.pop("seconds", None)
    doc.pop("saved", None)
    return doc  # type: ignore[no-any-return]


def test_kport_check_same_bytes_for_any_worker_count(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    serial = _kport("check", "irq_work.lost-self-ipi-idle-cpu", "-V", "v6.17")
    assert serial["verdict"] == "bug"
    for jobs in ("2", "3"):
        assert _kport("check", "irq_work.lost-self-ipi-idle-cpu", "-V", "v6.17", "--jobs", jobs) == serial


def test_dask_cluster_on_loopback_gives_the_serial_result() -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        for name, variant in CELLS[:2]:
            prog = program(name, variant)
            serial = check(prog, "dfs", preemptions=prog.preemption_bound)
            dist = check(
                program(name, variant), "dfs", preemptions=prog.preemption_bound, dask=cluster.scheduler_address
            )
            assert dist.to_json() | {"seconds": 0} == serial.to_json() | {"seconds": 0}
