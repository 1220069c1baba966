# SPDX-License-Identifier: GPL-2.0-only
"""Reliability II (issue 21): every traceback and misreport a hostile pass found, each a test.

``test_item_NN_*`` is item NN of the issue.  Then the pieces it asked for beside them: the
wall-clock watchdog for scenario code that never reaches a step, strict validation of
scenarios when they load (one line naming file and line), SIGTERM saving like SIGINT
(exit 143), and worker processes dying with their parent.  (The argv-level fuzz of the
command line: test_reliability_fuzz.py, small; bench/cli_fuzz.py, 10,000 cases.)

Scenario fixtures: tests/data/hostile (load fine, misbehave at run time) and
tests/data/invalid (do not load, or fail validation); KPORT_ROOT points there.  Nothing here
pins an execution count: verdicts, exit statuses and messages only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kernel_port import store as store_mod
from kernel_port.cli import main
from kernel_port.engine.token import Schedule, parse

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
HOSTILE = DATA / "hostile"
INVALID = DATA / "invalid"
PROJECT = DATA / "project"
WATCHDOG = "0.5"


# -- helpers --------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def lines(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.strip()]


def use_project(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """KPORT_ROOT -> ``root``, with the loaded corpus set aside for the test."""
    import kernel_port.scenario as scenario_mod
    import kernel_port.variants as variants_mod

    monkeypatch.setenv("KPORT_ROOT", str(root))
    monkeypatch.setattr(scenario_mod, "_SCENARIOS", None)
    monkeypatch.setattr(variants_mod, "_PATCHES", None)
    monkeypatch.setattr(variants_mod, "_VARIANTS", {})


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "store"
    monkeypatch.setenv("KPORT_STORE", str(d))
    return d


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch, store: Path) -> Path:
    use_project(monkeypatch, HOSTILE)
    monkeypatch.setenv("KPORT_WATCHDOG", WATCHDOG)
    return store


@pytest.fixture
def invalid(monkeypatch: pytest.MonkeyPatch, store: Path) -> Path:
    use_project(monkeypatch, INVALID)
    return store


def line_of(path: Path, marker: str) -> int:
    for i, text in enumerate(path.read_text().splitlines(), 1):
        if marker in text:
            return i
    raise AssertionError(f"{marker!r} not in {path}")


def kport_process(*argv: str, root: Path | None = None, store: Path, **env: str) -> subprocess.Popen[str]:
    full = dict(os.environ, KPORT_STORE=str(store), **env)
    if root is not None:
        full["KPORT_ROOT"] = str(root)
    return subprocess.Popen(
        [sys.executable, "-m", "kernel_port", *argv],
        cwd=ROOT,
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_cpu_time(pid: int, seconds: float) -> None:
    """Until ``pid`` has used ``seconds`` of CPU time (well inside its search)."""
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


def children(pid: int) -> list[int]:
    out = []
    for st in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = st.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(st.parent.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


# -- tracebacks or lost results -----------------------------------------------------------------


def test_item_01_simulate_error_is_verdict_error(capsys: pytest.CaptureFixture[str], hostile: Path) -> None:
    rc, out, err = run(capsys, "simulate", "hostile.timed-raises", "--size", "small")
    assert rc == 4 and err == "", err
    assert "hostile.timed-raises on v6.17: ERROR (AttributeError): AttributeError: 'V' object has no" in out
    assert "Traceback" in out and "no_such_field" in out  # the scenario's traceback, on stdout like check's
    rc, out, _ = run(capsys, "simulate", "hostile.timed-raises", "--json")
    doc = json.loads(out)
    assert rc == 4 and doc["verdict"] == "error" and doc["kind"] == "AttributeError" and doc["traceback"]


@pytest.mark.parametrize("broken", ["last.json is a folder", "results is a file", "history is a file"])
def test_item_02_matrix_with_a_broken_store_still_prints(
    broken: str, capsys: pytest.CaptureFixture[str], store: Path
) -> None:
    store.mkdir(parents=True)
    what = broken.split()[0]
    if "folder" in broken:
        (store / what).mkdir()
    else:
        (store / what).write_text("")
    rc, out, err = run(capsys, "matrix", "--scenario", "engine.abba", "--scenario", "engine.abab")
    assert rc == 0, err
    assert "engine.abba" in out and "engine.abab" in out  # the table
    assert "Traceback" not in err and lines(err)
    assert all(ln.startswith("kport: warning: ") for ln in lines(err)), err
    assert len(lines(err)) == len(set(lines(err)))  # each problem once
    assert json.loads((store / "matrix" / "last.json").read_text())["finished"] is True


def test_item_03_store_path_that_cannot_be_expanded(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KPORT_STORE", "~nouser_kport_test/x")
    rc, out, err = run(capsys, "check", "engine.abba")
    assert rc == 2 and out == ""
    assert lines(err) == [
        "kport: error: $KPORT_STORE ~nouser_kport_test/x: cannot be expanded (no such user or home folder)"
    ]


def test_item_04_source_width_is_bounded(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "source", "irq_work_queue", "--width", "1000000000")
    assert rc == 2 and out == "" and "from 8 to 1000 (or 0: fit the terminal)" in err
    rc, out, _ = run(capsys, "source", "irq_work_queue", "--width", "60")
    assert rc == 0 and "irq_work_queue" in out


@pytest.mark.parametrize("name,kind", [("hostile.base-exception", "Boom"), ("hostile.bad-str", "Unprintable")])
def test_item_05_any_exception_is_an_error(
    name: str, kind: str, capsys: pytest.CaptureFixture[str], hostile: Path
) -> None:
    for extra in ([], ["--jobs", "2"]):
        rc, out, err = run(capsys, "check", name, "--json", *extra)
        r = json.loads(out)
        assert rc == 4 and r["verdict"] == "error" and r["kind"] == kind, (extra, err)
        assert r["traceback"] and "Traceback" not in err
    if name == "hostile.bad-str":
        assert "str() raised RuntimeError" in r["message"]
    rc, out, _ = run(capsys, "explain", name)
    assert rc == 4 and f"ERROR ({kind})" in out
    rc, out, err = run(capsys, "matrix", "--scenario", name, "--json")
    cell = json.loads(out)["cells"][0]
    assert rc == 1 and cell["verdict"] == "error" and cell["kind"] == kind and "Traceback" not in err


@linux_only
def test_item_06_a_closed_pipe_keeps_the_exit_status(tmp_path: Path) -> None:
    r, w = os.pipe()
    os.close(r)  # the reader is gone before kport writes anything: every write fails
    p = subprocess.Popen(
        [sys.executable, "-m", "kernel_port", "check", "irq_work.lost-self-ipi"],
        cwd=ROOT,
        env=dict(os.environ, KPORT_STORE=str(tmp_path / "s")),
        stdout=w,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(w)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 1, err  # BUG, even though nobody read it
    assert "Traceback" not in err and "Exception ignored" not in err, err


def test_item_06_in_process(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, store: Path) -> None:
    class Closed:
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

        def isatty(self) -> bool:
            return False

        def fileno(self) -> int:
            raise OSError("no file")

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["check", "engine.abba"]) == 1
    assert main(["check", "engine.abab"]) == 0


POOL = """
import concurrent.futures as cf, multiprocessing, os, sys, time
from kernel_port import signals
with signals.installed():  # as while a kport command runs
    ex = cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"))
    print(*sorted({ex.submit(os.getpid).result() for _ in range(8)}), flush=True)
    time.sleep(120)
