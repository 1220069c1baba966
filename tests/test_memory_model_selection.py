# SPDX-License-Identifier: GPL-2.0-only
"""Choosing the memory model (issue 18, "Selection"): a scenario's ``memory_model`` and its
``@tso``/``@sc`` cells, ``--memory-model`` on the commands, the plugin's ``--kp-memory-model``,
the model in every verdict line, the JSON, the HTML, tox and the replay token."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from kernel_port.cli import main
from kernel_port.engine.errors import TokenError, UsageError
from kernel_port.engine.token import Schedule, parse, with_memory_model
from kernel_port.scenario import BUG, OK, Scenario, get_scenario, program, split_cell, validate

NAME = "irq_work.busy-flag-race"

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KPORT_STORE", str(tmp_path / "store"))
    return tmp_path / "store"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


# -- the scenario side ----------------------------------------------------------------------------


def test_expect_keys_name_their_model() -> None:
    assert split_cell("v6.17@tso", "sc") == ("v6.17", "tso")
    assert split_cell("v6.17@sc", "tso") == ("v6.17", "sc")
    assert split_cell("v6.17", "tso") == ("v6.17", "tso")
    sc = get_scenario(NAME)
    assert sc.own_memory_model() == "sc"
    assert sc.expected("pre-c8446b75") == OK and sc.expected("pre-c8446b75", "sc") == OK
    assert sc.expected("pre-c8446b75", "tso") == BUG
    assert sc.expected("pre-c8446b75+c8446b75") is None  # a tso cell only
    assert sc.variants()[0] == "pre-c8446b75"


def test_program_carries_the_model() -> None:
    sc_prog = program(NAME, "pre-c8446b75")
    assert sc_prog.memory_model == "sc" and "MEMORY_MODEL" not in sc_prog.config
    tso = program(NAME, "pre-c8446b75", memory_model="tso")
    assert tso.memory_model == "tso" and tso.config["MEMORY_MODEL"] == "tso"
    assert pickle.loads(pickle.dumps(tso)).config["MEMORY_MODEL"] == "tso"  # to a worker process too
    with pytest.raises(UsageError, match="unknown memory model 'pso' \\(expected sc or tso\\)"):
        program(NAME, memory_model="pso")


def test_validation_of_the_model_and_its_cells() -> None:
    class Bad(Scenario):
        name = "t.bad-model"
        memory_model = "pso"

    assert "memory_model = 'pso': 'sc' or 'tso'" in (validate(Bad) or "")

    class Twice(Scenario):
        name = "t.twice"
        expect = {"v6.17": OK, "v6.17@sc": BUG}

    assert "are the same cell" in (validate(Twice) or "")

    class Tso(Scenario):
        name = "t.tso"
        memory_model = "tso"
        expect = {"v6.17": BUG, "v6.17@sc": OK}

    assert validate(Tso) is None
    assert Tso.cells() == [("v6.17", "tso", BUG), ("v6.17", "sc", OK)]

    class Contradicts(Scenario):
        name = "t.contradicts"
        memory_model = "sc"
        config = {"MEMORY_MODEL": "tso"}

    assert "contradicts memory_model" in (validate(Contradicts) or "")


# -- tokens ---------------------------------------------------------------------------------------


def test_token_records_tso_and_old_tokens_mean_sc() -> None:
    plain = Schedule("engine.lost-ipi", "v6.17", 1, [0, 1, 1, 2]).token()
    assert parse(plain).memory_model == "sc" and "mm" not in parse(plain).options
    tso = with_memory_model(plain, "tso")
    assert tso != plain and parse(tso).memory_model == "tso"
    back = parse(tso)
    assert (back.scenario, back.variant, back.faults, back.choices) == ("engine.lost-ipi", "v6.17", 1, [0, 1, 1, 2])
    assert with_memory_model(tso, "sc") == plain and with_memory_model(tso, "tso") == tso
    odd = Schedule("engine.lost-ipi", "v6.17", 0, [0], options={"mm": "pso"}).token()
    with pytest.raises(TokenError, match="memory model 'pso' is unknown to this kport"):
        parse(odd)


# -- the commands ---------------------------------------------------------------------------------


def test_check_replay_under_tso(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "check", NAME, "-V", "pre-c8446b75", "--memory-model", "tso", "--json")
    doc = json.loads(out)
    assert rc == 1 and doc["verdict"] == "bug" and doc["memory_model"] == "tso"
    token = doc["token"]
    assert parse(token).memory_model == "tso"
    rc, out, err = run(capsys, "replay", token)
    assert rc == 1, err
    assert "under tso" in out.splitlines()[0]
    assert "store buffer" in out and "memory model tso]" in out
    rc, out, _ = run(capsys, "replay", token, "--json")
    assert rc == 1 and json.loads(out)["memory_model"] == "tso"
    # The same cell under sc (the scenario's own model) is OK, and says so.
    rc, out, _ = run(capsys, "check", NAME, "-V", "pre-c8446b75")
    assert rc == 0 and "[memory model sc]" in out
    rc, out, _ = run(capsys, "check", NAME, "-V", "pre-c8446b75", "--json")
    assert rc == 0 and json.loads(out)["memory_model"] == "sc"


def test_bad_model_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["check", NAME], ["matrix", "-s", NAME], ["explain", NAME], ["replay", "last"]):
        rc, out, err = run(capsys, *argv, "--memory-model", "pso")
        assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1 and "invalid choice: 'pso'" in err


def test_timed_mode_is_sc(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "simulate", "rt.push-ipi-storm", "--memory-model", "tso")
    assert rc == 2 and out == ""
    assert err.strip() == (
        "kport: error: --memory-model tso: timed mode is sequentially consistent (kport simulate runs sc only)"
    )


def test_matrix_cells_state_their_model(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out, _ = run(capsys, "matrix", "-s", NAME, "--json")
    assert rc == 0
    cells = json.loads(out)["cells"]
    got = {(c["variant"], c["memory_model"]): (c["expected"], c["verdict"], c["match"]) for c in cells}
    assert got == {
        ("pre-c8446b75", "sc"): ("OK", "ok", True),
        ("v6.17+no-mb-irq-work-single", "sc"): ("OK", "ok", True),
        ("pre-c8446b75", "tso"): ("BUG", "bug", True),
        ("pre-c8446b75+c8446b75", "tso"): ("BUG", "bug", True),
        ("pre-c8446b75+c8446b75+e0bbe2d8", "tso"): ("OK", "ok", True),
        ("v6.17", "tso"): ("OK", "ok", True),
        ("v6.17+no-mb-irq-work-single", "tso"): ("BUG", "bug", True),
    }
    for c in cells:
        if c["token"]:
            assert parse(c["token"]).memory_model == c["memory_model"]
    rc, out, _ = run(capsys, "matrix", "-s", NAME, "--memory-model", "sc")
    assert rc == 0 and "2 cells, 2 as expected" in out
    assert all(" sc " in ln for ln in out.splitlines()[1:3])
    html = tmp_path / "m.html"
    rc, out, _ = run(capsys, "matrix", "-s", NAME, "-V", "pre-c8446b75", "--html", str(html))
    text = html.read_text()
    assert rc == 0 and 'data-variant="pre-c8446b75" data-memory-model="tso" data-verdict="bug"' in text
    assert 'data-variant="pre-c8446b75" data-memory-model="sc" data-verdict="ok"' in text
    assert "under tso</h3>" in text
    rc, out, err = run(capsys, "matrix", "-s", "engine.abba", "--memory-model", "tso")
    assert rc == 2 and "no cell matches --scenario engine.abba --memory-model tso" in err


def test_tox_has_a_tso_factor() -> None:
    from kernel_port.toxgen import env_name, render, variants

    text = render(variants())
    section = text.split(f"[testenv:{env_name('pre-c8446b75', 'tso')}]\n")[1].split("\n[")[0]
    assert "KP_VARIANT = pre-c8446b75\n" in section and "KP_MEMORY_MODEL = tso\n" in section
    assert "--kp-memory-model={env:KP_MEMORY_MODEL}" in section
    assert f"[testenv:{env_name('pre-c8446b75+c8446b75')}]" not in text  # no sc cell on it


# -- the pytest plugin ----------------------------------------------------------------------------

TESTS = """
import pytest

