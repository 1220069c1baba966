# SPDX-License-Identifier: GPL-2.0-only
"""Replay tokens: a schedule as copy-pasteable text that survives a mail client.

The token written today is ``kp3``::

    kp3:irq_work.lost-self-ipi:v6.17:AAEBdgYAAQEz...

three plain-text fields and one base64url field (no padding), separated by colons: the
version, the scenario, the variant, and the *body*.  Scenario and variant are written out so
that a reader of a mail sees what the token replays; a name with a character outside
``[A-Za-z0-9._+-]`` (an engine test program named by its path, say) is left empty there and
carried in the body instead.

The body is a sequence of fields, each a varint (LEB128) or a string (varint length, UTF-8):

=============  ==============================================================================
head           flags (bit 0 label checksum, 1 options, 2 patches, 3 names in the body),
               bit 4: the fields after this one are raw-deflated (whichever is shorter),
               and the fault budget the schedule was found with, from bit 5 up
choices        the schedule's runs: a count, then per run the choice shifted left by one, its
               low bit set when it repeats, and then how many times minus two.  Consecutive
               equal choices are the rule (one CPU runs on and on), so a 120-step schedule is a
               handful of runs
names          (bit 3) scenario, variant
labels         (bit 0) a 16-bit checksum of the schedule's step labels (who acted, the
               kernel function, the primitive, the object, in order)
options        (bit 1) a small dict: count, then per entry a key ``[a-z][a-z0-9_]{0,15}`` and a
               tagged value (0 integer as zigzag varint, 1 string of at most 64 characters,
               2 false, 3 true); for the memory model (``mm``: ``tso``; a token without it,
               as every token written before the TSO engine, is ``sc``) and bounds
patches        (bit 2) per patch of the variant: its name (as its position in the variant,
               0 then the name otherwise), title and link (0 as it is, 1 a lore message-id,
               2 a commit on git.kernel.org); what ``kport replay`` says when the receiver's
               checkout lacks the patch.  Deflating uses a preset dictionary of words common in
               patch titles and links (``_ZDICT``), part of the format
check          CRC-32 of the header text and of every field above, low 16 bits
=============  ==============================================================================

What is *not* in it, because it can be recomputed: the step labels (``kp2`` carried one per
choice, about three quarters of its size).  Replaying the choices on the recorded variant
gives them back; the checksum says whether they came back the same (they do unless the code
changed since the token was written), and ``kport replay --variant W`` recomputes them on the
recorded variant before following them onto ``W`` (engine/execution.py, ``ReplayDriver``).

Tokens survive mail: :func:`normalize` drops any whitespace (any wrapping) and the quoting
marks a reply adds at the start of each line (``> ``, ``>> ``, ``> > ``).  Decoding is strict
and is data only: each field is checked (types, ranges, lengths, that the runs add up to the
choice count, the checksum), the decompressed size is limited, nothing is evaluated.

Older versions are still read: ``kp2`` (base64url of zlib-compressed JSON ``{"s", "v", "f",
"c", "t", "l"}`` with its labels, replayed by following them) and ``kp1`` (the same without
labels).  :meth:`Schedule.token` writes kp3; ``Schedule.token_kp2()`` still writes kp2 (tests of
the reader use it).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import TokenError

PREFIX = "kp3:"
VERSION = "kp3"
READS = ("kp1", "kp2", "kp3")

# The largest payload a kp1/kp2 token may decompress to (a guard against zlib bombs);
# a 20,000-step schedule with labels stays far below it.
MAX_PAYLOAD = 8 * 1024 * 1024
# kp3: the largest body after decompression, and the longest schedule it may describe.
MAX_BODY = 256 * 1024
MAX_CHOICES = 1_000_000
MAX_RUNS = 1_000_000
MAX_OPTIONS = 16
MAX_OPTION_TEXT = 64
MAX_PATCHES = 32
MAX_TEXT = 400  # a patch's title or link
MAX_NAME = 200

Label = tuple[str, str, str, str]  # (actor, function, primitive, object)
Option = int | str | bool
PatchInfo = tuple[str, str, str]  # (name, title, link)

_HEAD = re.compile(r"kp(\d{1,6})")
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,199}")
_KEY = re.compile(r"[a-z][a-z0-9_]{0,15}")
_QUOTE = re.compile(r"^[\s>]*")

_F_LABELS, _F_OPTIONS, _F_PATCHES, _F_NAMES, _DEFLATED = 1, 2, 4, 8, 16

# The memory models a token may name in its ``mm`` option (engine config MEMORY_MODEL).
MEMORY_MODELS = ("sc", "tso")


def token_options(program: Any) -> dict[str, Option]:
    """The options a token of ``program`` records: ``mm`` when its machine runs x86-TSO (config
    ``MEMORY_MODEL``); nothing for sequential consistency, so that sc tokens stay as before."""
    cfg = getattr(program, "config", None)
    mm = cfg.get("MEMORY_MODEL", "sc") if isinstance(cfg, dict) else "sc"
    return {"mm": str(mm)} if mm != "sc" else {}


def with_memory_model(token: str, memory_model: str) -> str:
    """``token`` (kp3) recording ``memory_model``: its ``mm`` option set (``tso``) or dropped
    (``sc``); every other field as it was.  A token already saying so comes back unchanged."""
    sched = parse(token)
    if sched.version != VERSION or sched.memory_model == memory_model:
        return token
    opts = {k: v for k, v in sched.options.items() if k != "mm"}
    if memory_model != "sc":
        opts["mm"] = memory_model
    return Schedule(
        sched.scenario,
        sched.variant,
        sched.faults,
        sched.choices,
        {},
        None,
        VERSION,
        opts,
        sched.patches,
        sched.label_crc,
    ).token()


# Who knows a variant's patches (kernel_port/variants.py registers itself): the engine
# imports nothing from the rest of the package.
_patch_info: Callable[[str], list[PatchInfo]] | None = None


def register_patch_info(fn: Callable[[str], list[PatchInfo]] | None) -> None:
    """Set the function that lists (name, title, link) of each patch of a variant name."""
    global _patch_info
    _patch_info = fn


@dataclass
class Schedule:
    scenario: str
    variant: str
    faults: int
    choices: list[int]
    extra: dict[str, Any] = field(default_factory=dict)  # kp2's "x" (written into kp3's options)
    labels: list[Label] | None = None  # one per choice; None for kp1/kp3 tokens (or when not recorded)
    version: str = VERSION  # the version the token was read from
    options: dict[str, Option] = field(default_factory=dict)  # kp3: memory model, bounds, ...
    patches: list[PatchInfo] | None = None  # kp3: the variant's patches; None: look them up
    label_crc: int | None = None  # kp3: checksum of the labels the schedule was recorded with

    @property
    def memory_model(self) -> str:
        """The memory model the schedule was recorded under: option ``mm``, else ``sc`` (kp1,
        kp2 and every kp3 token written before the TSO engine are sequentially consistent)."""
        return str(self.options.get("mm", "sc"))

    def token(self) -> str:
        """The ``kp3:`` text of this schedule."""
        opts: dict[str, Option] = {**self.extra, **self.options}
        _check_options(opts, ValueError)
        patches = self.patches
        if patches is None:
            patches = _patch_info(self.variant) if _patch_info is not None else []
        crc = self.label_crc
        if self.labels is not None:
            if len(self.labels) != len(self.choices):
                raise ValueError("a schedule needs one label per choice")
            crc = labels_crc(self.labels)
        if any(not _nat(c) for c in self.choices):
            raise ValueError("choices are whole numbers below 2**31")
        names_in_header = bool(_SAFE.fullmatch(self.scenario) and _SAFE.fullmatch(self.variant))
        flags = (
            (_F_LABELS if crc is not None else 0)
            | (_F_OPTIONS if opts else 0)
            | (_F_PATCHES if patches else 0)
            | (0 if names_in_header else _F_NAMES)
        )
        w = _Writer()
        runs = _runs(self.choices)
        w.uint(len(runs))
        for value, count in runs:
            w.uint(value << 1 | (count > 1))
            if count > 1:
                w.uint(count - 2)
        if flags & _F_NAMES:
            w.text(self.scenario)
            w.text(self.variant)
        if crc is not None:
            w.raw((crc & 0xFFFF).to_bytes(2, "big"))
        if opts:
            w.uint(len(opts))
            for k in sorted(opts):
                w.text(k)
                v = opts[k]
                if isinstance(v, bool):
                    w.uint(3 if v else 2)
                elif isinstance(v, int):
                    w.uint(0)
                    w.uint(v * 2 if v >= 0 else -v * 2 - 1)
                else:
                    w.uint(1)
                    w.text(v)
        if patches:
            w.uint(len(patches))
            parts = [p.split(":", 1)[0] for p in self.variant.split("+")]
            for name, title, link in patches:
                # The name, as its position among the variant's parts when it is one of them.
                pos = parts.index(name) if name in parts[1:] else 0
                w.uint(pos)
                if not pos:
                    w.text(name)
                w.text(title[:MAX_TEXT])
                tag, tail = _link_parts(link[:MAX_TEXT])
                w.uint(tag)
                w.text(tail)
        head = f"{VERSION}:{self.scenario}:{self.variant}:" if names_in_header else f"{VERSION}:::"
        rest = bytes(w.out)
        h = _Writer()
        h.uint(flags | self.faults << 5)
        check = zlib.crc32(bytes(h.out) + rest, zlib.crc32(head.encode())) & 0xFFFF
        rest += check.to_bytes(2, "big")
        packed = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=_ZDICT)
        deflated = packed.compress(rest) + packed.flush()
        if len(deflated) < len(rest):
            h = _Writer()
            h.uint(flags | _DEFLATED | self.faults << 5)
            rest = deflated
        return head + base64.urlsafe_b64encode(bytes(h.out) + rest).decode().rstrip("=")

    def token_kp2(self) -> str:
        """The older ``kp2:`` text (labels included when known): for tests of the reader."""
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
        return "kp2:" + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


# How a patch's link is stored: as it is, or without the prefix every link of that kind has.
_LINKS = ("", "https://lore.kernel.org/r/", "https://git.kernel.org/torvalds/c/")


def _link_parts(link: str) -> tuple[int, str]:
    for tag in (1, 2):
        if link.startswith(_LINKS[tag]):
            return tag, link[len(_LINKS[tag]) :]
    return 0, link


# The preset dictionary of kp3's deflated bodies: words that recur in patch titles and links,
# so that a short body compresses at all.  Part of the format: changing it is a new version.
_ZDICT = (
    b"@intel.com@amd.com@suse.com@suse.de@gmail.com@redhat.com@huawei.com@google.com@infradead.org"
    b"@linux.ibm.com@oracle.com@kernel.org@linutronix.de@noisy.programming.kicks-ass.net"
    b"@gandalf.local.homelkml.iu.edu hypermail tglx@"
    b'[PATCH] [PATCH v2 [RFC] [RFC PATCH] Revert "irq_work: sched/rt: sched/core: sched/deadline: '
    b"smp: x86/irq: x86/apic: x86/vector: genirq: tick/nohz: timers: nohz: cpu/hotplug: CPU hotplug, "
    b"Fix Skip Handle Avoid Don't Make Use Add Remove Force Plug a the in on of for to when if not "
    b"interrupt IPI irq_work raised list lazy work vector per-CPU thread PREEMPT_RT RT_PUSH_IPI push pull "
    b"stall lockup race lost missed pending currently executing CPU offline callbacks before"
)


def labels_crc(labels: list[Label]) -> int:
    """A 16-bit checksum of a schedule's step labels, in order (what kp3 keeps instead of the
    labels: enough to tell whether a replay ran the same steps)."""
    crc = 0
    for lab in labels:
        crc = zlib.crc32("\x1f".join(lab).encode("utf-8", "surrogatepass") + b"\x1e", crc)
    return crc & 0xFFFF


def normalize(text: str) -> str:
    """A pasted token as written: quoting (``> `` at the start of a line, nested or not) and
    every whitespace character (any wrapping, indentation, a trailing newline) removed."""
    if not isinstance(text, str):
        return text
    return "".join(_QUOTE.sub("", line) for line in text.splitlines()).translate(_NO_SPACE)


_NO_SPACE = {ord(c): None for c in " \t\r\n\v\f\u00a0\u2028\u2029\u200b"}


def looks_like_token(text: str) -> bool:
    """True for text shaped like ``<letters+digits>:<body>`` (a token of this or another tool)."""
    head, sep, _ = normalize(text).partition(":")
    return bool(sep) and bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,15}", head))


def parse(token: str) -> Schedule:
    """Decode a token; every malformation is a :class:`TokenError` in one line."""
    if not isinstance(token, str):
        raise TokenError("a token is text starting with 'kp3:'")
    token = normalize(token)
    if not token.startswith("kp"):
        raise TokenError("not a kernel_port token (tokens start with 'kp3:', older ones with 'kp2:' or 'kp1:')")
    head, sep, body = token.partition(":")
    if not sep:
        raise TokenError("malformed token: missing ':' after the version")
    mv = _HEAD.fullmatch(head)
    if mv is None:
        raise TokenError(f"not a kernel_port token: '{_clip(head)}' is not a version (tokens start with 'kp3:')")
    if head not in READS:
        n = int(mv.group(1))
        if n > 3:
            raise TokenError(
                f"token version '{head}' is newer than this kport (it reads kp1, kp2 and kp3): "
                "update kernel_port to replay it"
            )
        raise TokenError(f"token version '{head}' is not supported by this kport (it reads kp1, kp2 and kp3)")
    if head == "kp3":
        return _parse_kp3(body)
    return _parse_json(head, body)


def _b64(body: str) -> bytes:
    if not body:
        raise TokenError("empty token body (was it truncated?)")
    if not re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", body):
        bad = next((ch for ch in body if not (ch.isascii() and (ch.isalnum() or ch in "-_="))), "=")
        raise TokenError(f"malformed token: not base64url (character {bad!r}); was it wrapped or cut when pasted?")
    stripped = body.rstrip("=")
    if len(stripped) % 4 == 1:
        raise TokenError("malformed or truncated token: not base64url (its length is impossible; was it cut?)")
    try:
        return base64.b64decode(stripped + "=" * (-len(stripped) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as e:
        raise TokenError(f"malformed or truncated token: not base64url ({e})") from None


def _parse_kp3(rest: str) -> Schedule:
    parts = rest.split(":")
    if len(parts) != 3:
        raise TokenError(
            "malformed kp3 token: expected kp3:SCENARIO:VARIANT:DATA (was it cut, or were two tokens joined?)"
        )
    scen, var, body = parts
    if bool(scen) != bool(var) or (scen and not (_SAFE.fullmatch(scen) and _SAFE.fullmatch(var))):
        raise TokenError(f"malformed kp3 token: bad scenario or variant name '{_clip(scen)}:{_clip(var)}'")
    data = _b64(body)
    r = _Reader(data)
    h = r.uint("head", (1_000_000 << 5) | 31)
    flags, faults = h & 15, h >> 5
    hw = _Writer()
    hw.uint(h & ~_DEFLATED)  # the check covers the fields as written before deflating
    hbytes = bytes(hw.out)
    if h & _DEFLATED:
        d = zlib.decompressobj(-15, zdict=_ZDICT)
        try:
            raw = d.decompress(data[r.pos :], MAX_BODY)
        except zlib.error:
            raise TokenError("malformed or truncated token: its data does not decompress (was it cut?)") from None
        if d.unconsumed_tail:
            raise TokenError("malformed token: its payload is larger than any schedule kport writes")
        if not d.eof:
            raise TokenError("truncated token: its data ends early (was it cut when pasted?)")
        if d.unused_data:
            raise TokenError("malformed token: extra data after its payload")
    else:
        raw = data[r.pos :]
    if len(raw) < 3:
        raise TokenError("truncated token: its data ends early (was it cut when pasted?)")
    payload, check = raw[:-2], int.from_bytes(raw[-2:], "big")
    head = f"kp3:{scen}:{var}:"
    if zlib.crc32(hbytes + payload, zlib.crc32(head.encode())) & 0xFFFF != check:
        raise TokenError("malformed token: its checksum does not match (was it cut, altered or mixed up when pasted?)")
    r = _Reader(payload)
    nruns = r.uint("run count", MAX_RUNS)
    choices: list[int] = []
    for _ in range(nruns):
        v = r.uint("choice", (1 << 32) - 1)
        count = r.uint("run length", MAX_CHOICES - len(choices) - 2) + 2 if v & 1 else 1
        if len(choices) + count > MAX_CHOICES:
            raise TokenError("malformed token: its schedule is longer than any kport writes")
        choices.extend([v >> 1] * count)
    if flags & _F_NAMES:
        if scen:
            raise TokenError("malformed kp3 token: names both in its header and in its data")
        scen, var = r.text("scenario", MAX_NAME), r.text("variant", MAX_NAME)
    if not scen or not var:
        raise TokenError("malformed token: scenario or variant missing")
    crc = int.from_bytes(r.raw(2, "label checksum"), "big") if flags & _F_LABELS else None
    options: dict[str, Option] = {}
    if flags & _F_OPTIONS:
        for _ in range(r.uint("option count", MAX_OPTIONS)):
            key = r.text("option name", 16)
            if not _KEY.fullmatch(key) or key in options:
                raise TokenError(f"malformed token: bad option name '{_clip(key)}'")
            tag = r.uint("option type", 3)
            if tag == 0:
                z = r.uint("option value", 1 << 62)
                options[key] = z >> 1 if not z & 1 else -(z >> 1) - 1
            elif tag == 1:
                options[key] = r.text("option value", MAX_OPTION_TEXT)
            else:
                options[key] = tag == 3
    patches: list[PatchInfo] = []
    if flags & _F_PATCHES:
        parts = [p.split(":", 1)[0] for p in var.split("+")]
        for _ in range(r.uint("patch count", MAX_PATCHES)):
            pos = r.uint("patch position", len(parts) - 1)
            name = parts[pos] if pos else r.text("patch name", MAX_NAME)
            title = r.text("patch title", MAX_TEXT)
            tag = r.uint("link kind", len(_LINKS) - 1)
            patches.append((name, title, _LINKS[tag] + r.text("link", MAX_TEXT)))
    if not r.done():
        raise TokenError("malformed token: extra data after its fields")
    mm = options.get("mm", "sc")
    if mm not in MEMORY_MODELS:
        raise TokenError(
            f"the token's memory model '{_clip(str(mm))}' is unknown to this kport (it knows sc and tso): "
            "update kernel_port to replay it"
        )
    return Schedule(scen, var, faults, choices, {}, None, "kp3", options, patches, crc)


def _parse_json(head: str, body: str) -> Schedule:
    data = _b64(body)
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


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()

    def uint(self, v: int) -> None:
        if v < 0:
            raise ValueError("a varint is never negative")
        while True:
            b = v & 0x7F
            v >>= 7
            if v:
                self.out.append(b | 0x80)
            else:
                self.out.append(b)
                return

    def text(self, s: str) -> None:
        b = s.encode("utf-8")
        self.uint(len(b))
        self.out += b

    def raw(self, b: bytes) -> None:
        self.out += b


class _Reader:
    """Reads the fields of a kp3 body; each read checks its range and says what was malformed."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def uint(self, what: str, limit: int) -> int:
        v = 0
        shift = 0
        while True:
            if self.pos >= len(self.data):
                raise TokenError(f"truncated token: it ends inside its {what}")
            b = self.data[self.pos]
            self.pos += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
            if shift > 63:
                raise TokenError(f"malformed token: its {what} is too large")
        if v > limit:
            raise TokenError(f"malformed token: bad {what} ({v} is out of range)")
        return v

    def raw(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise TokenError(f"truncated token: it ends inside its {what}")
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def text(self, what: str, limit: int) -> str:
        n = self.uint(f"{what} length", limit * 4)
        try:
            s = self.raw(n, what).decode("utf-8")
        except UnicodeDecodeError:
            raise TokenError(f"malformed token: its {what} is not UTF-8") from None
        if len(s) > limit or not s.isprintable():
            raise TokenError(f"malformed token: bad {what}")
        return s

    def done(self) -> bool:
        return self.pos == len(self.data)


def _runs(choices: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for c in choices:
        if out and out[-1][0] == c:
            out[-1] = (c, out[-1][1] + 1)
        else:
            out.append((c, 1))
    return out


def _check_options(opts: dict[str, Any], exc: type[Exception]) -> None:
    if len(opts) > MAX_OPTIONS:
        raise exc(f"at most {MAX_OPTIONS} options")
    for k, v in opts.items():
        if not isinstance(k, str) or not _KEY.fullmatch(k):
            raise exc(f"bad option name {k!r}")
        if isinstance(v, str):
            if len(v) > MAX_OPTION_TEXT or not v.isprintable():
                raise exc(f"bad option value for {k}")
        elif not isinstance(v, int) or (not isinstance(v, bool) and abs(v) >= 1 << 61):
            raise exc(f"bad option value for {k}: options are whole numbers, short text or true/false")


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
