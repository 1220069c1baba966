# SPDX-License-Identifier: GPL-2.0-only
from __future__ import annotations

import base64
import json
import zlib

import pytest

from kernel_port.engine.errors import TokenError
from kernel_port.engine.token import Schedule, parse


def test_round_trip() -> None:
    s = Schedule("engine.lost-ipi", "v6.17", 1, [0, 1, 3, 0, 2])
    tok = s.token()
    assert tok.startswith("kp2:")
    back = parse(tok)
    assert back == s
    assert parse("  " + tok + "\n") == s


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
