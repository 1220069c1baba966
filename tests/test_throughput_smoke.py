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
