# SPDX-License-Identifier: GPL-2.0-only
"""What compiling engine modules with mypyc would give (issue 17, deliverable 3's option).

The issue allows compiling the engine's hot modules if it is measured worth it.  This bench
measures it without changing the product: it copies ``kernel_port/`` twice into a temporary
directory, compiles the listed modules of one copy with mypyc (``python -m mypyc``: needs mypy,
which the test extra installs, and a C compiler), and runs the same search against each copy
in child processes, in turn (pure, compiled, pure, compiled, ...), CPU-timing the search alone.
It reports per module set the median of each and the median of the per-pair ratios.

    python bench/compiled.py                 # dpor.py; dpor.py + core.py; 3 pairs each
    python bench/compiled.py --pairs 5

Results: bench/results/compiled.{json,md}.  Never run by the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

MODULE_SETS = [["dpor"], ["dpor", "core"]]
WORKLOADS: dict[str, tuple[dict[str, Any], int]] = {
    "rt-three-works@v6.17, first 2,000 executions": ({"kind": "rt3", "variant": "v6.17"}, 2000),
    "smp.hotplug-lost-ipi@v6.17 bound 1, first 2,000 executions": (
        {"kind": "scenario", "scenario": "smp.hotplug-lost-ipi", "variant": "v6.17", "preemptions": 1},
        2000,
    ),
}

# Run in the child with the copy first on sys.path: prints the search's CPU seconds.  The
# program is built as bench/throughput.py builds its workloads (its imports are lazy, so they
# find the copy).
CHILD = """
import sys, time, json
sys.path.insert(0, {copy!r}); sys.path.insert(1, {bench!r})
import kernel_port.engine.dpor as dpor
from throughput import _program
spec, n = {work!r}
prog = _program(spec)
bound = prog.preemption_bound
t = time.process_time()
st = dpor.explore(prog, preemption_bound=bound, max_executions=n)
print(json.dumps({{"cpu": time.process_time() - t, "executions": st.executions, "traces": st.traces,
                  "compiled": dpor.__file__.endswith(".so")}}))
"""


def _copy(dst: Path) -> None:
    shutil.copytree(ROOT / "kernel_port", dst / "kernel_port", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    (dst / "mypy.ini").write_text("[mypy]\nignore_missing_imports = True\n")


def _compile(dst: Path, modules: list[str]) -> str | None:
    files = [f"kernel_port/engine/{m}.py" for m in modules]
    p = subprocess.run([sys.executable, "-m", "mypyc", *files], cwd=dst, capture_output=True, text=True)
    if p.returncode != 0:
        return (p.stdout + p.stderr).strip().splitlines()[-1][:300]
    return None


def _run(copy: Path, work: tuple[dict[str, Any], int]) -> dict[str, Any]:
    code = CHILD.format(copy=str(copy), bench=str(HERE), work=work)
    env = {**os.environ, "KPORT_ROOT": str(ROOT)}  # scenarios and patches from the checkout
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=copy, env=env)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        raise RuntimeError((p.stderr.strip().splitlines() or ["?"])[-1])
    out: dict[str, Any] = json.loads(lines[-1])
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--out", default=str(HERE / "results" / "compiled"))
    args = ap.parse_args(argv)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="kport-mypyc-") as tmp:
        pure = Path(tmp) / "pure"
        _copy(pure)
        for mods in MODULE_SETS:
            comp = Path(tmp) / ("c-" + "-".join(mods))
            _copy(comp)
            t0 = time.perf_counter()
            err = _compile(comp, mods)
            build_s = round(time.perf_counter() - t0, 1)
            for label, work in WORKLOADS.items():
                row: dict[str, Any] = {"modules": mods, "workload": label, "build_s": build_s}
                if err is not None:
                    row["error"] = err
                    rows.append(row)
                    continue
                a, b, ratios = [], [], []
                same = True
                for _ in range(args.pairs):
                    ra, rb = _run(pure, work), _run(comp, work)
                    same &= ra["executions"] == rb["executions"] and ra["traces"] == rb["traces"]
                    same &= rb["compiled"] and not ra["compiled"]
                    a.append(ra["cpu"])
                    b.append(rb["cpu"])
                    ratios.append(rb["cpu"] / ra["cpu"])
                row.update(
                    pure_cpu_s=round(statistics.median(a), 3),
                    compiled_cpu_s=round(statistics.median(b), 3),
                    ratio=round(statistics.median(ratios), 3),
                    ratios=[round(r, 3) for r in ratios],
                    same_executions_and_traces=same,
                )
                rows.append(row)
                print(json.dumps(row), flush=True)
    doc = {
        "bench": "compiled",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "pairs": args.pairs,
        "loadavg": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "rows": rows,
    }
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(doc, indent=1) + "\n")
    md = [
        "<!-- SPDX-License-Identifier: GPL-2.0-only -->",
        "# mypyc-compiled engine modules against pure Python (bench/compiled.py)",
        "",
        f"Run {doc['date']}, Python {doc['machine']['python']}, {doc['machine']['cpus']} CPUs, load "
        f"{doc['loadavg']} at the end; {args.pairs} pairs per row, the search's CPU seconds (imports excluded); "
        "ratio = compiled / pure, the median of the pairs (below 1: compiled is faster).",
        "",
        "| compiled modules | workload | build s | pure CPU s | compiled CPU s | ratio | same executions and traces |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            md.append(
                f"| {', '.join(r['modules'])} | {r['workload']} | {r['build_s']} | build failed: {r['error']} | | | |"
            )
            continue
        md.append(
            f"| {', '.join(r['modules'])} | {r['workload']} | {r['build_s']} | {r['pure_cpu_s']} | "
            f"{r['compiled_cpu_s']} | {r['ratio']} | {'yes' if r['same_executions_and_traces'] else 'NO'} |"
        )
    out.with_suffix(".md").write_text("\n".join(md) + "\n")
    return doc


if __name__ == "__main__":
    main()
