# SPDX-License-Identifier: GPL-2.0-only
"""Reliability (issue 10): user mistakes, faults inside a run, the results store, determinism,
and what may run.

* every line of tests/data/malformed_inputs.txt prints one line on stderr and exits 2;
* a scenario or port that raises is verdict ``error`` with its traceback and token, never ``bug``;
  a port that loops hits the step budget (``inconclusive``, naming the function and CPU);
  Ctrl-C prints and saves what was found so far (exit 130);
* the store (.kport/) survives SIGKILL at any moment: every file in it always parses;
* saved results and outputs are byte-identical across runs and PYTHONHASHSEED values;
* tokens and saved results are data, and code loads only from the project's own folders.

Scenarios that fail on purpose live in tests/data/project (KPORT_ROOT points there).
Token tests are in test_reliability_tokens.py, fuzzing in test_reliability_fuzz.py.
"""

from __future__ import annotations

import json
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel_port import store as store_mod
from kernel_port.cli import main
from kernel_port.engine import errors

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
FIXTURES = DATA / "project"


# -- helpers --------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def err_lines(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.strip()]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A results store of this test's own (KPORT_STORE)."""
    d = tmp_path / "store"
    monkeypatch.setenv("KPORT_STORE", str(d))
    return d


@pytest.fixture
def fixtures(monkeypatch: pytest.MonkeyPatch, store: Path) -> Iterator[None]:
    """KPORT_ROOT -> tests/data/project, with the loaded corpus set aside for the test."""
    import kernel_port.scenario as scenario_mod
    import kernel_port.variants as variants_mod

    monkeypatch.setenv("KPORT_ROOT", str(FIXTURES))
    monkeypatch.setattr(scenario_mod, "_SCENARIOS", None)
    monkeypatch.setattr(variants_mod, "_PATCHES", None)
    monkeypatch.setattr(variants_mod, "_VARIANTS", {})
    yield


def malformed_lines() -> list[str]:
    lines = (DATA / "malformed_inputs.txt").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def split_line(line: str) -> tuple[dict[str, str], list[str]]:
    words = shlex.split(line)
    env: dict[str, str] = {}
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        k, _, v = words.pop(0).partition("=")
        env[k] = v
    assert words and words[0] == "kport", line
    return env, words[1:]


# -- 1. user mistakes: one line, exit 2 ----------------------------------------------------


@pytest.mark.parametrize("line", malformed_lines())
def test_malformed_input_is_one_line_exit_2(
    line: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, store: Path
) -> None:
    env, argv = split_line(line)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    rc, out, err = run(capsys, *argv)
    lines = err_lines(err)
    assert rc == 2, (line, rc, out, err)
    assert len(lines) == 1, (line, err)
    assert lines[0].startswith("kport"), lines
    assert "Traceback" not in err and out == "", (line, out)


def test_malformed_list_covers_every_kind() -> None:
    text = "\n".join(malformed_lines())
    for needle in ("--variant v6.71", "v3.10+herton-rfc", "--faults -1", "KPORT_ROOT=", "KPORT_STORE=", "kp1:", "kp7:"):
        assert needle in text, needle
    assert len(malformed_lines()) >= 60


def test_malformed_inputs_through_the_entry_point(tmp_path: Path) -> None:
    """The real ``python -m kernel_port`` for a few lines (the rest run in-process above)."""
    picks = [ln for ln in malformed_lines() if ln.startswith(("kport replay kp7", "KPORT_ROOT=/nonexistent"))]
    picks.append("kport check engine.lost-ipi --variant v3.10+herton-rfc")
    for line in picks:
        env, argv = split_line(line)
        res = subprocess.run(
            [sys.executable, "-m", "kernel_port", *argv],
            cwd=ROOT,
            env=dict(os.environ, KPORT_STORE=str(tmp_path / "s"), **env),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert res.returncode == 2, (line, res.stderr)
        assert len(err_lines(res.stderr)) == 1 and res.stdout == "", (line, res.stderr)


def test_error_hierarchy() -> None:
    from kernel_port.variants import UnknownName

    for cls in (
        errors.UsageError,
        errors.OptionError,
        errors.UnknownNameError,
        errors.PatchDoesNotApply,
        errors.TokenError,
        errors.ReplayDivergence,
        errors.ProjectError,
        errors.StoreError,
    ):
        assert issubclass(cls, errors.KportError)
    assert UnknownName is errors.UnknownNameError
    assert issubclass(errors.PatchDoesNotApply, errors.UnknownNameError)
    assert issubclass(errors.Interrupted, KeyboardInterrupt)
    assert not issubclass(errors.KernelViolation, errors.KportError)
    e = errors.OptionError("$KPORT_STORE", "/x", "is not a folder")
    assert e.one_line() == "$KPORT_STORE /x: is not a folder"


def test_patch_that_does_not_apply_names_the_trees(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = run(capsys, "check", "irq_work.lost-self-ipi", "--variant", "v3.10+herton-rfc")
    assert rc == 2
    assert "does not apply to 'v3.10'" in err and "applies to v6.17" in err


def test_scenario_module_that_does_not_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fixtures: None
) -> None:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "broken_rel.py").write_text("x = 1\ndef f(:\n")
    monkeypatch.setenv("KPORT_ROOT", str(tmp_path))
    rc, _, err = run(capsys, "list")
    # The module is named with its line; the rest of the project is still listed (issue 21).
    assert rc == 4 and len(err_lines(err)) == 1
    assert "broken_rel.py:2 does not load: SyntaxError" in err


