# SPDX-License-Identifier: GPL-2.0-only
"""Replay tokens: a schedule as copy-pasteable text.

A token is ``kp2:`` followed by base64url (no padding) of a zlib-compressed
JSON object::

    {"s": scenario, "v": variant, "f": fault budget, "c": [choices...],
     "t": [[actor, function, primitive, object], ...], "l": [label index per choice]}

``c`` is the flat choice list of one execution: actor numbers and the values
of choices made inside steps, in the order they were made.  The engine's
numbering of actors is fixed by the program (CPUs, then interrupt entry per
CPU, then event sources in set-up order), so the same token replays the same
execution on any machine and any PYTHONHASHSEED.

``t`` and ``l`` are the *labels* of the choices, kept beside the raw numbers
so that a schedule survives changes to the program: for each choice, who
acted (``CPU1``, ``irq@CPU0``, an event source's name), the kernel function
it was in, the primitive (``llist_add``, ``READ_ONCE``, ``interrupt``; a value
choice is ``=`` followed by what was chosen, e.g. ``=lost-ipi``), and the
object it touched (``raised_list[1].first``, a vector name).  ``t`` holds
each distinct label once and ``l`` indexes it, which keeps tokens short.
When raw numbers no longer fit (another variant, an unrelated edit), replay
follows the labels (engine/execution.py, ``ReplayDriver``).

Versions: ``kp2`` is written; ``kp1`` (the same object without ``t`` and
``l``) is still read, and replays by raw numbers only.  Tokens are data: the
decoder only base64-decodes, decompresses (with a size limit) and parses JSON,
and checks every field; it never evaluates anything.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

from .errors import TokenError

PREFIX = "kp2:"
VERSION = "kp2"
READS = ("kp1", "kp2")

# The largest payload a token may decompress to (a guard against zlib bombs);
# a 20,000-step schedule with labels stays far below it.
MAX_PAYLOAD = 8 * 1024 * 1024

Label = tuple[str, str, str, str]  # (actor, function, primitive, object)

_HEAD = re.compile(r"kp(\d{1,6})")


@dataclass
class Schedule:
    scenario: str
    variant: str
    faults: int
    choices: list[int]
    extra: dict[str, Any] = field(default_factory=dict)
    labels: list[Label] | None = None  # one per choice; None for kp1 tokens (or when not recorded)
    version: str = VERSION  # the version the token was read from

    def token(self) -> str:
        """The ``kp2:`` text of this schedule (with its labels when it has them)."""
        obj: dict[str, Any] = {"s": self.scenario, "v": self.variant, "f": self.faults, "c": self.choices}
        if self.extra:
            obj["x"] = self.extra
        if self.labels is not None:
            if len(self.labels) != len(self.choices):
                raise ValueError("a schedule needs one label per choice")
            table: dict[Label, int] = {}
            idx = []
            for lab in self.labels:
                idx.append(table.setdefault((lab[0], lab[1], lab[2], lab[3]), len(table)))
            obj["t"] = [list(lab) for lab in table]
            obj["l"] = idx
        raw = json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=True).encode()
        return PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def looks_like_token(text: str) -> bool:
    """True for text shaped like ``<letters+digits>:<body>`` (a token of this or another tool)."""
    head, sep, _ = text.strip().partition(":")
    return bool(sep) and bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,15}", head))


def parse(token: str) -> Schedule:
    """Decode a token; every malformation is a :class:`TokenError` in one line."""
    if not isinstance(token, str):
        raise TokenError("a token is text starting with 'kp2:'")
    token = token.strip()
    if not token.startswith("kp"):
        raise TokenError("not a kernel_port token (tokens start with 'kp2:', older ones with 'kp1:')")
    head, sep, body = token.partition(":")
    if not sep:
        raise TokenError("malformed token: missing ':' after the version")
    mv = _HEAD.fullmatch(head)
    if mv is None:
        raise TokenError(f"not a kernel_port token: '{_clip(head)}' is not a version (tokens start with 'kp2:')")
    if head not in READS:
        n = int(mv.group(1))
        if n > 2:
            raise TokenError(
                f"token version '{head}' is newer than this kport (it reads kp1 and kp2): "
                "update kernel_port to replay it"
            )
        raise TokenError(f"token version '{head}' is not supported by this kport (it reads kp1 and kp2)")
    if not body:
        raise TokenError("empty token body (was it truncated?)")
    if not re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", body):
        bad = next((ch for ch in body if not (ch.isascii() and (ch.isalnum() or ch in "-_="))), "=")
        raise TokenError(f"malformed token: not base64url (character {bad!r}); was it wrapped or cut when pasted?")
    try:
        data = base64.b64decode(body.rstrip("=") + "=" * (-len(body.rstrip("=")) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as e:
        raise TokenError(f"malformed or truncated token: not base64url ({e})") from None
    try:
        d = zlib.decompressobj()
        raw = d.decompress(data, MAX_PAYLOAD)
        if d.unconsumed_tail:
            raise TokenError("malformed token: its payload is larger than any schedule kport writes")
        if not d.eof:
            raise TokenError("truncated token: its data ends early (was it cut when pasted?)")
        if d.unused_data:
            raise TokenError("malformed token: extra data after its payload")
    except zlib.error:
        raise TokenError("malformed or truncated token: its data does not decompress") from None
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise TokenError("malformed token: its payload is not JSON") from None
    if not isinstance(obj, dict):
        raise TokenError("malformed token: payload is not an object")
    s, v, f, c = obj.get("s"), obj.get("v"), obj.get("f"), obj.get("c")
    if not isinstance(s, str) or not isinstance(v, str) or not s or not v:
        raise TokenError("malformed token: scenario or variant missing")
    if not isinstance(f, int) or isinstance(f, bool) or f < 0 or f > 1_000_000:
        raise TokenError("malformed token: bad fault budget")
    if not isinstance(c, list) or not all(_nat(x) for x in c):
        raise TokenError("malformed token: bad choice list")
    extra = obj.get("x", {})
    if not isinstance(extra, dict):
        raise TokenError("malformed token: bad extra field")
    labels: list[Label] | None = None
    if head == "kp1":
        if "t" in obj or "l" in obj:
            raise TokenError("malformed token: a kp1 token carries no labels")
    elif "t" in obj or "l" in obj:
        labels = _labels(obj.get("t"), obj.get("l"), len(c))
    return Schedule(s, v, f, list(c), extra, labels, head)


def _nat(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 1 << 31


def _labels(table: object, idx: object, n: int) -> list[Label]:
    if not isinstance(table, list) or not all(
        isinstance(t, list) and len(t) == 4 and all(isinstance(x, str) for x in t) for t in table
    ):
        raise TokenError("malformed token: bad label table")
    if not isinstance(idx, list) or len(idx) != n:
        raise TokenError("malformed token: the labels do not match the choices (one label per choice)")
    if not all(_nat(i) and i < len(table) for i in idx):
        raise TokenError("malformed token: a label index is out of range")
    tab = [(t[0], t[1], t[2], t[3]) for t in table]
    return [tab[i] for i in idx]


def _clip(text: str, n: int = 20) -> str:
    text = repr(text)[1:-1]  # control characters and newlines escaped: one line, always
    return text if len(text) <= n else text[: n - 3] + "..."
