# SPDX-License-Identifier: GPL-2.0-only
"""Tokens that survive change (issue 10, part 5; issue 20).

A kp2 token keeps a label per choice (who acted, the kernel function, the primitive, the
object) beside the raw choice numbers.  Replay follows the labels where the raw numbers no
longer fit -- another variant, an added CPU or event source, a step added or removed -- and
when it cannot, says at which step it diverged and what it expected against what was there.
kp1 tokens (no labels) are still read.  tests/data/tokens.json holds recorded tokens replayed
here as regression data.  A kp3 token (issue 20) keeps only a checksum of its labels: they are
recomputed on the variant it was recorded on, and followed from there onto another.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from pathlib import Path
from typing import Any

import pytest

from kernel_port.cli import main
from kernel_port.engine import Machine, Struct, apic_eoi, apic_send_IPI, field
from kernel_port.engine.errors import TokenError
from kernel_port.engine.execution import ReplayDriver, SimpleProgram, describe, run
from kernel_port.engine.explorer import check, replay, schedule_labels
from kernel_port.engine.token import MAX_PAYLOAD, Schedule, labels_crc, parse
from kernel_port.scenario import program

DATA = Path(__file__).resolve().parent / "data"
VEC = 0xF5


def _raw(head: str, obj: Any, level: int = 6) -> str:
    raw = json.dumps(obj).encode()
    return head + ":" + base64.urlsafe_b64encode(zlib.compress(raw, level)).decode().rstrip("=")


# -- the format -------------------------------------------------------------------------------


def test_kp2_round_trip_with_labels() -> None:
    labels = [("CPU0", "f", "write", "v.x"), ("CPU1", "", "read", "v.x"), ("CPU0", "f", "write", "v.x")]
    s = Schedule("engine.abba", "v6.17", 0, [0, 1, 0], labels=labels)
    tok = s.token_kp2()
    assert tok.startswith("kp2:")
    back = parse(tok)
    assert back.labels == labels and back.choices == [0, 1, 0] and back.version == "kp2"
    obj = json.loads(zlib.decompress(base64.urlsafe_b64decode(tok[4:] + "==")))
    assert obj["l"] == [0, 1, 0] and len(obj["t"]) == 2  # each distinct label stored once


def test_kp1_is_still_read_and_says_what_it_lacks(capsys: pytest.CaptureFixture[str]) -> None:
    tok = _raw("kp1", {"s": "engine.lost-ipi", "v": "v6.17", "f": 1, "c": [0, 1]})
    s = parse(tok)
    assert s.version == "kp1" and s.labels is None and s.choices == [0, 1]
    with pytest.raises(TokenError, match="a kp1 token carries no labels"):
        parse(_raw("kp1", {"s": "a", "v": "b", "f": 0, "c": [], "t": [], "l": []}))
    rc = main(["replay", tok])
    out = capsys.readouterr().out
    assert rc == 1
    assert "Note: a kp1 token has no step labels" in out
    assert "Token of this run: kport replay kp3:" in out  # the same schedule, re-recorded


@pytest.mark.parametrize(
    ("obj", "words"),
    [
        ({"s": "a", "v": "b", "f": 0, "c": [0], "t": [["CPU0", "", "x"]], "l": [0]}, "bad label table"),
        ({"s": "a", "v": "b", "f": 0, "c": [0], "t": [["CPU0", "", "x", 1]], "l": [0]}, "bad label table"),
        ({"s": "a", "v": "b", "f": 0, "c": [0, 1], "t": [["a", "b", "c", "d"]], "l": [0]}, "one label per choice"),
        ({"s": "a", "v": "b", "f": 0, "c": [0], "t": [["a", "b", "c", "d"]], "l": [1]}, "out of range"),
        ({"s": "a", "v": "b", "f": 0, "c": [0], "t": [], "l": [True]}, "out of range"),
        ({"s": "a", "v": "b", "f": 0, "c": [2**40]}, "bad choice list"),
        ({"s": "", "v": "b", "f": 0, "c": []}, "scenario or variant missing"),
        ({"s": "a", "v": "b", "f": 1.5, "c": []}, "bad fault budget"),
    ],
)
def test_kp2_malformations(obj: Any, words: str) -> None:
    with pytest.raises(TokenError, match=words):
        parse(_raw("kp2", obj))


def test_decoder_limits() -> None:
    bomb = b'{"s":"a","v":"b","f":0,"c":[' + b"0," * (MAX_PAYLOAD // 2) + b"0]}"
    tok = "kp2:" + base64.urlsafe_b64encode(zlib.compress(bomb, 9)).decode().rstrip("=")
    with pytest.raises(TokenError, match="larger than any schedule"):
        parse(tok)
    deep = "kp2:" + base64.urlsafe_b64encode(zlib.compress(b"[" * 100_000 + b"]" * 100_000)).decode().rstrip("=")
    with pytest.raises(TokenError, match="not JSON"):
        parse(deep)
    with pytest.raises(TokenError, match="newer than this kport"):
        parse("kp4:abcd")
    with pytest.raises(TokenError, match="not a kernel_port token"):
        parse("kpx:abcd")


def test_tokens_record_labels_of_each_choice() -> None:
    p = program("irq_work.lost-self-ipi")
    r = check(p)
    s = parse(r.token or "")
    assert s.labels is None and s.label_crc is not None  # kp3: recomputed, checked by their checksum
    s.labels = schedule_labels(p, s.choices)
    assert s.labels is not None and len(s.labels) == len(s.choices)
    assert labels_crc(s.labels) == s.label_crc
    assert s.labels[0] == ("CPU0", "irq_work_claim", "atomic_fetch_or", "work0.flags.counter")
    assert ("CPU0", "arch_irq_work_raise", "=lost-ipi", "") in s.labels  # the fault, a value choice
    assert describe(s.labels[0]) == "CPU0 in irq_work_claim(): atomic_fetch_or work0.flags.counter"


# -- following labels ---------------------------------------------------------------------------


class V(Struct):
    x = field(0)
    y = field(0)
    z = field(0)


def make(ncpus: int = 2, extra_step: bool = False, drop_step: bool = False, no_ipi: bool = False) -> SimpleProgram:
    """CPU0 stores x=1, sends an IPI to CPU1, stores x=2; the handler on CPU1 asserts x != 2.

    The variants change the program the way an unrelated edit or a patch would: one more CPU
    (every interrupt actor is renumbered), one more step, one step fewer, no IPI at all."""

    def build(m: Machine) -> dict[int, Any]:
        v = V(name="v")

        def handler(vec: int) -> None:
            apic_eoi()
            assert v.x != 2, "the handler saw x == 2"

        m.register_vector(VEC, "TEST_VECTOR", handler)

        def cpu0() -> None:
            if not drop_step:
                v.x = 1
            if extra_step:
                v.y = 5
            if not no_ipi:
                apic_send_IPI(1, VEC)
            v.x = 2

        def cpu1() -> None:
            v.z = 1

        return {0: cpu0, 1: cpu1} if no_ipi else {0: cpu0}

    return SimpleProgram("labels-demo", ncpus, build)


def recorded() -> Schedule:
    r = check(make())
    assert r.verdict == "bug" and r.token
    s = parse(r.token)
    s.labels = schedule_labels(make(), s.choices)
    assert s.labels is not None and ("irq@CPU1", "", "interrupt", "TEST_VECTOR") in s.labels
    return s


def test_same_program_replays_exactly() -> None:
    s = recorded()
    out, div = replay(make(), s.choices, s.labels)
    assert div is None and out.status == "bug" and out.notes == [] and out.choices == s.choices


def test_labels_follow_renumbered_actors() -> None:
    s = recorded()
    # One CPU more: irq@CPU1 is actor 4 instead of 3.  Raw numbers no longer fit ...
    out, div = replay(make(ncpus=3), s.choices, None)
    assert div is not None and "choice" in div
    # ... the labels do, with no departure at all.
    out, div = replay(make(ncpus=3), s.choices, s.labels)
    assert div is None and out.status == "bug" and out.notes == []
    assert out.choices != s.choices and out.labels == s.labels


def test_labels_follow_an_added_step() -> None:
    s = recorded()
    out, div = replay(make(extra_step=True), s.choices, s.labels)
    assert div is None and out.status == "bug" and "the handler saw x == 2" in out.message
    assert out.notes == ["step 2: CPU0: write v.y is not in the recording; ran it"]


def test_labels_skip_a_removed_step() -> None:
    s = recorded()
    out, div = replay(make(drop_step=True), s.choices, s.labels)
    assert div is None and out.status == "bug"
    assert out.notes == ["step 1: 1 recorded step(s) of CPU0 do not happen here (from CPU0: write v.x); skipped"]


def test_divergence_says_where_and_what() -> None:
    s = recorded()
    out, div = replay(make(no_ipi=True), s.choices, s.labels)
    assert div == (
        "step 3: the schedule expects irq@CPU1: interrupt TEST_VECTOR, but irq@CPU1 cannot move here "
        "(what can: CPU1: write v.z)"
    )


def test_too_many_departures_is_a_divergence() -> None:
    s = recorded()
    drv = ReplayDriver(s.choices, s.labels)
    drv.MAX_EDITS = 0
    run(make(extra_step=True), drv)
    assert drv.diverged is not None and "more than 0 departures" in drv.diverged


def test_replay_on_another_variant_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    r = check(program("smp.lost-ipi-waiter"))
    assert r.verdict == "bug" and r.token
    rc = main(["replay", r.token, "--variant", "v6.17+csdlock-debug"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "smp.lost-ipi-waiter on v6.17+csdlock-debug (schedule recorded on v6.17)" in out
    assert "Replayed by labels: 3 departure(s) from the recorded schedule:" in out
    assert "the recorded schedule is used up" in out
    assert "Token of this run: kport replay kp3:" in out
    new = out.split("Token of this run: kport replay ")[1].split()[0]
    assert parse(new).variant == "v6.17+csdlock-debug"
    rc = main(["replay", new])  # the new token replays exactly on the fix
    assert rc == 0 and "Replayed by labels" not in capsys.readouterr().out


def test_replay_divergence_on_the_cli_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    r = check(program("x86.vfio-lost-interrupt", "v6.16"))
    rc = main(["replay", r.token or "", "--variant", "v6.17"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert re.search(r"does not replay on x86.vfio-lost-interrupt / v6.17: step \d+: the schedule expects CPU1", err)


def test_labels_of_a_schedule_are_deterministic() -> None:
    p = program("x86.vector-overwrite", "v6.16")
    r = check(p, preemptions=p.preemption_bound)
    assert r.counterexample is not None
    labels = schedule_labels(p, r.counterexample.choices)
    assert labels is not None and labels == schedule_labels(p, parse(r.token or "").choices)
    assert labels_crc(labels) == parse(r.token or "").label_crc


# -- recorded tokens (regression data) -------------------------------------------------------------

RECORDED = json.loads((DATA / "tokens.json").read_text())["tokens"]


@pytest.mark.parametrize(
    "case", RECORDED, ids=[f"{c['scenario']}@{c['replay_on']}#{i}" for i, c in enumerate(RECORDED)]
)
def test_recorded_token_replays(case: dict[str, Any]) -> None:
    s = parse(case["token"])
    assert (s.scenario, s.variant) == (case["scenario"], case["recorded_on"])
    out, div = replay(program(s.scenario, case["replay_on"], faults=s.faults), s.choices, s.labels)
    assert div is None, div
    verdict = {"complete": "ok", "bug": "bug", "error": "error", "budget": "inconclusive"}[out.status]
    got = (verdict, out.kind, out.steps, len(out.notes))
    assert got == (case["verdict"], case["kind"], case["steps"], case["departures"]), (case["note"], out.notes)
    if case["replay_on"] == case["recorded_on"] and s.labels is not None and not case["departures"]:
        assert out.choices == s.choices and out.labels == s.labels


def test_recorded_tokens_cover_kp1_and_other_variants() -> None:
    assert {parse(c["token"]).version for c in RECORDED} == {"kp1", "kp2"}
    assert sum(c["replay_on"] != c["recorded_on"] for c in RECORDED) >= 3
