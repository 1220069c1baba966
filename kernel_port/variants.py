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
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .engine.core import Machine
from .engine.errors import OptionError, PatchDoesNotApply, ProjectError, UnknownNameError
from .engine.token import PatchInfo


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
    kind: str  # upstream | RFC | rejected | config | ours | workaround | sketch | patch | backport
    applies_to: tuple[str, ...]  # trees or partial variants ("TREE+PATCH")
    upstream: str = ""  # commit id
    link: str = ""  # message-id or URL
    fixes: str = ""
    notes: str = ""
    config: dict[str, Any] = field(default_factory=dict)  # configuration it switches
    # Adapted versions of this patch for older trees (each of kind "backport", same name):
    # on a base listed in a backport's applies_to, that backport's mixin is applied instead.
    backports: tuple[Patch, ...] = ()

    def for_base(self, base: str) -> Patch:
        """The patch as applied on ``base``: a backport made for that base, else itself."""
        for b in self.backports:
            if base in b.applies_to:
                return b
        return self

    def metadata(self) -> dict[str, Any]:
        meta = {
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
        if self.backports:
            meta["backports"] = [
                {"kind": b.kind, "applies_to": list(b.applies_to), "notes": b.notes} for b in self.backports
            ]
        return meta


UnknownName = UnknownNameError  # the name this module used before the hierarchy in engine/errors.py


def _is_clone(p: Path) -> bool:
    """A kernel_port clone: its scenarios/ and kernel_port/ beside a pyproject.toml naming the project."""
    if not ((p / "scenarios").is_dir() and (p / "kernel_port").is_dir()):
        return False
    try:
        text = (p / "pyproject.toml").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return 'name = "kernel-port"' in text


def project_root() -> Path:
    """The clone this kport runs from (where patches/ and scenarios/ are).

    Code is loaded only from the project's own folders: ``$KPORT_ROOT`` when the
    user names one, else the clone this package sits in, else the nearest folder
    above the working directory that is a kernel_port clone (its pyproject.toml
    names the project), never an arbitrary ``scenarios/`` folder."""
    import os

    env = os.environ.get("KPORT_ROOT")
    if env is not None:
        if not env.strip():
            raise OptionError("$KPORT_ROOT", "", "is empty (unset it, or name your kernel_port clone)")
        root = Path(env).expanduser().resolve()
        if not root.is_dir():
            raise OptionError("$KPORT_ROOT", env, "is not a folder (it names your kernel_port clone)")
        if not (root / "scenarios").is_dir():
            raise OptionError("$KPORT_ROOT", env, "has no scenarios/ folder (it names your kernel_port clone)")
        return root
    here = Path(__file__).resolve().parent.parent
    if (here / "scenarios").is_dir():
        return here
    cwd = Path.cwd().resolve()
    for p in (cwd, *cwd.parents):
        if _is_clone(p):
            return p
    raise ProjectError("cannot find the kernel_port project folder (run kport inside your clone, or set KPORT_ROOT)")


def load_by_path(path: Path, prefix: str) -> Any:
    """Import the module at ``path`` (a file of the project's patches/ or scenarios/
    folder) under the private package ``prefix``.  A module that fails to import
    is a :class:`ProjectError` naming the file and the first line of the error."""
    modname = f"{prefix}.{path.stem.replace('-', '_')}"
    old = sys.modules.get(modname)
    if old is not None:
        if Path(getattr(old, "__file__", "") or "").resolve() == path.resolve():
            return old
        # Another project's file of the same name: keep both, apart.
        import hashlib

        tag = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]
        modname = f"{modname}_{tag}"
        if modname in sys.modules:
            return sys.modules[modname]
    if prefix not in sys.modules:
        pkg = type(sys)(prefix)
        pkg.__path__ = []
        sys.modules[prefix] = pkg
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise ProjectError(f"{path} cannot be loaded as a Python module")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    try:
        spec.loader.exec_module(mod)
    except Exception as e:
        del sys.modules[modname]
        where = path
        if isinstance(e, SyntaxError) and e.lineno:
            where = Path(f"{path}:{e.lineno}")
        else:
            import traceback

            lines = [f.lineno for f in traceback.extract_tb(e.__traceback__) if f.filename == str(path)]
            if lines and lines[-1]:
                where = Path(f"{path}:{lines[-1]}")
        first = str(e).splitlines()[0] if str(e) else ""
        raise ProjectError(f"{where} does not load: {type(e).__name__}: {first}") from None
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