"""


def _kill_parent_and_watch(p: subprocess.Popen[str], workers: list[int], sig: int = signal.SIGKILL) -> None:
    p.send_signal(sig)  # SIGKILL: no handler runs in the parent
    p.wait(timeout=30)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(alive(w) for w in workers), "worker processes outlived their parent"


@linux_only
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_item_07_workers_die_with_their_parent(sig: signal.Signals, tmp_path: Path) -> None:
    """The mechanism, whatever the engine's split policy: workers forked while a command runs
    die with it, whichever signal ends it (SIGKILL runs no handler at all)."""
    p = subprocess.Popen(
        [sys.executable, "-c", POOL],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal: a test run under nohup would pass SIGHUP on ignored.
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL),
    )
    try:
        assert p.stdout is not None
        workers = [int(w) for w in p.stdout.readline().split()]
        assert workers and all(alive(w) for w in workers)
        _kill_parent_and_watch(p, workers, sig)
    finally:
        p.kill()
        p.communicate(timeout=30)


@linux_only
def test_item_07_kport_jobs_workers_die_with_kport(tmp_path: Path) -> None:
    """The issue's case: SIGKILL to `kport check --jobs 2` in the middle of a split search."""
    p = kport_process("check", "rel.large", "--jobs", "2", root=PROJECT, store=tmp_path / "s")
    try:
        deadline = time.monotonic() + 10
        workers: list[int] = []
        while time.monotonic() < deadline and len(workers) < 2:
            workers = children(p.pid)
            time.sleep(0.1)
        if not workers:
            pytest.skip("the split search started no worker process in 10 s (the engine ran it in line)")
        _kill_parent_and_watch(p, workers)
    finally:
        p.kill()
        p.communicate(timeout=30)


