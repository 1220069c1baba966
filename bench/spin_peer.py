# SPDX-License-Identifier: GPL-2.0-only
"""A side-by-side peer: SPIN on Promela models of two corpus questions, and kport on the same.

    python bench/spin_peer.py [--quick] [--reps N] [--no-pin] [--report-only]

For every cell (model, variant) this runs, in one process and one after the other:

* SPIN, in a fresh temporary directory: ``spin -a [-DVARIANT] model.pml`` (generation),
  ``gcc -O2 -DSAFETY -DNOREDUCE -o pan pan.c`` (compilation), ``./pan -m10000 -w18``
  (verification, stopping at the first error).  On an error the trail is replayed
  (``spin -t``) for the model's printf lines, and the whole state space is searched once
  more with ``-c0`` (do not stop at errors).  Then the LTL form of the same property:
  ``spin -DLTL -a``, ``gcc -O2 -DNOREDUCE``, ``./pan -a`` (acceptance cycles).
  -DNOREDUCE: the models use ``provided`` clauses (a CPU's task context cannot run while
  its interrupt handler runs), which SPIN's partial order reduction does not account for.
* kport: ``kernel_port.engine.explorer.check(program(scenario, variant), "dfs", ...)`` in
  this process, exactly what ``kport check SCENARIO --variant V`` runs; on a bug the
  counterexample is replayed for its fault, event-source, interrupt and key call lines.

Cells: the corpus cells of irq_work.lost-self-ipi (v6.17, v6.17+herton-rfc,
v6.17+tick-reraise, pre-76a33061) and smp.lost-ipi-waiter (v6.17, v6.17+csdlock-debug),
each against the scenario's expected verdict; control cells with another fault budget
(kport ``--faults N``, SPIN ``-DFAULTS=N``) and two probes (v6.17 with one half of
herton-rfc each: kport gets a variant built here from the patch's method, not registered;
SPIN a define), where the two tools must agree with each other.

Timings: best of ``--reps`` runs (3; 1 with --quick) for both tools; the SPIN time is
generation + compilation + verification (and verification alone is reported too).  The
script re-executes itself under ``taskset -c 0`` when it can (as time_to_verdict.py does).

Writes bench/results/spin_peer.json and bench/results/spin_peer.md.  Exit status: 0 when
every verdict agrees, 1 when one does not, 2 (with a one-line message) when spin or gcc
is not installed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SPIN_DIR = HERE / "spin"
RES = HERE / "results"

PAN_CC = ["-O2", "-DNOREDUCE"]
PAN_SAFETY_CC = [*PAN_CC, "-DSAFETY"]
PAN_RUN = ["-m10000", "-w18"]
PAN_DEEP = ["-m1000000", "-w18"]

IRQ = "irq_work_lost_self_ipi.pml"
SMP = "smp_lost_ipi_waiter.pml"

# (model, scenario, variant, SPIN defines, fault budget or None for the scenario's)
CELLS: list[tuple[str, str, str, list[str], int | None]] = [
    (IRQ, "irq_work.lost-self-ipi", "v6.17", [], None),
    (IRQ, "irq_work.lost-self-ipi", "v6.17+herton-rfc", ["-DHERTON_RFC"], None),
    (IRQ, "irq_work.lost-self-ipi", "v6.17+tick-reraise", ["-DTICK_RERAISE"], None),
    (IRQ, "irq_work.lost-self-ipi", "pre-76a33061", ["-DPRE_76A33061"], None),
    (SMP, "smp.lost-ipi-waiter", "v6.17", [], None),
    (SMP, "smp.lost-ipi-waiter", "v6.17+csdlock-debug", ["-DCSDLOCK_DEBUG"], None),
]
CONTROLS: list[tuple[str, str, str, list[str], int | None]] = [
    (IRQ, "irq_work.lost-self-ipi", "v6.17", [], 0),
    (IRQ, "irq_work.lost-self-ipi", "v6.17+herton-rfc", ["-DHERTON_RFC"], 2),
    (IRQ, "irq_work.lost-self-ipi", "v6.17+tick-reraise", ["-DTICK_RERAISE"], 2),
    (SMP, "smp.lost-ipi-waiter", "v6.17", [], 0),
    (SMP, "smp.lost-ipi-waiter", "v6.17+csdlock-debug", ["-DCSDLOCK_DEBUG"], 2),
]

# Probes: v6.17 with one method of a patch, built here for kport (label -> tree, patch, method).
PROBE_OF = {
    "v6.17 + herton-rfc's irq_work_needs_cpu() only": ("v6.17", "herton-rfc", "irq_work_needs_cpu"),
    "v6.17 + herton-rfc's irq_work_tick() only": ("v6.17", "herton-rfc", "irq_work_tick"),
}
PROBES: list[tuple[str, str, str, list[str], int | None]] = [
    (
        IRQ,
        "irq_work.lost-self-ipi",
        "v6.17 + herton-rfc's irq_work_needs_cpu() only",
        ["-DHERTON_NEEDS_CPU_ONLY"],
        None,
    ),
    (IRQ, "irq_work.lost-self-ipi", "v6.17 + herton-rfc's irq_work_tick() only", ["-DHERTON_TICK_ONLY"], None),
]

# How each model states the property in SPIN, and the kport kind it corresponds to.
SPIN_KIND = {
    IRQ: ("assertion violated", "stall"),  # the timeout monitor's assert
    SMP: ("invalid end state", "deadlock"),  # CPU0 blocked in csd_lock_wait()
}

ABSTRACTS = {
    IRQ: [
        "One CPU, as in the scenario: task context (the three irq_work_queue() calls, then do_idle()), hard "
        "interrupt context (IRQ_WORK_VECTOR and LOCAL_TIMER_VECTOR handlers) and the tick event source as three "
        "processes; `provided (!in_irq)` keeps the task still while a handler runs, and an interrupt is accepted at "
        "any point where the task has interrupts on.  A self-IPI send is lost while the fault budget lasts.",
        "The lazy list is left out (no lazy work, no PREEMPT_RT: always empty in this scenario).",
        "The APIC is IRR only (one bit per vector, coalescing); the in-service register and priority classes are "
        "not modelled: both handlers EOI first and run with interrupts off, so on one CPU nothing is accepted "
        "during a handler; IRQ_WORK_VECTOR is taken before LOCAL_TIMER_VECTOR when both are pending.",
        "Time, hrtimers and tick-sched are two bits: sched_timer armed, TS_FLAG_STOPPED.  The virtual clock, "
        "jiffies, the hrtimer base lock, next_tick/timer_expires and the timekeeping duty are folded into their "
        "effect on this single CPU: stopping the tick re-programs sched_timer (the CPU keeps the timekeeping "
        "duty), so the timer is armed whenever the CPU halts.  tick_nohz_idle_stop_tick() (interrupts off) is one "
        "atomic step.",
        "The interrupt-exit hook (tick_irq_exit -> tick_nohz_irq_exit) is left out: in idle it only calls "
        "tick_nohz_start_idle(), a no-op in the port.",
        "Each port step on shared state is one Promela statement or atomic block; local-only statements add "
        "interleaving points that change nothing.",
    ],
    SMP: [
        "Two CPUs: CPU0's program (smp_call_function_single(1, f, NULL, 1) and its wait), CPU1's idle loop and "
        "CPU1's hard interrupt context; CPU0 has no interrupt process because nothing sends it a vector.  A "
        "CALL_FUNCTION_SINGLE_VECTOR send is lost while the fault budget lasts.",
        "One CSD: the queue holds at most csd_stack[0], so its next pointer is always NULL and "
        "llist_reverse_order() is the identity; func/info are fixed, src/dst constant; cpu_online() is always "
        "true and set_nr_if_polling() always says send (CPU1 halts, never polls).",
        "The APIC is IRR only; the handler EOIs first and runs with interrupts off.",
        "csdlock-debug: time in model units (the timeout source adds TIMEOUT + 1, as the port adds timeout + 1 "
        "ns); the report messages and the counters only messages read (csd_bug_count, n_csd_lock_stuck, "
        "trigger_backtrace) are left out; with two CPUs the backoff factor is 1.  The port's cpu_relax() wakes on "
        "any store to a location read since the last relax; the model's wait wakes when a value it read changes. "
        "The stores that this misses (the flush's trigger_backtrace store, cur_csd going back to NULL) only make "
        "the port's waiter check once more and return false.",
    ],
}


# -- environment ------------------------------------------------------------------------------


def tools_or_exit() -> dict[str, str]:
    spin = shutil.which("spin")
    gcc = shutil.which("gcc")
    if spin is None or gcc is None:
        missing = " and ".join(n for n, p in (("spin", spin), ("gcc", gcc)) if p is None)
        print(f"spin_peer: {missing} not installed (Debian: apt-get install spin gcc); nothing run", file=sys.stderr)
        sys.exit(2)
    return {"spin": spin, "gcc": gcc}


def tool_versions(tools: dict[str, str]) -> dict[str, str]:
    spin_v = subprocess.run([tools["spin"], "-V"], capture_output=True, text=True).stdout.strip()
    gcc_v = subprocess.run([tools["gcc"], "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    return {"spin": spin_v, "gcc": gcc_v}


# -- SPIN -----------------------------------------------------------------------------------------


def parse_pan(out: str) -> dict[str, Any]:
    def num(pat: str, cast: Any = int) -> Any:
        m = re.search(pat, out)
        return cast(m.group(1)) if m else None

    err = re.search(r"pan:1: (.+?) \(at depth (\d+)\)", out)
    errors = num(r"errors: (\d+)")
    truncated = "max search depth too small" in out
    if errors is None:
        verdict = "error"
    elif errors > 0:
        verdict = "bug"
    elif truncated:
        verdict = "inconclusive"
    else:
        verdict = "ok"
    return {
        "verdict": verdict,
        "errors": errors,
        "error": err.group(1).strip() if err else None,
        "error_depth": int(err.group(2)) if err else None,
        "states_stored": num(r"(\d+) states, stored"),
        "states_matched": num(r"(\d+) states, matched"),
        "transitions": num(r"(\d+) transitions \("),
        "depth_reached": num(r"depth reached (\d+)"),
        "state_vector_bytes": num(r"State-vector (\d+) byte"),
        "memory_mb": num(r"([\d.]+)\s+total actual memory usage", float),
        "search_completed": "Search not completed" not in out,
        "depth_limit_hit": truncated,
    }


def _run(cmd: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - t0, p


def _checked(cmd: list[str], cwd: Path) -> tuple[float, str]:
    dt, p = _run(cmd, cwd)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {(p.stderr or p.stdout).strip()[:500]}")
    return dt, p.stdout + p.stderr


def spin_pipeline(tools: dict[str, str], model: str, defines: list[str], ltl: bool, replay: bool) -> dict[str, Any]:
    """Generate, compile and verify one model in a fresh temporary directory."""
    with tempfile.TemporaryDirectory(prefix="spin_peer_") as tmp:
        d = Path(tmp)
        shutil.copy(SPIN_DIR / model, d / model)
        gen_cmd = [tools["spin"], *defines, *(["-DLTL"] if ltl else []), "-a", model]
        cc_cmd = [tools["gcc"], *(PAN_CC if ltl else PAN_SAFETY_CC), "-o", "pan", "pan.c"]
        run_cmd = ["./pan", *(["-a"] if ltl else []), *PAN_RUN]
        t_gen, _ = _checked(gen_cmd, d)
        t_cc, _ = _checked(cc_cmd, d)
        t_pan, p = _run(run_cmd, d)
        out = p.stdout + p.stderr
        res = parse_pan(out)
        if res["depth_limit_hit"]:
            run_cmd = ["./pan", *(["-a"] if ltl else []), *PAN_DEEP]
            t_pan, p = _run(run_cmd, d)
            out = p.stdout + p.stderr
            res = parse_pan(out)
        res.update(
            generate_s=round(t_gen, 4),
            compile_s=round(t_cc, 4),
            verify_s=round(t_pan, 4),
            total_s=round(t_gen + t_cc + t_pan, 4),
            commands=[" ".join(gen_cmd), " ".join(cc_cmd), " ".join(run_cmd)],
        )
        if res["verdict"] == "error":
            res["pan_output"] = out[-2000:]
        if replay and res["verdict"] == "bug" and (d / f"{model}.trail").exists():
            _, tp = _run([tools["spin"], *defines, *(["-DLTL"] if ltl else []), "-t", model], d)
            lines = []
            for line in tp.stdout.splitlines():
                s = line.strip()
                if s.startswith("spin: warning"):
                    continue  # e.g. "MODEL is newer than MODEL.trail" (same-second timestamps)
                if s.startswith(("spin:", "#processes")):
                    break
                if s:
                    lines.append(s)
            res["trail_events"] = lines
            # The whole state space, not stopping at errors.
            full_cmd = ["./pan", "-c0", *PAN_RUN]
            _, fp = _run(full_cmd, d)
            full = parse_pan(fp.stdout + fp.stderr)
            res["whole_space"] = {
                k: full[k] for k in ("errors", "states_stored", "transitions", "depth_reached", "search_completed")
            }
            res["whole_space"]["command"] = " ".join(full_cmd)
        return res


# -- kport ------------------------------------------------------------------------------------------

KEY_CALLS = ("llist_add(", "irq_work_needs_cpu(", "smp_call_function_single(", "generic_exec_single(")


def probe_variant(label: str) -> Any:
    """A variant of one tree with one method of one patch (not registered in the corpus)."""
    from kernel_port.variants import Variant, parse_variant, patches

    tree, pname, method = PROBE_OF[label]
    base = parse_variant(tree)
    patch = patches()[pname]
    half = type(f"{patch.cls.__name__}__{method}", (), {method: patch.cls.__dict__[method]})
    cls = type(label, (half, base.cls), {"VARIANT_NAME": label})
    return Variant(label, base.tree, (), cls)


def kport_run(scenario: str, variant: str, faults: int | None, trace: bool) -> dict[str, Any]:
    from kernel_port.engine.explorer import check, replay
    from kernel_port.matrix import WANT
    from kernel_port.scenario import ScenarioProgram, get_scenario, program

    sc = get_scenario(scenario)
    prog: Any
    if variant in PROBE_OF:
        prog = ScenarioProgram(sc, probe_variant(variant), sc.faults if faults is None else faults, sc.preemptions)
    else:
        prog = program(scenario, variant, faults=faults)
    t0 = time.perf_counter()
    r = check(prog, "dfs", preemptions=prog.preemption_bound)
    wall = time.perf_counter() - t0
    ce = r.counterexample
    out: dict[str, Any] = {
        "verdict": r.verdict,
        "kind": r.kind,
        "message": r.message,
        "executions": r.executions,
        "complete": r.complete,
        "seconds": round(r.seconds, 4),
        "wall_s": round(wall, 4),
        "fault_budget": prog.faults,
        # The scenario's expectation as a verdict ("BUG" -> "bug", "OK" -> "ok"; None for "find").
        "expected": WANT.get(sc.expect.get(variant, "")),
        "counterexample": None
        if ce is None
        else {"steps": ce.steps, "preemptions": ce.preemptions, "faults": ce.faults},
        "token": r.token if r.verdict != "ok" else None,
    }
    if trace and ce is not None and r.verdict == "bug":
        from kernel_port.engine.trace import rows_json

        rep, _ = replay(prog, ce.choices)
        if rep.machine is not None:
            ev = []
            for row in rows_json(rep.machine):
                text = row["text"]
                if row["kind"] in ("fault", "source", "irq-enter", "note") or (
                    row["kind"] == "call" and text.startswith("= ") and text[2:].startswith(KEY_CALLS)
                ):
                    ev.append(f"CPU{row['cpu']}: {text}")
            out["trace_events"] = ev
    return out


# -- one cell -----------------------------------------------------------------------------------------


def run_cell(
    tools: dict[str, str], cell: tuple[str, str, str, list[str], int | None], kind: str, reps: int
) -> dict[str, Any]:
    model, scenario, variant, defines, faults = cell
    defs = [*defines, *([f"-DFAULTS={faults}"] if faults is not None else [])]
    spin_runs = [spin_pipeline(tools, model, defs, ltl=False, replay=(i == 0)) for i in range(reps)]
    spin = min(spin_runs, key=lambda x: x["total_s"])
    # The fastest run's phases add up to its total; pan's own best time is kept beside them.
    spin["verify_min_s"] = min(x["verify_s"] for x in spin_runs)
    for k in ("trail_events", "whole_space"):
        if k in spin_runs[0]:
            spin[k] = spin_runs[0][k]
    ltl = spin_pipeline(tools, model, defs, ltl=True, replay=False)
    kp_runs = [kport_run(scenario, variant, faults, trace=(i == 0)) for i in range(reps)]
    kp = min(kp_runs, key=lambda x: x["wall_s"])
    if "trace_events" in kp_runs[0]:
        kp["trace_events"] = kp_runs[0]["trace_events"]
    expected = kp["expected"] if kind == "corpus" else None
    spin_kind, kport_kind = SPIN_KIND[model]
    agree = spin["verdict"] == kp["verdict"] == ltl["verdict"]
    notes = []
    if expected is not None and kp["verdict"] != expected:
        notes.append(f"kport says {kp['verdict']}, the scenario expects {expected}")
    if expected is not None and spin["verdict"] != expected:
        notes.append(f"SPIN says {spin['verdict']}, the scenario expects {expected}")
    if spin["verdict"] != kp["verdict"]:
        notes.append(f"verdicts differ: SPIN {spin['verdict']}, kport {kp['verdict']}")
    if ltl["verdict"] != spin["verdict"]:
        notes.append(f"SPIN's LTL run says {ltl['verdict']}, its safety run {spin['verdict']}")
    if spin["verdict"] == "bug" == kp["verdict"]:
        if not (spin["error"] or "").startswith(spin_kind) or kp["kind"] != kport_kind:
            notes.append(f"kinds differ from the mapping: SPIN '{spin['error']}', kport '{kp['kind']}'")
    ok = agree and not notes
    label = variant if faults is None else f"{variant} (faults {faults})"
    print(
        f"  {scenario} {label}: kport {kp['verdict']} ({kp['executions']} executions, {kp['wall_s']:.3f} s); "
        f"SPIN {spin['verdict']} ({spin['states_stored']} states, {spin['total_s']:.3f} s, pan {spin['verify_min_s']:.3f} s)"
        f"; LTL {ltl['verdict']}" + ("" if ok else "  <-- " + "; ".join(notes)),
        flush=True,
    )
    return {
        "model": f"bench/spin/{model}",
        "scenario": scenario,
        "variant": variant,
        "faults": kp["fault_budget"],
        "spin_defines": defs,
        "kind": kind,  # corpus | control | probe
        "expected": expected,
        "kport": kp,
        "spin": spin,
        "spin_ltl": ltl,
        "agree": ok,
        "notes": notes,
        "ratio_total": _sig(kp["wall_s"] / spin["total_s"]) if spin["total_s"] else None,
        "ratio_verify": _sig(kp["wall_s"] / spin["verify_min_s"]) if spin["verify_min_s"] else None,
    }


def _sig(x: float) -> float:
    """Three significant digits."""
    return float(f"{x:.3g}")


# -- report ---------------------------------------------------------------------------------------------


def _v(verdict: str, kind: str | None) -> str:
    return verdict.upper() + (f" ({kind})" if kind and verdict != "ok" else "")


def _states(s: dict[str, Any]) -> str:
    txt = f"{s['states_stored']:,} / {s['transitions']:,}"
    ws = s.get("whole_space")
    if ws:
        txt += f" (whole space {ws['states_stored']:,} / {ws['transitions']:,}; pan -c0 errors: {ws['errors']})"
    return txt


def table(rows: list[dict[str, Any]], kind: str) -> list[str]:
    head = "| scenario | variant | " + {"corpus": "expected | ", "control": "fault budget | ", "probe": ""}[kind]
    head += (
        "kport verdict | kport executions | SPIN verdict | SPIN states stored / transitions | SPIN LTL (pan -a) | "
        "kport s | SPIN s (gen + cc + pan) | pan s (best) | kport / SPIN | kport / pan | agree |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        kp, sp, lt = r["kport"], r["spin"], r["spin_ltl"]
        third = {"corpus": f"{(r['expected'] or '-').upper()} | ", "control": f"{r['faults']} | ", "probe": ""}[kind]
        sverd = _v(sp["verdict"], (sp["error"] or "").split(" (")[0])
        lverd = _v(lt["verdict"], lt["error"]) + f", {lt['states_stored']:,} states"
        lines.append(
            f"| {r['scenario']} | {r['variant']} | {third}{_v(kp['verdict'], kp['kind'])} | {kp['executions']} | "
            f"{sverd} | {_states(sp)} | {lverd} | {kp['wall_s']:.3f} | "
            f"{sp['total_s']:.3f} ({sp['generate_s']:.2f} + {sp['compile_s']:.2f} + {sp['verify_s']:.3f}) | "
            f"{sp['verify_min_s']:.3f} | {r['ratio_total']} | {r['ratio_verify']} | {'yes' if r['agree'] else '**NO**'} |"
        )
    return lines


def markdown(res: dict[str, Any]) -> str:
    rows = [r for r in res["rows"] if r["kind"] == "corpus"]
    ctrl = [r for r in res["rows"] if r["kind"] == "control"]
    probes = [r for r in res["rows"] if r["kind"] == "probe"]
    m = res["machine"]
    lines = [
        "# SPIN side-by-side peer",
        "",
        "`python bench/spin_peer.py`" + (" --quick" if res["quick"] else "") + " (issue 9 item 6).  Promela models of "
        "the ported code: `bench/spin/irq_work_lost_self_ipi.pml` (irq_work.lost-self-ipi) and "
        "`bench/spin/smp_lost_ipi_waiter.pml` (smp.lost-ipi-waiter), one `#define` per variant.  Both tools answer the "
        "same question in the same run.",
        "",
        f"Python {m['python']}, {m['platform']}, {m['cpus']} CPUs; {res['pinning']}; {m['spin']}; {m['gcc']}.  "
        f"Times: best of {res['reps']} runs per tool and cell; 1-minute load average "
        f"{res['load_average_1min']['start']} at the start, {res['load_average_1min']['end']} at the end (other work "
        "on the machine slows both tools, not necessarily alike: expect run-to-run variation).",
        "",
        "SPIN commands (per cell, in a fresh temporary directory): "
        + "; ".join(f"`{c}`" for c in res["spin_commands"]["safety"])
        + "; on an error `spin -t` (trail replay) and `./pan -c0` (whole space, not stopping at errors); the LTL "
        "form: " + "; ".join(f"`{c}`" for c in res["spin_commands"]["ltl"]) + ".  kport: "
        "`kernel_port.engine.explorer.check(program(scenario, variant[, faults]), 'dfs')` in-process, which is what "
        "`kport check SCENARIO --variant V [--faults N]` runs.",
        "",
        f"**Verdicts: {'all agree' if res['all_agree'] else 'DISAGREE'}** ({res['agreeing']} of {len(res['rows'])} cells: "
        f"{len(rows)} corpus cells against the scenario's expected verdict; {len(ctrl)} controls with another fault "
        f"budget and {len(probes)} probes, where the two tools must agree with each other).",
        "",
        "## Corpus cells",
        "",
        *table(rows, "corpus"),
        "",
        "## Controls (another fault budget: kport `--faults N`, SPIN `-DFAULTS=N`)",
        "",
        *table(ctrl, "control"),
        "",
        "## Probes: which half of herton-rfc decides irq_work.lost-self-ipi",
        "",
        "herton-rfc changes two functions: `irq_work_needs_cpu()` keeps the tick for a non-empty raised list, and "
        "`irq_work_tick()` runs that list.  Each probe is v6.17 with one of the two (kport: a variant built in "
        "this script from the patch's method, not registered in the corpus; SPIN: `-DHERTON_NEEDS_CPU_ONLY` / "
        "`-DHERTON_TICK_ONLY`).",
        "",
        *table(probes, "probe"),
        "",
    ]
    if probes:
        by = {r["variant"]: r["kport"]["verdict"] for r in probes}
        need = by.get("v6.17 + herton-rfc's irq_work_needs_cpu() only")
        tick = by.get("v6.17 + herton-rfc's irq_work_tick() only")
        if need == "bug" and tick == "ok":
            lines += [
                "In this scenario the verdict comes from `irq_work_tick()` alone: with the APIC, the one CPU keeps "
                "(or retakes) the timekeeping duty, so stopping the tick still programs `sched_timer` for the "
                "timekeeping deferment and the one budgeted tick fires whether or not `irq_work_needs_cpu()` keeps "
                "the periodic tick.  Keeping the tick alone does not rescue the work (v6.17's tick skips the raised "
                "list); running the list from the tick does.",
                "",
            ]
    bad = [r for r in res["rows"] if not r["agree"]]
    if bad:
        lines += ["## Disagreements", ""]
        lines += [f"* {r['scenario']} {r['variant']} (faults {r['faults']}): " + "; ".join(r["notes"]) for r in bad]
        lines.append("")
    lines += [
        "## Reading the numbers",
        "",
        "* SPIN's unit is a stored state of the model (all processes' control points and every variable), kport's "
        "an execution (one complete schedule, explored by optimal DPOR with sleep sets).  They count different "
        "things and are not comparable one to one; both are the size of each tool's search for the same question.",
        "* The SPIN verdict run stops at the first error (`pan`'s default), so its state count on a BUG cell is the "
        "search up to the first counterexample; the whole space is counted by the `-c0` run next to it.  kport "
        "finishes the search level in which it found the bug (to pick the shortest counterexample), so its "
        "execution count on a BUG cell is that whole level.",
        "* Time ratio = kport seconds / SPIN seconds (above 1: kport is slower).  SPIN's time is dominated by "
        "compiling the generated verifier (`gcc -O2`, 1-2 s per cell on this machine); the verification itself takes milliseconds, "
        "most of it allocating pan's hash table and stack.  kport's time is the DPOR search in Python on the ported "
        "code (executions x steps), without interpreter start-up.",
        "* kport runs the real port (every shared access of every ported function is a step); the models are "
        "abstractions of it (below), so a model's state count says nothing about the port's size.",
        "",
        "## Counterexamples side by side",
        "",
        "kport: the minimised counterexample, replayed, keeping the fault, event-source, interrupt-entry and note "
        "lines and the results of the key calls.  SPIN: the first trail `pan` found, replayed with `spin -t`, "
        "printing the model's printf lines (SPIN does not minimise it; its depth counts Promela statements).",
        "",
    ]
    for r in res["rows"]:
        kp, sp = r["kport"], r["spin"]
        if kp["verdict"] != "bug" and sp["verdict"] != "bug":
            continue
        ce = kp["counterexample"] or {}
        lines += [
            f"### {r['scenario']} on {r['variant']}" + (f" (faults {r['faults']})" if r["kind"] == "control" else ""),
            "",
            f"kport: {_v(kp['verdict'], kp['kind'])}: {kp['message']} [{ce.get('steps')} steps, "
            f"{ce.get('preemptions')} preemption(s), {ce.get('faults')} fault(s)]",
            "",
            "```",
            *kp.get("trace_events", []),
            "```",
            "",
            f"SPIN: {sp['error']} at depth {sp['error_depth']}",
            "",
            "```",
            *sp.get("trail_events", []),
            "```",
            "",
        ]
    lines += ["## What the Promela models abstract, compared with the port", ""]
    for model, items in ABSTRACTS.items():
        lines += [f"`bench/spin/{model}`:", ""]
        lines += [f"* {t}" for t in items]
        lines.append("")
    lines += [
        "Property encodings: irq_work.lost-self-ipi is a stall (kport's `eventually` obligation checked when no "
        "actor can move); the model's monitor process asserts it on SPIN's `timeout`, which is executable exactly "
        "when no other statement is.  smp.lost-ipi-waiter is a deadlock (a CPU spinning while nothing can move): "
        "CPU0's wait is a blocking statement without an end label, so pan reports an invalid end state.  The "
        "LTL column checks `<> (every work ran)` / `<> waiter_returned` with `pan -a` instead (pan extends a final "
        "state by stuttering), as a cross-check of the two encodings.",
        "",
    ]
    return "\n".join(lines)


def _pin() -> str:
    from pinning import pin_to_one_core  # bench/ is on sys.path when a bench runs as a script

    return pin_to_one_core()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="one repetition per tool and cell")
    ap.add_argument("--reps", type=int, default=None, help="repetitions for the timings (default 3, quick 1)")
    ap.add_argument("--no-pin", action="store_true")
    ap.add_argument("--report-only", action="store_true", help="rewrite spin_peer.md from the existing json")
    args = ap.parse_args(argv)
    if args.report_only:
        old = json.loads((RES / "spin_peer.json").read_text())
        (RES / "spin_peer.md").write_text(markdown(old))
        return 0 if old["all_agree"] else 1
    tools = tools_or_exit()
    pin = "not pinned (--no-pin)" if args.no_pin else _pin()
    sys.path.insert(0, str(HERE.parent))
    reps = args.reps or (1 if args.quick else 3)
    vers = tool_versions(tools)
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    rows = [run_cell(tools, c, "corpus", reps) for c in CELLS]
    rows += [run_cell(tools, c, "control", reps) for c in CONTROLS]
    rows += [run_cell(tools, c, "probe", reps) for c in PROBES]
    agreeing = sum(1 for r in rows if r["agree"])
    res: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            **vers,
        },
        "pinning": pin,
        # Other work on the machine distorts the timings; the 1-minute load average says how much.
        "load_average_1min": {"start": round(load0[0], 2), "end": round(os.getloadavg()[0], 2)},
        "quick": args.quick,
        "reps": reps,
        "spin_commands": {
            "safety": [
                "spin [-DVARIANT] [-DFAULTS=N] -a MODEL.pml",
                f"gcc {' '.join(PAN_SAFETY_CC)} -o pan pan.c",
                f"./pan {' '.join(PAN_RUN)}",
            ],
            "ltl": [
                "spin [-DVARIANT] [-DFAULTS=N] -DLTL -a MODEL.pml",
                f"gcc {' '.join(PAN_CC)} -o pan pan.c",
                f"./pan -a {' '.join(PAN_RUN)}",
            ],
        },
        "rows": rows,
        "agreeing": agreeing,
        "all_agree": agreeing == len(rows),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    RES.mkdir(exist_ok=True)
    (RES / "spin_peer.json").write_text(json.dumps(res, indent=2, sort_keys=True) + "\n")
    (RES / "spin_peer.md").write_text(markdown(res))
    print(
        f"spin_peer: {agreeing} of {len(rows)} cells agree; wrote results/spin_peer.{{json,md}} in {res['seconds']} s"
    )
    return 0 if res["all_agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
