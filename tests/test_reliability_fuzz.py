# SPDX-License-Identifier: GPL-2.0-only
"""Fuzzing with Hypothesis (issue 10, part 6): the token decoder, the variant-name parser and
the command line never raise anything but their own one-line errors.

The token decoder and the variant parser run KPORT_FUZZ_EXAMPLES inputs each (default 10,000;
raise it for a longer hunt: ``KPORT_FUZZ_EXAMPLES=200000 python -m pytest
tests/test_reliability_fuzz.py``), in-process.  The command line (every subcommand, issue 21;
the grammar and harness are tests/clifuzz.py) runs KPORT_CLI_FUZZ_EXAMPLES command lines
(default 300) here; its 10,000-case run is bench/cli_fuzz.py, with the figures committed in
bench/results/cli_fuzz.md.  Every test counts the inputs it actually ran and asserts the count.
"""

from __future__ import annotations

import base64
import json
import os
import string
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel_port.engine.errors import TokenError, UnknownNameError
from kernel_port.engine.token import Schedule, parse
from kernel_port.variants import Variant, parse_variant, patches, trees

N = int(os.environ.get("KPORT_FUZZ_EXAMPLES", "10000"))
FUZZ = settings(
    max_examples=N,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

pytestmark = pytest.mark.slow  # about 5 to 25 s each at 10,000 inputs on a 2-core machine

B64 = string.ascii_letters + string.digits + "-_"
STRAY = "\x01"  # a slot that holds a free Hypothesis-drawn word
REAL_TOKENS = [
    Schedule(
        "engine.lost-ipi",
        "v6.17",
        1,
        [0, 1],
        labels=[("CPU0", "", "send_IPI", "apic[1]"), ("CPU0", "", "=lost-ipi", "")],
    ).token(),
    "kp1:eNqrVkpWsoo20DGM1VFKU7Iy1FEqVrJSSs1Lz8xL1cvJLy7RzSzIVNJRKgOKlpnpGZor1QIAa2cOPA",
    Schedule("engine.abba", "v6.17", 0, [0, 1]).token(),
]


def _envelope(head: str, payload: bytes) -> str:
    return head + ":" + base64.urlsafe_b64encode(zlib.compress(payload)).decode().rstrip("=")


MISSING = object()
FIELDS = {
    "s": [MISSING, "engine.abba", "", 3, None, "x" * 300, "../etc/passwd", ["a"]],
    "v": [MISSING, "v6.17", "v6.17+herton-rfc", "", "v6.71", 1.5, {"a": 1}],
    "f": [MISSING, 0, 1, -1, 2**40, True, 1.0, "1", None],
    "c": [MISSING, [], [0, 1, 2], [-1], [True], [2**40], [0.5], "012", [[0]], None],
    "t": [MISSING, [], [["CPU0", "", "x", "y"]], [["a", "b", "c"]], [[1, 2, 3, 4]], "t", [None], {"a": 1}],
    "l": [MISSING, [], [0], [0, 0, 0], [5], [-1], [True], "0", None],
    "x": [MISSING, {}, {"k": 1}, [], None],
}
FIELD = {k: st.sampled_from(v) for k, v in FIELDS.items()}


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    got = {k: draw(FIELD[k]) for k in FIELDS}
    return {k: v for k, v in got.items() if v is not MISSING}


@st.composite
def schedules(draw: st.DrawFn) -> str:
    """A well-formed schedule, labelled or not (then perhaps damaged by the caller)."""
    n = draw(st.integers(0, 6))
    choices = [draw(st.integers(0, 9)) for _ in range(n)]
    labels = None
    if draw(st.booleans()):
        pool = [("CPU0", "f", "write", "v.x"), ("CPU1", "", "read", "v.y"), ("irq@CPU1", "", "interrupt", "V")]
        labels = [draw(st.sampled_from(pool)) for _ in range(n)]
    return Schedule(
        draw(st.sampled_from(["engine.abba", "x"])), "v6.17", draw(st.integers(0, 2)), choices, labels=labels
    ).token()


@st.composite
def tokens(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 6))
    if kind == 6:
        return draw(schedules())
    if kind == 0:
        return draw(st.text(max_size=60))
    if kind == 1:
        head = draw(st.sampled_from(["kp1", "kp2", "kp3", "kp0", "kp", "KP2", "kp22", "kpx", "xx1"]))
        return head + draw(st.sampled_from([":", "", "::"])) + draw(st.text(alphabet=B64 + "=!: \n", max_size=80))
    if kind == 2:
        head = draw(st.sampled_from(["kp1", "kp2"]))
        return _envelope(head, json.dumps(draw(payloads())).encode())
    if kind == 3:
        head = draw(st.sampled_from(["kp1", "kp2"]))
        return _envelope(head, draw(st.binary(max_size=40)))
    tok = draw(st.sampled_from(REAL_TOKENS) | schedules())
    i = draw(st.integers(0, len(tok)))
    op = draw(st.sampled_from(["cut", "flip", "insert", "drop"]))
    if op == "cut":
        return tok[:i]
    if op == "drop":
        return tok[:i] + tok[i + 1 :]
    ch = draw(st.sampled_from(B64 + "=!+/ "))
    return tok[:i] + ch + tok[i + (op == "flip") :]


