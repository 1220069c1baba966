# SPDX-License-Identifier: GPL-2.0-only
"""``kport review PATCH`` and ``kport ablate PATCH``: the answer to "which bug does it fix, which
does it leave, which does it bring back", from running the explorer.

Which scenarios speak about a patch
-----------------------------------
A patch changes the functions its mixin overrides (each override is one hunk of the patch, as
``kport patch import`` writes them).  On a base variant B (each variant the patch applies to,
or ``--base``) every kernel scenario meant for B's tree (one with an expected cell on a variant
of that tree) runs the exhaustive ``dfs`` search on B with the patched functions *watched*: the
variant class is subclassed so that each watched function notes that it ran, a note that costs
no step and changes no schedule.  A scenario *reaches* the patch when some execution calls one
of them.  The scenarios that reach it, and every scenario with an expected cell on B or on
B+PATCH, then run on B+PATCH.  A scenario that does not reach the patch runs the same code on
both, execution for execution, so it cannot change its verdict; a function that no scenario
reaches is named in the answer ("no scenario reaches: f()"): the corpus says nothing about it.

The answer, per base: ``fixes`` (BUG on B, OK with the patch), ``leaves`` (BUG on both),
``brings back`` (OK on B, BUG with the patch); the scenarios that stay OK, and any verdict that
is not decided (inconclusive or error on either side), are listed below it.  Every verdict is
the explorer's, with its bounds; none is taken from the corpus's expectations (a verdict that
differs from an expected cell is pointed out).

``kport ablate PATCH`` runs the same scenarios on every non-empty subset of the patch's
overrides (``B+PATCH:f,g`` is a variant name ``kport check`` takes) and gives, for each bug of
B, the minimal subsets that fix it, and for each scenario OK on B the minimal subsets that
bring a bug back.

Exit status: 0 when the patch brings nothing back and every verdict was decided; 1 when it
brings a bug back; 3 when a verdict is inconclusive; 4 when a scenario raised (error).
"""

from __future__ import annotations

import argparse
import fnmatch
import itertools
import json
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .engine.errors import UsageError
from .engine.explorer import Result
from .engine.kfunc import kfunc_of
from .memory_model import check, memory_model_of
from .ports import unedited
from .report.summary import CHANGE, function_list
from .scenario import BUG, OK, Scenario, ScenarioProgram, scenarios
from .variants import Patch, Variant, overrides, parse_variant, patches

MAX_ABLATION = 8  # overrides: 2**8 - 1 = 255 subsets


# -- running a scenario with watched functions --------------------------------------------------------


def watching(v: Variant, names: Iterable[str]) -> tuple[Variant, set[str]]:
    """``v`` with the kernel functions ``names`` watched: the returned set collects the names
    that ran.  Functions ``v`` does not have are left out."""
    from .report import kfuncs_of

    table = kfuncs_of(v.cls)
    hits: set[str] = set()
    ns: dict[str, Any] = {}
    for n in names:
        if n not in table:
            continue
        attr, fn = table[n]

        def watcher(self: Any, *args: Any, _fn: Any = fn, _n: str = n, **kw: Any) -> Any:
            hits.add(_n)
            return _fn(self, *args, **kw)

        watcher.__name__ = attr
        watcher.__qualname__ = f"{v.name}.{attr}"
        ns[attr] = watcher
    if not ns:
        return v, hits
    cls = type(v.cls.__name__, (v.cls,), ns)
    return replace(v, cls=cls), hits


