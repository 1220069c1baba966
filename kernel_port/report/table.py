# SPDX-License-Identifier: GPL-2.0-only
"""The verdict matrix as a table: rich on a terminal, plain text otherwise, and markdown.

Each renderer takes the matrix cells (the ``--json`` cell objects of ``kport matrix``) and
writes to a stream.  Every row states the cell's memory model (``sc`` or ``tso``; a cell from
an older saved run without one is ``sc``).  A cell reads ``verdict (kind)``; ``match`` is ``yes``, ``NO`` (the
verdict differs from the expectation: the exit status is then 1) or ``-`` (nothing to
compare, e.g. an unrecorded ``find`` cell).
"""

from __future__ import annotations

from typing import Any, TextIO

from .summary import matrix_summary

MATCH = {True: "yes", False: "NO", None: "-"}


def model(c: dict[str, Any]) -> str:
    return str(c.get("memory_model") or "sc")


def _verdict(c: dict[str, Any]) -> str:
    return c["verdict"] + (f" ({c['kind']})" if c["kind"] and c["verdict"] != "ok" else "")


def summary(cells: list[dict[str, Any]]) -> str:
    bad = sum(1 for c in cells if c["match"] is False)
    return f"{len(cells)} cells, {len(cells) - bad} as expected, {bad} differ"


def plain(cells: list[dict[str, Any]], out: TextIO) -> None:
    w1 = max([len("scenario")] + [len(c["scenario"]) for c in cells])
    w2 = max([len("variant")] + [len(c["variant"]) for c in cells])
    print(
        f"{'scenario':<{w1}}  {'variant':<{w2}}  {'model':<5}  {'expected':<9} {'verdict':<22} {'execs':>7} "
        f"{'secs':>6}  match",
        file=out,
    )
    for c in cells:
        print(
            f"{c['scenario']:<{w1}}  {c['variant']:<{w2}}  {model(c):<5}  {c['expected']:<9} {_verdict(c):<22} "
            f"{c['executions']:>7} {c['seconds']:>6.2f}  {MATCH[c['match']]}",
            file=out,
        )
    print(f"\n{summary(cells)}", file=out)


def bounds(c: dict[str, Any]) -> str:
    """What a cell's search covered: preemption bound, fault budget, memory model (a cell from
    an older saved run without them says so)."""
    if "fault_budget" not in c:
        return "-"
    pre = c.get("preemption_bound")
    limit = "any" if pre is None else f"<= {pre}"
    return f"{limit} preemptions, <= {c['fault_budget']} faults, {c.get('memory_model') or 'sc'}"


def markdown(cells: list[dict[str, Any]], out: TextIO, provenance: dict[str, str] | None = None) -> None:
    per_patch = matrix_summary(cells)
    if per_patch:
        print("## What each patch does (against its base, from these cells)", file=out)
        print(file=out)
        for row in per_patch:
            print(f"* **{row['variant']}** against {row['base']}: {row['answer']}", file=out)
        print(file=out)
    print(
        "| scenario | variant | model | expected | verdict | match | executions | complete | bounds | seconds |",
        file=out,
    )
    print("|---|---|---|---|---|---|---:|---|---|---:|", file=out)
    for c in cells:
        print(
            f"| {c['scenario']} | {c['variant']} | {model(c)} | {c['expected']} | {_verdict(c)} | "
            f"{MATCH[c['match']]} | "
            f"{c['executions']} | {'yes' if c['complete'] else 'no'} | {bounds(c)} | {c['seconds']:.2f} |",
            file=out,
        )
    print(f"\n{summary(cells)}", file=out)
    if provenance:
        print(file=out)
        print("Produced by " + "; ".join(f"{k}: {v}" for k, v in provenance.items()) + ".", file=out)


def rich_table(cells: list[dict[str, Any]], out: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out)
    t = Table(title="kernel_port verdict matrix", header_style="bold")
    t.add_column("scenario")
    t.add_column("variant")
    t.add_column("model")
    t.add_column("expected")
    t.add_column("verdict")
    t.add_column("execs", justify="right")
    t.add_column("secs", justify="right")
    t.add_column("match", justify="center")
    style = {"ok": "green", "bug": "red", "inconclusive": "yellow", "error": "magenta"}
    last = None
    for c in cells:
        name = c["scenario"] if c["scenario"] != last else ""
        last = c["scenario"]
        m = c["match"]
        t.add_row(
            name,
            c["variant"],
            model(c),
            c["expected"],
            f"[{style.get(c['verdict'], 'white')}]{_verdict(c)}[/]",
            str(c["executions"]),
            f"{c['seconds']:.2f}",
            {True: "[green]yes[/]", False: "[bold red]NO[/]", None: "-"}[m],
        )
    console.print(t)
    bad = sum(1 for c in cells if c["match"] is False)
    console.print(summary(cells), style="bold red" if bad else "bold green")