def test_fuzz_token_decoder() -> None:
    ran = [0]

    @FUZZ
    @given(tokens())
    def one(text: str) -> None:
        ran[0] += 1
        try:
            s = parse(text)
        except TokenError as e:
            msg = str(e)
            assert msg and "\n" not in msg
            return
        assert isinstance(s, Schedule) and all(isinstance(c, int) and c >= 0 for c in s.choices)
        if s.labels is not None:
            assert len(s.labels) == len(s.choices)
        again = parse(s.token())  # whatever decodes, encodes again to the same schedule
        assert (again.scenario, again.variant, again.faults, again.choices, again.labels) == (
            s.scenario,
            s.variant,
            s.faults,
            s.choices,
            s.labels,
        )

    one()
    assert ran[0] >= N


PARTS = ["", "", STRAY, "v6", "herton", "v6.17 ", "+", "*", "../x", "\x00", "V6.17", "v6.17+"]


@st.composite
def variant_names(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 4)) == 0:
        return draw(st.text(max_size=40))
    part = st.sampled_from(list(trees()) + list(patches()) + PARTS)
    chosen = [p for p in draw(st.tuples(part, part, part, part)) if p]
    stray = draw(st.text(max_size=6)) if STRAY in chosen else ""
    sep = draw(st.sampled_from(["+", "+", "++", " + "]))
    return sep.join(stray if p == STRAY else p for p in chosen)


def test_fuzz_variant_parser() -> None:
    ran = [0]

    @FUZZ
    @given(variant_names())
    def one(name: str) -> None:
        ran[0] += 1
        try:
            v = parse_variant(name)
        except UnknownNameError as e:
            assert str(e) and "\n" not in str(e).strip()
            return
        assert isinstance(v, Variant) and v.name == name.strip()
        assert v.tree.name == v.name.split("+")[0]

    one()
    assert ran[0] >= N


# -- the command line -----------------------------------------------------------------------------

CLI_N = int(os.environ.get("KPORT_CLI_FUZZ_EXAMPLES", "300"))


def test_fuzz_command_line(tmp_path: Path) -> None:
    """Every subcommand at argv level (tests/clifuzz.py): a few hundred command lines here, each
    problem shrunk by Hypothesis to a minimal one; bench/cli_fuzz.py runs 10,000 and commits
    the figures (bench/results/cli_fuzz.md)."""
    from tests.clifuzz import fuzz

    stats = fuzz(CLI_N, tmp_path, seed=21, stop_at_first=True)
    assert stats.cases >= CLI_N and stats.tracebacks == 0 and stats.problems == 0
    assert {0, 2} <= set(stats.codes) and len(stats.codes) >= 3, stats.codes  # successes, findings, mistakes
    assert set(stats.commands) >= {"list", "check", "replay", "matrix", "explain", "source", "cover", "simulate"}
    assert set(stats.commands) >= {"review", "ablate", "patch"}  # issue 19