@dataclass
class Cell:
    """One scenario on one variant: the explorer's verdict, its bounds, what it reached."""

    scenario: str
    variant: str
    verdict: str
    kind: str | None
    message: str
    executions: int
    complete: bool
    preemption_bound: int | None
    fault_budget: int
    memory_model: str
    token: str | None
    steps: int | None = None
    reached: list[str] = field(default_factory=list)
    expected: str | None = None  # the corpus's expected cell, if the scenario declares one

    @property
    def word(self) -> str:
        return {"ok": "OK", "bug": "BUG"}.get(self.verdict, self.verdict)

    @property
    def label(self) -> str:
        return self.word + (f" ({self.kind})" if self.kind and self.verdict != "ok" else "")

    @property
    def bounds(self) -> str:
        """What was covered: strategy, executions, bounds, memory model (and, for a bug, the
        counterexample's size)."""
        pre = "any number of" if self.preemption_bound is None else f"<= {self.preemption_bound}"
        limits = f"{pre} preemptions, <= {self.fault_budget} fault(s), memory model {self.memory_model}"
        if self.verdict == "ok":
            done = "search complete" if self.complete else "search NOT complete"
            return f"dfs, {self.executions} executions, {done}; {limits}"
        if self.verdict == "bug":
            size = f" of {self.steps} steps" if self.steps is not None else ""
            return f"counterexample{size} found by dfs in {self.executions} executions; {limits}"
        return f"dfs, {self.executions} executions; {limits}"

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "variant": self.variant,
            "verdict": self.verdict,
            "kind": self.kind,
            "message": self.message,
            "executions": self.executions,
            "complete": self.complete,
            "preemption_bound": self.preemption_bound,
            "fault_budget": self.fault_budget,
            "memory_model": self.memory_model,
            "token": self.token,
            "steps": self.steps,
            "reached": list(self.reached),
            "expected": self.expected,
        }


def expected_cell(sc: type[Scenario], variant: str, memory_model: str | None = None) -> str | None:
    """The corpus's expected cell of ``variant`` under ``memory_model`` (None: the scenario's)."""
    return sc.expected(variant, memory_model)


def run_scenario(
    sc: type[Scenario],
    variant: str,
    watch: Iterable[str] = (),
    seconds: float | None = None,
    memory_model: str | None = None,
) -> Cell:
    v = parse_variant(variant)
    wv, hits = watching(v, watch)
    prog = ScenarioProgram(sc, wv, sc.faults, sc.preemptions, memory_model or sc.own_memory_model())
    r = check(prog, "dfs", preemptions=prog.preemption_bound, seconds=seconds)
    return cell_of(sc, variant, r, hits, prog.memory_model)


def cell_of(
    sc: type[Scenario], variant: str, r: Result, hits: Iterable[str] = (), memory_model: str | None = None
) -> Cell:
    ce = r.counterexample
    return Cell(
        scenario=sc.name,
        variant=variant,
        verdict=r.verdict,
        kind=r.kind,
        message=r.message,
        executions=r.executions,
        complete=r.complete,
        preemption_bound=r.preemption_bound if r.preemption_bound is not None else sc.preemptions,
        fault_budget=r.faults,
        memory_model=memory_model_of(r),
        token=r.token if r.verdict != "ok" else None,
        steps=ce.steps if ce is not None else None,
        reached=sorted(set(hits)),
        expected=expected_cell(sc, variant, memory_model or memory_model_of(r)),
    )


# -- which scenarios, which functions ----------------------------------------------------------------


def find_patch(name: str) -> Patch:
    ps = patches()
    if name not in ps:
        import difflib

        near = difflib.get_close_matches(name, list(ps), n=3, cutoff=0.4)
        hint = f" (did you mean {', '.join(near)}?)" if near else f" (known: {', '.join(ps)})"
        raise UsageError(f"unknown patch '{name}'{hint}")
    return ps[name]


def bases_of(p: Patch, base: str | None) -> list[str]:
    if base is None:
        return list(p.applies_to)
    parse_variant(base)
    if base not in p.applies_to:
        raise UsageError(
            f"--base {base}: patch '{p.name}' does not apply to it (it applies to {', '.join(p.applies_to)})"
        )
    return [base]


def select(names: list[str]) -> list[type[Scenario]]:
    """Kernel scenarios among ``names`` (names or shell patterns; all when empty)."""
    every = {n: s for n, s in scenarios().items() if not n.startswith("engine.")}
    if not names:
        return list(every.values())
    out: list[type[Scenario]] = []
    for n in names:
        hit = [s for k, s in every.items() if fnmatch.fnmatchcase(k, n)]
        if not hit:
            raise UsageError(f"--scenario {n}: no kernel scenario matches; 'kport list' shows them all")
        out += [s for s in hit if s not in out]
    return out