def test_pytest_plugin_says_where_a_bad_value_came_from(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_a="def test_x(): pass")
    pytester.makeini("[pytest]\nkp_variant = v6.71\n")
    res = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    assert "kp_variant in tox.ini: unknown tree 'v6.71'" in res.stderr.str()
    pytester.makeini("[pytest]\n")
    res = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--kp-replay=kp2:garbage!")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    assert "--kp-replay: malformed token" in res.stderr.str()
    res = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--kp-variant=v6.17+nonesuch")
    assert "--kp-variant: unknown patch 'nonesuch'" in res.stderr.str()
    pytester.makeini("[pytest]\nkp_seed = twelve\n")
    res = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    assert "kp_seed in tox.ini: expected a whole number, got 'twelve'" in res.stderr.str()


# -- 2. faults inside the run ------------------------------------------------------------------


def test_port_exception_is_error_with_traceback_and_token(
    capsys: pytest.CaptureFixture[str], fixtures: None, store: Path
) -> None:
    rc, out, _ = run(capsys, "check", "rel.raises", "--json")
    assert rc == 4
    r = json.loads(out)
    assert r["verdict"] == "error" and r["kind"] == "KeyError"
    assert "fake_lookup" in r["traceback"] and "KeyError: 1" in r["traceback"]
    assert r["token"].startswith("kp3:") and r["saved"] == "rel.raises@v6.17"
    saved = json.loads((store / "results" / "rel.raises@v6.17.json").read_text())
    assert saved["verdict"] == "error" and "fake_lookup" in saved["traceback"]
    # The schedule that led there replays to the same error, traceback included.
    rc, out, _ = run(capsys, "replay", r["token"])
    assert rc == 4 and "ERROR (KeyError)" in out and "Traceback" in out and "fake_lookup" in out
    rc, out, _ = run(capsys, "check", "rel.raises")
    assert rc == 4 and "ERROR" in out and "BUG" not in out and "Replay:   kport replay kp3:" in out


@pytest.mark.parametrize("strategy", ["dfs", "random", "pct", "hypothesis"])
def test_a_raising_port_is_never_a_bug(strategy: str, fixtures: None) -> None:
    from kernel_port.engine.explorer import check
    from kernel_port.scenario import program

    r = check(program("rel.raises"), strategy, executions=50)
    assert r.verdict == "error" and r.kind == "KeyError" and r.token is not None
    assert r.counterexample is not None and "fake_lookup" in r.counterexample.traceback


@pytest.mark.parametrize("name", ["rel.setup-raises"])  # cpus = "two": refused at load (test_reliability2)
def test_broken_scenarios_are_errors(name: str, capsys: pytest.CaptureFixture[str], fixtures: None) -> None:
    rc, out, _ = run(capsys, "check", name, "--json")
    r = json.loads(out)
    assert rc == 4 and r["verdict"] == "error" and r["traceback"]


def test_step_budget_is_inconclusive_naming_function_and_cpu(
    capsys: pytest.CaptureFixture[str], fixtures: None
) -> None:
    rc, out, _ = run(capsys, "check", "rel.spins", "--json")
    r = json.loads(out)
    assert rc == 3 and r["verdict"] == "inconclusive" and r["kind"] == "step-budget"
    assert "CPU0 was busiest, in spin_without_relax() (kernel/rel_fake.c)" in r["message"]
    assert "not complete" in r["coverage"] and r["token"]


