# SPDX-License-Identifier: GPL-2.0-only
"""Trees, patches and variants.

The port of each kernel file is a class whose methods carry the kernel's
function names; the mainline kernel (tree ``v6.17``) is the composition of
those classes.  An older tree is a subclass that overrides only the functions
that differ.  A patch is a mixin class overriding only what the patch changes,
plus metadata (title, author, date, upstream id or message-id, kind, the trees
it applies to).  A variant ``TREE+PATCH+...`` is the class
``type(name, (PATCH_n, ..., PATCH_1, TREE), {})``: later patches win, as when
patches are applied in order.

Trees live in ``kernel_port/trees/`` (a module per tree, each defining
``TREE``); patches in the project's ``patches/`` folder (a module per patch,
each defining ``PATCH``), loaded by path under the private module prefix
``kernel_port_patches.`` so that no generically named package is installed.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import pkgutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine.core import Machine
from .engine.errors import KportError


class KernelBase:
    """Root of every composed kernel: holds the machine and creates state.

    Each ported file class defines ``init_<file>(self)`` creating its
    per-execution state (per-CPU lists, locks) and registers it in
    ``INITS``; ``__init__`` calls them in declaration order.
    """

    INITS: tuple[str, ...] = ()
    TREE_NAME = "?"

    def __init__(self, m: Machine) -> None:
        self.m = m
        for name in self.INITS:
            getattr(self, name)()


@dataclass(frozen=True)
class Tree:
    name: str
    cls: type
    title: str
    base: str | None = None  # the tree it states differences from
    pinned: str = ""  # where its sources were read


@dataclass(frozen=True)
class Patch:
    name: str
    cls: type
    title: str
    author: str
    date: str
    kind: str  # upstream | RFC | rejected | config | ours | workaround | sketch | patch
    applies_to: tuple[str, ...]  # trees or partial variants ("TREE+PATCH")
    upstream: str = ""  # commit id
    link: str = ""  # message-id or URL
    fixes: str = ""
    notes: str = ""
    config: dict[str, Any] = field(default_factory=dict)  # configuration it switches

    def metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "author": self.author,
            "date": self.date,
            "kind": self.kind,
            "applies_to": list(self.applies_to),
            "upstream": self.upstream,
            "link": self.link,
            "fixes": self.fixes,
        }


class UnknownName(KportError):
    pass


def project_root() -> Path:
    """The clone this kport runs from (where patches/ and scenarios/ are)."""
    import os

    env = os.environ.get("KPORT_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve().parent.parent
    if (here / "scenarios").is_dir():
        return here
    cwd = Path.cwd().resolve()
    for p in (cwd, *cwd.parents):
        if (p / "scenarios").is_dir() and (p / "kernel_port").is_dir():
            return p
    raise KportError("cannot find the kernel_port project folder (set KPORT_ROOT to your clone)")


def load_by_path(path: Path, prefix: str) -> Any:
    modname = f"{prefix}.{path.stem.replace('-', '_')}"
    if modname in sys.modules:
        return sys.modules[modname]
    if prefix not in sys.modules:
        pkg = type(sys)(prefix)
        pkg.__path__ = []
        sys.modules[prefix] = pkg
    spec = importlib.util.spec_from_file_location(modname, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    return mod


_TREES: dict[str, Tree] | None = None
_PATCHES: dict[str, Patch] | None = None


def trees() -> dict[str, Tree]:
    global _TREES
    if _TREES is None:
        from . import trees as pkg

        found: dict[str, Tree] = {}
        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
            mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
            t = getattr(mod, "TREE", None)
            if isinstance(t, Tree):
                found[t.name] = t
        _TREES = dict(sorted(found.items()))
    return _TREES


def patches() -> dict[str, Patch]:
    global _PATCHES
    if _PATCHES is None:
        found: dict[str, Patch] = {}
        folder = project_root() / "patches"
        if folder.is_dir():
            for path in sorted(folder.glob("*.py")):
                if path.name.startswith("_"):
                    continue
                mod = load_by_path(path, "kernel_port_patches")
                p = getattr(mod, "PATCH", None)
                if isinstance(p, Patch):
                    found[p.name] = p
        _PATCHES = dict(sorted(found.items()))
    return _PATCHES


def _closest(name: str, names: list[str]) -> str:
    near = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
    return f" (did you mean {', '.join(near)}?)" if near else f" (known: {', '.join(names) or 'none'})"


@dataclass(frozen=True)
class Variant:
    name: str
    tree: Tree
    patches: tuple[Patch, ...]
    cls: type

    @property
    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {}
        for p in self.patches:
            cfg.update(p.config)
        return cfg

    def instantiate(self, m: Machine) -> Any:
        return self.cls(m)


_VARIANTS: dict[str, Variant] = {}


def parse_variant(spec: str) -> Variant:
    """``TREE+PATCH+...`` -> Variant; unknown names and misapplied patches are errors."""
    if not isinstance(spec, str) or not spec.strip():
        raise UnknownName("empty variant name")
    spec = spec.strip()
    if spec in _VARIANTS:
        return _VARIANTS[spec]
    parts = spec.split("+")
    if any(not p for p in parts):
        raise UnknownName(f"malformed variant '{spec}': empty part between '+' signs")
    ts = trees()
    tname = parts[0]
    if tname not in ts:
        ps = patches()
        if tname in ps:
            raise UnknownName(
                f"variant '{spec}' starts with patch '{tname}'; a variant starts with a tree, "
                f"e.g. {ps[tname].applies_to[0]}+{tname}"
            )
        raise UnknownName(f"unknown tree '{tname}'" + _closest(tname, list(ts)))
    tree = ts[tname]
    ps = patches()
    chosen: list[Patch] = []
    base = tname
    for pname in parts[1:]:
        if pname not in ps:
            raise UnknownName(f"unknown patch '{pname}'" + _closest(pname, list(ps)))
        p = ps[pname]
        if pname in (c.name for c in chosen):
            raise UnknownName(f"patch '{pname}' appears twice in '{spec}'")
        if base not in p.applies_to:
            raise UnknownName(f"patch '{pname}' does not apply to '{base}' (it applies to {', '.join(p.applies_to)})")
        chosen.append(p)
        base = f"{base}+{pname}"
    bases = tuple(p.cls for p in reversed(chosen)) + (tree.cls,)
    cls = type(spec, bases, {"VARIANT_NAME": spec}) if chosen else tree.cls
    v = Variant(spec, tree, tuple(chosen), cls)
    _VARIANTS[spec] = v
    return v