def meant_for(sc: type[Scenario], tree: str) -> bool:
    return any(v.split("+")[0].split(":")[0] == tree for v in sc.variants())


def candidates(base: str, patched: Iterable[str], names: list[str]) -> list[type[Scenario]]:
    """The scenarios to try on ``base``: those meant for its tree, and those with a cell on
    ``base`` or on one of ``patched``."""
    tree = base.split("+")[0]
    declared = {base, *patched}
    return [s for s in select(names) if meant_for(s, tree) or declared & set(s.variants())]


# -- review ---------------------------------------------------------------------------------------------


@dataclass
class Pair:
    base: Cell
    patched: Cell
    declared: bool = False  # the scenario has an expected cell on the patched variant

    @property
    def reaches(self) -> list[str]:
        return sorted(set(self.base.reached) | set(self.patched.reached))

    @property
    def change(self) -> str:
        if not self.reaches and not self.declared:
            # The same code runs on both sides, execution for execution: nothing the patch did.
            return "does not reach"
        return CHANGE.get((self.base.verdict, self.patched.verdict), "undecided")


@dataclass
class BaseReview:
    patch: str
    base: str
    patched: str
    functions: list[str]
    pairs: list[Pair]
    unreached: list[str]
    tried: int  # scenarios run on the base to find the ones that reach the patch

    def names(self, change: str) -> list[str]:
        return [p.base.scenario for p in self.pairs if p.change == change]

    def answer(self) -> str:
        return (
            f"fixes: {', '.join(self.names('fixes')) or 'none'}; "
            f"leaves: {', '.join(self.names('leaves')) or 'none'}; "
            f"brings back: {', '.join(self.names('brings back')) or 'none'}; "
            f"no scenario reaches: {function_list(self.unreached)}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "patch": self.patch,
            "base": self.base,
            "patched": self.patched,
            "functions": list(self.functions),
            "answer": self.answer(),
            "fixes": self.names("fixes"),
            "leaves": self.names("leaves"),
            "brings_back": self.names("brings back"),
            "keeps_ok": self.names("keeps OK"),
            "undecided": self.names("undecided"),
            "not_reaching": self.names("does not reach"),
            "no_scenario_reaches": list(self.unreached),
            "scenarios_tried": self.tried,
            "scenarios": [
                {
                    "scenario": p.base.scenario,
                    "change": p.change,
                    "base": p.base.to_json(),
                    "patched": p.patched.to_json(),
                }
                for p in self.pairs
            ],
        }


Progress = Callable[[str], None] | None


def review_base(
    p: Patch,
    base: str,
    names: list[str],
    seconds: float | None,
    progress: Progress = None,
    memory_model: str | None = None,
) -> BaseReview:
    """``memory_model``: run every scenario under it (None: each under its own)."""
    patched = f"{base}+{p.name}"
    parse_variant(patched)
    funcs = list(overrides(p.for_base(base)))
    found: list[tuple[type[Scenario], Cell]] = []
    tried = candidates(base, [patched], names)
    for sc in tried:
        if progress:
            progress(f"{sc.name} on {base}")
        c = run_scenario(sc, base, funcs, seconds, memory_model)
        if c.reached or base in sc.variants() or patched in sc.variants():
            found.append((sc, c))
    pairs = []
    for sc, c in found:
        if progress:
            progress(f"{sc.name} on {patched}")
        pairs.append(Pair(c, run_scenario(sc, patched, funcs, seconds, memory_model), patched in sc.variants()))
    reached = {f for pr in pairs for f in (*pr.base.reached, *pr.patched.reached)}
    return BaseReview(p.name, base, patched, funcs, pairs, [f for f in funcs if f not in reached], len(tried))


