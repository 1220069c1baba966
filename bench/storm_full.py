# SPDX-License-Identifier: GPL-2.0-only
"""The full-size timed storm (192 CPUs, 120 s of virtual time) on every rt.push-ipi-storm variant.

    python bench/storm_full.py [--size full|small] [--no-pin] [--check-coalescing] [--sensitivity]

Writes bench/results/storm_<size>.{json,md} (what each run reports -- growth, maximum backlog,
the stalls out of schedule(), the soft lockups with how far past the watchdog's threshold --
and its wall time; the goal is under 60 s per run on one core) and
docs/bugs/img/rt.push-ipi-storm-<size>.png (per-CPU backlog with stall bars and lockup marks,
one panel per variant that ran to the end).  Runs pinned to one core (bench/pinning.py) unless
--no-pin.

``--sensitivity`` also runs v6.17+94894c9c under the other preemption models (full, NONE) and
with the targets' CFS task doing 10 us to 100 ms of kernel work between two cond_resched()
calls (PushIpiStorm.CFS_SLICE_NS, an input nothing fits): what the report owes to those two
choices.  They go into the same files: a section of storm_<size>.md, and the list
``"sensitivity"`` of the v6.17+94894c9c row of storm_<size>.json.

``--check-coalescing`` also runs each variant with the pullers' stand-in pulling back to
back (``COALESCE_PULLS = False``: no pull skipped) and writes
bench/results/storm_coalescing_<size>.{json,md}: whether skipping the pulls that could change
nothing (RtPushScenario._pullers) changes what the simulation reports.
"""

from __future__ import annotations