def overrides(p: Patch) -> dict[str, str]:
    """The kernel functions patch ``p``'s mixin overrides: kernel name -> Python attribute, in
    the order the mixin defines them.  Each is one hunk of the patch for ``kport ablate``."""
    from .engine.kfunc import kfunc_of

    out: dict[str, str] = {}
    for attr, obj in vars(p.cls).items():
        fr = kfunc_of(obj)
        if fr is not None:
            out.setdefault(fr.name, attr)
    return out


def restrict(p: Patch, only: str) -> Patch:
    """Patch ``p`` with only the overrides named in ``only`` (kernel names, comma separated):
    the ``PATCH:f,g`` part of a variant name, as ``kport ablate`` writes it.  Methods without a
    kernel name (helpers of the mixin) are kept."""
    from .engine.kfunc import kfunc_of

    table = overrides(p)
    names = [n.strip() for n in only.split(",")]
    if not only.strip() or any(not n for n in names):
        raise UnknownName(f"'{p.name}:{only}': name the functions to keep after ':' (comma separated)")
    for n in names:
        if n not in table:
            raise UnknownName(
                f"patch '{p.name}' does not override {n}() (it overrides {', '.join(table) or 'nothing'})"
            )
    keep = {table[n] for n in names}
    ns = {
        attr: obj
        for attr, obj in vars(p.cls).items()
        if attr in keep or (kfunc_of(obj) is None and attr not in ("__dict__", "__weakref__"))
    }
    ordered = ",".join(n for n in table if n in names)
    cls = type(f"{p.cls.__name__}:{ordered}", (), ns)
    return replace(p, cls=cls, notes=f"{p.notes}; only {ordered}".lstrip("; "))


def parse_variant(spec: str) -> Variant:
    """``TREE+PATCH+...`` -> Variant; unknown names and misapplied patches are errors
    (:class:`UnknownNameError`, :class:`PatchDoesNotApply`), each one line."""
    if not isinstance(spec, str) or not spec.strip():
        raise UnknownName("empty variant name")
    spec = spec.strip()
    if spec in _VARIANTS:
        return _VARIANTS[spec]
    if not spec.isprintable():
        raise UnknownName(f"malformed variant {spec!r}: a variant name is printable text (TREE+PATCH+...)")
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
    for part in parts[1:]:
        pname, colon, only = part.partition(":")
        if pname not in ps:
            raise UnknownName(f"unknown patch '{pname}'" + _closest(pname, list(ps)))
        p = ps[pname]
        if pname in (c.name for c in chosen):
            raise UnknownName(f"patch '{pname}' appears twice in '{spec}'")
        if base not in p.applies_to:
            raise PatchDoesNotApply(
                f"patch '{pname}' does not apply to '{base}' (it applies to {', '.join(p.applies_to)})"
            )
        applied = p.for_base(base)
        if colon:
            applied = restrict(applied, only)
        chosen.append(applied)
        base = f"{base}+{pname}"
    bases = tuple(p.cls for p in reversed(chosen)) + (tree.cls,)
    cls = type(spec, bases, {"VARIANT_NAME": spec}) if chosen else tree.cls
    v = Variant(spec, tree, tuple(chosen), cls)
    _VARIANTS[spec] = v
    return v


# -- what a token says of a variant's patches (kernel_port/replaytoken.py) --------------------

_MSGID = re.compile(r"<?([^\s<>@]+@[^\s<>@]+)>?")
_SHA = re.compile(r"[0-9a-f]{12,40}")


def link_of(upstream: str, link: str) -> str:
    """A URL for a patch: its upstream commit, else its mail (a message-id on lore), else the
    link as the patch module gives it."""
    link = link.strip()
    if link.startswith(("https://", "http://")):
        return link
    if upstream and _SHA.fullmatch(upstream):
        return f"https://git.kernel.org/torvalds/c/{upstream[:12]}"
    m = _MSGID.fullmatch(link)
    if m and "/" not in m.group(1):
        return f"https://lore.kernel.org/r/{m.group(1)}"
    return link


def patch_info(variant: str) -> list[PatchInfo]:
    """(name, title, link) of each patch named in ``variant`` that this checkout has."""
    try:
        known = patches()
    except Exception:  # a broken patch module is reported elsewhere; the token just says less
        return []
    out: list[PatchInfo] = []
    for part in variant.split("+")[1:]:
        name = part.split(":", 1)[0]
        p = known.get(name)
        if p is not None:
            out.append((p.name, p.title, link_of(p.upstream, p.link)))
    return out
