# SPDX-License-Identifier: GPL-2.0-only
"""Replay tokens: a schedule as copy-pasteable text.

``kp1:`` followed by base64url (no padding) of a zlib-compressed JSON object:

    {"s": scenario, "v": variant, "f": fault budget, "c": [choices...]}

``c`` is the flat choice list of one execution: actor numbers and the values
of choices made inside steps, in the order they were made.  The engine's
numbering of actors is fixed by the program (CPUs, then interrupt entry per
CPU, then event sources in set-up order), so the same token replays the same
execution on any machine and any PYTHONHASHSEED.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from .errors import TokenError

PREFIX = "kp1:"


@dataclass
class Schedule:
    scenario: str
    variant: str
    faults: int
    choices: list[int]
    extra: dict[str, Any] = field(default_factory=dict)

    def token(self) -> str:
        obj: dict[str, Any] = {"s": self.scenario, "v": self.variant, "f": self.faults, "c": self.choices}
        if self.extra:
            obj["x"] = self.extra
        raw = json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
        return PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def parse(token: str) -> Schedule:
    """Decode a token; every malformation is a :class:`TokenError` in one line."""
    if not isinstance(token, str):
        raise TokenError("a token is text starting with 'kp1:'")
    token = token.strip()
    if not token.startswith("kp"):
        raise TokenError("not a kernel_port token (tokens start with 'kp1:')")
    head, sep, body = token.partition(":")
    if not sep:
        raise TokenError("malformed token: missing ':' after the version")
    if head != "kp1":
        raise TokenError(f"token version '{head}' is not supported by this kport (it reads kp1)")
    if not body:
        raise TokenError("empty token body (was it truncated?)")
    try:
        data = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as e:
        raise TokenError(f"malformed token: not base64url ({e})") from None
    try:
        raw = zlib.decompress(data)
    except zlib.error:
        raise TokenError("malformed or truncated token: its data does not decompress") from None
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise TokenError("malformed token: its payload is not JSON") from None
    if not isinstance(obj, dict):
        raise TokenError("malformed token: payload is not an object")
    s, v, f, c = obj.get("s"), obj.get("v"), obj.get("f"), obj.get("c")
    if not isinstance(s, str) or not isinstance(v, str):
        raise TokenError("malformed token: scenario or variant missing")
    if not isinstance(f, int) or isinstance(f, bool) or f < 0:
        raise TokenError("malformed token: bad fault budget")
    if not isinstance(c, list) or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in c):
        raise TokenError("malformed token: bad choice list")
    extra = obj.get("x", {})
    if not isinstance(extra, dict):
        raise TokenError("malformed token: bad extra field")
    return Schedule(s, v, f, list(c), extra)
