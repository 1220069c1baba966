# SPDX-License-Identifier: GPL-2.0-only
"""Fuzzing with Hypothesis (issue 10, part 6): the token decoder, the variant-name parser and
the command line never raise anything but their own one-line errors.

Each target runs KPORT_FUZZ_EXAMPLES inputs (default 10,000; raise it for a longer hunt:
``KPORT_FUZZ_EXAMPLES=200000 python -m pytest tests/test_reliability_fuzz.py``), in-process.
Every test counts the inputs it actually ran and asserts the count.  The command line runs
with the explorer replaced by one cached sampled execution per program, so that ten thousand
argument combinations take seconds; parsing, name resolution, replay, printing and the
results store are the real ones.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import io
import json
import os
import string
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernel_port import cli, store
from kernel_port.engine.errors import KportError, TokenError, UnknownNameError
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

SCENARIOS = ["engine.abba", "engine.lost-ipi", "engine.irqs-off", "smp.lost-ipi-waiter", "irq_work.lost-self-ipi"]
VALUES = {
    "scenario": SCENARIOS + ["engine.*", "nope", "", "irq_work.*", "[", "engine.abb?", "é"],
    "variant": ["v6.17", "v6.16", "v6.17+herton-rfc", "v6.17+csdlock-debug", "v6.71", "v3.10+herton-rfc", "", "+", "*"],
    "number": ["0", "1", "2", "-1", "x", "1e3", "99999999999999999999", "", " 3"],
    "float": ["0.5", "0", "-1", "nan", "inf", "x", "1e-9"],
    "token": REAL_TOKENS + ["kp2:", "kp1:garbage!", "kp9:abc", "last", "engine.abba@v6.17", "nope@v6.17", "../x"],
    "path": ["/nonexistent/x", "/", "", "/dev/null"],
    "text": ["", "-", "--", "x", "--json", "-V", "é", "a b"],
}
OPTIONS: dict[str, list[tuple[str, str | None]]] = {
    "list": [("--json", None)],
    "check": [
        ("--variant", "variant"),
        ("-V", "variant"),
        ("--strategy", "text"),
        ("--strategy", None),
        ("--preemptions", "number"),
        ("--faults", "number"),
        ("--seed", "number"),
        ("--executions", "number"),
        ("--seconds", "float"),
        ("--pct-depth", "number"),
        ("--json", None),
        ("--width", "number"),
    ],
    "replay": [("--json", None), ("--width", "number"), ("--variant", "variant")],
    "matrix": [
        ("--scenario", "scenario"),
        ("-s", "scenario"),
        ("--variant", "variant"),
        ("--json", None),
        ("--markdown", None),
        ("--html", "path"),
        ("--seconds", "float"),
    ],
    "explain": [("--variant", "variant"), ("--faults", "number"), ("--width", "number")],
    "source": [("--variant", "variant"), ("--kernel-tree", "path"), ("--width", "number")],
    "cover": [("--variant", "variant"), ("--scenario", "scenario"), ("--fail-under", "float"), ("--json", None)],
    "simulate": [("--variant", "variant"), ("--size", "text"), ("--until", "float"), ("--json", None)],
}
POSITIONAL = {"check": "scenario", "explain": "scenario", "replay": "token", "source": "text", "simulate": "scenario"}


def _words(cmd: str) -> list[str]:
    """Every word the grammar offers for ``cmd``: its options with each value of their kind
    (as ``--opt value`` pairs and ``--opt=value``), its positional values, and stray words."""
    out: list[str] = []
    for flag, kind in OPTIONS.get(cmd, []):
        if kind is None:
            out.append(flag)
            continue
        for value in VALUES[kind]:
            out += [f"{flag}\0{value}", f"{flag}={value}"]
    if cmd in POSITIONAL:
        out += VALUES[POSITIONAL[cmd]]
    return out + VALUES["text"]


WORDS = {cmd: _words(cmd) for cmd in [*OPTIONS, "bogus", "--help", ""]}


SLOTS = {cmd: st.sampled_from(["", "", STRAY, *words]) for cmd, words in WORDS.items()}


@st.composite
def argvs(draw: st.DrawFn) -> list[str]:
    # Fixed slots rather than a list strategy: a third of Hypothesis' cost per example.
    cmd = draw(st.sampled_from(list(WORDS)))
    slot = SLOTS[cmd]
    picked = draw(st.tuples(slot, slot, slot, slot, slot))
    stray = draw(st.text(max_size=5)) if STRAY in picked else ""
    argv = [cmd] if cmd else []
    for w in picked:
        if w == STRAY:
            argv.append(stray)
        elif w:
            argv += w.split("\0") if "\0" in w and w.startswith("-") else [w]
    return argv


def _fake_results() -> Any:
    """The explorer replaced by one sampled execution per program (cached), so that the
    command line's own paths run thousands of times in seconds."""
    from kernel_port.engine import explorer

    real = explorer.check
    cache: dict[tuple[str, str, int], Any] = {}

    def check(program: Any, strategy: str = "dfs", **kw: Any) -> Any:
        key = (program.name, program.variant, program.faults)
        if key not in cache:
            cache[key] = real(program, "random", seed=0, executions=1)
        return cache[key]

    return check


