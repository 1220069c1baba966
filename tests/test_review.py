# SPDX-License-Identifier: GPL-2.0-only
"""From a patch mail to a verdict (issue 19): patch import, source --patch, review, ablate.

The mails are fixtures in the project's own words (tests/data/patches/): tick-rfc.mbox has the
hunk headers of Herton's RFC with made-up lines, series.mbox a cover letter and two patches.
Verdicts come from the explorer (never pinned execution counts); scenario selections keep the
runs short.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

from kernel_port.cli import main
from kernel_port.patchmail import map_from_headers, read

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "patches"
TICK = DATA / "tick-rfc.mbox"
SERIES = DATA / "series.mbox"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project's scenarios/ and patches/ (KPORT_ROOT), loaded afresh."""
    import kernel_port.scenario as scenario_mod
    import kernel_port.variants as variants_mod

    root = tmp_path / "clone"
    root.mkdir()
    for sub in ("scenarios", "patches"):
        shutil.copytree(ROOT / sub, root / sub, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("KPORT_ROOT", str(root))
    monkeypatch.setenv("KPORT_STORE", str(tmp_path / "store"))
    monkeypatch.setattr(scenario_mod, "_SCENARIOS", None)
    monkeypatch.setattr(variants_mod, "_PATCHES", None)
    monkeypatch.setattr(variants_mod, "_VARIANTS", {})
    return root


# -- reading mails -----------------------------------------------------------------------------------


def test_mail_metadata_and_hunks() -> None:
    (m,) = read(TICK)
    assert m.title == "irq_work: keep and use the tick for raised work (a fixture)"
    assert (m.author, m.email, m.date) == ("A. Tester", "tester@kernel-port.invalid", "2026-03-03")
    assert m.message_id == "tick-rfc-fixture@kernel-port.invalid" and m.rfc
    assert m.fixes == ['0123456789ab ("a made-up commit for the fixture")']
    assert m.links == ["https://example.invalid/tick-rfc-fixture"]
    for h in m.hunks:
        map_from_headers(h)
    assert [(h.header, h.functions) for h in m.hunks] == [
        ("@@ -188,9 +188,8 @@", ["irq_work_needs_cpu"]),
        ("@@ -270,7 +269,7 @@", ["irq_work_tick"]),
    ]


def test_series_cover_letter_left_out() -> None:
    mails = read(SERIES)
    assert [m.series for m in mails] == [(1, 2), (2, 2)]
    assert [f.path for f in mails[1].files] == ["kernel/irq_work.c", "Documentation/fixture.txt"]


# -- kport patch import --------------------------------------------------------------------------------


def test_import_writes_exactly_the_touched_ported_functions(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "patch", "import", str(TICK), "--name", "tick-rfc", "-s", "irq_work.*", "--json")
    assert rc == 0, err
    doc = json.loads(out)
    (p,) = doc["patches"]
    assert p["overrides"] == ["irq_work_needs_cpu", "irq_work_tick"] and p["no_port"] == []
    assert p["metadata"]["message_id"] == "tick-rfc-fixture@kernel-port.invalid"
    reach = doc["scenarios_reaching"]
    assert reach["irq_work.lost-self-ipi"] == ["irq_work_needs_cpu", "irq_work_tick"]
    assert reach["irq_work.lost-self-ipi-idle-cpu"] == ["irq_work_needs_cpu"]  # its tick is stopped
    module = project / "patches" / "tick_rfc.py"
    text = module.read_text()
    cls = next(n for n in ast.parse(text).body if isinstance(n, ast.ClassDef))
    assert [n.name for n in cls.body if isinstance(n, ast.FunctionDef)] == ["irq_work_needs_cpu", "irq_work_tick"]
    assert text.count("# kport patch import: hunk") == 2
    assert text.startswith("# SPDX-License-Identifier: GPL-2.0-only\n")
    assert 'link="https://example.invalid/tick-rfc-fixture"' in text and 'kind="RFC"' in text
    assert "@kfunc(IRQ_WORK_C, V, line=268)" in text  # the post-image line of irq_work_tick()
    for ln in TICK.read_text().splitlines():  # no line of the mail's diff is copied
        if ln[:1] in "+-" and len(ln) > 3 and not ln.startswith(("---", "+++")):
            assert ln[1:].strip() not in text
    # the new patch is a variant now; review says the overrides are still v6.17's code
    rc, out, _ = run(capsys, "review", "tick-rfc", "-s", "irq_work.tick-kick-lockup")
    assert "irq_work_needs_cpu(), irq_work_tick() in tick-rfc still run the base's Python unchanged" in out


def test_import_series_and_plain_diff(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "patch", "import", str(SERIES), "--name", "ser", "--no-scenarios", "--json")
    assert rc == 0, err
    one, two = json.loads(out)["patches"]
    assert (one["name"], one["applies_to"], one["overrides"]) == ("ser-1", "v6.17", ["irq_work_tick"])
    assert (two["name"], two["applies_to"], two["overrides"]) == ("ser-2", "v6.17+ser-1", ["irq_work_needs_cpu"])
    assert two["no_port"] == [{"function": "fixture_only_helper", "file": "kernel/irq_work.c"}]
    assert two["files_not_modelled"] == ["Documentation/fixture.txt"]
    rc, out, _ = run(capsys, "list", "--json")
    assert {"ser-1", "ser-2"} <= {p["name"] for p in json.loads(out)["patches"]}
    # A plain diff has no Subject: it needs --name.
    plain = tmp_path / "plain.diff"
    plain.write_text(TICK.read_text().split("---\n kernel/irq_work.c")[1].split("\n\n", 1)[1])
    rc, _, err = run(capsys, "patch", "import", str(plain), "--no-scenarios")
    assert rc == 2 and "name it with --name" in err
    rc, out, err = run(capsys, "patch", "import", str(plain), "--name", "plain", "--no-scenarios", "--dry-run")
    assert rc == 0 and "would write " in out and "plain.py" in out
    assert not (project / "patches" / "plain.py").exists()


BAD = {
    "not-a-patch.txt": ("Some words.\nNo diff here.\n", "not a patch"),
    "docs-only.diff": (
        "--- a/Documentation/x.txt\n+++ b/Documentation/x.txt\n@@ -1,1 +1,1 @@\n-a\n+b\n",
        "files kernel_port does not model",
    ),
    "wrong-line.diff": (
        "--- a/kernel/irq_work.c\n+++ b/kernel/irq_work.c\n"
        "@@ -100,3 +100,3 @@ void irq_work_tick(void)\n x\n-y\n+z\n x\n",
        "does not apply to the pinned v6.17",
    ),
    "cut-short.diff": (
        "--- a/kernel/irq_work.c\n+++ b/kernel/irq_work.c\n@@ -270,4 +270,4 @@ void irq_work_tick(void)\n x\n-y\n",
        "ends early",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_import_bad_input_is_one_line_and_writes_nothing(
    name: str, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, words = BAD[name]
    path = tmp_path / name
    path.write_text(text)
    before = sorted(p.name for p in (project / "patches").iterdir())
    rc, out, err = run(capsys, "patch", "import", str(path), "--name", "bad", "--no-scenarios")
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1 and words in err, err
    assert sorted(p.name for p in (project / "patches").iterdir()) == before


def test_import_refuses_taken_names_and_hunks_that_do_not_apply(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = run(capsys, "patch", "import", str(TICK), "--name", "herton-rfc", "--no-scenarios")
    assert rc == 2 and "exists already" in err
    pytest.importorskip("tree_sitter_c")
    tree = tmp_path / "linux"
    (tree / "kernel").mkdir(parents=True)
    (tree / "kernel" / "irq_work.c").write_text("/* a made-up file whose lines match no hunk */\nint x;\n")
    rc, _, err = run(capsys, "patch", "import", str(TICK), "--name", "t2", "--kernel-tree", str(tree), "--no-scenarios")
    assert rc == 2 and "does not apply to" in err and len(err.strip().splitlines()) == 1
    assert not (project / "patches" / "t2.py").exists()


# -- kport source --patch -------------------------------------------------------------------------------


def test_align_pairs_statements_that_name_the_same_things() -> None:
    from kernel_port.source_patch import Line, align

    c = [Line(" ", "x = first(list);"), Line("-", "if (empty(list) || other())"), Line("+", "if (empty(list))")]
    py = [
        Line(" ", "x = self.first(lst)"),
        Line("-", "if self.empty(list) or self.other():"),
        Line("+", "# a comment of the port"),
        Line("+", "if self.empty(list):"),
    ]
    rows = [(a.text if a else None, b.text if b else None) for a, b in align(c, py)]
    assert ("if (empty(list) || other())", "if self.empty(list) or self.other():") in rows
    assert ("if (empty(list))", "if self.empty(list):") in rows
    assert (None, "# a comment of the port") in rows


def test_source_patch_shows_both_sides_and_checks(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KPORT_KERNEL_TREE", raising=False)
    rc, out, _ = run(capsys, "source", "irq_work_tick", "--variant", "v6.17+herton-rfc", "--patch", str(TICK))
    assert rc == 0
    assert "The change (the patch's lines beside the mixin's diff):" in out and "Before:" in out and "After:" in out
    row = next(ln for ln in out.splitlines() if "self.llist_empty(raised) and not self.arch_irq_work" in ln)
    assert "| -" in row  # the Python line the mixin removed
    assert any(ln.startswith("-") and "something_in(first_list) && !have_interrupt()" in ln for ln in out.splitlines())
    assert "changes irq_work_tick(): overridden by herton-rfc" in out
    # on v6.17 nothing overrides the hunks' functions: reported, exit 1
    rc, out, _ = run(capsys, "source", "irq_work_tick", "--variant", "v6.17", "--patch", str(TICK))
    assert rc == 1 and "changes irq_work_needs_cpu(): NO override in v6.17" in out


# -- kport review / ablate ------------------------------------------------------------------------------


def test_review_answers_first(capsys: pytest.CaptureFixture[str]) -> None:
    sel = ["-s", "irq_work.lost*", "-s", "irq_work.tick-kick-lockup"]
    rc, out, _ = run(capsys, "review", "herton-rfc", *sel, "--json")
    assert rc == 1  # it brings a bug back on the old tree
    by = {b["base"]: b for b in json.loads(out)["bases"]}
    new = by["v6.17"]
    assert new["fixes"] == ["irq_work.lost-self-ipi", "irq_work.lost-self-ipi-idle-cpu"]
    assert new["brings_back"] == [] and new["leaves"] == [] and new["no_scenario_reaches"] == []
    old = by["pre-76a33061+76a33061"]
    assert old["brings_back"] == ["irq_work.tick-kick-lockup"] and old["fixes"] == ["irq_work.lost-self-ipi"]
    rc, out, _ = run(capsys, "review", "herton-rfc", *sel)
    first = out.splitlines()[1]
    assert first == (
        "v6.17+herton-rfc against v6.17: fixes: irq_work.lost-self-ipi, irq_work.lost-self-ipi-idle-cpu; "
        "leaves: none; brings back: none; no scenario reaches: none"
    )
    rc, out, _ = run(capsys, "review", "herton-rfc", *sel, "--mail")
    assert max(len(ln) for ln in out.splitlines()) <= 72
    assert "brings back: irq_work.tick-kick-lockup" in " ".join(out.split())
    rc, out, _ = run(capsys, "review", "herton-rfc", *sel, "--markdown")
    assert out.startswith("## kport review herton-rfc")


def test_review_is_deterministic_and_checks_its_base(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["review", "herton-rfc", "--base", "pre-76a33061+76a33061", "-s", "irq_work.tick-kick-lockup", "--json"]
    assert run(capsys, *argv)[1] == run(capsys, *argv)[1]
    rc, _, err = run(capsys, "review", "herton-rfc", "--base", "v6.16")
    assert rc == 2 and "does not apply to it" in err
    rc, _, err = run(capsys, "review", "herton-rfx")
    assert rc == 2 and "did you mean herton-rfc" in err


def test_ablate_shows_the_tick_hunk_alone_failing_on_the_idle_cpu(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "ablate", "herton-rfc", "--base", "v6.17", "-s", "irq_work.lost*", "--json")
    assert rc == 0
    (ab,) = json.loads(out)
    assert ab["functions"] == ["irq_work_needs_cpu", "irq_work_tick"]
    labels = {s["label"]: s["variant"] for s in ab["subsets"]}
    assert labels == {
        "A": "v6.17+herton-rfc:irq_work_needs_cpu",
        "B": "v6.17+herton-rfc:irq_work_tick",
        "A+B": "v6.17+herton-rfc",
    }
    cells = ab["cells"]
    verdict = {s: {lab: c["verdict"] for lab, c in row.items()} for s, row in cells.items()}
    assert verdict["irq_work.lost-self-ipi-idle-cpu"] == {"base": "bug", "A": "bug", "B": "bug", "A+B": "ok"}
    assert verdict["irq_work.lost-self-ipi"] == {"base": "bug", "A": "bug", "B": "ok", "A+B": "ok"}
    assert ab["minimal_fixes"] == {
        "irq_work.lost-self-ipi": [["irq_work_tick"]],
        "irq_work.lost-self-ipi-idle-cpu": [["irq_work_needs_cpu", "irq_work_tick"]],
    }
    # the subset variant is one kport check takes, with the same verdict
    rc, out, _ = run(capsys, "check", "irq_work.lost-self-ipi-idle-cpu", "--variant", "v6.17+herton-rfc:irq_work_tick")
    assert rc == 1 and "BUG (stall)" in out


def test_subset_variant_names_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    for spec, words in (
        ("v6.17+herton-rfc:nope", "does not override nope()"),
        ("v6.17+herton-rfc:", "name the functions to keep"),
        ("v6.17+herton-rfc:irq_work_tick,", "name the functions to keep"),
    ):
        rc, _, err = run(capsys, "check", "irq_work.lost-self-ipi", "--variant", spec)
        assert rc == 2 and words in err, err


def test_matrix_summary_from_cells() -> None:
    from kernel_port.report.summary import matrix_summary

    def cell(s: str, v: str, verdict: str, reached: list[str] | None = None) -> dict[str, object]:
        return {"scenario": s, "variant": v, "verdict": verdict, "watched": ["f", "g"], "reached": reached}

    rows = matrix_summary(
        [
            cell("a", "t", "bug"),
            cell("b", "t", "ok"),
            cell("c", "t", "bug"),
            cell("a", "t+p", "ok", ["f"]),
            cell("b", "t+p", "bug", ["f"]),
            cell("c", "t+p", "bug", []),
        ]
    )
    assert rows == [
        {
            "variant": "t+p",
            "base": "t",
            "patch": "p",
            "fixes": ["a"],
            "leaves": ["c"],
            "brings_back": ["b"],
            "keeps_ok": [],
            "undecided": [],
            "no_scenario_reaches": ["g"],
            "compared": 3,
            "answer": "fixes: a; leaves: c; brings back: b; no scenario reaches: g()",
        }
    ]


def test_import_with_a_kernel_tree_maps_by_tree_sitter(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("tree_sitter_c")
    from tests.test_worked_example import fake_tree

    tree = fake_tree(tmp_path / "linux")
    argv = ["patch", "import", str(TICK), "--name", "t3", "--kernel-tree", str(tree), "--no-scenarios", "--json"]
    rc, out, err = run(capsys, *argv)
    assert rc == 0, err
    (p,) = json.loads(out)["patches"]
    assert [h["functions"] for h in p["hunks"]] == [["irq_work_needs_cpu"], ["irq_work_tick"]]
    assert "tree-sitter-c on the kernel tree" in (project / "patches" / "t3.py").read_text()
