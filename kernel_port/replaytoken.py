# SPDX-License-Identifier: GPL-2.0-only
"""Replaying a kp3 token: the patches it names, the labels it leaves out.

A ``kp3`` token (engine/token.py) carries, for each patch of its variant, the patch's name,
title and a link: a mail's reader may have a checkout without that patch module, and then
``kport replay`` names the patch, its title and where to get it instead of "unknown patch".

It carries no step labels, only a checksum of them: they are recomputed by replaying the
choices on the variant the token was recorded on, which is what ``kport replay --variant W``
needs to follow the schedule onto ``W``; on the recorded variant, labels that come back
different mean the code changed since the token was written.

A token records the memory model it was found under (option ``mm``: ``tso``; none: ``sc``,
as every token written before the TSO engine); replaying it runs that model, and
``--memory-model`` replays it under another by following its labels like ``--variant``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

from .engine.errors import UnknownNameError
from .engine.token import Label, PatchInfo, Schedule, labels_crc

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:,-]{0,99}")


def missing_patches(variant: str, recorded: list[PatchInfo] | None) -> str:
    """A sentence naming the patches of ``variant`` this checkout lacks, with what the token
    recorded about them and how to get them ("" if none is missing)."""
    from .variants import patches, trees

    try:
        known, known_trees = patches(), trees()
    except Exception:
        return ""
    parts = variant.split("+")
    if not all(_NAME.fullmatch(p) for p in parts):
        return ""
    info = {name: (title, link) for name, title, link in recorded or []}
    lacking = []
    for part in parts[1:]:
        name = part.split(":", 1)[0]
        if name and name not in known:
            title, link = info.get(name, ("", ""))
            what = f"patch '{name}'"
            if title:
                what += f' ("{title}"'
                what += f", {link})" if link else ")"
            elif link:
                what += f" ({link})"
            lacking.append(what)
    if not lacking or parts[0] not in known_trees:
        return ""  # (an unknown tree: the usual error, with its suggestions)
    how = (
        "get it into patches/ of this checkout: update kernel_port (git pull) to a version that has it, "
        "or save the patch from that link and import it (kport patch import FILE)"
        if _has_patch_import()
        else "get it into patches/ of this checkout: update kernel_port (git pull) to a version that has it"
    )
    return f"the token was recorded on '{variant}', which needs {', '.join(lacking)}, missing here: {how}"


def _has_patch_import() -> bool:
    """Whether this kport has ``kport patch import`` (issue 19): the command's module is there.
    (Asked of the package, not of cli.py's parser: this module is below the command line.)"""
    import importlib.util

    return importlib.util.find_spec(f"{__package__}.patch_import") is not None


@contextlib.contextmanager
def missing_patch_error(sched: Schedule, variant: str) -> Iterator[None]:
    """Building the program of a token: an unknown patch of the token's variant becomes an
    error that names it, with its title and link from the token, and says how to get it."""
    try:
        yield
    except UnknownNameError as e:
        msg = missing_patches(variant, sched.patches if variant == sched.variant else None)
        if msg:
            raise UnknownNameError(msg) from None
        raise e


def labels_for(sched: Schedule, variant: str, memory_model: str | None = None) -> list[Label] | None:
    """The step labels to replay ``sched`` with on ``variant`` under ``memory_model`` (None: the
    token's own; a token without one is sc): a kp2 token's own; for a kp3 token replayed on
    another variant or model, those of its choices on the variant and model it was recorded
    with (None on its own: the raw choices are the schedule)."""
    model = memory_model or sched.memory_model
    same = variant == sched.variant and model == sched.memory_model
    if sched.labels is not None or sched.version != "kp3" or same:
        return sched.labels
    from .engine.explorer import schedule_labels
    from .scenario import program

    recorded: Any
    with missing_patch_error(sched, sched.variant):
        recorded = program(sched.scenario, sched.variant, faults=sched.faults, memory_model=sched.memory_model)
    return schedule_labels(recorded, sched.choices)


def same_steps(sched: Schedule, labels: list[Label] | None) -> str:
    """ "" when a kp3 replay ran the steps the token was recorded with (its label checksum
    matches), else a note that the code changed since."""
    if sched.label_crc is None or labels is None or labels_crc(labels) == sched.label_crc:
        return ""
    return (
        "the steps this replay ran differ from those the token was recorded with "
        "(the code changed since it was written)"
    )
