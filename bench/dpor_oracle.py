# SPDX-License-Identifier: GPL-2.0-only
"""The DPOR search against the brute-force oracle on 20,000+ random programs.

Each program (tests/genprog.py: 2-4 CPUs; every third one on the x86-TSO machine, every primitive: reads, writes, cmpxchg that can
fail, xchg, commuting and value-returning atomics, waits on fields and counters, cpu_relax
loops, spinlocks with and without irqsave, trylock, branches, IPIs with a handler, an
interrupts-off section, a lost-IPI fault, a guarded event source, CPU hotplug, a kernel thread,
assertions) is explored by ``dfs`` and enumerated by tests/oracle.py (every interleaving and
every fault).  For each it records whether the search missed a final state, a violation or a
trace, or reported one that does not exist; how many executions it ran per trace (optimal DPOR:
1.0), and how many were sleep-set blocked.  A share of the programs is also searched under a
preemption bound (0, 1 or 2) and checked to cover every execution within it.

    python bench/dpor_oracle.py [--programs N] [--jobs J] [--seed S]

Writes bench/results/dpor_oracle.{json,md}.  Every disagreement it ever finds becomes a named
test in tests/test_dpor_regressions.py.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kernel_port.engine.dpor import explore  # noqa: E402
from tests.genprog import BLOCKING, interleavings, make, random_spec, uses  # noqa: E402
from tests.oracle import Finals, executions, summarise  # noqa: E402

LIMIT = 4000  # oracle executions per program; bigger programs are skipped (and counted)


def one(job: tuple[int, int, bool, int | None, str]) -> dict[str, Any]:
    seed, max_steps, asserts, bound, model = job
    rng = random.Random(seed)
    spec = random_spec(rng, max_steps=max_steps, asserts=asserts, model=model)
    rec: dict[str, Any] = {"seed": seed, "max_steps": max_steps, "asserts": asserts, "bound": bound, "model": model}
    rec["blocking"] = uses(spec, BLOCKING | {"ipi", "cli"}) or spec.source >= 0
    if interleavings(spec) > 8 * LIMIT:
        rec["skipped"] = True  # far too many for the oracle: not worth starting
        return rec
    try:
        runs = list(executions(make(spec), LIMIT))
    except RuntimeError:
        rec["skipped"] = True
        return rec
    want = summarise(iter(runs), bound)
    res = Finals()
    t0 = time.perf_counter()
    st = explore(make(spec)(res), preemption_bound=bound)
    rec["seconds"] = time.perf_counter() - t0
    rec["oracle_executions"] = len(runs)
    rec["executions"] = st.executions
    rec["blocked"] = st.blocked
    rec["traces"] = len(want.traces)
    rec["dpor_traces"] = st.traces
    rec["anomalies"] = st.anomalies
    got_v = {(o.kind, o.message) for o in st.outcomes if o.status == "bug"}
    problems = []
    if not st.exhausted or st.errors or want.errors:
        problems.append("error or not exhausted")
    missed_f = want.finals - res.finals
    missed_v = want.violations - got_v
    if missed_f:
        problems.append(f"missed {len(missed_f)} final state(s)")
    if missed_v:
        problems.append(f"missed violation(s) {sorted(missed_v)[:2]}")
    if bound is None:
        if res.finals - want.finals:
            problems.append("a final state that no execution reaches")
        if got_v - want.violations:
            problems.append("a violation that no execution reaches")
        full = st.complete + sum(1 for o in st.outcomes if o.kind in ("deadlock", "stall"))
        if not asserts and full != len(want.traces):
            problems.append(f"{full} complete executions for {len(want.traces)} traces")
        if not rec["blocking"] and st.blocked:
            problems.append("sleep-set blocked without a blocking step")
    if st.anomalies:
        problems.append(f"{st.anomalies} anomalies")
    rec["oracle_violations"] = len(want.violations)
    rec["dpor_violations"] = len(got_v)
    rec["missed_finals"] = len(missed_f)
    rec["missed_violations"] = len(missed_v)
    rec["problems"] = problems
    if problems:
        rec["spec"] = repr(spec)
    return rec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--programs", type=int, default=20400)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20261207)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    jobs: list[tuple[int, int, bool, int | None, str]] = []
    for i in range(args.programs):
        kind = i % 6
        # Every third program runs on the x86-TSO machine (stores and fences take more steps).
        model = "tso" if i % 3 == 2 else "sc"
        max_steps = (10 if i % 2 else 13) if model == "sc" else (8 if i % 2 else 10)
        asserts = kind == 4
        bound = (i // 6) % 3 if kind == 5 else None
        jobs.append((rng.randrange(1 << 40), max_steps, asserts, bound, model))
    t0 = time.perf_counter()
    out: list[dict[str, Any]] = []
    with mp.Pool(args.jobs) as pool:
        for k, rec in enumerate(pool.imap(one, jobs, chunksize=20)):
            out.append(rec)
            if (k + 1) % 1000 == 0:
                print(f"{k + 1} programs, {time.perf_counter() - t0:.0f} s", flush=True)
    wall = time.perf_counter() - t0
    done = [r for r in out if not r.get("skipped")]
    unb = [r for r in done if r["bound"] is None]
    noassert = [r for r in unb if not r["asserts"]]
    bounded = [r for r in done if r["bound"] is not None]
    bad = [r for r in done if r["problems"]]
    with_blocking = [r for r in noassert if r["blocking"]]
    without = [r for r in noassert if not r["blocking"]]

    def ratio(rs: list[dict[str, Any]]) -> float:
        t = sum(r["traces"] for r in rs)
        return round(sum(r["executions"] for r in rs) / t, 4) if t else 1.0

    doc = {
        "command": "python bench/dpor_oracle.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.python_implementation()} {platform.python_version()}, {mp.cpu_count()} CPUs",
        "wall_seconds": round(wall, 1),
        "programs": len(out),
        "checked": len(done),
        "skipped_too_big": len(out) - len(done),
        "unbounded": len(unb),
        "bounded": len(bounded),
        "with_assertions": sum(1 for r in unb if r["asserts"]),
        "oracle_executions": sum(r["oracle_executions"] for r in done),
        "dpor_executions": sum(r["executions"] for r in done),
        "missed_final_states": sum(r["missed_finals"] for r in done),
        "missed_violations": sum(r["missed_violations"] for r in done),
        "false_ok": sum(1 for r in done if r["oracle_violations"] and not r["dpor_violations"]),
        "disagreements": len(bad),
        "ratio_explored_per_trace": {
            "all (no assertions, unbounded)": ratio(noassert),
            "with blocking steps (waits, locks, interrupts, hotplug, threads)": ratio(with_blocking),
            "without blocking steps": ratio(without),
        },
        "sleep_set_blocked": {
            "with blocking steps": sum(r["blocked"] for r in with_blocking),
            "without blocking steps": sum(r["blocked"] for r in without),
        },
        "examples_of_disagreements": [{"spec": r["spec"], "problems": r["problems"]} for r in bad[:20]],
        "by_memory_model": {
            model: {
                "checked": sum(1 for r in done if r["model"] == model),
                "missed_final_states": sum(r["missed_finals"] for r in done if r["model"] == model),
                "missed_violations": sum(r["missed_violations"] for r in done if r["model"] == model),
                "disagreements": sum(1 for r in bad if r["model"] == model),
                "ratio_explored_per_trace": ratio([r for r in noassert if r["model"] == model]),
            }
            for model in ("sc", "tso")
        },
    }
    res = ROOT / "bench" / "results"
    res.mkdir(parents=True, exist_ok=True)
    (res / "dpor_oracle.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    (res / "dpor_oracle.md").write_text(render(doc))
    print(render(doc))


def render(doc: dict[str, Any]) -> str:
    r = doc["ratio_explored_per_trace"]
    b = doc["sleep_set_blocked"]
    lines = [
        "# DPOR against the brute-force oracle",
        "",
        f"`{doc['command']}` on {doc['machine']}, {doc['wall_seconds']} s wall.",
        "",
        f"- Programs: {doc['programs']} drawn, {doc['checked']} checked "
        f"({doc['skipped_too_big']} skipped: more than {LIMIT} interleavings for the oracle); "
        f"{doc['unbounded']} unbounded ({doc['with_assertions']} with assertions), {doc['bounded']} under a "
        "preemption bound of 0, 1 or 2.",
        f"- Executions: {doc['oracle_executions']} enumerated by the oracle, {doc['dpor_executions']} run by DPOR.",
        f"- **Missed final states: {doc['missed_final_states']}; missed violations: {doc['missed_violations']}; "
        f"false OK (a violation exists, the search found none): {doc['false_ok']}; programs with any "
        f"disagreement: {doc['disagreements']}.**",
        f"- Executions per Mazurkiewicz trace (optimal: 1.0): {r['all (no assertions, unbounded)']} over all "
        f"programs without assertions; {r['with blocking steps (waits, locks, interrupts, hotplug, threads)']} with "
        f"blocking steps; {r['without blocking steps']} without.",
        f"- Sleep-set blocked executions: {b['with blocking steps']} in programs with blocking steps, "
        f"{b['without blocking steps']} without.",
    ]
    for model, d in doc.get("by_memory_model", {}).items():
        lines.append(
            f"- Under {model.upper()}: {d['checked']} programs checked, {d['missed_final_states']} missed final "
            f"states, {d['missed_violations']} missed violations, {d['disagreements']} disagreements, "
            f"{d['ratio_explored_per_trace']} executions per trace."
        )
    lines += [
        "",
        "Every third program runs on the x86-TSO machine (store buffers; smp_mb in the draw).",
        "",
    ]
    if doc["examples_of_disagreements"]:
        lines.append("## Disagreements")
        lines.append("")
        for e in doc["examples_of_disagreements"]:
            lines.append(f"- `{e['spec']}`: {'; '.join(e['problems'])}")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