@linux_only
def test_item_08_sigterm_saves_like_ctrl_c(tmp_path: Path) -> None:
    store = tmp_path / "s"
    p = kport_process("check", "hostile.bug-then-long", root=HOSTILE, store=store)
    wait_for_cpu_time(p.pid, 1.0)  # the violation of the first execution is found by now
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 143, (out, err)
    assert "hostile.bug-then-long on v6.17: BUG (interrupted: the search did not finish)" in out
    assert "the CPUs ran one after the other" in out and "Replay:   kport replay kp3:" in out
    assert "interrupted (SIGTERM) after" in out  # the coverage line says which signal
    want = r"kport: terminated \(SIGTERM\) after \d+ executions; a counterexample was found and saved\n"
    assert re.fullmatch(want, err), err
    saved = json.loads((store / "last.json").read_text())
    assert saved["interrupted"] is True and saved["verdict"] == "bug"


def test_item_08_sigterm_during_matrix(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, store: Path
) -> None:
    import kernel_port.matrix as matrix_mod

    real = matrix_mod.run_cell
    calls: list[Any] = []

    def cell(*a: Any, **kw: Any) -> Any:
        calls.append(a)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises before this returns
        return real(*a, **kw)

    monkeypatch.setattr(matrix_mod, "run_cell", cell)
    before = signal.getsignal(signal.SIGTERM)
    rc, out, err = run(capsys, "matrix", "-s", "engine.abba", "-s", "engine.abab", "-s", "engine.ipi")
    assert rc == 143
    assert "engine.abba" in out and "engine.abab" not in out
    assert lines(err) == ["kport: terminated (SIGTERM) after 1 of 3 cells; the finished cells are shown and saved"]
    doc = json.loads((store / "matrix" / "last.json").read_text())
    assert doc["interrupted"] is True and [c["scenario"] for c in doc["cells"]] == ["engine.abba"]
    assert signal.getsignal(signal.SIGTERM) == before  # the caller's handler is back


def test_item_08_a_signal_while_saving_waits_for_the_save(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, store: Path
) -> None:
    real = store_mod.atomic_write
    sent = []

    def slow_write(path: Path, data: bytes) -> None:
        if not sent and path.parent.name == "history":
            sent.append(path)
            os.kill(os.getpid(), signal.SIGTERM)  # lands in the middle of the three writes
        real(path, data)

    monkeypatch.setattr(store_mod, "atomic_write", slow_write)
    rc, out, err = run(capsys, "check", "engine.abba")
    assert rc == 143 and sent
    assert "BUG (deadlock)" in out and "Saved:    kport replay engine.abba@v6.17" in out
    assert lines(err) == ["kport: terminated (SIGTERM) after the search had finished; its result is printed and saved"]
    for rel in ("last.json", "results/engine.abba@v6.17.json"):
        store_mod.load_result_file(store / rel)


