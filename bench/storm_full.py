# SPDX-License-Identifier: GPL-2.0-only
"""The full-size timed storm (192 CPUs, 120 s of virtual time) on every rt.push-ipi-storm variant.

    python bench/storm_full.py [--size full|small] [--no-pin]

Writes bench/results/storm_full.{json,md} (what each run reports, and its wall time; the
goal is under 60 s per run on one core) and docs/bugs/img/rt.push-ipi-storm-<size>.png (the
backlog plot of the variants that ran to the end).  Runs pinned to one core (bench/pinning.py)
unless --no-pin.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from kernel_port.simulate import plot, simulate

VARIANTS = (
    "v6.17+94894c9c",
    "v6.17+94894c9c+tejun-rfc",
    "v6.17+94894c9c+peterz-retry",
    "v6.17+94894c9c+dd29c017",
)
ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="full", choices=("full", "small"))
    ap.add_argument("--no-pin", action="store_true")
    args = ap.parse_args(argv)
    if args.no_pin:
        pin = "not pinned (--no-pin)"
    else:
        from pinning import pin_to_one_core  # bench/ is on sys.path when a bench runs as a script

        pin = pin_to_one_core()
    print(f"storm_full: {pin}", file=sys.stderr)
    rows, reps = [], []
    for v in VARIANTS:
        t0 = time.perf_counter()
        rep = simulate("rt.push-ipi-storm", v, size=args.size, wall_limit_s=600)
        wall = time.perf_counter() - t0
        data = rep.to_json()
        data.pop("samples")
        data["wall_seconds"] = round(wall, 1)
        rows.append(data)
        if rep.result.stop == "time":
            reps.append(rep)
        print(f"{v}: {data['stop']} at {data['virtual_seconds']:.3f} s virtual, {wall:.1f} s wall", file=sys.stderr)
    res = ROOT / "bench" / "results"
    res.mkdir(exist_ok=True)
    (res / f"storm_{args.size}.json").write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")
    img = ROOT / "docs" / "bugs" / "img" / f"rt.push-ipi-storm-{args.size}.png"
    plot(reps, str(img))
    lines = [
        f"# rt.push-ipi-storm, timed, size {args.size}",
        "",
        f"`python bench/storm_full.py --size {args.size}`; plot: docs/bugs/img/{img.name}.  Goal: each full-size "
        f"run under 60 s of wall time on one core.  This run: {pin}; build (set-up) time included.",
        "",
        "| variant | stop | virtual s | backlog growth /s (first half) | max backlog | first 20 s stall | "
        "soft lockups | steps | wall s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        stall = (
            "-" if r["first_stall_seconds"] is None else f"CPU{r['first_stall_cpu']} at {r['first_stall_seconds']} s"
        )
        stop = r["stop"] if not r["message"] else f"{r['stop']}: {r['message']}"
        lines.append(
            f"| {r['variant']} | {stop} | {r['virtual_seconds']:.3f} | {r['growth_per_second']} | {r['max_backlog']:.0f} "
            f"| {stall} | {r['soft_lockups']} | {r['steps']} | {r['wall_seconds']} |"
        )
    lines.append("")
    (res / f"storm_{args.size}.md").write_text("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