import argparse
import json
import os
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
    ap.add_argument("--sensitivity", action="store_true")
    args = ap.parse_args(argv)
    if args.no_pin:
        pin = "not pinned (--no-pin)"
    else:
        from pinning import pin_to_one_core  # bench/ is on sys.path when a bench runs as a script

        pin = pin_to_one_core()
    pin += f"; load average {os.getloadavg()[0]:.2f} at the start"
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
    img = ROOT / "docs" / "bugs" / "img" / f"rt.push-ipi-storm-{args.size}.png"
    plot(reps, str(img))
    lines = [
        f"# rt.push-ipi-storm, timed, size {args.size}",
        "",
        f"`python bench/storm_full.py --size {args.size}{' --sensitivity' if args.sensitivity else ''}`; plot: docs/bugs/img/{img.name}.  Goal: each full-size "
        f"run under 60 s of wall time on one core.  This run: {pin}; build (set-up) time included.",
        "",
        "| variant | stop | virtual s | backlog growth /s (first half) | max backlog | stalls (out of schedule() "
        f">= {all_reps[0][0].stall_ns / 1e9:g} s) | soft lockups (stuck for; past the threshold) | steps | wall s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        stop = r["stop"] if not r["message"] else f"{r['stop']}: {r['message']}"
        lines.append(
            f"| {r['variant']} | {stop} | {r['virtual_seconds']:.3f} | {r['growth_per_second']} | {r['max_backlog']:.0f} "
            f"| {stalls_cell(r)} | {lockups_cell(r)} | {r['steps']} | {r['wall_seconds']} |"
        )
    lines += ["", "Every stall and every soft-lockup report:", ""]
    for r in rows:
        lines.append(f"* {r['variant']} ({r['preemption']}):")
        for st in r["stalls"]:
            end = "still out at the end" if st["ongoing"] else f"to {st['end_seconds']} s"
            lines.append(f"  * stall: CPU{st['cpu']} from {st['start_seconds']} s {end} ({st['seconds']} s)")
        for lk in r["soft_lockup_reports"]:
            lines.append(
                f"  * {lk['t']:.3f} s: BUG: soft lockup - CPU#{lk['cpu']} stuck for {lk['stuck_for_seconds']}s "
                f"({lk['past_threshold_seconds']:+g} s past the {r['softlockup_threshold_seconds']:g} s threshold)"
            )
        if not r["stalls"] and not r["soft_lockup_reports"]:
            lines.append("  * no stall, no soft lockup")
    lines.append("")
    (res / f"storm_{args.size}.json").write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")
    (res / f"storm_{args.size}.md").write_text("\n".join(lines))
    if args.sensitivity:  # written again with the section (a run cut short keeps the table above)
        runs = sensitivity(args.size)
        for r in rows:
            if r["variant"] == SENSITIVITY_VARIANT:
                r["sensitivity"] = [{"kind": k, "preemption": m, "cfs_slice_ns": ns, **row} for k, m, ns, row in runs]
        lines += sensitivity_lines(runs, args.size, pin)
    (res / f"storm_{args.size}.json").write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")
    (res / f"storm_{args.size}.md").write_text("\n".join(lines))
    if args.check_coalescing:
        check_coalescing(all_reps, args.size, pin, res)
    return 0


def stalls_cell(r: dict[str, object]) -> str:
    stalls = r["stalls"]
    assert isinstance(stalls, list)
    if not stalls:
        return "none"
    per_cpu: dict[int, int] = {}
    for st in stalls:
        per_cpu[st["cpu"]] = per_cpu.get(st["cpu"], 0) + 1
    cpus = ", ".join(f"CPU{c} x{n}" for c, n in sorted(per_cpu.items()))
    return f"{len(stalls)} ({cpus}); longest {r['longest_stall_seconds']} s"


def lockups_cell(r: dict[str, object]) -> str:
    reps = r["soft_lockup_reports"]
    assert isinstance(reps, list)
    if not reps:
        return "0"
    top = max(reps, key=lambda lk: lk["stuck_for_seconds"])
    return (
        f"{len(reps)}; up to {top['stuck_for_seconds']} s (CPU{top['cpu']}), "
        f"{top['past_threshold_seconds']:+g} s past the {r['softlockup_threshold_seconds']:g} s threshold"
    )


SLICES_NS = (10_000, 100_000, 1_000_000, 10_000_000, 100_000_000)
MODELS = (("full", {"PREEMPT_VOLUNTARY": False}), ("PREEMPT_NONE", {"PREEMPT_VOLUNTARY": False, "PREEMPT_NONE": True}))


SENSITIVITY_VARIANT = "v6.17+94894c9c"
Run = tuple[str, str, int, dict[str, object]]


def sensitivity(size: str) -> list[Run]:
    """v6.17+94894c9c under the other preemption models and other CFS slice lengths."""
    sc = get_scenario("rt.push-ipi-storm")
    default_slice = sc.CFS_SLICE_NS
    v = SENSITIVITY_VARIANT
    runs: list[Run] = []
    for label, cfg in MODELS:
        t0 = time.perf_counter()
        rep = simulate("rt.push-ipi-storm", v, size=size, config=cfg, wall_limit_s=600)
        runs.append(("model", label, default_slice, _row(rep, time.perf_counter() - t0)))
        print(f"{v} {label}: {time.perf_counter() - t0:.1f} s wall", file=sys.stderr)
    try:
        for ns in SLICES_NS:
            sc.CFS_SLICE_NS = ns
            t0 = time.perf_counter()
            rep = simulate("rt.push-ipi-storm", v, size=size, wall_limit_s=600)
            runs.append(("slice", "PREEMPT_VOLUNTARY", ns, _row(rep, time.perf_counter() - t0)))
            print(f"{v} slice {ns} ns: {time.perf_counter() - t0:.1f} s wall", file=sys.stderr)
    finally:
        sc.CFS_SLICE_NS = default_slice
    return runs


def sensitivity_lines(runs: list[Run], size: str, pin: str) -> list[str]:
    default_slice = get_scenario("rt.push-ipi-storm").CFS_SLICE_NS
    lines = [
        f"## What the report owes to the preemption model and the CFS slice ({SENSITIVITY_VARIANT})",
        "",
        f"`python bench/storm_full.py --size {size} --sensitivity`.  The scenario runs PREEMPT_VOLUNTARY "
        f"with the targets' CFS task doing {default_slice / 1e6:g} ms of kernel work between two cond_resched() "
        "calls (the table above); here one of the two is changed at a time.  Under full preemption cond_resched() "
        f"returns 0 and the slice does not matter.  {pin}.",
        "",
        "| preemption | CFS slice | stop | backlog growth /s | max backlog | stalls | soft lockups (stuck for; past "
        "the threshold) | steps | wall s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for _, model, ns, row in runs:
        lines.append(
            f"| {model} | {_fmt_ns(ns)} | {row['stop']} at {row['virtual_seconds']:.3f} s | {row['growth_per_second']} "
            f"| {row['max_backlog']:.0f} | {stalls_cell(row)} | {lockups_cell(row)} | {row['steps']} "
            f"| {row['wall_seconds']} |"
        )
    lines.append("")
    return lines


def _row(rep: SimReport, wall: float) -> dict[str, object]:
    data = rep.to_json()
    data.pop("samples")
    data["wall_seconds"] = round(wall, 1)
    return data


def _fmt_ns(ns: int) -> str:
    return f"{ns / 1e6:g} ms" if ns >= 1_000_000 else f"{ns / 1e3:g} us"


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
        "stalls": [st.to_json() for st in rep.stalls],
        "soft_lockups": rep.soft_lockups,
        "soft_lockup_reports": [(lk.cpu, lk.stuck_for_s) for lk in rep.lockups],
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
        "back to back and compares what the two runs report: growth, maximum backlog, first stall, every stall, "
        "soft lockups (each report's CPU and figure), "
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