def test_ctrl_c_during_check_prints_and_saves(capsys: pytest.CaptureFixture[str], fixtures: None, store: Path) -> None:
    from kernel_port.scenario import scenarios

    sc = scenarios()["rel.interrupted"]
    sc.finals = 0  # type: ignore[attr-defined]
    rc, out, err = run(capsys, "check", "rel.interrupted")
    assert rc == 130
    assert "BUG (interrupted: the search did not finish)" in out
    assert "CPU1 saw both of CPU0's stores" in out and "Replay:   kport replay kp3:" in out
    assert err_lines(err) == ["kport: interrupted after 2 executions; a counterexample was found and saved"]
    saved = json.loads((store / "last.json").read_text())
    assert saved["interrupted"] is True and saved["verdict"] == "bug"
    rc, out, _ = run(capsys, "replay", "last")
    assert rc == 1 and "CPU1 saw both of CPU0's stores" in out


def _wait_for_cpu_time(pid: int, seconds: float) -> None:
    stat = Path(f"/proc/{pid}/stat")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            time.sleep(2.0)
            return
        if (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") >= seconds:
            return
        time.sleep(0.05)


def test_ctrl_c_signal_during_check(tmp_path: Path) -> None:
    """A real SIGINT to a real process in a long search: exit 130, the partial result printed."""
    env = dict(os.environ, KPORT_ROOT=str(FIXTURES), KPORT_STORE=str(tmp_path / "s"))
    p = subprocess.Popen(
        [sys.executable, "-m", "kernel_port", "check", "rel.large"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_cpu_time(p.pid, 1.5)  # well past start-up: inside the search
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, (out, err)
    assert "rel.large on v6.17: INCONCLUSIVE (interrupted: the search did not finish)" in out
    assert re.fullmatch(r"kport: interrupted after \d+ executions; nothing was found\n", err), err


def test_ctrl_c_during_matrix_prints_and_saves_finished_cells(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, store: Path
) -> None:
    import kernel_port.matrix as matrix_mod

    real = matrix_mod.run_cell
    calls = []

    def cell(*a: object, **kw: object) -> object:
        calls.append(a)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(matrix_mod, "run_cell", cell)
    rc, out, err = run(capsys, "matrix", "--scenario", "engine.abba", "--scenario", "engine.abab", "-s", "engine.ipi")
    assert rc == 130
    assert "engine.abba" in out and "engine.abab" in out and "engine.ipi" not in out
    assert err_lines(err) == ["kport: interrupted after 2 of 3 cells; the finished cells are shown and saved"]
    doc = json.loads((store / "matrix" / "last.json").read_text())
    assert doc["interrupted"] is True and doc["finished"] is False and doc["cells_total"] == 3
    assert [c["scenario"] for c in doc["cells"]] == ["engine.abba", "engine.abab"]
    assert (store / "matrix" / "cells" / "engine.abab@v6.17.json").is_file()
    assert json.loads((store / "results" / "engine.abba@v6.17.json").read_text())["command"] == "matrix"


# -- 3. nothing lost: the results store ------------------------------------------------------


def test_store_keeps_every_counterexample_and_replays_by_name(capsys: pytest.CaptureFixture[str], store: Path) -> None:
    rc, out, _ = run(capsys, "check", "engine.abba")
    assert rc == 1 and "Saved:    kport replay engine.abba@v6.17" in out
    trace = out.split("\n\n", 1)[1].split("\nCoverage:")[0]
    rec = json.loads((store / "results" / "engine.abba@v6.17.json").read_text())
    for key in ("token", "trace", "scenario", "variant", "verdict", "kind", "executions", "message"):
        assert rec[key] not in (None, ""), key
    assert rec["trace"].strip() == trace.strip()
    assert (store / "history" / f"{rec['id']}.json").is_file()
    assert {p.name for p in store.iterdir()} >= {"last.json", "results", "history", "CACHEDIR.TAG", ".gitignore"}
    for name in ("last", "engine.abba@v6.17", "engine.abba", rec["id"], str(store / "last.json")):
        rc, out, _ = run(capsys, "replay", name)
        assert rc == 1 and rec["trace"].splitlines()[-1] in out, name
    # A second counterexample of another cell does not lose the first.
    run(capsys, "check", "engine.lost-ipi")
    assert len(list((store / "history").glob("*.json"))) == 2
    assert json.loads((store / "last.json").read_text())["scenario"] == "engine.lost-ipi"
    rc, out, _ = run(capsys, "replay", "engine.abba@v6.17")
    assert rc == 1 and "deadlock" in out


def test_unknown_or_damaged_saved_results(capsys: pytest.CaptureFixture[str], store: Path) -> None:
    rc, _, err = run(capsys, "replay", "last")
    assert rc == 2 and "no result saved yet" in err
    run(capsys, "check", "engine.abba")
    rc, _, err = run(capsys, "replay", "engine.abab@v6.17")
    assert rc == 2 and "did you mean engine.abba@v6.17" in err
    (store / "results" / "engine.abba@v6.17.json").write_text('{"format": "kport-result/1", "tok')
    rc, _, err = run(capsys, "replay", "engine.abba@v6.17")
    assert rc == 2 and len(err_lines(err)) == 1 and "damaged" in err
    (store / "results" / "engine.abba@v6.17.json").write_text(json.dumps({"format": "something else"}))
    rc, _, err = run(capsys, "replay", "engine.abba@v6.17")
    assert rc == 2 and "not a kport saved result" in err


def test_unwritable_store_is_a_warning_not_a_lost_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "afile").write_text("")
    monkeypatch.setenv("KPORT_STORE", str(tmp_path / "afile" / "store"))
    rc, out, err = run(capsys, "check", "engine.abba")
    assert rc == 1 and "BUG" in out and "Saved:" not in out
    assert err_lines(err) == [ln for ln in err_lines(err) if ln.startswith("kport: warning: result not saved")]
    assert len(err_lines(err)) == 1


def test_atomic_write_leaves_old_or_new(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "f.json"
    store_mod.atomic_write(target, b'{"v": 1}\n')

    def boom(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_mod.os, "replace", boom)
    with pytest.raises(OSError):
        store_mod.atomic_write(target, b'{"v": 2}\n')
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]  # no temporary left behind


def _check_store(root: Path) -> tuple[int, int]:
    """Every file under ``root`` parses; returns (JSON files, leftover temporaries)."""
    n = tmps = 0
    for p in root.rglob("*"):
        if p.is_dir():
            continue
        if p.name.endswith(".tmp"):
            tmps += 1
            continue
        if p.suffix != ".json":
            continue
        n += 1
        obj = json.loads(p.read_text())  # never a torn file
        if p.parent.name in ("results", "history") or (p.name == "last.json" and p.parent == root):
            store_mod.load_result_file(p)
        else:
            assert obj["format"] in (store_mod.MATRIX_FORMAT, store_mod.CELL_FORMAT)
    return n, tmps


WRITER = """
import sys
from pathlib import Path
from kernel_port import store
from kernel_port.engine.token import Schedule
s = store.Store(Path(sys.argv[1]))
i = 0
while True:
    i += 1
    tok = Schedule("engine.abba", "v6.17", 0, list(range(i % 300))).token()
    s.save_result({"format": store.RESULT_FORMAT, "name": "engine.abba@v6.17", "scenario": "engine.abba",
                   "variant": "v6.17", "verdict": "bug", "token": tok, "trace": "x" * (i % 5000)})
    s.save_matrix({"cells": [{"n": j, "match": True} for j in range(i % 200)]})
    if i == 1:
        print("ready", flush=True)  # one whole round saved: the kill lands in a later one
"""


def test_kill_at_random_moments_never_corrupts_the_store(tmp_path: Path) -> None:
    """SIGKILL a matrix run, and a process doing nothing but saving, at random moments."""
    rng = random.Random(20261121)
    root = tmp_path / "store"
    env = dict(os.environ, KPORT_STORE=str(root))
    kills = 0
    # Real runs: `kport matrix` over the engine scenarios, killed at random points.
    for _ in range(4):
        p = subprocess.Popen(
            [sys.executable, "-m", "kernel_port", "matrix", "--scenario", "engine.*"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.4, 1.4))
        p.kill()
        p.wait()
        kills += 1
        _check_store(root)
    # A writer that does nothing but save: most kills land in the middle of a write.
    tmps_seen = 0
    for _ in range(12):
        p = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert p.stdout is not None and p.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0.01, 0.3))
        p.kill()
        p.wait()
        p.stdout.close()
        kills += 1
        n, tmps = _check_store(root)
        tmps_seen = max(tmps_seen, tmps)
        assert n >= 4
    assert kills == 16
    # Leftover temporaries are the kills that landed in the middle of a write (about half
    # of them); with none the test would not have tested much.
    assert tmps_seen >= 1
    # The store is still usable: stale temporaries are never read, and are cleaned once old.
    store_mod.Store(root).load("last")
    for t in root.rglob("*.tmp"):
        os.utime(t, (0, 0))
    store_mod.Store(root).save_matrix({"cells": []})
    assert not list(root.rglob("*.tmp"))


