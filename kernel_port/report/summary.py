# SPDX-License-Identifier: GPL-2.0-only
"""What each patch does, from a matrix's cells: each patched variant against its base (the
variant without its last patch), the scenarios it fixes, leaves and brings back.  A pure
function of the cells (dicts, as ``kport matrix --json`` writes them), so the report's tables
and page can say it as well as ``kport review`` (kernel_port/review.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

CHANGE = {
    ("bug", "ok"): "fixes",
    ("bug", "bug"): "leaves",
    ("ok", "bug"): "brings back",
    ("ok", "ok"): "keeps OK",
}


def function_list(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(f"{n}()" for n in names) if names else "none"


def variant_order(v: str) -> tuple[Any, ...]:
    """Variants so that each patched variant follows its base: by tree (mainline last), then
    by the list of patches."""
    parts = v.split("+")
    return (parts[0] == "v6.17", parts[0], tuple(parts[1:]))


def matrix_summary(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per patched variant of the matrix, against its base (the variant without its last patch):
    review's answer from the cells both have.  "no scenario reaches" is known only when the
    matrix watched the patch's functions (cells with a ``reached`` list)."""
    by: dict[str, dict[str, dict[str, Any]]] = {}
    for c in cells:
        # A scenario's cells under another model than sc are compared as their own row.
        mm = c.get("memory_model") or "sc"
        by.setdefault(c["variant"], {})[c["scenario"] + ("" if mm == "sc" else f"@{mm}")] = c
    out = []
    for v in sorted(by, key=variant_order):
        if "+" not in v:
            continue
        base = v.rsplit("+", 1)[0]
        mine, theirs = by[v], by.get(base, {})
        both = [s for s in mine if s in theirs]
        kinds: dict[str, list[str]] = {"fixes": [], "leaves": [], "brings back": [], "keeps OK": [], "undecided": []}
        for s in both:
            kinds[CHANGE.get((theirs[s]["verdict"], mine[s]["verdict"]), "undecided")].append(s)
        watched = mine[next(iter(mine))].get("watched") if mine else None
        measured = all(isinstance(c.get("reached"), list) for c in mine.values()) and watched is not None
        unreached = None
        if measured:
            hit = {f for c in mine.values() for f in c["reached"]}
            unreached = [f for f in watched if f not in hit]
        answer = (
            f"fixes: {', '.join(kinds['fixes']) or 'none'}; leaves: {', '.join(kinds['leaves']) or 'none'}; "
            f"brings back: {', '.join(kinds['brings back']) or 'none'}; no scenario reaches: "
            + (function_list(unreached) if unreached is not None else "(not measured)")
        )
        out.append(
            {
                "variant": v,
                "base": base,
                "patch": v.rsplit("+", 1)[1],
                "fixes": kinds["fixes"],
                "leaves": kinds["leaves"],
                "brings_back": kinds["brings back"],
                "keeps_ok": kinds["keeps OK"],
                "undecided": kinds["undecided"],
                "no_scenario_reaches": unreached,
                "compared": len(both),
                "answer": answer,
            }
        )
    return out
