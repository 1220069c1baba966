# SPDX-License-Identifier: GPL-2.0-only
"""irq_work.busy-flag-race (issue 18, corpus additions 1 and 2): the ports and the scenario.

The cells themselves (``sc`` and ``tso``) run in tests/test_matrix.py.  Here: (1) each port
uses exactly the C's primitive at each flag access (a plain store where the C stores plainly,
xchg/cmpxchg where it has them, smp_mb where it has it: under TSO a different primitive is a
different program); (2) the scenario's ``sc`` and ``tso`` cells name real variants and are
CORPUS.md's table; (3) the property is not vacuous: a claim that gives up while the callback
runs loses the newest data even under SC.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from kernel_port.engine import cmpxchg, kfunc
from kernel_port.engine.execution import run
from kernel_port.engine.explorer import check, replay
from kernel_port.engine.trace import render_text
from kernel_port.kernel.irq_work import IRQ_WORK_BUSY, IRQ_WORK_PENDING, irq_work
from kernel_port.scenario import BUG, OK, ScenarioProgram, get_scenario, program
from kernel_port.variants import Variant, parse_variant

NAME = "irq_work.busy-flag-race"

# CORPUS.md, "Memory model tso": (variant, model) -> verdict.
CORPUS = {
    ("pre-c8446b75", "tso"): BUG,
    ("pre-c8446b75", "sc"): OK,
    ("pre-c8446b75+c8446b75", "tso"): BUG,
    ("pre-c8446b75+c8446b75+e0bbe2d8", "tso"): OK,
    ("v6.17", "tso"): OK,
    ("v6.17+no-mb-irq-work-single", "tso"): BUG,
    ("v6.17+no-mb-irq-work-single", "sc"): OK,
}


def _cells() -> dict[tuple[str, str], str]:
    return {(v, model): e for v, model, e in get_scenario(NAME).cells()}


def test_cells_are_the_corpus_table() -> None:
    sc = get_scenario(NAME)
    assert sc.own_memory_model() == "sc"
    assert all(k.endswith("@tso") for k in sc.expect if "@" in k)
    assert _cells() == CORPUS
    for v, _ in CORPUS:
        parse_variant(v)  # every named variant exists and its patches apply
    assert {BUG, OK} <= {e for (_v, model), e in CORPUS.items() if model == "tso"}
    assert {e for (_v, model), e in CORPUS.items() if model == "sc"} == {OK}


class _First:
    """A driver that always takes the first enabled actor and the first value."""

    def pick(self, m: Any, enabled: list[int]) -> int | None:
        return enabled[0]

    def value(self, n: int, what: str) -> int:
        return 0


def _trace(variant: str) -> str:
    """One schedule (always the first choice), traced."""
    out = run(program(NAME, variant), _First(), tracing=True)
    assert out.machine is not None
    return render_text(out.machine, width=200)


def _rows(text: str, fn: str) -> list[str]:
    return [line for line in text.splitlines() if fn in line]


def test_primitives_pre_c8446b75() -> None:
    text = _trace("pre-c8446b75")
    # irq_work_claim(): a plain load of the flags, then cmpxchg from the value read.
    assert re.search(r"READ work\.flags\.counter -> 0[^\n]*\n[^\n]*cmpxchg\(work\.flags\.counter\): 0 -> 3", text)
    # irq_work_run(): PENDING dropped by a plain store of BUSY, back to free by cmpxchg.
    assert "WRITE work.flags.counter = 2" in text
    assert "xchg(work.flags.counter)" not in text.replace("cmpxchg(work.flags.counter)", "")
    assert "cmpxchg(work.flags.counter): 2 -> 0" in text
    assert "smp_mb" not in text


def test_primitives_c8446b75() -> None:
    text = _trace("pre-c8446b75+c8446b75")
    assert "WRITE work.flags.counter" not in text
    assert re.search(r"(?<!cmp)xchg\(work\.flags\.counter\): 3 -> 2", text)
    assert "cmpxchg(work.flags.counter): 2 -> 0" in text


def test_primitives_e0bbe2d8() -> None:
    text = _trace("pre-c8446b75+c8446b75+e0bbe2d8")
    # The plain load is only the guess; the cmpxchg decides.
    assert re.search(r"READ work\.flags\.counter -> 0[^\n]*\n[^\n]*cmpxchg\(work\.flags\.counter\): 0 -> 3", text)
    assert re.search(r"(?<!cmp)xchg\(work\.flags\.counter\): 3 -> 2", text)


def test_primitives_v6_17_and_the_mutation() -> None:
    full = _trace("v6.17")
    mut = _trace("v6.17+no-mb-irq-work-single")
    for text in (full, mut):
        assert "atomic_fetch_or(work.flags.counter)" in text
        assert "WRITE work.flags.counter = " in text  # atomic_set(): a plain store
        assert "atomic_cmpxchg(work.flags.counter)" in text
    assert "smp_mb()" in full
    assert "smp_mb()" not in mut


@pytest.mark.parametrize("variant", sorted({v for v, m in CORPUS}))
def test_every_named_variant_is_ok_under_sc(variant: str) -> None:
    """Under SC the race cannot happen on any of the variants (the docstring's argument)."""
    r = check(program(NAME, variant))
    assert r.verdict == "ok", r.message
    assert r.complete


class _claim_gives_up_while_busy:
    """A test-only claim that also gives up while the callback runs (BUSY): it trusts a run
    that has already read the data, so the newest data is lost even under SC."""

    @kfunc("kernel/irq_work.c", "test", line=35, show=True)
    def irq_work_claim(self, work: irq_work) -> bool:
        word = work.node.a_flags
        flags = word.counter
        if flags & (IRQ_WORK_PENDING | IRQ_WORK_BUSY):
            return False
        return bool(cmpxchg(word, "counter", flags, flags | IRQ_WORK_PENDING | IRQ_WORK_BUSY) == flags)


def test_the_property_sees_a_lost_handoff_under_sc() -> None:
    base = parse_variant("pre-c8446b75")
    cls: Any = type("pre-c8446b75+claim-gives-up-while-busy", (_claim_gives_up_while_busy, base.cls), {})
    v = Variant("pre-c8446b75+claim-gives-up-while-busy", base.tree, (), cls)
    r = check(ScenarioProgram(get_scenario(NAME), v, 0, None))
    assert r.verdict == "bug" and r.kind == "stall", r.message
    out, div = replay(ScenarioProgram(get_scenario(NAME), v, 0, None), r.counterexample.choices)
    assert div is None and out.machine is not None
    text = render_text(out.machine, width=200)
    assert "READ data.val -> 0" in text and "irq_work_claim(&work) -> false" in text