# -- 4. determinism ---------------------------------------------------------------------------

SNIPPET = """
import contextlib, io, sys
from kernel_port.cli import main
for argv in (["check", "engine.lost-ipi", "--json"], ["check", "irq_work.lost-self-ipi"],
             ["matrix", "--scenario", "engine.*", "--json"], ["replay", "last"],
             ["replay", "engine.lost-ipi@v6.17", "--json"]):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(argv)
    sys.stdout.write(f"== {argv} -> {rc}\\n" + buf.getvalue())
"""


def _normalise(text: str) -> str:
    # Wall-clock figures are the only thing allowed to differ.
    text = re.sub(r'"seconds": [0-9.e-]+', '"seconds": S', text)
    return re.sub(r"executions in [0-9.]+s\)", "executions in Ss)", text)


def test_outputs_and_saved_results_identical_across_processes_and_hash_seeds(tmp_path: Path) -> None:
    outs, stores = set(), set()
    for hs in ("0", "4242", "random"):
        root = tmp_path / f"store-{hs}"
        env = dict(os.environ, PYTHONHASHSEED=hs, KPORT_STORE=str(root), PYTHONPATH=str(ROOT))
        res = subprocess.run(
            [sys.executable, "-c", SNIPPET], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert res.returncode == 0, res.stderr
        outs.add(_normalise(res.stdout))
        files = []
        for p in sorted(root.rglob("*.json")):
            obj = json.loads(p.read_text())
            if isinstance(obj, dict):
                obj.pop("timing", None)
            files.append((str(p.relative_to(root)), store_mod._dumps(obj)))
        stores.add(tuple(files))
        assert all(b"seconds" not in body for _, body in files)
    assert len(outs) == 1 and len(stores) == 1
    assert "kp3:" in next(iter(outs))


# -- 7. no code from outside runs ---------------------------------------------------------------


def test_tokens_and_saved_results_are_data() -> None:
    for mod in ("engine/token.py", "store.py"):
        src = (ROOT / "kernel_port" / mod).read_text()
        for bad in ("pickle", "marshal", "eval(", "exec(", "yaml", "import_module", "__import__"):
            assert bad not in src, (mod, bad)


def test_a_token_cannot_name_a_file_to_load(tmp_path: Path, capsys: pytest.CaptureFixture[str], store: Path) -> None:
    from kernel_port.engine.token import Schedule

    marker = tmp_path / "ran"
    evil = tmp_path / "evil.py"
    evil.write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    for scen, variant in ((str(evil), "v6.17"), (str(evil.with_suffix("")), "v6.17"), ("engine.abba", str(evil))):
        tok = Schedule(scen, variant, 0, [0]).token()
        rc, _, err = run(capsys, "replay", tok)
        assert rc == 2 and "unknown" in err
    rec = json.loads(json.dumps({"format": store_mod.RESULT_FORMAT, "name": "x", "scenario": str(evil)}))
    (store / "results").mkdir(parents=True)
    (store / "results" / "x.json").write_text(json.dumps(rec))
    rc, _, err = run(capsys, "replay", "x")
    assert rc == 2 and "damaged" in err
    assert not marker.exists()


def test_code_loads_only_from_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kernel_port import variants

    # A folder with scenarios/ and kernel_port/ is not a clone unless its pyproject names the project.
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "kernel_port").mkdir()
    assert not variants._is_clone(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "something-else"\n')
    assert not variants._is_clone(tmp_path)
    assert variants._is_clone(ROOT)
    # Corpus modules come only from the project's scenarios/ and patches/ folders.
    from kernel_port.scenario import scenarios

    files = {
        Path(sys.modules[c.__module__].__file__ or "").resolve().parent
        for c in scenarios().values()
        if c.__module__ in sys.modules
    }
    assert files == {ROOT / "scenarios"}
    # Two files of the same name in different folders stay two modules.
    a, b = tmp_path / "a" / "same_rel.py", tmp_path / "b" / "same_rel.py"
    for p, v in ((a, 1), (b, 2)):
        p.parent.mkdir()
        p.write_text(f"V = {v}\n")
    assert variants.load_by_path(a, "kernel_port_reltest").V == 1
    assert variants.load_by_path(b, "kernel_port_reltest").V == 2
