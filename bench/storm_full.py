# SPDX-License-Identifier: GPL-2.0-only
"""The full-size timed storm (192 CPUs, 120 s of virtual time) on every rt.push-ipi-storm variant.

    python bench/storm_full.py [--size full|small] [--no-pin] [--check-coalescing]

Writes bench/results/storm_full.{json,md} (what each run reports, and its wall time; the
goal is under 60 s per run on one core) and docs/bugs/img/rt.push-ipi-storm-<size>.png (the
backlog plot of the variants that ran to the end).  Runs pinned to one core (bench/pinning.py)
unless --no-pin.

``--check-coalescing`` also runs each variant with the pullers' stand-in pulling back to
back (``COALESCE_PULLS = False``: no pull skipped) and writes
bench/results/storm_coalescing_<size>.{json,md}: whether skipping the pulls that could change
nothing (RtPushScenario._pullers) changes what the simulation reports.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from kernel_port.scenario import get_scenario
from kernel_port.simulate import SimReport, plot, simulate

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
    ap.add_argument("--check-coalescing", action="store_true")
    args = ap.parse_args(argv)
    if args.no_pin:
        pin = "not pinned (--no-pin)"
    else:
        from pinning import pin_to_one_core  # bench/ is on sys.path when a bench runs as a script

        pin = pin_to_one_core()
    print(f"storm_full: {pin}", file=sys.stderr)
    rows, reps, all_reps = [], [], []
    for v in VARIANTS:
        t0 = time.perf_counter()
        rep = simulate("rt.push-ipi-storm", v, size=args.size, wall_limit_s=600)
        wall = time.perf_counter() - t0
        data = rep.to_json()
        data.pop("samples")
        data["wall_seconds"] = round(wall, 1)
        rows.append(data)
        all_reps.append((rep, wall))
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
    if args.check_coalescing:
        check_coalescing(all_reps, args.size, pin, res)
    return 0


def findings(rep: SimReport) -> dict[str, object]:
    """What a run reports (not how it got there): the headline figures and the last sample."""
    last = rep.result.samples[-1][1] if rep.result.samples else {}
    return {
        "stop": rep.result.stop,
        "virtual_ns": rep.result.reached_ns,
        "growth_per_second": round(rep.growth_per_s, 3),
        "max_backlog": rep.max_backlog,
        "first_stall_ns": rep.first_stall_ns,
        "first_stall_cpu": rep.first_stall_cpu,
        "soft_lockups": rep.soft_lockups,
        "last_sample": {k: v for k, v in last.items() if "out of schedule" not in k},
    }


def check_coalescing(runs: list[tuple[SimReport, float]], size: str, pin: str, res: Path) -> None:
    sc = get_scenario("rt.push-ipi-storm")
    saved = sc.COALESCE_PULLS
    rows = []
    try:
        sc.COALESCE_PULLS = False
        for rep, wall in runs:
            t0 = time.perf_counter()
            b2b = simulate("rt.push-ipi-storm", rep.variant, size=size, wall_limit_s=1200)
            b2b_wall = time.perf_counter() - t0
            a, b = findings(rep), findings(b2b)
            diff = sorted(k for k in a if a[k] != b[k])
            rows.append(
                {
                    "variant": rep.variant,
                    "same": not diff,
                    "differs_in": diff,
                    "skipping": a,
                    "back_to_back": b,
                    "steps": [rep.result.steps, b2b.result.steps],
                    "wall_seconds": [round(wall, 1), round(b2b_wall, 1)],
                }
            )
            print(
                f"{rep.variant}: back to back {'same' if not diff else 'differs: ' + ', '.join(diff)}", file=sys.stderr
            )
    finally:
        sc.COALESCE_PULLS = saved
    (res / f"storm_coalescing_{size}.json").write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")
    lines = [
        f"# rt.push-ipi-storm, timed, size {size}: skipped pulls vs back-to-back pulls",
        "",
        f"`python bench/storm_full.py --size {size} --check-coalescing`.  The pullers' stand-in skips the pulls "
        "that could change nothing (RtPushScenario._pullers); this runs every variant again with every pull made "
        "back to back and compares what the two runs report: growth, maximum backlog, first stall, soft lockups, "
        f"and the last sample of every probe (the out-of-schedule() measure aside).  {pin}.",
        "",
        "| variant | same findings | differs in | steps (skipping / back to back) | wall s (skipping / back to back) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {'yes' if r['same'] else 'no'} | {', '.join(r['differs_in']) or '-'} "
            f"| {r['steps'][0]} / {r['steps'][1]} | {r['wall_seconds'][0]} / {r['wall_seconds'][1]} |"
        )
    for r in rows:
        if not r["same"]:
            lines += ["", f"{r['variant']}:", "", "| finding | skipping | back to back |", "|---|---|---|"]
            for k in r["differs_in"]:
                lines.append(f"| {k} | {r['skipping'][k]} | {r['back_to_back'][k]} |")
    lines.append("")
    (res / f"storm_coalescing_{size}.md").write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