@dataclass
class Review:
    patch: Patch
    bases: list[BaseReview]
    unedited: list[str]  # overrides still identical to the base's Python

    def status(self) -> int:
        changes = [pr for b in self.bases for pr in b.pairs]
        cells = [c for pr in changes for c in (pr.base, pr.patched)]
        if any(c.verdict == "error" for c in cells):
            return 4
        if any(pr.change == "brings back" for pr in changes):
            return 1
        if any(c.verdict == "inconclusive" for c in cells):
            return 3
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "patch": self.patch.metadata(),
            "unedited_overrides": list(self.unedited),
            "bases": [b.to_json() for b in self.bases],
        }


def review(
    name: str,
    base: str | None = None,
    names: list[str] | None = None,
    seconds: float | None = None,
    progress: Progress = None,
    memory_model: str | None = None,
) -> Review:
    p = find_patch(name)
    bases = bases_of(p, base)
    out = [review_base(p, b, names or [], seconds, progress, memory_model) for b in bases]
    return Review(p, out, sorted({f for b in bases for f in unedited(p, b)}))


def _notes(rv: Review) -> list[str]:
    notes = []
    if rv.unedited:
        notes.append(
            f"note: {function_list(rv.unedited)} in {rv.patch.name} still run the base's Python unchanged "
            "(as kport patch import wrote them): edit them to do what the hunks do, or this reviews the base."
        )
    for b in rv.bases:
        for pr in b.pairs:
            for c in (pr.base, pr.patched):
                if c.expected in (BUG, OK) and c.word != c.expected:
                    notes.append(
                        f"note: {c.scenario} on {c.variant} is {c.word} here; the corpus expects {c.expected}."
                    )
    return notes


def render_text(rv: Review) -> str:
    out = [f"kport review {rv.patch.name}: {rv.patch.title}"]
    for b in rv.bases:
        out.append(f"{b.patched} against {b.base}: {b.answer()}")
    out += _notes(rv)
    for b in rv.bases:
        out.append("")
        out.append(
            f"On {b.base} ({len(b.pairs)} of {b.tried} scenarios reach {function_list(b.functions)} "
            "or have a cell for it):"
        )
        if not b.pairs:
            out.append("  (none)")
            continue
        w = max(len(p.base.scenario) for p in b.pairs)
        wb = max(len(p.base.label) for p in b.pairs)
        wp = max(len(p.patched.label) for p in b.pairs)
        out.append(f"  {'scenario':<{w}}  {'base':<{wb}}  {'patched':<{wp}}  {'':<14} reaches")
        for pr in b.pairs:
            out.append(
                f"  {pr.base.scenario:<{w}}  {pr.base.label:<{wb}}  {pr.patched.label:<{wp}}  {pr.change:<14} "
                f"{function_list(pr.reaches) if pr.reaches else '-'}"
            )
        told = [pr for pr in b.pairs if pr.change != "does not reach"]
        if told:
            out.append("  what each verdict covered:")
        for pr in told:
            for c in (pr.base, pr.patched):
                out.append(f"    {c.scenario} on {c.variant}: {c.label}; {c.bounds}")
        bugs = [c for pr in told for c in (pr.base, pr.patched) if c.verdict == "bug"]
        if bugs:
            out.append("  counterexamples (kport check prints the trace):")
            for c in bugs:
                out.append(f"    kport check {c.scenario} --variant {c.variant}")
    return "\n".join(out) + "\n"


def render_markdown(rv: Review) -> str:
    out = [f"## kport review {rv.patch.name}: {rv.patch.title}", ""]
    for b in rv.bases:
        out.append(f"* **{b.patched}** against {b.base}: {b.answer()}")
    notes = _notes(rv)
    if notes:
        out.append("")
        out += [f"> {n}" for n in notes]
    for b in rv.bases:
        out += [
            "",
            f"### On {b.base}",
            "",
            "| scenario | base | patched | change | reaches | bounds (patched) |",
            "|---|---|---|---|---|---|",
        ]
        for pr in b.pairs:
            out.append(
                f"| {pr.base.scenario} | {pr.base.label} | {pr.patched.label} | {pr.change} | "
                f"{function_list(pr.reaches) if pr.reaches else '-'} | {pr.patched.bounds} |"
            )
    return "\n".join(out) + "\n"