def test_item_09_a_partial_save_says_exactly_what_was_saved(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, store: Path
) -> None:
    assert run(capsys, "check", "engine.abba")[0] == 1  # an older last.json
    real = store_mod.atomic_write

    def immutable_top(path: Path, data: bytes) -> None:
        if path.parent == store:  # like `chattr +i .kport`: its subfolders stay writable
            raise PermissionError(1, "Operation not permitted", str(path))
        real(path, data)

    monkeypatch.setattr(store_mod, "atomic_write", immutable_top)
    rc, out, err = run(capsys, "check", "engine.lost-ipi")
    assert rc == 1 and "Saved:    kport replay engine.lost-ipi@v6.17" in out
    (line,) = lines(err)
    assert line.startswith("kport: warning: result saved only in part: history/")
    assert "results/engine.lost-ipi@v6.17.json written in" in line and "last.json not (" in line
    assert "'kport replay last' still shows an older result" in line
    assert "replay it with 'kport replay engine.lost-ipi@v6.17'" in line
    assert "result not saved" not in line
    assert json.loads((store / "last.json").read_text())["scenario"] == "engine.abba"


# -- a scenario's defect reported as something else ---------------------------------------------


def test_item_10_keyboard_interrupt_from_scenario_code(capsys: pytest.CaptureFixture[str], hostile: Path) -> None:
    rc, out, err = run(capsys, "check", "hostile.keyboard-interrupt")
    assert rc == 4, err
    assert "ERROR (KeyboardInterrupt): KeyboardInterrupt (raised by the code under test, not by the user)" in out
    assert "interrupted" not in out + err


def test_item_10_greenlet_exit_is_an_error(capsys: pytest.CaptureFixture[str], hostile: Path) -> None:
    rc, out, _ = run(capsys, "check", "hostile.greenlet-exit")
    assert rc == 4 and "ERROR (GreenletExit): CPU1's code raised GreenletExit" in out
    assert "INCONCLUSIVE" not in out and "step budget" not in out


def test_item_10_assert_in_setup_is_an_error(capsys: pytest.CaptureFixture[str], hostile: Path) -> None:
    rc, out, _ = run(capsys, "check", "hostile.setup-assert")
    assert rc == 4 and "ERROR (AssertionError): setup() failed an assertion: setup expected x == 42" in out
    assert "BUG" not in out


def test_item_10_sys_exit_at_import_or_in_cpu_code(capsys: pytest.CaptureFixture[str], invalid: Path) -> None:
    rc, out, err = run(capsys, "check", "invalid.fine")
    assert rc == 0 and "invalid.fine on v6.17: OK" in out
    assert "kport: warning: scenarios/exits_at_import.py:6 does not load: SystemExit: 0 (left out)" in lines(err)


def test_item_10_sys_exit_in_cpu_code(capsys: pytest.CaptureFixture[str], hostile: Path) -> None:
    rc, out, _ = run(capsys, "check", "hostile.sys-exit")
    assert rc == 4 and "ERROR (SystemExit)" in out


def test_item_11_code_that_never_reaches_a_step(capsys: pytest.CaptureFixture[str], hostile: Path) -> None:
    src = HOSTILE / "scenarios" / "hostile.py"
    loop = line_of(src, "while n != limit")  # the loop's lines: loop .. loop + 4
    for name, who, lines_ in (
        ("hostile.cpu-loop", "CPU1 was in spin_on_locals()", range(loop, loop + 5)),
        ("hostile.setup-loop", "the scenario's set-up was in setup()", range(1, 10_000)),
    ):
        t0 = time.monotonic()
        rc, out, err = run(capsys, "check", name, "--json")
        r = json.loads(out)
        assert rc == 4 and r["verdict"] == "error" and r["kind"] == "watchdog", err
        want = f"no step for {WATCHDOG} s of wall time: {who} at tests/data/hostile/scenarios/hostile.py:"
        assert r["message"].startswith(want), r["message"]
        assert int(r["message"][len(want) :].split()[0]) in lines_, r["message"]
        assert time.monotonic() - t0 < 30
        # The token replays to the same hang, reported the same way.
        rc, out, _ = run(capsys, "replay", r["token"])
        assert rc == 4 and "ERROR (watchdog): no step for" in out


def test_item_11_too_many_cpus_is_refused_at_load(capsys: pytest.CaptureFixture[str], invalid: Path) -> None:
    rc, _, err = run(capsys, "check", "invalid.too-many-cpus")
    line = line_of(INVALID / "scenarios" / "mistakes.py", "MARK too-many-cpus")
    assert rc == 4 and lines(err) == [
        "kport: error: scenario 'invalid.too-many-cpus' is left out: "
        f"scenarios/mistakes.py:{line}: scenario 'invalid.too-many-cpus': cpus = 100000: a scenario runs 1 to 64 CPUs"
    ]