@pytest.mark.parametrize("memory_model", ["sc", "tso"])
def test_param(memory_model, kport):
    r = kport.check("irq_work.busy-flag-race", "pre-c8446b75", memory_model=memory_model)
    assert r.stats["memory_model"] == memory_model

@pytest.mark.kport("irq_work.busy-flag-race", memory_model="tso")
def test_marked(kport):
    r = kport.check("irq_work.busy-flag-race", "pre-c8446b75")
    assert r.verdict == "bug", "--kp-memory-model=tso is the default model of kport.check"

def test_plain():
    pass
"""


def test_plugin_selects_and_runs_the_model(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_a=TESTS)
    res = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--kp-memory-model=tso", "-v")
    res.assert_outcomes(passed=3, deselected=1)
    res.stdout.fnmatch_lines(["kernel_port: *--kp-memory-model=tso*"])
    res = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-k", "param")
    res.assert_outcomes(passed=2)
    res = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--kp-memory-model=pso")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines(["*--kp-memory-model: expected sc or tso, got 'pso'*"])


def test_plugin_failure_states_the_model(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_b="""
def test_wrong(kport):
    kport.check("irq_work.busy-flag-race", "pre-c8446b75", memory_model="tso", expect="OK")
"""
    )
    res = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    res.assert_outcomes(failed=1)
    res.stdout.fnmatch_lines(["*irq_work.busy-flag-race on pre-c8446b75 under tso: expected OK, got BUG (by dfs)*"])
    text: Any = res.stdout.str()
    assert "memory model tso]" in text
