# SPDX-License-Identifier: GPL-2.0-only
"""The reviewer's commands: matrix formats and filters, explain, source, cover, toxgen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kernel_port.cli import main
from kernel_port.report import objects_in, upstream_ref
from kernel_port.variants import parse_variant

ROOT = Path(__file__).resolve().parent.parent
FAST = ["--scenario", "engine.lost-*", "--scenario", "engine.irqs-off"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


# -- matrix ---------------------------------------------------------------------------


def test_matrix_patterns_and_plain_table(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "matrix", *FAST)
    assert rc == 0 and err == ""  # no progress when stderr is not a terminal
    assert "engine.lost-ipi" in out and "engine.lost-update" in out and "engine.irqs-off" in out
    assert "3 cells, 3 as expected, 0 differ" in out
    assert "\x1b[" not in out  # plain text when stdout is not a terminal


def test_matrix_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "matrix", "--markdown", *FAST)
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].startswith("| scenario | variant | model | expected | verdict | match |")  # no patch: no summary
    assert any(ln.startswith("| engine.lost-ipi | v6.17 | sc | BUG | bug (stall) | yes |") for ln in lines)
    ok = next(ln for ln in lines if ln.startswith("| engine.irqs-off |"))
    assert "any preemptions, <= 0 faults, sc" in ok  # bounds and memory model on an OK cell
    assert lines[-1].startswith("Produced by kport: ") and "commit: " in lines[-1] and "python: " in lines[-1]


def test_matrix_markdown_summary_answers_per_patch(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "matrix", "--markdown", "-s", "irq_work.tick-kick-lockup")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == "## What each patch does (against its base, from these cells)"
    herton = next(ln for ln in lines if ln.startswith("* **pre-76a33061+76a33061+herton-rfc**"))
    assert "brings back: irq_work.tick-kick-lockup" in herton and "fixes: none" in herton
    assert out.index("## What each patch does") < out.index("| scenario |")


def test_matrix_rich_table() -> None:
    import io

    from kernel_port.report.table import rich_table

    buf = io.StringIO()
    cell = {
        "scenario": "s",
        "variant": "v6.17",
        "expected": "OK",
        "verdict": "bug",
        "kind": "stall",
        "match": False,
        "executions": 3,
        "seconds": 0.1,
    }
    rich_table([cell], buf)
    assert "bug (stall)" in buf.getvalue() and "NO" in buf.getvalue() and "1 differ" in buf.getvalue()


def test_matrix_unknown_pattern_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(capsys, "matrix", "--scenario", "nosuch.*")
    assert rc == 2 and "no scenario matches" in err


def test_matrix_mismatch_exits_1(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from kernel_port.scenario import get_scenario

    sc = get_scenario("engine.irqs-off")
    monkeypatch.setattr(sc, "expect", {"v6.17": "BUG"})
    rc, out, _ = run(capsys, "matrix", "--scenario", "engine.irqs-off", "--json")
    assert rc == 1 and json.loads(out)["mismatches"] == 1


# -- explain -------------------------------------------------------------------------


def test_explain_links_rows_and_says_what_went_wrong(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "explain", "irq_work.tick-kick-lockup", "--variant", "pre-76a33061+76a33061+herton-rfc")
    assert rc == 1
    assert "CPU0" in out and "CPU1" in out and "upstream C (file:line of the access, else of the function)" in out
    # rows carry their C reference; the patched function links to the tree's original
    assert "kernel/irq_work.c:116 irq_work_queue()" in out
    assert "irq_work_tick() [herton-rfc]" in out
    assert "https://elixir.bootlin.com/linux/v6.17/source/kernel/irq_work.c#L116" in out
    words = " ".join(out.split("What went wrong:")[1].split())
    assert "waits for something no other CPU" in words and "hrtimer" in words
    assert "irq_work_tick() (herton-rfc)" in words and "the trace runs" in words
    assert "docs/bugs/irq_work.tick-kick-lockup.md" in words
    assert "kport replay kp3:" in out


def test_explain_names_the_fault(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "explain", "engine.lost-ipi")
    assert rc == 1
    assert "injected a fault: IPI LOST: send TEST_VECTOR -> CPU1" in " ".join(out.split())


def test_explain_uses_the_scenarios_own_words(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kernel_port.scenario import get_scenario

    monkeypatch.setattr(get_scenario("engine.lost-ipi"), "explain", "The handler never runs.", raising=False)
    _, out, _ = run(capsys, "explain", "engine.lost-ipi")
    assert "The handler never runs." in " ".join(out.split())


def test_explain_ok_cell(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "explain", "engine.irqs-off")
    assert rc == 0 and "Nothing to explain" in out


def test_refs_and_objects() -> None:
    v = parse_variant("v6.17+herton-rfc")
    r = upstream_ref("irq_work_tick", "kernel/irq_work.c", "herton-rfc", None, v)
    assert (r.version, r.line, r.patch) == ("v6.17", 269, "herton-rfc")
    assert r.url.endswith("/v6.17/source/kernel/irq_work.c#L269")
    assert objects_in("WRITE hrtimer_bases[1].running = &wakeup_timer") == (
        "hrtimer_bases[1]",
        ["hrtimer_bases[1]", "wakeup_timer"],
    )
    assert objects_in("= llist_add(&work0.llist, &raised_list[0]) -> true")[1] == ["work0", "raised_list[0]"]


# -- source --------------------------------------------------------------------------


FAKE_C = """\
// SPDX-License-Identifier: GPL-2.0
/* A made-up file for the test: not kernel source. */
static long helper(long x) { return x; }