INVALID_LINES = {
    "extra-cpu": "cpu2() is never run: cpus = 2 (the CPUs are cpu0..cpu1)",
    "config-typo": "config key 'PREEMPT-RT' is read by no port (did you mean PREEMPT_RT",
    "unknown-patch": "expect names variant 'v6.17+nonesuch': unknown patch 'nonesuch'",
    "too-many-cpus": "cpus = 100000: a scenario runs 1 to 64 CPUs",
    "bad-machine": "cpus = 'two': a scenario runs 1 to 64 CPUs",
    "bad-setup": "setup() must take (self, k, m)",
    "bad-verdict": "expect['v6.17'] = 'ok': expected BUG, OK or find",
}


def test_item_12_mistakes_are_refused_at_load_with_file_and_line(
    capsys: pytest.CaptureFixture[str], invalid: Path
) -> None:
    rc, out, err = run(capsys, "list")
    assert rc == 4 and "invalid.fine" in out and "Not loaded" in out
    got = lines(err)
    src = INVALID / "scenarios" / "mistakes.py"
    for key, text in INVALID_LINES.items():
        want = f"kport: warning: scenarios/mistakes.py:{line_of(src, 'MARK ' + key)}: scenario 'invalid.{key}': {text}"
        assert any(ln.startswith(want) for ln in got), (want, got)
    twice = line_of(src, "MARK twice")
    assert any(f"mistakes.py:{twice}: scenario name 'invalid.fine' is defined twice" in ln for ln in got), got
    assert "kport: warning: scenarios/syntax_error.py:4 does not load: SyntaxError" in err
    assert all(ln.startswith("kport: warning: ") and ln.endswith("(left out)") for ln in got)
    rc, out, _ = run(capsys, "list", "--json")
    assert rc == 4 and len(json.loads(out)["load_errors"]) == len(got)


def test_item_12_the_others_keep_working(capsys: pytest.CaptureFixture[str], invalid: Path) -> None:
    rc, out, err = run(capsys, "check", "invalid.fine")
    assert rc == 0 and "OK" in out and "Traceback" not in err
    rc, out, _ = run(capsys, "matrix", "--json")
    doc = json.loads(out)
    assert rc == 4 and [c["scenario"] for c in doc["cells"]] == ["invalid.fine"] and doc["load_errors"]
    rc, _, err = run(capsys, "check", "invalid.extra-cpu")
    assert rc == 4 and len(lines(err)) == 1 and "is left out: scenarios/mistakes.py:" in err
    rc, _, err = run(capsys, "check", "invalid.nonesuch")
    assert rc == 2 and len(lines(err)) == 1 and "did not load" in err


def test_item_12_the_corpus_itself_loads_cleanly() -> None:
    from kernel_port.scenario import load_errors, scenarios

    assert scenarios() and load_errors() == []


def test_item_13_a_stall_also_says_what_at_end_and_the_state_say(
    capsys: pytest.CaptureFixture[str], hostile: Path
) -> None:
    rc, out, _ = run(capsys, "check", "hostile.stall", "--json")
    r = json.loads(out)
    assert rc == 1 and r["verdict"] == "bug" and r["kind"] == "stall"
    assert r["message"] == (
        "liveness obligation not met when no CPU could move: v.y becomes 1; "
        "at_end check(s): assertion failed: x ended as 1; scenario state: seen={'x': 1}, v={x=1, y=0}"
    )


