# SPDX-License-Identifier: GPL-2.0-only
"""The split search (parallel.py) gives the serial search's results.

Execution for execution: the same number of executions of each kind, the
same bad outcomes with the same schedules, the same events in the same
order (``keep_events``), whatever the split depth, the worker count, the
preemption bound or the stop rule; on random programs (the DPOR property
tests' generator, in-process pool), on corpus scenarios (worker processes),
through ``kport check --jobs`` (same bytes), and on a Dask cluster started
on loopback (same verdicts and execution counts).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel_port.engine import parallel
from kernel_port.engine.dpor import DporStats, explore
from kernel_port.engine.explorer import check
from kernel_port.scenario import program
from tests.test_dpor_property import interleavings, make, program_st

# The split search is being rewritten on top of the new DPOR (issue 17); until then
# dpor.explore runs every search serially and these tests would compare it with itself.
pytestmark = pytest.mark.skip(reason="parallel search being rebuilt on the new DPOR (issue 17)")

def signature(s: DporStats) -> Any:
    return (
        s.executions,
        s.complete,
        s.blocked,
        s.bugs,
        s.errors,
        s.budget,
        s.steps,
        s.max_depth,
        s.exhausted,
        s.bound_pruned,
        [(o.status, o.kind, o.message, o.choices) for o in s.outcomes],
        [(o.status, o.choices, o.events) for o in s.all_outcomes],
    )


def both(spec: Any, split: int | None, yield_after: float | None = None, **kw: Any) -> tuple[Any, Any]:
    serial = explore(make(spec, {"finals": set()}), keep_events=True, **kw)
    prog = make(spec, {"finals": set()})
    pool = parallel.InlinePool(prog, jobs=2)
    split_run = explore(prog, keep_events=True, pool=pool, split=split, yield_after=yield_after, **kw)
    return signature(serial), signature(split_run)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(program_st(with_asserts=True), st.sampled_from([1, 2, 3, 5, 8, None]), st.sampled_from([None, 0.0]))
def test_split_search_is_the_serial_search(spec: Any, split: int | None, yield_after: float | None) -> None:
    """``yield_after=0``: every task hands its subtree back after one execution."""
    if interleavings(spec) > 5000:
        return
    a, b = both(spec, split, yield_after)
    assert a == b


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(program_st(with_asserts=False), st.sampled_from([1, 3, 6]), st.integers(0, 1))
def test_split_search_under_a_preemption_bound(spec: Any, split: int, bound: int) -> None:
    if interleavings(spec) > 5000:
        return
    a, b = both(spec, split, 0.0 if split == 3 else None, preemption_bound=bound)
    assert a == b


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(program_st(with_asserts=True), st.sampled_from([1, 4]), st.integers(1, 6), st.booleans())
def test_split_search_stops_where_the_serial_one_does(spec: Any, split: int, n: int, on_bug: bool) -> None:
    if interleavings(spec) > 5000:
        return
    kw: dict[str, Any] = {"stop_on_bug": True} if on_bug else {"after_bug": n, "max_executions": 2 * n}
    a, b = both(spec, split, 0.0 if n % 2 else None, **kw)
    assert a == b


CELLS = [
    ("smp.hotplug-lost-ipi", "v3.10"),
    ("smp.lost-ipi-waiter", "v6.17+csdlock-debug"),
    ("irq_work.lost-self-ipi", "v6.17"),
    ("x86.vfio-overwrite", "v6.16+vector-repair"),
]


@pytest.mark.parametrize(("name", "variant"), CELLS)
def test_worker_processes_give_the_serial_result(name: str, variant: str) -> None:
    prog = program(name, variant)
    serial = explore(prog, preemption_bound=prog.preemption_bound, after_bug=2000)
    # Tasks hand their subtrees back after 5 ms: many yields, cut deeper each time.
    split_run = explore(prog, preemption_bound=prog.preemption_bound, after_bug=2000, jobs=2, yield_after=0.005)
    assert signature(serial) == signature(split_run)
    assert split_run.parallel is not None and split_run.parallel.tasks >= 1


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
    serial = _kport("check", "smp.hotplug-lost-ipi", "-V", "v3.10")
    assert serial["verdict"] == "bug"
    for jobs in ("2", "3"):
        assert _kport("check", "smp.hotplug-lost-ipi", "-V", "v3.10", "--jobs", jobs) == serial


def test_dask_cluster_on_loopback_gives_the_serial_verdicts_and_counts() -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        for name, variant in CELLS[:3]:
            prog = program(name, variant)
            serial = check(prog, "dfs", preemptions=prog.preemption_bound)
            dist = check(prog, "dfs", preemptions=prog.preemption_bound, dask=cluster.scheduler_address)
            assert (dist.verdict, dist.kind, dist.executions, dist.token) == (
                serial.verdict,
                serial.kind,
                serial.executions,
                serial.token,
            )
            assert dist.stats == serial.stats


def _waiter_chain(ncpus: int) -> Any:
    """smp.lost-ipi-waiter as a chain: CPU c waits for a call on CPU c+1 (faults are value choices)."""
    from kernel_port.scenario import ScenarioProgram, get_scenario
    from kernel_port.variants import parse_variant

    base = get_scenario("smp.lost-ipi-waiter")

    def cpu_fn(c: int) -> Any:
        def fn(self: Any, k: Any) -> None:
            assert k.smp_call_function_single(c + 1, self.f, None, 1) == 0
            assert self.v.ran_f >= 1

        return fn

    attrs: dict[str, Any] = {"cpus": ncpus}
    for c in range(ncpus - 1):
        attrs[f"cpu{c}"] = cpu_fn(c)
    cls = type(f"WaiterChain{ncpus}", (base,), attrs)
    return ScenarioProgram(cls, parse_variant("v6.17+csdlock-debug"), 1, base.preemptions)


@pytest.mark.parametrize("yield_after", [0.0, 0.05])
def test_value_choices_with_tasks_handing_subtrees_back(yield_after: float) -> None:
    """A node's next value choice re-creates the node below it from the
    subtree kept for it: a task that hands its stack back must keep those."""
    prog = _waiter_chain(3)
    kw: dict[str, Any] = {"preemption_bound": prog.preemption_bound, "max_executions": 600}
    serial = explore(prog, **kw)
    pool = parallel.InlinePool(prog, jobs=2)
    split_run = explore(_waiter_chain(3), pool=pool, yield_after=yield_after, **kw)
    assert signature(serial) == signature(split_run)
    assert split_run.parallel.yields > 0
