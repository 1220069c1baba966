# SPDX-License-Identifier: GPL-2.0-only
"""The pytest plugin (kernel_port/pytest_plugin.py), driven with pytester."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

TESTS = """
import pytest

@pytest.mark.parametrize("variant", ["v6.17", "v6.17+herton-rfc"])
def test_param(variant):
    pass

@pytest.mark.kport("engine.ipi", variant="v6.16")
def test_marked():
    pass

def test_plain():
    pass
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # The plugin loads through its pytest11 entry point (checked by the fixture below);
    # in-process runs share this interpreter's loaded scenarios, which keeps them fast.
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)


@pytest.fixture
def plugin_ok(pytester: pytest.Pytester) -> pytest.Pytester:
    import importlib.metadata

    eps = importlib.metadata.entry_points(group="pytest11")
    if not any(ep.value == "kernel_port.pytest_plugin" for ep in eps):
        pytest.fail("the pytest11 entry point is not installed: pip install -e .")
    return pytester


def test_header_says_how_to_reproduce(plugin_ok: pytest.Pytester) -> None:
    plugin_ok.makepyfile(test_a=TESTS)
    res = _run(plugin_ok, "--kp-seed=1234", "--kp-strategy=random")
    res.assert_outcomes(passed=4)
    res.stdout.fnmatch_lines(["kernel_port: --kp-seed=1234 --kp-strategy=random*"])


def test_variant_selects_and_ini_twin(plugin_ok: pytest.Pytester) -> None:
    plugin_ok.makepyfile(test_a=TESTS)
    res = _run(plugin_ok, "--kp-variant=v6.17+herton-rfc", "-v")
    res.assert_outcomes(passed=2, deselected=2)
    res.stdout.fnmatch_lines(["*test_param?v6.17+herton-rfc? PASSED*", "*test_plain PASSED*"])
    plugin_ok.makeini("[pytest]\nkp_variant = v6.16, v6.17\nkp_seed = 77\n")
    res = _run(plugin_ok, "-v")
    res.assert_outcomes(passed=3, deselected=1)
    res.stdout.fnmatch_lines(["kernel_port: --kp-seed=77 --kp-strategy=dfs --kp-variant=v6.16 --kp-variant=v6.17*"])


def test_markers_are_registered(plugin_ok: pytest.Pytester) -> None:
    res = _run(plugin_ok, "--markers")
    res.stdout.fnmatch_lines(["@pytest.mark.kport(scenario, variant=None, memory_model=None)*"])


def test_fixture_passes_expected_cells(plugin_ok: pytest.Pytester) -> None:
    plugin_ok.makepyfile(
        test_a="""
def test_bug_cell(kport):
    r = kport.check("engine.lost-ipi")            # the corpus expects BUG on v6.17
    assert r.verdict == "bug"

def test_ok_cell(kport):
    kport.check("engine.irqs-off", expect="OK")
"""
    )
    res = _run(plugin_ok)
    res.assert_outcomes(passed=2)
    res.stdout.re_match_lines([r"kernel_port: --kp-seed=\d+ --kp-strategy=dfs"])  # a random seed, printed


def test_failure_prints_trace_and_token_and_replays(plugin_ok: pytest.Pytester) -> None:
    plugin_ok.makepyfile(
        test_a="""
def test_wrong(kport):
    kport.check("engine.lost-ipi", expect="OK")
"""
    )
    res = _run(plugin_ok)
    res.assert_outcomes(failed=1)
    res.stdout.fnmatch_lines(
        [
            "*engine.lost-ipi on v6.17 under sc: expected OK, got BUG (by dfs)*",
            "*In pytest: --kp-replay=kp3:*",
            "*kernel_port counterexample*",
            "*CPU0*CPU1*",
            "*IPI LOST*",
        ]
    )
    import re

    token = re.findall(r"In pytest: --kp-replay=(kp3:[\w.+:-]+)", res.stdout.str())[-1]
    res2 = _run(plugin_ok, f"--kp-replay={token}")
    res2.assert_outcomes(failed=1)
    res2.stdout.fnmatch_lines(["*--kp-replay=kp3:*", "*expected OK, got BUG (by replay)*", "*IPI LOST*"])


def test_bad_ini_value_is_a_usage_error(plugin_ok: pytest.Pytester) -> None:
    plugin_ok.makeini("[pytest]\nkp_strategy = bogus\n")
    plugin_ok.makepyfile(test_a="def test_x(): pass")
    res = _run(plugin_ok)
    assert res.ret == pytest.ExitCode.USAGE_ERROR


def test_variant_takes_matrix_patterns(plugin_ok: pytest.Pytester) -> None:
    """--kp-variant takes the names and shell patterns `kport matrix -V` takes (issue 19)."""
    plugin_ok.makepyfile(test_a=TESTS)
    res = _run(plugin_ok, "--kp-variant=v6.17*", "-v")
    res.assert_outcomes(passed=3, deselected=1)  # both v6.17 cells and the plain test; not v6.16
    res = _run(plugin_ok, "--kp-variant=v6.1[67]", "-v")  # a whole name must match: not v6.17+herton-rfc
    res.assert_outcomes(passed=3, deselected=1)
    plugin_ok.makeini("[pytest]\nkp_variant = *herton-rfc\n")
    res = _run(plugin_ok, "-v")
    res.assert_outcomes(passed=2, deselected=2)
    res = _run(plugin_ok, "--kp-variant=v9.*")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines(["*--kp-variant: no variant matches 'v9.*'*"])


def test_failing_matrix_cell_prints_trace_and_replay(plugin_ok: pytest.Pytester) -> None:
    """A cell of tests/test_matrix.py that differs prints its trace and the --kp-replay= line."""
    from pathlib import Path

    here = Path(__file__).resolve().parent
    plugin_ok.makepyfile(test_matrix=(here / "test_matrix.py").read_text())
    # The corpus expects BUG here; pretend it expected OK, for this run only.
    plugin_ok.makeconftest(
        "from kernel_port.scenario import get_scenario\n"
        "sc = get_scenario('engine.lost-ipi')\n"
        "_old = dict(sc.expect)\n"
        "sc.expect = {'v6.17': 'OK'}\n"
        "def pytest_unconfigure(config):\n"
        "    sc.expect = _old\n"
    )
    res = _run(plugin_ok, "-k", "test_cell and engine.lost-ipi")
    res.assert_outcomes(failed=1)
    res.stdout.fnmatch_lines(
        [
            "*engine.lost-ipi on v6.17 under sc: expected OK, got BUG (by dfs)*",
            "*In pytest: --kp-replay=kp*",
            "*Repeat:   python -m pytest 'test_matrix.py::test_cell?engine.lost-ipi@v6.17@sc?' --kp-replay=kp*",
            "*kernel_port counterexample*",
            "*CPU0*CPU1*",
            "*IPI LOST*",
        ]
    )