@linux_only
def test_item_14_a_replay_says_when_the_code_changed(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    shutil.copytree(HOSTILE, proj)
    store = tmp_path / "s"
    p = kport_process("check", "hostile.race", root=proj, store=store)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 1, err
    saved = json.loads((store / "last.json").read_text())
    assert "scenarios/hostile.py" in saved["code"] and any(k.startswith("kernel_port/engine/") for k in saved["code"])
    src = proj / "scenarios" / "hostile.py"
    text = src.read_text()
    race = text.index('name = "hostile.race"')
    more = "        self.v.y = 5\n        self.v.y = 6\n"
    step = "        self.v.x = self.v.x + 1\n"
    text = text[:race] + text[race:].replace(step, more + step, 1)
    src.write_text(text)
    p = kport_process("replay", "last", root=proj, store=store)
    out, err = p.communicate(timeout=120)
    assert "Traceback" not in err
    assert "the code changed since this result was saved (scenarios/hostile.py)" in out + err, (out, err)


# -- quieter defects ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "101", "inf", "1e400", "-1"])
def test_item_15_fail_under_is_a_percentage(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "cover", "--variant", "v6.17", f"--fail-under={value}")
    assert rc == 2 and out == "" and "expected a percentage from 0 to 100" in err and len(lines(err)) == 1


def test_item_16_matching_no_cell_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "matrix", "-s", "irq_work.*", "-V", "v3.10*")
    assert rc == 2 and out == ""
    assert lines(err)[0].startswith("kport: error: no cell matches --scenario irq_work.* --variant v3.10*")


@pytest.mark.parametrize(
    "argv",
    [
        ["matrix", "--html", ""],
        ["simulate", "rt.self-ipi-loop", "--plot", ""],
        ["source", "irq_work_queue", "--kernel-tree", ""],
        ["replay", "last", "--variant", ""],
        ["check", "engine.abba", "--variant", " "],
        ["cover", "--variant", "v6.17", "-s", ""],
    ],
)
def test_item_17_empty_strings_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str], store: Path) -> None:
    rc, out, err = run(capsys, *argv)
    assert rc == 2 and out == "" and len(lines(err)) == 1 and "empty string" in err


def test_item_17_empty_kp_variant(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_a="def test_x(): pass")
    res = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--kp-variant=")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    assert "--kp-variant: empty variant name" in res.stderr.str()


def test_item_18_echoed_text_is_escaped_and_cut(capsys: pytest.CaptureFixture[str], store: Path) -> None:
    esc = "\x1b[31m\x07"
    for argv in (
        ["check", "engine.abba", "--variant", f"v6.17{esc}"],
        ["check", f"engine.{esc}abba"],
        ["replay", Schedule(f"engine.{esc}x", "v6.17", 0, [0]).token()],
        ["replay", Schedule("engine.abba", f"v6.17{esc}", 0, [0]).token()],
        ["check", "x" * 1_000_000],
        ["check", "engine.abba", "--variant", "v" * 1_000_000],
        ["replay", "y" * 1_000_000],
    ):
        rc, out, err = run(capsys, *argv)
        assert rc == 2 and out == "", argv[:2]
        assert len(lines(err)) == 1 and len(err) < 500, (argv[:2], len(err))
        assert "\x1b" not in err and "\x07" not in err
    rc, _, err = run(capsys, "check", f"engine.{esc}abba")
    assert "\\x1b[31m\\x07" in err  # escaped, so the user sees what was there


@pytest.mark.parametrize("keep", [0, 1])
def test_item_19_a_token_cut_short_does_not_replay_as_ok(keep: int, capsys: pytest.CaptureFixture[str]) -> None:
    from kernel_port.engine.explorer import check, schedule_labels
    from kernel_port.scenario import program

    r = check(program("engine.abba"))
    assert r.token is not None
    s = parse(r.token)
    assert len(s.choices) > 1
    labels = schedule_labels(program("engine.abba"), s.choices)
    assert labels is not None
    for cut in (
        Schedule(s.scenario, s.variant, s.faults, s.choices[:keep]).token(),  # kp3: by choice numbers
        Schedule(s.scenario, s.variant, s.faults, s.choices[:keep], labels=labels[:keep]).token_kp2(),  # by labels
    ):
        rc, out, err = run(capsys, "replay", cut)
        assert rc == 2 and out == "" and len(lines(err)) == 1
        assert f"its {keep} choice(s) ran out at step" in err and "a truncated schedule" in err
    # The same schedule on another variant may legitimately run on (a fix that adds steps).
    rc, out, _ = run(capsys, "replay", r.token)
    assert rc == 1


