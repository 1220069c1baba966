# SPDX-License-Identifier: GPL-2.0-only
from __future__ import annotations

import base64
import json
import zlib

import pytest

from kernel_port.engine.errors import TokenError
from kernel_port.engine.token import Schedule, parse


def _same(a: Schedule, b: Schedule) -> bool:
    return (a.scenario, a.variant, a.faults, a.choices) == (b.scenario, b.variant, b.faults, b.choices)


def test_round_trip() -> None:
    s = Schedule("engine.lost-ipi", "v6.17", 1, [0, 1, 3, 0, 2])
    tok = s.token()
    assert tok.startswith("kp3:engine.lost-ipi:v6.17:")
    back = parse(tok)
    assert _same(back, s) and back.version == "kp3" and back.options == {} and back.label_crc is None
    assert _same(parse("  " + tok + "\n"), s)
    old = parse(s.token_kp2())  # the previous version is still read
    assert _same(old, s) and old.version == "kp2"


def _tok(obj: object) -> str:
    raw = json.dumps(obj).encode()
    return "kp1:" + base64.urlsafe_b64encode(zlib.compress(raw)).decode().rstrip("=")


@pytest.mark.parametrize(
    ("token", "words"),
    [
        ("", "not a kernel_port token"),
        ("hello", "not a kernel_port token"),
        ("kp1", "missing ':'"),
        ("kp1:", "empty token"),
        ("kp9:abcd", "version 'kp9' is newer"),
        ("kp3:abcd", "expected kp3:SCENARIO:VARIANT:DATA"),
        ("kp3:a b:v:AAAA", "ends early"),
        ("kp3:a b:v:AAAAAAAA", "checksum does not match"),
        ("kp3:a/b:v:AAAA", "bad scenario or variant name"),
        ("kp3:a::AAAA", "bad scenario or variant name"),
        ("kp0:abcd", "version 'kp0'"),
        ("kp1:!!!!", "not base64url"),
        ("kp1:abcd", "does not decompress"),
        (_tok([1, 2]), "not an object"),
        (_tok({"s": "x", "v": "v6.17", "f": 0}), "bad choice list"),
        (_tok({"s": "x", "v": "v6.17", "f": -1, "c": []}), "bad fault budget"),
        (_tok({"s": "x", "v": "v6.17", "f": 0, "c": [1, -2]}), "bad choice list"),
        (_tok({"s": 3, "v": "v6.17", "f": 0, "c": []}), "scenario or variant missing"),
    ],
)
def test_bad_tokens_are_one_line_errors(token: str, words: str) -> None:
    with pytest.raises(TokenError) as ei:
        parse(token)
    msg = str(ei.value)
    assert words in msg
    assert "\n" not in msg


def test_truncated_token() -> None:
    tok = Schedule("engine.lost-ipi", "v6.17", 1, list(range(50))).token()
    for cut in (5, len(tok) // 2, len(tok) - 3):
        with pytest.raises(TokenError):
            parse(tok[:cut])


# -- kp3 (issue 20): short, whitespace-tolerant, versioned, strict ---------------------------------


def _wrap(text: str, width: int, quote: str = "") -> str:
    return "\n".join(quote + text[i : i + width] for i in range(0, len(text), width))


def test_kp3_survives_wrapping_and_quoting() -> None:
    s = Schedule("irq_work.lost-self-ipi", "v6.17+herton-rfc", 1, [0] * 60 + [1] + [0] * 50 + [2, 1] + [0] * 40)
    tok = s.token()
    for text in (
        _wrap(tok, 60, "> "),
        _wrap(tok, 17, ">> "),
        _wrap(tok, 72, "> > "),
        "\t" + _wrap(tok, 5) + "\r\n",
        " ".join(tok[i : i + 3] for i in range(0, len(tok), 3)),
    ):
        assert _same(parse(text), s)


def test_kp3_fields_are_checked_one_by_one() -> None:
    s = Schedule("engine.abba", "v6.17", 0, [0, 1, 1, 1, 0], options={"mm": "tso", "preemptions": 2, "x": True})
    tok = s.token()
    back = parse(tok)
    assert back.options == {"mm": "tso", "preemptions": 2, "x": True}
    head, body = tok.rsplit(":", 1)
    # Every cut of the body and every single changed character is refused (the checksum or a
    # field's own check), never decoded as another schedule.
    for cut in range(1, len(body)):
        with pytest.raises(TokenError):
            parse(head + ":" + body[:cut])
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i in range(len(body)):
        for ch in "AQgw_-9z":
            if ch == body[i]:
                continue
            bad = head + ":" + body[:i] + ch + body[i + 1 :]
            try:
                other = parse(bad)
            except TokenError:
                continue
            # a change in the padding bits of the last character decodes to the same bytes
            assert i == len(body) - 1 and _same(other, s) and ch in alphabet
    with pytest.raises(TokenError, match="checksum"):
        parse(tok.replace("engine.abba", "engine.abbb"))
    with pytest.raises(ValueError):
        Schedule("a", "b", 0, [0], options={"Bad": 1}).token()
    with pytest.raises(ValueError):
        Schedule("a", "b", 0, [0], options={"k": 1.5}).token()  # type: ignore[dict-item]


def test_kp3_names_that_are_not_plain_text_travel_in_the_body() -> None:
    s = Schedule("/tmp/evil scenario.py", "v6.17+x:1,2", 0, [0])
    tok = s.token()
    assert tok.startswith("kp3:::") and _same(parse(tok), s)


def test_kp3_is_several_times_shorter_than_kp2() -> None:
    labels = [("CPU0", "irq_work_claim", "atomic_fetch_or", f"work{i % 3}.flags.counter") for i in range(118)]
    s = Schedule("irq_work.lost-self-ipi", "v6.17", 1, [0] * 6 + [1] + [0] * 111, labels=labels)
    assert len(s.token()) * 3 <= len(s.token_kp2())
    assert parse(s.token()).label_crc is not None
