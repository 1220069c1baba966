# SPDX-License-Identifier: GPL-2.0-only
"""How long ``tox -e variant-...`` takes to set its environment up, from a warm pip cache.

For one variant environment (default ``variant-v6_17-herton_rfc``), twice each:

* with the ``matrix`` extra it installs now (pytest and pytest-timeout beside the core
  dependencies and coverage);
* with the whole ``test`` extra (tree-sitter, coverage, matplotlib, Dask), as every variant
  environment installed before issue 19, through tox's ``-x testenv:ENV.extras=test``.

The first run of each warms pip's cache (downloads and wheel builds); the second, timed, run
recreates the environment (``--recreate --notest``: create the virtual environment, build and
install the package and its dependencies, run nothing) and is the figure.  Then one run of the
environment's tests as they are (``tox -e ENV`` with an existing environment) for the total.
tox works in a scratch folder (``--workdir``), never in the clone.  Goal (issue 19): set-up
under 20 s.

    python bench/tox_setup.py [--env variant-v6_17-herton_rfc]

Writes results/tox_setup.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
GOAL_S = 20.0


def tox(work: Path, *args: str) -> tuple[float, int, str]:
    exe = shutil.which("tox") or str(Path(sys.executable).with_name("tox"))
    t0 = time.perf_counter()
    p = subprocess.run([exe, "--workdir", str(work), *args], cwd=ROOT, capture_output=True, text=True)
    return time.perf_counter() - t0, p.returncode, (p.stdout + p.stderr)[-3000:]


def measure(env: str, extras: str | None) -> dict[str, object]:
    override = ["-x", f"testenv:{env}.extras={extras}"] if extras else []
    with tempfile.TemporaryDirectory(prefix="kport-tox-") as tmp:
        work = Path(tmp)
        warm, rc_w, _ = tox(work, "-e", env, "--notest", *override)
        setup, rc_s, out = tox(work, "-e", env, "--notest", "--recreate", *override)
        run, rc_r, out_r = tox(work, "-e", env, *override) if extras is None else (0.0, 0, "")
    return {
        "extras": extras or "matrix",
        "warm_up_s": round(warm, 1),
        "setup_s": round(setup, 1),
        "setup_rc": rc_s,
        "run_with_existing_env_s": round(run, 1) if extras is None else None,
        "run_rc": rc_r if extras is None else None,
        "tail": (out if rc_s else "") + (out_r if rc_r else ""),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--env", default="variant-v6_17-herton_rfc")
    ap.add_argument("--skip-old", action="store_true", help="do not measure the whole test extra")
    args = ap.parse_args()
    rows = [measure(args.env, None)]
    if not args.skip_old:
        rows.append(measure(args.env, "test"))
    doc = {
        "bench": "tox_setup",
        "env": args.env,
        "goal_setup_s": GOAL_S,
        "met": rows[0]["setup_s"] <= GOAL_S and rows[0]["setup_rc"] == 0,  # type: ignore[operator]
        "rows": rows,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tox_setup.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    md = [
        "<!-- SPDX-License-Identifier: GPL-2.0-only -->",
        f"# tox set-up time: `tox -e {args.env}`",
        "",
        "From a warm pip cache (a first run of each warms it); the figure is `tox -e ENV --notest --recreate`:",
        "create the environment, build and install kernel-port with its extra and coverage, run nothing.",
        "",
        "| extras installed | set-up (s) | first run, cold-ish cache (s) | tests with the env in place (s) |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        run = r["run_with_existing_env_s"]
        md.append(f"| {r['extras']} | {r['setup_s']} | {r['warm_up_s']} | {run if run is not None else '-'} |")
    md += [
        "",
        f"Goal: set-up under {GOAL_S:g} s with the `matrix` extra: **{'met' if doc['met'] else 'missed'}**.",
        "",
        f"Python {doc['python']} on {doc['platform']}.  `python bench/tox_setup.py` re-runs it.",
        "",
    ]
    (RESULTS / "tox_setup.md").write_text("\n".join(md))
    print("\n".join(md))
    return 0 if doc["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
