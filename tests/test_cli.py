# SPDX-License-Identifier: GPL-2.0-only
"""The command line: exit codes, --json shapes, one-line errors (never a traceback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from kernel_port.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "list", "--json")
    assert rc == 0
    obj = json.loads(out)
    assert {"trees", "patches", "variants", "scenarios"} <= set(obj)
    names = {s["name"] for s in obj["scenarios"]}
    assert "engine.lost-ipi" in names
    assert any(t["name"] == "v6.17" for t in obj["trees"])


def test_list_text(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "list")
    assert rc == 0 and "Scenarios:" in out and "engine.abba" in out


def test_check_ok_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "check", "engine.irqs-off")
    assert rc == 0
    assert "OK" in out and "search complete" in out


def test_check_bug_exit_1_with_trace_and_token(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "check", "engine.lost-ipi")
    assert rc == 1
    assert "CPU0" in out and "CPU1" in out and "IPI LOST" in out
    assert "kport replay kp3:" in out
    token = out.split("kport replay ")[1].split()[0]
    rc2, out2, _ = run(capsys, "replay", token)
    assert rc2 == 1 and "IPI LOST" in out2 and "BUG (stall)" in out2


def test_check_inconclusive_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "check", "engine.irqs-off", "--strategy", "random", "--executions", "20")
    assert rc == 3 and "INCONCLUSIVE" in out


def test_check_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "check", "engine.abba", "--json")
    assert rc == 1
    obj = json.loads(out)
    for k in ("scenario", "variant", "verdict", "kind", "executions", "complete", "seconds", "token"):
        assert k in obj
    assert obj["verdict"] == "bug" and obj["kind"] == "deadlock" and obj["token"].startswith("kp3:")


def test_faults_flag_changes_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, _ = run(capsys, "check", "engine.lost-ipi", "--faults", "0")
    assert rc == 0


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["check", "engine.lost-ipx"], "did you mean engine.lost-ipi"),
        (["check", "engine.lost-ipi", "--variant", "v6.71"], "unknown tree"),
        (["check", "engine.lost-ipi", "--variant", "v6.17+nonesuch"], "unknown patch"),
        (["check", "engine.lost-ipi", "--faults", "-1"], "--faults"),
        (["check", "engine.lost-ipi", "--strategy", "bogus"], "--strategy"),
        (["replay", "kp1:garbage!"], "token"),
        (["replay", "kp7:abc"], "version"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_input_is_one_line_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], words: str) -> None:
    rc, out, err = run(capsys, *argv)
    assert rc == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert words in lines[0]
    assert "Traceback" not in err


def test_replay_on_wrong_scenario_says_where_it_diverged(capsys: pytest.CaptureFixture[str]) -> None:
    from kernel_port.engine.token import Schedule

    tok = Schedule("engine.ipi", "v6.17", 0, [5, 5, 5]).token()
    rc, _, err = run(capsys, "replay", tok)
    assert rc == 2 and "does not replay" in err and "choice 0" in err


def test_python_dash_m_entry_point() -> None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    res = subprocess.run(
        [sys.executable, "-m", "kernel_port", "check", "engine.coalesce", "--json"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["verdict"] == "ok"


def test_matrix_json_filters(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "matrix", "--scenario", "engine.abba", "--scenario", "engine.abab", "--json")
    assert rc == 0
    obj = json.loads(out)
    assert [c["scenario"] for c in obj["cells"]] == ["engine.abba", "engine.abab"]
    for c in obj["cells"]:
        for k in ("scenario", "variant", "expected", "verdict", "kind", "executions", "complete", "seconds", "token"):
            assert k in c
