# SPDX-License-Identifier: GPL-2.0-only
"""The results store: every counterexample and matrix result, kept in the project.

Like ``.pytest_cache`` and ``.hypothesis``, the store is a folder of the clone,
``.kport/`` beside pyproject.toml (``$KPORT_STORE`` names another folder)::

    .kport/
      last.json                          the counterexample saved last
      results/SCENARIO@VARIANT.json      the latest counterexample of each cell (a cell under
                                         x86-TSO: SCENARIO@VARIANT@tso.json)
      history/HASH.json                  every distinct counterexample ever saved
      matrix/last.json                   the last matrix run (rewritten after each cell)
      matrix/cells/SCENARIO@VARIANT.json the latest matrix result of each cell (OK ones too)

A saved counterexample holds the scenario, variant, verdict, kind, message,
executions, coverage, token, the trace as text, for an ``error`` the
traceback, and ``code``: a hash of every file of the code it ran (the scenario's
module, the variant's tree, patches and ports, the engine), so that a replay
that no longer fits can say which of them changed since.  ``kport replay
last`` or ``kport replay SCENARIO@VARIANT`` replays one by name.

Every file is JSON, written atomically: a temporary file in the same folder,
flushed and fsync'ed, then ``os.replace`` onto its name (and the folder
fsync'ed), so a reader -- or a run killed at any moment -- only ever sees a
whole old file or a whole new one.  Leftover temporaries (``.*.tmp``) of killed
runs are never read and are removed once stale.  Files are data: they are read
with ``json`` and checked field by field, never evaluated.

What varies from run to run (wall-clock seconds) is kept under one key,
``timing``, so that the rest of a file is byte-identical for the same inputs.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from .engine.errors import KportError, OptionError, StoreError, TokenError, UnknownNameError
from .engine.token import Schedule
from .engine.token import parse as parse_token

RESULT_FORMAT = "kport-result/1"
MATRIX_FORMAT = "kport-matrix/1"
CELL_FORMAT = "kport-cell/1"
ENV = "KPORT_STORE"

# fsync every write (tests that write thousands of files may turn it off).
FSYNC = True
# A temporary file older than this is a leftover of a killed run.
STALE_SECONDS = 600

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+@-]{0,200}")
_README = """\
This folder is kernel_port's results store (like .pytest_cache): every
counterexample found by `kport check` and `kport matrix`, and every matrix
result.  `kport replay last` or `kport replay SCENARIO@VARIANT` replays one.
It is safe to delete.  Layout: see kernel_port/store.py.
"""


def store_dir() -> Path:
    """The store folder: ``$KPORT_STORE`` if set, else ``.kport`` in the project."""
    env = os.environ.get(ENV)
    if env is not None:
        if not env.strip():
            raise OptionError(f"${ENV}", "", "is empty (unset it, or name a folder for the results store)")
        try:
            p = Path(env).expanduser()
        except RuntimeError:  # "~nouser/x": no such user, or no home directory
            raise OptionError(f"${ENV}", _clip(env, 80), "cannot be expanded (no such user or home folder)") from None
        try:
            if p.exists() and not p.is_dir():
                raise OptionError(f"${ENV}", _clip(env, 80), "is not a folder (it names where kport saves results)")
        except (OSError, ValueError) as e:  # a name too long, or with a NUL byte
            why = getattr(e, "strerror", None) or e
            raise OptionError(f"${ENV}", _clip(env, 80), f"cannot be used: {why}") from None
        return p
    from .variants import project_root

    return project_root() / ".kport"


def safe_name(text: str) -> str:
    """A file name for ``text`` (scenario and variant names are already safe)."""
    name = re.sub(r"[^A-Za-z0-9._+@-]", "_", text)
    return name.lstrip(".") or "_"


def cell_name(scenario: str, variant: str, memory_model: str | None = None) -> str:
    """``SCENARIO@VARIANT``, and ``@tso`` after it for a cell under x86-TSO (an ``sc`` cell keeps
    the name results had before there were memory models)."""
    tail = f"@{memory_model}" if memory_model and memory_model != "sc" else ""
    return safe_name(f"{scenario}@{variant}{tail}")


def _dumps(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is always a whole old or whole new file."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if FSYNC:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if FSYNC:
        try:
            dfd = os.open(folder, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dfd)
        except OSError:
            pass
        finally:
            os.close(dfd)


def _clean_stale(folder: Path) -> None:
    now = time.time()
    try:
        leftovers = list(folder.rglob(".*.tmp"))
    except OSError:
        return
    for p in leftovers:
        try:
            if now - p.stat().st_mtime > STALE_SECONDS:
                p.unlink()
        except OSError:
            pass


class Store:
    """One results store folder."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else store_dir()
        self._ready = False

    # -- writing ---------------------------------------------------------------
    def _prepare(self) -> None:
        if self._ready:
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            for name, text in (
                ("CACHEDIR.TAG", "Signature: 8a477f597d28d172789f06886806bc55\n# kernel_port results store\n"),
                (".gitignore", "# created by kport\n*\n"),
                ("README.md", _README),
            ):
                if not (self.root / name).exists():
                    atomic_write(self.root / name, text.encode())
        except OSError as e:
            raise StoreError(f"cannot write the results store {self.root}: {e.strerror or e}") from None
        _clean_stale(self.root)
        self._ready = True

    def _write(self, rel: str, obj: Any) -> Path:
        self._prepare()
        path = self.root / rel
        try:
            atomic_write(path, _dumps(obj))
        except OSError as e:
            raise StoreError(f"cannot write {path}: {e.strerror or e}") from None
        return path

    def save_result(self, record: dict[str, Any]) -> str:
        """Save a counterexample record (see :func:`result_record`); returns its name.

        Each of its three files is tried; when some could not be written the error says
        exactly which were and which were not (:class:`PartialSave` when the result can
        still be replayed by name, :class:`StoreError` when nothing was written)."""
        name = str(record["name"])
        digest = hashlib.sha256(record["token"].encode()).hexdigest()[:16]
        record = dict(record, id=digest)
        self._prepare()
        done: list[str] = []
        failed: list[tuple[str, str]] = []
        for rel in (f"history/{digest}.json", f"results/{name}.json", "last.json"):
            try:
                self._write(rel, record)
                done.append(rel)
            except StoreError as e:
                failed.append((rel, str(e)))
        if not failed:
            return name
        why = failed[0][1]
        missing = ", ".join(rel for rel, _ in failed)
        if not done:
            raise StoreError(why)
        older = (
            "; 'kport replay last' still shows an older result"
            if "last.json" in missing and (self.root / "last.json").is_file()
            else ""
        )
        by = f"kport replay {name}" if f"results/{name}.json" in done else f"kport replay {digest}"
        raise PartialSave(
            by.split()[-1],
            f"result saved only in part: {', '.join(done)} written in {self.root}, {missing} not ({why}){older}; "
            f"replay it with '{by}'",
        )

    def save_cell(self, cell: dict[str, Any], seconds: float) -> None:
        name = cell_name(cell["scenario"], cell["variant"], cell.get("memory_model"))
        self._write(f"matrix/cells/{name}.json", {"format": CELL_FORMAT, "cell": cell, "timing": {"seconds": seconds}})

    def save_matrix(self, doc: dict[str, Any]) -> None:
        self._write("matrix/last.json", dict(doc, format=MATRIX_FORMAT))

    # -- reading -----------------------------------------------------------------
    def names(self) -> list[str]:
        folder = self.root / "results"
        found = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
        return (["last"] if (self.root / "last.json").is_file() else []) + found

    def find(self, name: str) -> Path:
        """The file of a saved result: ``last``, ``SCENARIO@VARIANT``, ``SCENARIO`` (if one
        variant has a result), a history id, or a path to a saved ``.json`` file."""
        if name.endswith(".json") and ("/" in name or os.sep in name or Path(name).is_file()):
            p = Path(name).expanduser()
            if not p.is_file():
                raise UnknownNameError(f"no saved result file {name}")
            return p
        if name == "last":
            p = self.root / "last.json"
            if not p.is_file():
                raise UnknownNameError(
                    f"no result saved yet in {self.root} ('kport check' and 'kport matrix' save counterexamples there)"
                )
            return p
        if not _NAME.fullmatch(name):
            raise UnknownNameError(
                f"'{_clip(name)}' is neither a token (kp2:...) nor the name of a saved result (last, SCENARIO@VARIANT)"
            )
        for p in (self.root / "results" / f"{name}.json", self.root / "history" / f"{name}.json"):
            if p.is_file():
                return p
        if "@" not in name:
            hits = sorted((self.root / "results").glob(f"{name}@*.json")) if (self.root / "results").is_dir() else []
            if len(hits) == 1:
                return hits[0]
            if hits:
                raise UnknownNameError(
                    f"'{name}' has saved results on several variants: {', '.join(h.stem for h in hits)}"
                )
        known = self.names()
        near = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(near)}?)" if near else (f" (saved: {', '.join(known[:8])})" if known else "")
        raise UnknownNameError(f"no saved result '{name}' in {self.root}{hint}")

    def load(self, name: str) -> dict[str, Any]:
        """A saved counterexample record, checked; ``record["schedule"]`` is its decoded token."""
        return load_result_file(self.find(name))