def test_fuzz_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kernel_port.cover as cover_mod
    import kernel_port.explain as explain_mod
    import kernel_port.matrix as matrix_mod
    import kernel_port.simulate as simulate_mod

    monkeypatch.chdir(tmp_path)  # --html FILE and friends write here, never into the clone
    monkeypatch.setenv("KPORT_STORE", str(tmp_path / "store"))
    monkeypatch.delenv("KPORT_KERNEL_TREE", raising=False)
    monkeypatch.setattr(store, "FSYNC", False)
    fake = _fake_results()
    for mod in (cli, matrix_mod, explain_mod):
        monkeypatch.setattr(mod, "check", fake)
    traces: dict[tuple[str, str, str | None], str] = {}
    real_trace = store.trace_of

    def trace_of(program: Any, result: Any, width: int = 44) -> str:
        key = (program.name, program.variant, result.token)
        if key not in traces:
            traces[key] = real_trace(program, result, width)
        return traces[key]

    monkeypatch.setattr(store, "trace_of", trace_of)
    monkeypatch.setattr(cli, "build_parser", functools.lru_cache(maxsize=None)(cli.build_parser))

    def no_timed_run(*a: Any, **kw: Any) -> Any:
        raise KportError("timed run skipped by the fuzz test")

    monkeypatch.setattr(simulate_mod, "run_timed", no_timed_run)
    real_cover = cover_mod.cover

    def cover(variant: str, names: list[str] | None = None) -> Any:
        parse_variant(variant)
        if not cover_mod.cells_for(variant, names or []):
            raise cover_mod.UsageError(f"no scenario has an expected cell for '{variant}'")
        return canned

    canned = real_cover("v6.17+csdlock-debug", ["smp.lost-ipi-waiter"])
    monkeypatch.setattr(cover_mod, "cover", cover)
    cli.main(["check", "engine.abba"])  # a saved result for 'replay last'
    ran = [0]
    codes: dict[int, int] = {}

    @FUZZ
    @given(argvs())
    def one(argv: list[str]) -> None:
        ran[0] += 1
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = cli.main(argv)
        codes[rc] = codes.get(rc, 0) + 1
        assert rc in (0, 1, 2, 3, 4), (argv, rc, err.getvalue())
        assert "Traceback" not in err.getvalue(), argv
        if rc == 2:
            lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
            assert len(lines) == 1 and lines[0].startswith("kport"), (argv, err.getvalue())

    one()
    assert ran[0] >= N
    assert {0, 1, 2} <= set(codes), codes  # the grammar reaches successes, findings and mistakes