def wrap72(text: str, indent: str = "", width: int = 72) -> list[str]:
    """``text`` in lines of at most ``width`` columns; a word longer than a line is cut with a
    trailing backslash (a shell command stays runnable)."""
    lines = textwrap.wrap(
        text,
        width=width,
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    out = []
    for ln in lines:
        while len(ln) > width:
            out.append(ln[: width - 1] + "\\")
            ln = indent + "  " + ln[width - 1 :]
        out.append(ln)
    return out


def command72(words: list[str], indent: str = "  ", width: int = 72) -> list[str]:
    """A shell command in lines of at most ``width`` columns, continued with backslashes."""
    out: list[str] = []
    cur = indent
    for w in words:
        piece = w if cur.strip() == "" else " " + w
        if len(cur) + len(piece) > width - 2 and cur.strip():
            out.append(cur + " \\")
            cur = indent + "    " + w
        else:
            cur += piece
    out.append(cur)
    return out


def render_mail(rv: Review) -> str:
    """Plain text for a reply on a mailing list: every line at most 72 columns."""
    out = wrap72(f'kport review of "{rv.patch.title}" ({rv.patch.name}):')
    for b in rv.bases:
        out.append("")
        out += wrap72(f"On {b.base}: {b.answer()}")
    for n in _notes(rv):
        out.append("")
        out += wrap72(n)
    for b in rv.bases:
        out.append("")
        told = [pr for pr in b.pairs if pr.change != "does not reach"]
        out += wrap72(f"Scenarios on {b.base} that reach the patch (base -> patched):")
        for pr in told:
            out += wrap72(f"{pr.base.scenario}: {pr.base.label} -> {pr.patched.label}, {pr.change}", indent="  ")
            out += wrap72(f"patched: {pr.patched.bounds}", indent="    ")
        if not told:
            out += wrap72("none", indent="  ")
        others = [pr.base.scenario for pr in b.pairs if pr.change == "does not reach"]
        if others:
            out += wrap72(f"Not reaching it (same verdict by construction): {', '.join(others)}.")
        bugs = [c for pr in told for c in (pr.base, pr.patched) if c.verdict == "bug"]
        if bugs:
            out += wrap72("Each counterexample, in CPU columns:")
            for c in bugs:
                out += command72(["kport", "check", c.scenario, "--variant", c.variant])
    out.append("")
    out += wrap72("(kernel_port: exhaustive dfs within the stated bounds; no verdict is taken from expectations.)")
    return "\n".join(out) + "\n"


# -- ablate --------------------------------------------------------------------------------------------


@dataclass
class Ablation:
    patch: str
    base: str
    functions: list[str]
    subsets: list[tuple[str, ...]]  # in order: by size, then by the mixin's order
    rows: dict[str, dict[str, Cell]]  # scenario -> ("base" or subset label) -> cell
    unreached: list[str]

    def label(self, subset: tuple[str, ...]) -> str:
        return "+".join(LETTERS[self.functions.index(f)] for f in subset)

    def variant(self, subset: tuple[str, ...]) -> str:
        if len(subset) == len(self.functions):
            return f"{self.base}+{self.patch}"
        return f"{self.base}+{self.patch}:{','.join(subset)}"

    def minimal(self, scenario: str, want: str) -> list[tuple[str, ...]]:
        """The minimal subsets (by inclusion) whose verdict on ``scenario`` is ``want``."""
        hits = [s for s in self.subsets if self.rows[scenario][self.label(s)].verdict == want]
        return [s for s in hits if not any(set(o) < set(s) for o in hits)]

    def fixes(self) -> dict[str, list[tuple[str, ...]]]:
        return {s: self.minimal(s, "ok") for s, row in self.rows.items() if row["base"].verdict == "bug"}

    def brings_back(self) -> dict[str, list[tuple[str, ...]]]:
        out = {s: self.minimal(s, "bug") for s, row in self.rows.items() if row["base"].verdict == "ok"}
        return {s: v for s, v in out.items() if v}

    def to_json(self) -> dict[str, Any]:
        return {
            "patch": self.patch,
            "base": self.base,
            "functions": list(self.functions),
            "subsets": [
                {"label": self.label(s), "functions": list(s), "variant": self.variant(s)} for s in self.subsets
            ],
            "cells": {scen: {lab: c.to_json() for lab, c in row.items()} for scen, row in self.rows.items()},
            "minimal_fixes": {s: [list(x) for x in v] for s, v in self.fixes().items()},
            "minimal_bring_backs": {s: [list(x) for x in v] for s, v in self.brings_back().items()},
            "no_scenario_reaches": list(self.unreached),
        }


LETTERS = [chr(ord("A") + i) for i in range(MAX_ABLATION)]


def ablate_base(
    p: Patch,
    base: str,
    names: list[str],
    seconds: float | None,
    progress: Progress = None,
    memory_model: str | None = None,
) -> Ablation:
    patched = f"{base}+{p.name}"
    parse_variant(patched)
    funcs = list(overrides(p.for_base(base)))
    if not funcs:
        raise UsageError(f"patch '{p.name}' overrides no kernel function on {base}: nothing to ablate")
    if len(funcs) > MAX_ABLATION:
        raise UsageError(
            f"patch '{p.name}' overrides {len(funcs)} functions: {2 ** len(funcs) - 1} subsets is too many "
            f"(at most {MAX_ABLATION} overrides)"
        )
    subsets = [s for k in range(1, len(funcs) + 1) for s in itertools.combinations(funcs, k)]
    ab = Ablation(p.name, base, funcs, subsets, {}, [])
    reached: set[str] = set()
    for sc in candidates(base, [patched], names):
        if progress:
            progress(f"{sc.name} on {base}")
        c = run_scenario(sc, base, funcs, seconds, memory_model)
        if not (c.reached or patched in sc.variants()):
            continue  # runs the same code under every subset: nothing to ablate
        row = {"base": c}
        for s in subsets:
            if progress:
                progress(f"{sc.name} on {ab.variant(s)}")
            row[ab.label(s)] = run_scenario(sc, ab.variant(s), funcs, seconds, memory_model)
        ab.rows[sc.name] = row
        reached |= {f for cell in row.values() for f in cell.reached}
    ab.unreached = [f for f in funcs if f not in reached]
    return ab


def ablate(
    name: str,
    base: str | None = None,
    names: list[str] | None = None,
    seconds: float | None = None,
    progress: Progress = None,
    memory_model: str | None = None,
) -> list[Ablation]:
    p = find_patch(name)
    return [ablate_base(p, b, names or [], seconds, progress, memory_model) for b in bases_of(p, base)]


def _subsets_text(ab: Ablation, subs: list[tuple[str, ...]]) -> str:
    if not subs:
        return "no subset"
    return " or ".join("{" + ", ".join(f"{f}()" for f in s) + "}" for s in subs)


def render_ablation(abs_: list[Ablation]) -> str:
    out: list[str] = []
    for ab in abs_:
        if out:
            out.append("")
        out.append(
            f"kport ablate {ab.patch} on {ab.base}: {len(ab.functions)} override(s), {len(ab.subsets)} subset(s)"
        )
        for f in ab.functions:
            out.append(f"  {LETTERS[ab.functions.index(f)]} = {f}()")
        if not ab.rows:
            out.append(f"  no scenario reaches {function_list(ab.functions)} on {ab.base}")
            continue
        labels = ["base"] + [ab.label(s) for s in ab.subsets]
        w = max(len(s) for s in ab.rows)
        cw = max(6, *(len(lab) for lab in labels), *(len(c.word) for row in ab.rows.values() for c in row.values()))
        out.append("")
        out.append(f"  {'scenario':<{w}}  " + "  ".join(f"{lab:<{cw}}" for lab in labels).rstrip())
        for scen, row in ab.rows.items():
            out.append(f"  {scen:<{w}}  " + "  ".join(f"{row[lab].word:<{cw}}" for lab in labels).rstrip())
        out.append("")
        out.append("  minimal subsets that fix each bug:")
        fixes = ab.fixes()
        for scen, subs in fixes.items():
            out.append(f"    {scen}: {_subsets_text(ab, subs)}")
        if not fixes:
            out.append(f"    (no scenario here is BUG on {ab.base})")
        back = ab.brings_back()
        out.append("  minimal subsets that bring a bug back:")
        for scen, subs in back.items():
            out.append(f"    {scen}: {_subsets_text(ab, subs)}")
        if not back:
            out.append("    none")
        out.append(f"  no scenario reaches: {function_list(ab.unreached)}")
        fails = [
            (scen, s)
            for scen in ab.rows
            for s in ab.subsets
            if len(s) < len(ab.functions) and ab.rows[scen][ab.label(s)].verdict == "bug"
        ]
        if fails:
            out.append("  counterexamples of the subsets that fail:")
            for scen, s in fails:
                out.append(f"    kport check {scen} --variant '{ab.variant(s)}'")
    return "\n".join(out) + "\n"


def render_ablation_markdown(abs_: list[Ablation]) -> str:
    out: list[str] = []
    for ab in abs_:
        out += [f"## kport ablate {ab.patch} on {ab.base}", ""]
        out += [f"* {LETTERS[i]} = `{f}()`" for i, f in enumerate(ab.functions)]
        labels = ["base"] + [ab.label(s) for s in ab.subsets]
        out += ["", "| scenario | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
        for scen, row in ab.rows.items():
            out.append(f"| {scen} | " + " | ".join(row[lab].word for lab in labels) + " |")
        out += ["", "Minimal subsets that fix each bug:", ""]
        out += [f"* {scen}: {_subsets_text(ab, subs)}" for scen, subs in ab.fixes().items()] or ["* none"]
        out += ["", "Minimal subsets that bring a bug back:", ""]
        out += [f"* {scen}: {_subsets_text(ab, subs)}" for scen, subs in ab.brings_back().items()] or ["* none"]
        out += ["", f"No scenario reaches: {function_list(ab.unreached)}", ""]
    return "\n".join(out)


# -- the matrix's per-patch summary ---------------------------------------------------------------------


def last_patch_functions(variant: str) -> list[str]:
    """The kernel functions the last patch of ``variant`` overrides ([] for a tree)."""
    try:
        v = parse_variant(variant)
    except UsageError:
        return []
    if not v.patches:
        return []
    return list(overrides(v.patches[-1]))


# -- the commands -----------------------------------------------------------------------------------------


def _progress() -> Progress:
    import sys

    if not sys.stderr.isatty():
        return None

    def show(text: str) -> None:
        print(f"\r\x1b[2K{text}", end="", file=sys.stderr, flush=True)

    return show


def _done(show: Progress) -> None:
    import sys

    if show is not None:
        print("\r\x1b[2K", end="", file=sys.stderr)


def cmd_review(args: argparse.Namespace) -> int:
    show = _progress()
    try:
        rv = review(args.patch, args.base, args.scenario, args.seconds, show, getattr(args, "memory_model", None))
    finally:
        _done(show)
    if args.json:
        print(json.dumps(rv.to_json(), indent=2, sort_keys=True))
    elif args.markdown:
        print(render_markdown(rv), end="")
    elif args.mail:
        print(render_mail(rv), end="")
    else:
        print(render_text(rv), end="")
    return rv.status()


def cmd_ablate(args: argparse.Namespace) -> int:
    show = _progress()
    try:
        abs_ = ablate(args.patch, args.base, args.scenario, args.seconds, show, getattr(args, "memory_model", None))
    finally:
        _done(show)
    if args.json:
        print(json.dumps([a.to_json() for a in abs_], indent=2, sort_keys=True))
    elif args.markdown:
        print(render_ablation_markdown(abs_), end="")
    else:
        print(render_ablation(abs_), end="")
    cells = [c for a in abs_ for row in a.rows.values() for c in row.values()]
    if any(c.verdict == "error" for c in cells):
        return 4
    if any(c.verdict == "inconclusive" for c in cells):
        return 3
    return 0


def kfunc_name(fn: Any) -> str | None:
    fr = kfunc_of(fn)
    return fr.name if fr is not None else None