class PartialSave(StoreError):
    """Some of a result's files were written and some not; ``name`` replays it."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def load_result_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise StoreError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from None
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        raise StoreError(f"{path} is damaged: not JSON (delete it; it is a copy of a result)") from None
    if not isinstance(obj, dict) or obj.get("format") != RESULT_FORMAT:
        raise StoreError(f"{path} is not a kport saved result (format {RESULT_FORMAT} expected)")
    for key in ("name", "scenario", "variant", "verdict", "token"):
        if not isinstance(obj.get(key), str):
            raise StoreError(f"{path} is damaged: field '{key}' missing or not text")
    try:
        sched = parse_token(obj["token"])
    except TokenError as e:
        raise StoreError(f"{path} holds a bad token: {e}") from None
    if (sched.scenario, sched.variant) != (obj["scenario"], obj["variant"]):
        raise StoreError(f"{path} is damaged: its token is for {sched.scenario}@{sched.variant}")
    obj["schedule"] = sched
    return obj


def result_record(result: Any, trace: str, command: str) -> dict[str, Any]:
    """The saved form of a check or matrix result with a counterexample."""
    from .memory_model import memory_model_of

    ce = result.counterexample
    mm = memory_model_of(result)
    rec: dict[str, Any] = {
        "format": RESULT_FORMAT,
        "name": cell_name(result.program, result.variant, mm),
        "command": command,
        "scenario": result.program,
        "variant": result.variant,
        "strategy": result.strategy,
        "verdict": result.verdict,
        "kind": result.kind,
        "message": result.message,
        "executions": result.executions,
        "complete": result.complete,
        "coverage": result.coverage,
        "fault_budget": result.faults,
        "preemption_bound": result.preemption_bound,
        "memory_model": mm,
        "interrupted": bool(result.stats.get("interrupted")),
        "token": result.token,
        "counterexample": None
        if ce is None
        else {"steps": ce.steps, "preemptions": ce.preemptions, "faults": ce.faults},
        "trace": trace,
        "traceback": ce.traceback if ce is not None and ce.traceback else None,
        "code": _fingerprint(result.program, result.variant),
        "timing": {"seconds": round(result.seconds, 3)},
    }
    return rec


def _fingerprint(scenario: str, variant: str) -> dict[str, str]:
    """The code the result ran (scenario.code_fingerprint), so that a replay that no longer
    fits can say what changed; empty when it cannot be worked out."""
    try:
        from .scenario import code_fingerprint

        return code_fingerprint(scenario, variant)
    except KportError:
        return {}


def trace_of(program: Any, result: Any, width: int = 44) -> str:
    """The counterexample of ``result`` as the trace text ``kport check`` prints."""
    from .engine.explorer import replay
    from .engine.trace import render_text
    from .report import verdict_line

    ce = result.counterexample
    if ce is None:
        return ""
    out, _ = replay(program, ce.choices)
    if out.machine is None:
        return ""
    return render_text(out.machine, verdict_line(result), width=width, title=f"{program.name} on {program.variant}")


def without_timing(obj: dict[str, Any]) -> dict[str, Any]:
    """A saved file's content without what varies from run to run (for comparisons)."""
    return {k: v for k, v in obj.items() if k not in ("timing", "schedule")}


def schedule_of(record: dict[str, Any]) -> Schedule:
    sched = record.get("schedule")
    if not isinstance(sched, Schedule):
        raise KportError("not a loaded result record")
    return sched


def _clip(text: str, n: int = 40) -> str:
    text = repr(text)[1:-1]  # control characters and newlines escaped: one line, always
    return text if len(text) <= n else text[: n - 3] + "..."
