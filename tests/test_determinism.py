# SPDX-License-Identifier: GPL-2.0-only
"""Same inputs, same bytes out: across repeats and across PYTHONHASHSEED values."""

from __future__ import annotations

import os
import subprocess
import sys

from kernel_port.engine.explorer import check, replay
from kernel_port.engine.trace import render_text
from kernel_port.scenario import program

CASES = [
    ("engine.irqs-on", "dfs"),
    ("engine.lost-ipi", "dfs"),
    ("engine.abba", "random"),
    ("engine.lost-update", "pct"),
]


def trace_of(name: str, strategy: str, seed: int = 7) -> str:
    prog = program(name)
    r = check(prog, strategy, seed=seed, executions=300)
    assert r.counterexample is not None, (name, strategy, r.verdict)
    out, div = replay(prog, r.counterexample.choices)
    assert div is None and out.machine is not None
    return f"{r.token}\n" + render_text(out.machine, f"{r.verdict} {r.kind} {r.message}")


def test_ten_times_byte_identical() -> None:
    for name, strategy in CASES:
        first = trace_of(name, strategy)
        for _ in range(9):
            assert trace_of(name, strategy) == first


def test_different_seeds_give_several_schedules() -> None:
    tokens = {trace_of("engine.lost-update", "random", seed).split("\n")[0] for seed in range(12)}
    assert len(tokens) > 1


SNIPPET = """
import sys
from tests.test_determinism import trace_of
for name, strategy in [("engine.irqs-on", "dfs"), ("engine.abba", "random"), ("engine.lost-update", "pct")]:
    sys.stdout.write(trace_of(name, strategy))
"""


def test_across_hash_seeds_and_processes() -> None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    outs = set()
    for hs in ("0", "1", "12345", "random"):
        env = dict(os.environ, PYTHONHASHSEED=hs, PYTHONPATH=root)
        res = subprocess.run(
            [sys.executable, "-c", SNIPPET], cwd=root, env=env, capture_output=True, text=True, check=True
        )
        outs.add(res.stdout)
    assert len(outs) == 1
    here = "".join(
        trace_of(n, s) for n, s in [("engine.irqs-on", "dfs"), ("engine.abba", "random"), ("engine.lost-update", "pct")]
    )
    assert outs == {here}
