# SPDX-License-Identifier: GPL-2.0-only
"""Counterexamples a maintainer can paste into a mail (issue 20).

Tokens: a kp3 token re-wrapped by a mail client and quoted in a reply replays byte for byte;
a token whose patch the receiver lacks names the patch, its title and link and how to get it.
(Diagrams and their replay tests are further down.)
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from kernel_port.cli import main
from kernel_port.engine.explorer import check
from kernel_port.engine.token import Schedule, parse
from kernel_port.scenario import program


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def quoted(token: str, width: int = 60) -> str:
    """The token as a mail reply shows it: cut into lines of ``width`` columns, quoted."""
    w = width - 2
    return "\n".join("> " + token[i : i + w] for i in range(0, len(token), w))


@pytest.fixture(scope="module")
def tokens() -> dict[str, str]:
    out = {}
    for name, variant in (
        ("irq_work.lost-self-ipi", "v6.17"),
        ("smp.lost-ipi-waiter", "v6.17"),
        ("irq_work.tick-kick-lockup", "pre-76a33061+76a33061+herton-rfc"),
    ):
        r = check(program(name, variant))
        assert r.verdict == "bug" and r.token
        out[name] = r.token
    return out


def test_a_rewrapped_quoted_token_replays_byte_identically(
    tokens: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for tok in tokens.values():
        rc, want, err = run(capsys, "replay", tok)
        assert rc == 1 and err == ""
        mail = quoted(tok, 60)
        assert ("\n> " in mail) == (len(tok) > 58) and all(len(line) <= 60 for line in mail.splitlines())
        rc2, got, err2 = run(capsys, "replay", mail)
        assert (rc2, got, err2) == (rc, want, "")
        monkeypatch.setattr("sys.stdin", io.StringIO("> \n" + quoted(tok, 23).replace("\n", "\n> ") + "\n"))
        rc3, got3, _ = run(capsys, "replay", "-")  # pasted on stdin, quoted twice
        assert (rc3, got3) == (rc, want)


def test_tokens_are_short(tokens: dict[str, str]) -> None:
    for tok in tokens.values():
        assert tok.startswith("kp3:") and len(tok) < 400


def test_missing_patch_is_named_with_title_link_and_how_to_get_it(capsys: pytest.CaptureFixture[str]) -> None:
    info = [("frob-fix", "irq_work: frobnicate the raised list", "https://lore.kernel.org/r/20260101.1-1-x@y.org")]
    tok = Schedule("irq_work.lost-self-ipi", "v6.17+frob-fix", 1, [0, 0], patches=info).token()
    rc, out, err = run(capsys, "replay", tok)
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1
    for words in ("frob-fix", "irq_work: frobnicate the raised list", "https://lore.kernel.org/r/", "git pull"):
        assert words in err
    # A token with no patch information (kp2, or a patch the writer lacked) still names it.
    rc, _, err = run(capsys, "replay", Schedule("irq_work.lost-self-ipi", "v6.17+frob-fix", 1, [0]).token_kp2())
    assert rc == 2 and "frob-fix" in err and "git pull" in err


def test_tokens_name_their_patches() -> None:
    r = check(program("irq_work.tick-kick-lockup", "pre-76a33061+76a33061+herton-rfc"))
    s = parse(r.token or "")
    assert [p[0] for p in s.patches or []] == ["76a33061", "herton-rfc"]
    assert s.patches and s.patches[0][2] == "https://git.kernel.org/torvalds/c/76a33061b932"


def test_changed_code_is_noted(capsys: pytest.CaptureFixture[str], tokens: dict[str, str]) -> None:
    s = parse(tokens["smp.lost-ipi-waiter"])
    s.label_crc = (s.label_crc or 0) ^ 1  # as if recorded from other code
    rc, out, _ = run(capsys, "replay", s.token())
    assert rc == 1 and "Note: the steps this replay ran differ from those the token was recorded with" in out


# -- the race diagram (issue 20, parts 1 and 2) ----------------------------------------------------


def _bug_cells() -> list[tuple[str, str]]:
    from kernel_port.scenario import BUG, scenarios

    return sorted((name, v) for name, sc in scenarios().items() for v in sc.expect if sc.expected(v) == BUG)


BUG_CELLS = _bug_cells()


@pytest.mark.parametrize(("name", "variant"), BUG_CELLS, ids=[f"{n}@{v}" for n, v in BUG_CELLS])
def test_every_bug_cell_has_a_checked_diagram(name: str, variant: str) -> None:
    """Each corpus BUG cell's diagram fits 25 rows of 72 columns, and its steps, replayed in
    their order as a partial schedule (nothing else forced, no other fault), end in the same
    kind of violation.  Only properties are asserted: the counterexample's step count and the
    steps chosen change with the engine."""
    from kernel_port import diagram as D

    prog = program(name, variant)
    r = check(prog, "dfs", preemptions=prog.preemption_bound)
    assert r.verdict == "bug" and r.counterexample is not None
    d = D.build(prog, r.counterexample.choices)
    assert len(d.text) <= D.MAX_ROWS, "\n".join(d.text)
    assert all(len(line) <= D.WIDTH for line in d.text), "\n".join(d.text)
    assert d.text[0].split()[0].startswith("CPU")
    # The replay, again, outside the chooser: the drawn steps as a partial schedule.
    ok, why = D.check_partial(d.sl, prog, r.counterexample.choices, d.shown)
    assert ok and d.verified, why
    assert d.shown and all(1 <= n <= len(d.sl.ex.steps) for n in d.shown)
    # The words come from the slice: each names steps, and what was read or lost or waited on.
    why = " ".join(d.why.split())
    assert why.startswith("Why: ") and re.search(r"step \d+", why)
    assert any(w in why for w in (" read ", " was lost", " spins in ")), why


def test_diagram_command_and_check_output(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "diagram", "smp.lost-ipi-waiter", "--variant", "v6.17")
    assert rc == 1 and err == ""
    assert "!! IPI LOST: send CALL_FUNCTION_SINGLE_VECTOR -> CPU1" in out
    assert "!! spins forever in csd_lock_wait()" in out
    assert "Why: at step" in out and "was lost" in out
    assert "Checked: these" in out and "end in the same deadlock" in out
    assert "Replay:   kport replay kp3:" in out
    rc, out, _ = run(capsys, "check", "engine.irqs-on")
    assert rc == 1 and "The race (kport diagram engine.irqs-on --variant v6.17):" in out
    rc, out, _ = run(capsys, "explain", "engine.irqs-on", "--short")
    assert rc == 1 and "Why: " in out and "Checked: these" in out and "upstream C" not in out


def test_flags_are_decoded_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "diagram", "irq_work.rt-sleeping-lock", "--variant", "pre-b4c6f86")
    assert rc == 1 and "PENDING|BUSY|type IRQ_WORK" in out
    assert "0x23" not in out.split("Why:")[0]


def test_explain_ends_with_the_decisive_reads(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "explain", "irq_work.lost-self-ipi", "--variant", "v6.17")
    assert rc == 1
    tail = out.split("\nReplay:")[0].rstrip().rsplit("\n\n", 1)[-1]
    why = " ".join(tail.split())
    assert why.startswith("Why: ")
    assert "read raised_list[0].first = &work0.llist" in why and "so llist_add() returned false" in why
    assert "IRQ_WORK_VECTOR -> CPU0 IPI that CPU0 sent in irq_work_queue(&work0) was lost" in why
    assert "so irq_work_needs_cpu() returned false" in why


# -- widths (issue 20, part 3) -----------------------------------------------------------------------


@pytest.mark.parametrize("width", [12, 20, 33, 44, 60])
def test_wrapping_never_splits_a_name(width: int) -> None:
    from kernel_port.engine.trace import words, wrap

    texts = [
        "      try_cmpxchg(raised_list[0].first): NULL -> &work0.llist",
        "        = llist_add(&work0.llist, &raised_list[0]) -> true",
        "    READ tick_cpu_sched[0].timer_expires_base -> 0x989680",
        "  !! IPI LOST: send CALL_FUNCTION_SINGLE_VECTOR -> CPU1",
        "generic_smp_call_function_single_interrupt()",
    ]
    names = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
    for text in texts:
        lines = wrap(text, width)
        assert "".join(line.strip() for line in lines).replace(" ", "") == text.replace(" ", "")
        for line in lines:
            # A line is longer than the width only when it holds one word that is.
            assert len(line) <= width or len(words(line.strip(), width)) == 1, (text, width, lines)
        # Every name of the text is on one line.
        for name in names.findall(text):
            assert any(name in line for line in lines), (name, lines)


def test_traces_fit_the_terminal(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    r = check(program("engine.irqs-on"))
    rc, out, _ = run(capsys, "replay", r.token or "")
    trace = out.split("\n\nBUG")[0]
    assert rc == 1 and all(len(line) <= 80 for line in trace.splitlines())
    rc, out, _ = run(capsys, "check", "irq_work.lost-self-ipi", "--width", "60")
    trace = out.split("\n\nBUG")[0]
    assert rc == 1 and all(len(line) <= 60 or len(line.split()) <= 2 for line in trace.splitlines())
    rc, _, err = run(capsys, "check", "engine.abba", "--width", "1000000000")
    assert rc == 2 and "--width" in err and len(err.strip().splitlines()) == 1


# -- the scenario's own code in traces (issue 20, part 5) ---------------------------------------------


def test_a_scenario_callback_and_its_primitives_are_rows(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "check", "irq_work.rt-sleeping-lock", "--variant", "pre-b4c6f86", "--width", "120")
    assert rc == 1
    trace = out.split("\n\nBUG")[0]
    lines = trace.splitlines()
    i = next(i for i, line in enumerate(lines) if "irq_work_single()" in line)
    j = next(j for j, line in enumerate(lines) if "work_func()" in line)
    k = next(k for k, line in enumerate(lines) if "!! sleeping-in-atomic: spin_lock()" in line)
    assert i < j < k
    indent = [len(lines[x]) - len(lines[x].lstrip()) for x in (i, j, k)]
    assert indent[0] < indent[1] < indent[2]  # nested under their caller


# -- the upstream line of each access (issue 20, part 2) ----------------------------------------------


def test_explain_gives_the_line_of_each_access(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    rc, out, _ = run(capsys, "explain", "irq_work.lost-self-ipi", "--variant", "v6.17")
    assert rc == 1
    rows = [line for line in out.splitlines() if " | " in line]
    read = next(line for line in rows if "READ raised_list[0].first -> &work0.llist" in line)
    assert read.rstrip().endswith("include/linux/llist.h:238 llist_add_batch()")  # the READ_ONCE, not line 234
    claim = next(line for line in rows if "atomic_fetch_or(work0.flags.counter)" in line)
    assert claim.rstrip().endswith("kernel/irq_work.c:61 irq_work_claim()")
    assert "upstream C (file:line of the access, else of the function)" in out


def test_access_lines_from_your_kernel_tree(tmp_path: Any) -> None:
    """With a kernel tree (--kernel-tree, $KPORT_KERNEL_TREE) the port is aligned with the C there."""
    pytest.importorskip("tree_sitter_c")
    from kernel_port.report import kfuncs_of
    from kernel_port.report.lines import mapping
    from kernel_port.variants import parse_variant

    c = tmp_path / "kernel" / "irq_work.c"
    c.parent.mkdir(parents=True)
    body = [
        "void irq_work_tick(void)",
        "{",
        "\tstruct llist_head *raised = this_cpu_ptr(&raised_list);",
        "",
        "\tif (!llist_empty(raised) && !arch_irq_work_has_interrupt())",
        "\t\tirq_work_run_list(raised);",
        "",
        "\tif (!IS_ENABLED(CONFIG_PREEMPT_RT))",
        "\t\tirq_work_run_list(this_cpu_ptr(&lazy_list));",
        "\telse",
        "\t\twake_irq_workd();",
        "}",
    ]
    c.write_text("\n" * 99 + "\n".join(body) + "\n")  # the function at line 100 of this made-up tree
    fn = kfuncs_of(parse_variant("v6.17").cls)["irq_work_tick"][1]
    got = mapping(fn, str(tmp_path))
    assert got["if not self.llist_empty(raised) and not self.arch_irq_work_has_interrupt():"] == 104
    assert got["self.irq_work_run_list(raised)"] == 105
    assert got["self.wake_irq_workd()"] == 110
