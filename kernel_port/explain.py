# SPDX-License-Identifier: GPL-2.0-only
"""``kport explain``: the shortest counterexample, linked to the C, and said in words.

The trace is the one ``kport check`` prints (CPU columns, time going down), with one more
column: the upstream C file, line and function each row runs in, at the variant's pinned
tree (a function a patch overrides links to the tree's original and names the patch).  A
"Sources" list gives an Elixir URL for each function.  The closing paragraph is derived
from the trace itself, for any scenario: the kind of violation and its message, the faults
injected and where, the interrupts taken, the objects both CPUs touched, which functions the
variant's patches change and whether they ran, and where each CPU was when it ended.  A
scenario may add its own words as a class attribute ``explain``; otherwise its one-line
summary is quoted, and its bug page (docs/bugs/<scenario>.md) is named when there is one.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from .engine.explorer import Result
from .memory_model import check
from .report import annotated_trace, kfuncs_of, verdict_line
from .scenario import get_scenario, program
from .variants import Variant, project_root

EXIT = {"ok": 0, "bug": 1, "inconclusive": 3, "error": 4}

KIND_WORDS = {
    "stall": "the machine came to rest (no CPU could move) with a liveness obligation unmet",
    "deadlock": "a CPU waits for something no other CPU or interrupt will ever do",
    "assertion": "the scenario's property failed",
    "BUG": "a BUG_ON() fired",
    "WARN": "a WARN_ON() fired (the scenario treats warnings as fatal)",
    "sleep-in-atomic": "code that may sleep ran in atomic context",
}


def changed_functions(v: Variant) -> dict[str, str]:
    """Kernel function name -> the patch (or tree) of ``v`` that overrides it."""
    out: dict[str, str] = {}
    for p in v.patches:
        for name in kfuncs_in(p.cls):
            out[name] = p.name
    if v.tree.base is not None:
        for name in kfuncs_in(v.tree.cls, own=True):
            out.setdefault(name, v.tree.name)
    return out


def kfuncs_in(cls: type, own: bool = True) -> list[str]:
    """Kernel names of the kfuncs defined in ``cls`` itself (``own``) or its whole MRO."""
    if not own:
        return list(kfuncs_of(cls))
    from .engine.kfunc import kfunc_of

    names = []
    for fn in vars(cls).values():
        fr = kfunc_of(fn)
        if fr is not None:
            names.append(fr.name)
    return names


def _chains(rows: list[dict[str, Any]]) -> list[list[str]]:
    """For each row, the call chain it runs in (outermost first)."""
    stacks: dict[int, dict[int, str]] = {}
    out = []
    for r in rows:
        st = stacks.setdefault(r["cpu"], {})
        d = r["depth"]
        if r["kind"] in ("func", "irq-enter"):
            for k in [k for k in st if k >= d]:
                del st[k]
            st[d] = r["function"] if r["kind"] == "func" else r["text"]
            out.append([st[k] for k in sorted(st) if k < d])
        else:
            out.append([st[k] for k in sorted(st) if k < d])
    return out


def render(tr: dict[str, Any], width: int | None = None, total: int | None = None) -> str:
    """The annotated trace: CPU columns of ``width`` (or what fits a line of ``total``), then the
    upstream C reference of each row."""
    from .engine.trace import wrap

    n = tr["ncpus"]
    sep = " | "
    gutter = 5
    if total is not None:
        ref_w = min(56, max(24, total // 3))
        width = max(12, (total - gutter - len(sep) * n - ref_w) // max(n, 1))
    width = width or 44
    lines = [f"{tr['scenario']} on {tr['variant']}", ""]
    lines.append(
        " " * gutter
        + sep.join(f"CPU{c}".ljust(width) for c in range(n))
        + sep
        + "upstream C (file:line of the access, else of the function)"
    )
    lines.append(" " * gutter + sep.join(("-" * len(f"CPU{c}")).ljust(width) for c in range(n)) + sep + "-" * 10)
    last_step = None
    for r in tr["rows"]:
        text = "  " * r["depth"] + r["text"]
        for i, chunk in enumerate(wrap(text, width)):
            cells = [""] * n
            cells[r["cpu"]] = chunk
            g = ""
            if i == 0 and r["step"] != last_step:
                g = f"{r['step']:>4} "
                last_step = r["step"]
            ref = ""
            if i == 0 and r["ref"]:
                f = r["ref"]
                line = r.get("line") or f["line"]
                ref = f"{f['file']}:{line} {f['function']}()" if line else f"{f['file']} {f['function']}()"
                if f["patch"]:
                    ref += f" [{f['patch']}]"
            lines.append(g.ljust(gutter) + sep.join(c.ljust(width) for c in cells) + sep + ref)
    lines.append("")
    lines.append(tr["verdict"])
    lines.append("")
    lines.append("Sources (upstream C at the pinned version; [patch] = the function as that patch changes it):")
    for f in tr["legend"]:
        where = f"{f['file']}:{f['line']}" if f["line"] else f["file"]
        tag = f" [{f['patch']}]" if f["patch"] else ""
        url = f"  {f['url']}" if f["url"] else ""
        lines.append(f"  {f['function'] + '()' + tag:<40} {where} ({f['version'] or 'no upstream version'}){url}")
    return "\n".join(ln.rstrip() for ln in lines) + "\n"


def _list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def words(tr: dict[str, Any], r: Result, sc: Any, v: Variant | None) -> str:
    """The closing paragraph: what went wrong, derived from the trace."""
    rows = tr["rows"]
    chains = _chains(rows)
    ce = r.counterexample
    parts: list[str] = []
    kind = r.kind or "?"
    what = KIND_WORDS.get(kind, f"the run ended with a {kind}")
    parts.append(f"What went wrong: on {tr['variant']}, {what}: {r.message.rstrip('.')}.")
    if ce is not None:
        parts.append(
            f"This is the shortest counterexample found: {ce.steps} step(s), {ce.preemptions} preemption(s) and "
            f"{ce.faults} injected fault(s) (dfs orders them by fewest preemptions, then faults, then steps)."
        )
    faults = [(i, rr) for i, rr in enumerate(rows) if rr["kind"] == "fault"]
    for i, rr in faults:
        chain = [c for c in chains[i] if not c.startswith("<")]
        where = f" in {chain[-1]}()" if chain else ""
        via = f" (called from {' <- '.join(c + '()' for c in reversed(chain[:-1]))})" if len(chain) > 1 else ""
        parts.append(
            f"At step {rr['step']} on CPU{rr['cpu']} the machine injected a fault: "
            f"{rr['text'].lstrip('! ')}{where}{via}."
        )
    if not faults and ce is not None and ce.faults == 0:
        parts.append("No fault was injected: the interleaving alone is enough.")
    for c in range(tr["ncpus"]):
        top: list[list[Any]] = []
        for i, rr in enumerate(rows):
            if rr["cpu"] != c or rr["kind"] != "func":
                continue
            chain = chains[i]
            if chain and not chain[-1].startswith("<"):
                continue  # not an outermost call (of the task, or of an interrupt handler)
            if top and top[-1][0] == rr["function"]:
                top[-1][1] += 1
            else:
                top.append([rr["function"], 1])
        if top:
            calls = [f"{f}()" + (f" ({n} times)" if n > 1 else "") for f, n in top[:8]]
            parts.append(f"CPU{c} ran {', then '.join(calls)}{', ...' if len(top) > 8 else ''}.")
    irqs = [rr for rr in rows if rr["kind"] == "irq-enter"]
    if irqs:
        seen = []
        for rr in irqs:
            s = f"{rr['text'].strip('<>')} on CPU{rr['cpu']} (step {rr['step']})"
            if s not in seen:
                seen.append(s)
        parts.append(f"Interrupts taken: {_list(seen[:6])}{' and more' if len(seen) > 6 else ''}.")
    elif any(rr["kind"] == "fault" for rr in rows):
        parts.append("No interrupt was taken in this execution.")
    by_obj: dict[str, set[int]] = {}
    for rr in rows:
        if rr["access"]:
            by_obj.setdefault(rr["access"], set()).add(rr["cpu"])
    shared = [o for o, cpus in by_obj.items() if len(cpus) > 1]
    if shared:
        parts.append(
            f"Objects accessed by more than one CPU: {_list(shared[:8])}{' and more' if len(shared) > 8 else ''}."
        )
    if v is not None:
        changed = changed_functions(v)
        if changed:
            ran: dict[str, list[int]] = {}
            for rr in rows:
                if rr["kind"] == "func" and rr["function"] in changed:
                    ran.setdefault(rr["function"], []).append(rr["step"])
            descr = ", ".join(f"{f}() ({p})" for f, p in changed.items())
            if ran:
                rs = "; ".join(f"{f}() at step(s) {', '.join(map(str, steps[:5]))}" for f, steps in ran.items())
                parts.append(f"The variant changes {descr}; of these, the trace runs {rs}.")
            else:
                parts.append(f"The variant changes {descr}; none of them runs in this trace.")
    ends = []
    for c in range(tr["ncpus"]):
        idx = [i for i, rr in enumerate(rows) if rr["cpu"] == c]
        if not idx:
            ends.append(f"CPU{c} never ran")
            continue
        i = idx[-1]
        chain = [x for x in chains[i] if not x.startswith("<")]
        if rows[i]["kind"] == "func":
            chain = chain + [rows[i]["function"]]
        where = f"in {chain[-1]}()" if chain else "in its scenario program"
        ends.append(f"CPU{c} ended {where} after '{rows[i]['text'].strip()}'")
    parts.append("At the end: " + "; ".join(ends) + ".")
    story: list[str] = []
    own = getattr(sc, "explain", "") or ""
    if own:
        story.append(" ".join(own.split()))
    elif sc.summary():
        story.append(f"The scenario: {sc.summary()}")
    page = project_root() / "docs" / "bugs" / f"{sc.name}.md"
    if page.is_file():
        story.append(f"The story of this bug: docs/bugs/{page.name}.")
    text = textwrap.fill(" ".join(parts), 100)
    if story:
        text += "\n\n" + textwrap.fill(" ".join(story), 100)
    return text + "\n"


def _access_lines(prog: Any, choices: list[int], tr: dict[str, Any], kernel_tree: str | None) -> None:
    """Give each row the upstream line of its access (report/lines.py), where it is known."""
    import os

    from .engine.trace import rows
    from .report.lines import c_lines

    tree = kernel_tree or os.environ.get("KPORT_KERNEL_TREE") or None
    m = tr.get("machine")
    if m is None:
        return
    lines = c_lines(prog, choices, rows(m), tree)
    for r, line in zip(tr["rows"], lines, strict=False):
        r["line"] = line


def explain(
    name: str,
    variant: str | None,
    faults: int | None = None,
    width: int | None = None,
    short: bool = False,
    kernel_tree: str | None = None,
    memory_model: str | None = None,
) -> tuple[int, str]:
    """``kport explain``: the annotated trace and the paragraph, ending with the decisive reads
    (the race diagram's words, engine/../diagram.py); ``short``: the diagram instead of the trace."""
    from .diagram import WIDTH, build
    from .diagram import render as render_diagram
    from .engine.trace import terminal_width

    sc = get_scenario(name)
    prog = program(name, variant, faults=faults, memory_model=memory_model)
    r = check(prog, "dfs", preemptions=prog.preemption_bound)
    head = f"{prog.name} on {prog.variant}: {r.verdict.upper()}\n"
    if r.counterexample is None or r.verdict == "ok":
        return EXIT[r.verdict], head + verdict_line(r) + "\nNothing to explain: no counterexample was found.\n"
    total = terminal_width(width)
    d = build(prog, r.counterexample.choices, width=min(total or WIDTH, WIDTH)) if r.verdict == "bug" else None
    if short and d is not None:
        body = render_diagram(d, verdict=verdict_line(r), width=min(total or WIDTH, WIDTH))
        return EXIT[r.verdict], head + "\n" + body + f"\nReplay:   kport replay {r.token}\n"
    tr = annotated_trace(prog, r)
    assert tr is not None
    _access_lines(prog, r.counterexample.choices, tr, kernel_tree)
    body = render(tr, total=total)
    text = head + "\n" + body + "\n" + words(tr, r, sc, prog.variant_obj)
    if d is not None:
        fill = min(total or 100, 100)
        text += "\n" + textwrap.fill(" ".join(d.why.split()), fill) + "\n"
    text += f"\nReplay:   kport replay {r.token}\n"
    return EXIT[r.verdict], text


def cmd_explain(args: argparse.Namespace) -> int:
    rc, text = explain(
        args.scenario,
        args.variant,
        args.faults,
        args.width,
        bool(getattr(args, "short", False)),
        getattr(args, "kernel_tree", None),
        getattr(args, "memory_model", None),
    )
    print(text, end="")
    return rc
