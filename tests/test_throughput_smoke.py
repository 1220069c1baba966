# SPDX-License-Identifier: GPL-2.0-only
"""bench/throughput.py on one tiny corpus cell, in-process (the bench itself never runs in the
test suite: its figures are in bench/results/throughput.md)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from kernel_port.variants import project_root


def test_one_cell() -> None:
    path = Path(project_root()) / "bench" / "throughput.py"
    spec = importlib.util.spec_from_file_location("kp_bench_throughput", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    work = {"id": "corpus:engine.abab@v6.17", "kind": "corpus", "scenario": "engine.abab", "variant": "v6.17"}
    row = mod.run_workload(work, 5.0, "on")
    assert row["verdict"] == "ok" and row["complete"] and row["finished"]
    assert row["executions"] >= row["search_executions"] > 0 and row["steps"] > 0
    assert row["floor_us_per_step"] > 0 and row["ratio_to_floor"] > 0 and row["peak_rss_mb"] > 0
    assert mod.what(row) == "ok (complete)"
    assert mod.table([row])[2].startswith("| corpus:engine.abab@v6.17 |")


def test_search_profile_one_cell() -> None:
    """bench/search_profile.py's profile of one small cell: the replayed executions are the
    search's, so they take as many steps, and the shares it reports are shares."""
    root = Path(project_root()) / "bench"
    import sys

    sys.path.insert(0, str(root))
    try:
        spec = importlib.util.spec_from_file_location("kp_bench_search_profile", root / "search_profile.py")
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        work = {"id": "x", "kind": "corpus", "scenario": "irq_work.busy-flag-race", "variant": "v6.17"}
        row = mod.profile(work, 40)
    finally:
        sys.path.remove(str(root))
    assert 0 < row["executions"] <= 40 and row["steps"] > 0
    assert row["traces"] <= row["executions"] and row["executions_per_trace"] >= 1
    assert 0 <= row["replayed_step_share"] < 1 and 0 <= row["dpor_share"] < 1
    assert row["machine_us_per_step"] > 0 and row["floor_us_per_step"] > 0
    assert mod.render({"date": "d", "commit": "c", "executions": 40, "rows": [row]})[-1].startswith("| x |")
