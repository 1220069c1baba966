# SPDX-License-Identifier: GPL-2.0-only
"""Race diagrams of counterexamples found under x86-TSO (kernel_port/diagram.py).

A store buffer's step puts a buffered store into memory: it writes and reads nothing, so the
diagram's "Why" never says it read the value it replaced, and the partial-schedule check can
tell one buffer's stores apart (they all run under the same actor)."""

from __future__ import annotations

from kernel_port import diagram as D
from kernel_port.engine.explorer import check
from kernel_port.scenario import program


def _diagram(scenario: str, variant: str) -> D.Diagram:
    prog = program(scenario, variant, memory_model="tso")
    r = check(prog, "dfs", preemptions=prog.preemption_bound)
    assert r.verdict == "bug" and r.counterexample is not None
    return D.build(prog, r.counterexample.choices)


def test_a_store_buffer_step_reads_nothing() -> None:
    d = _diagram("irq_work.busy-flag-race", "v6.17+no-mb-irq-work-single")
    ex = d.sl.ex
    flushes = [st for st in ex.steps if D._is_flush(ex.m, st.actor)]
    assert flushes, "the counterexample has store-buffer steps"
    assert all(not st.reads and st.writes for st in flushes)
    assert "store buffer) read" not in D.why(d)


def test_store_buffer_targets_are_named_by_their_store() -> None:
    d = _diagram("irq_work.busy-flag-race", "v6.17+no-mb-irq-work-single")
    ex = d.sl.ex
    prog = program("irq_work.busy-flag-race", "v6.17+no-mb-irq-work-single", memory_model="tso")
    r = check(prog, "dfs", preemptions=prog.preemption_bound)
    every = {st.n for st in ex.steps}
    ts = D.targets(prog, r.counterexample.choices, ex, every)
    labels = [t.label for t in ts if D._is_flush(ex.m, t.actor)]
    assert labels and all(lab[0].startswith("sb@CPU") and lab[2] == "flush" and lab[3] for lab in labels)
    # The whole schedule as targets replays to its end: every step, buffer steps included, is found.
    _out, drv = D.replay_partial(prog, ts)
    assert drv.pos == len(ts), drv.stuck