void irq_work_tick(void)
{
\tint made_up = helper(1);
}
"""


def test_source_side_by_side_from_a_fake_tree(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("tree_sitter_c")
    (tmp_path / "kernel").mkdir()
    (tmp_path / "kernel" / "irq_work.c").write_text(FAKE_C)
    (tmp_path / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 16\n")
    rc, out, _ = run(capsys, "source", "irq_work_tick", "--kernel-tree", str(tmp_path), "--width", "60")
    assert rc == 0
    assert "C: kernel/irq_work.c:5 (v6.16)" in out
    assert "your tree is v6.16; the port follows v6.17" in out
    assert "starts at line 5 in your tree; the port names line 269" in out
    row = next(ln for ln in out.splitlines() if "def irq_work_tick" in ln)
    assert row.split(" | ")[1].strip() == "{"  # the C body sits beside the Python
    assert "int made_up = helper(1);" in out and "static int helper" not in out


def test_source_without_tree_and_unknown_name(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KPORT_KERNEL_TREE", raising=False)
    rc, out, _ = run(capsys, "source", "__irq_work_queue_local")
    assert rc == 0 and "--kernel-tree" in out and "def _irq_work_queue_local" in out
    rc, _, err = run(capsys, "source", "irq_work_tik")
    assert rc == 2 and "did you mean irq_work_tick" in err


# -- cover ---------------------------------------------------------------------------


def test_cover_herton_rfc(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("coverage")
    rc, out, _ = run(capsys, "cover", "--variant", "v6.17+herton-rfc", "--json")
    assert rc == 0
    rep = json.loads(out)
    every = ["irq_work.lost-self-ipi", "irq_work.lost-self-ipi-idle-cpu", "irq_work.tick-kick-lockup"]
    assert rep["scenarios"] == every
    funcs = {f["function"]: f for f in rep["functions"]}
    assert set(funcs) == {"irq_work_tick", "irq_work_needs_cpu"}
    tick = {ln["text"]: ln["scenarios"] for ln in funcs["irq_work_tick"]["lines"]}
    assert tick["self.irq_work_run_list(raised)"] == every
    assert tick["self.wake_irq_workd()"] == []  # no scenario runs PREEMPT_RT
    assert 0 < rep["percent"] < 100
    rc, out, _ = run(capsys, "cover", "--variant", "v6.17+herton-rfc", "--fail-under", "100")
    assert rc == 1 and "-- no scenario reaches this line" in out and "irq_work_needs_cpu()  [herton-rfc]" in out


# -- toxgen --------------------------------------------------------------------------


def test_committed_tox_ini_is_up_to_date() -> None:
    from kernel_port.toxgen import render, variants

    assert (ROOT / "tox.ini").read_text() == render(variants()), "run: python -m kernel_port.toxgen"


def test_tox_env_names_cover_every_variant(capsys: pytest.CaptureFixture[str]) -> None:
    from kernel_port.toxgen import env_name

    _, out, _ = run(capsys, "list", "--json")
    doc = json.loads(out)
    variants = doc["variants"]
    # Every (variant, memory model) that has a cell has its environment.
    pairs = sorted({(c["variant"], c["memory_model"]) for s in doc["scenarios"] for c in s["cells"]})
    assert sorted({v for v, _mm in pairs}) == variants
    text = (ROOT / "tox.ini").read_text()
    names = [env_name(v, mm) for v, mm in pairs]
    assert len(set(names)) == len(pairs)
    assert env_name("v6.17+herton-rfc") == "variant-v6_17-herton_rfc"
    assert env_name("pre-c8446b75", "tso") == "tso-variant-pre_c8446b75"
    for (v, mm), n in zip(pairs, names, strict=True):
        section = text.split(f"[testenv:{n}]\n")[1].split("\n[")[0]
        assert f"KP_VARIANT = {v}\n" in section and f"KP_MEMORY_MODEL = {mm}\n" in section
        assert "+" not in n and "." not in n