def test_item_20_html_path_is_checked_before_any_cell_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store: Path
) -> None:
    import kernel_port.matrix as matrix_mod

    def no_cells(*a: Any, **kw: Any) -> Any:
        raise AssertionError("a cell ran before the --html path was checked")

    monkeypatch.setattr(matrix_mod, "run_cell", no_cells)
    for path in ("/nonexistent/dir/report.html", str(tmp_path)):
        rc, out, err = run(capsys, "matrix", "--html", path)
        assert rc == 2 and out == "" and len(lines(err)) == 1 and f"--html {path}:" in err
    assert not list(tmp_path.glob("*.html"))


def test_item_21_simulate_cut_short_is_inconclusive(capsys: pytest.CaptureFixture[str], hostile: Path) -> None:
    rc, out, err = run(capsys, "simulate", "hostile.timed-long", "--wall-limit", "0.3")
    assert rc == 3, err
    assert "(wall-limit: stopped after 0.3 s of wall time)" in out


def test_item_22_cover_takes_patterns(capsys: pytest.CaptureFixture[str]) -> None:
    from kernel_port.cover import cells_for

    names = {s.name for s in cells_for("v6.17+herton-rfc", ["irq_work.*"])}
    assert {"irq_work.lost-self-ipi", "irq_work.tick-kick-lockup"} <= names
    assert all(n.startswith("irq_work.") for n in names)
    assert {s.name for s in cells_for("v6.17", ["engine.ab??"])} == {"engine.abab", "engine.abba"}
    rc, _, err = run(capsys, "cover", "--variant", "v6.17", "-s", "nope.*")
    assert rc == 2 and "no scenario matches 'nope.*'" in err


def test_item_22_kp_replay_of_an_unknown_scenario(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_a="def test_x(): pass")
    for tok, what in (
        (Schedule("nope.x", "v6.17", 0, [0]).token(), "--kp-replay: the token's scenario: unknown scenario 'nope.x'"),
        (Schedule("engine.abba", "v6.71", 0, [0]).token(), "--kp-replay: the token's variant: unknown tree 'v6.71'"),
    ):
        res = pytester.runpytest_inprocess("-p", "no:cacheprovider", f"--kp-replay={tok}")
        assert res.ret == pytest.ExitCode.USAGE_ERROR
        assert what in res.stderr.str()


# -- the watchdog, validation and signals, beside the items -----------------------------------------


def test_watchdog_period_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kernel_port import hangcheck

    monkeypatch.delenv("KPORT_WATCHDOG", raising=False)
    assert hangcheck.seconds() == hangcheck.DEFAULT_SECONDS
    monkeypatch.setenv("KPORT_WATCHDOG", "0")
    assert hangcheck.seconds() is None
    for bad in ("x", "-1", "nan", "inf"):
        monkeypatch.setenv("KPORT_WATCHDOG", bad)
        rc, out, err = run(capsys, "check", "engine.abba")
        assert rc == 2 and out == "" and lines(err)[0].startswith(f"kport: error: $KPORT_WATCHDOG {bad}:")


def test_watchdog_leaves_working_scenarios_alone(capsys: pytest.CaptureFixture[str], hostile: Path) -> None:
    rc, out, _ = run(capsys, "check", "hostile.race")
    assert rc == 1 and "an update was lost" in out


def test_watchdog_in_the_python_api(hostile: Path) -> None:
    from kernel_port.engine.explorer import check
    from kernel_port.scenario import program

    r = check(program("hostile.cpu-loop"), "random", executions=3)
    assert r.verdict == "error" and r.kind == "watchdog"


def test_validate_names_the_line_of_an_inherited_attribute(invalid: Path) -> None:
    from kernel_port.scenario import Scenario, validate, where

    class Base(Scenario):
        cpus = 1

        def cpu3(self, k: Any) -> None:
            pass

    class Child(Base):
        name = "t.child"
        expect = {"v6.17": "OK"}

    problem = validate(Child)
    assert problem is not None and "cpu3() is never run: cpus = 1 (the CPUs are cpu0)" in problem
    assert problem.startswith(where(Base, "cpu3"))
    assert validate(type("T", (Scenario,), {"name": "t.ok", "expect": {"v6.17": "OK"}})) is None


def test_signals_restore_the_callers_handlers(capsys: pytest.CaptureFixture[str]) -> None:
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    assert run(capsys, "list")[0] == 0
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
