# SPDX-License-Identifier: GPL-2.0-only
"""``kport patch import FILE``: a patch mail becomes a patch module for the reviewer to finish.

The file (an mbox from lore, ``git format-patch`` output, or a plain unified diff; a series in
one mbox gives one module per patch, each applying on top of the previous one) is read by
kernel_port/patchmail.py.  Every hunk is mapped to the C functions it touches (the hunk header's
function context and the definitions inside the hunk, or, with ``--kernel-tree``, tree-sitter-c
on the user's own checkout before and after the patch).  Then, against the base variant
(``--base``, default v6.17):

* a touched function the base has a port of (a ``@kfunc`` of that name and file) gets an
  override in the new module: a copy of the Python the base runs today, under a marker comment,
  with ``@kfunc`` naming the patch as its version and the post-image line;
* a touched function without a port is listed: the model cannot judge that hunk;
* the kernel scenarios meant for the base's tree run (exhaustive ``dfs``) with the touched
  functions watched (kernel_port/review.py), and those that run them are listed.

Nothing of the patch's C, its comments or its commit message is written into the project: the
module carries the mail's metadata (Subject, From, Date, Message-Id, Fixes:, Link:), the hunk
headers' positions and the Python.  ``kport source FUNCTION --variant V --patch FILE`` shows the
C before and after beside the Python, read from the user's files at run time.

Bad input (not a patch, no modelled file, a hunk that does not apply to the user's tree, or
whose position contradicts the pinned version's line numbers, a name that is taken) is one line
and exit 2, and nothing is written.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import inspect
import json
import os
import re
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine.errors import UsageError
from .patchmail import FileDiff, Hunk, PatchInputError, PatchMail, map_from_headers, map_with_tree, read
from .ports import Port, function_node, ports_of
from .variants import Patch, load_by_path, parse_variant, patches, project_root

_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,59}$")
_TAG = re.compile(r"^v\d+\.\d+")


# -- what the base has ports of ---------------------------------------------------------------------


# -- the import ------------------------------------------------------------------------------------------


@dataclass
class Touch:
    function: str
    file: str
    hunks: list[int]
    port: Port | None


@dataclass
class Imported:
    mail: PatchMail
    name: str
    applies_to: str
    module: Path
    touches: list[Touch] = field(default_factory=list)
    file_scope: list[tuple[str, int]] = field(default_factory=list)  # (file, hunk) outside functions
    unmodelled: list[str] = field(default_factory=list)  # files no port reads
    notes: list[str] = field(default_factory=list)
    text: str = ""

    @property
    def ported(self) -> list[Touch]:
        return [t for t in self.touches if t.port is not None]

    @property
    def unported(self) -> list[Touch]:
        return [t for t in self.touches if t.port is None]


def slug(title: str) -> str:
    words = re.findall(r"[a-z0-9]+", title.lower())
    out = ""
    for w in words:
        if len(out) + len(w) + 1 > 40:
            break
        out = f"{out}-{w}" if out else w
    return out


def module_stem(name: str) -> str:
    stem = re.sub(r"[^a-z0-9_]", "_", name.lower())
    return f"p_{stem}" if stem[:1].isdigit() else stem


def _names_for(mails: list[PatchMail], name: str | None) -> list[str]:
    if name is not None:
        if not _NAME.match(name):
            raise UsageError(f"--name {name!r}: a patch name is lower-case letters, digits, '.' and '-'")
        if len(mails) == 1:
            return [name]
        return [f"{name}-{i}" for i in range(1, len(mails) + 1)]
    out = []
    for m in mails:
        s = slug(m.title)
        if not s:
            raise UsageError(f"{m.source}: the patch has no Subject to name it by: name it with --name NAME")
        out.append(s)
    if len(set(out)) != len(out):
        raise UsageError(f"{mails[0].source}: two patches of the series have the same subject: name them with --name")
    return out


def _pinned_check(h: Hunk, ports: dict[str, Port]) -> None:
    """Without a tree: a hunk whose header names a ported function must sit where the pinned
    version has that function (by the ports' line numbers)."""
    from .patchmail import definition_name

    named = definition_name(h.context) if h.context else None
    if named is None or named not in ports:
        return
    port = ports[named]
    if port.line is None or not _TAG.match(port.version):
        return
    start = h.old_start
    later = sorted(
        p.line for p in ports.values() if p.line is not None and _TAG.match(p.version) and p.line > port.line
    )
    if start < port.line or (later and start >= later[0]):
        nxt = f" and the next ported function at line {later[0]}" if later else ""
        raise PatchInputError(
            f"hunk {h.index} ({h.header}) of {h.file} does not apply to the pinned {port.version}: its header names "
            f"{named}(), which starts at line {port.line} there{nxt}, but the hunk starts at line {start}"
        )


def _map(mail: PatchMail, kernel_tree: Path | None, modelled: set[str], notes: list[str]) -> None:
    for fd in mail.files:
        if fd.binary:
            continue
        path = kernel_tree / fd.path if kernel_tree is not None else None
        if path is not None and not fd.created:
            if not path.is_file():
                if fd.path in modelled:
                    raise PatchInputError(f"--kernel-tree {kernel_tree}: {fd.path} is not in that kernel tree")
                for h in fd.hunks:
                    map_from_headers(h)
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            map_with_tree(fd, text, f"{path}")
            for h in fd.hunks:
                if h.offset:
                    notes.append(f"hunk {h.index} ({h.header}) applies to your tree at an offset of {h.offset} lines")
        else:
            for h in fd.hunks:
                map_from_headers(h)


def plan(
    path: str,
    name: str | None = None,
    base: str = "v6.17",
    kernel_tree: str | None = None,
    out_dir: str | None = None,
) -> list[Imported]:
    """Read and map the patch file, and write nothing: what ``import`` would write."""
    mails = read(path)
    try:
        v = parse_variant(base)
    except UsageError as e:
        raise type(e)(f"--base {base}: {e.one_line()}") from None
    tree = None
    if kernel_tree is not None:
        tree = Path(kernel_tree).expanduser()
        if not tree.is_dir():
            raise UsageError(f"--kernel-tree {kernel_tree}: not a folder")
    ports = ports_of(v)
    names = _names_for(mails, name)
    folder = Path(out_dir).expanduser() if out_dir else project_root() / "patches"
    if not folder.is_dir():
        raise UsageError(f"--output {out_dir}: not a folder")
    known = patches()
    out: list[Imported] = []
    chain = base
    for mail, nm in zip(mails, names, strict=True):
        if nm in known:
            raise UsageError(f"a patch named '{nm}' exists already ({known[nm].title}): choose another --name")
        module = folder / f"{module_stem(nm)}.py"
        if module.exists():
            raise UsageError(f"{module} exists already: choose another --name")
        notes: list[str] = []
        _map(mail, tree, set(ports), notes)
        imp = Imported(mail, nm, chain, module, notes=notes)
        for fd in mail.files:
            if fd.path not in ports:
                imp.unmodelled.append(fd.path)
            for h in fd.hunks:
                if tree is None and fd.path in ports:
                    _pinned_check(h, ports[fd.path])
                if h.file_scope and fd.path in ports:
                    imp.file_scope.append((fd.path, h.index))
                for f in h.functions:
                    t = next((t for t in imp.touches if (t.function, t.file) == (f, fd.path)), None)
                    if t is None:
                        t = Touch(f, fd.path, [], ports.get(fd.path, {}).get(f))
                        imp.touches.append(t)
                    t.hunks.append(h.index)
        if not any(fd.path in ports for fd in mail.files):
            files = ", ".join(fd.path for fd in mail.files)
            if len(mails) == 1:
                raise PatchInputError(
                    f"{path}: a patch for files kernel_port does not model ({files}): nothing to import"
                )
            imp.notes.append(f"touches no modelled file ({files}): not imported")
            continue
        out.append(imp)
        chain = f"{chain}+{nm}"
    if not out:
        raise PatchInputError(f"{path}: no patch of the series touches a file kernel_port models: nothing to import")
    if tree is not None:
        from .source import tree_version

        have = tree_version(tree)
        pinned = getattr(v.tree, "pinned", "") or ""
        if have and base.startswith("v") and not base.startswith(have):
            out[0].notes.append(f"your tree is {have}; the base {base} follows {pinned or base}")
    return out


# -- writing the module ----------------------------------------------------------------------------------


def _free_names(node: ast.FunctionDef) -> list[str]:
    bound = {a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)}
    if node.args.vararg:
        bound.add(node.args.vararg.arg)
    if node.args.kwarg:
        bound.add(node.args.kwarg.arg)
    stored: set[str] = set()
    loads: list[str] = []
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            if isinstance(n.ctx, ast.Store | ast.Del):
                stored.add(n.id)
            elif n.id not in loads:
                loads.append(n.id)
        elif isinstance(n, ast.arg) and n is not node:
            bound.add(n.arg)
    for dec in node.decorator_list:
        for n in ast.walk(dec):
            if isinstance(n, ast.Name) and n.id in loads:
                loads.remove(n.id)
    return [n for n in loads if n not in bound and n not in stored and not hasattr(builtins, n)]


def _import_for(name: str, obj: Any, home: str) -> tuple[str, str] | None:
    """(module, name) to import ``name`` from, or None when it cannot be imported."""
    import kernel_port.engine as engine

    if getattr(engine, name, None) is obj:
        return "kernel_port.engine", name
    mod = getattr(obj, "__module__", None)
    if isinstance(mod, str) and not mod.startswith("kernel_port_") and getattr(sys.modules.get(mod), name, None) is obj:
        return mod, name
    if not home.startswith("kernel_port_"):
        return home, name
    return None


def _const_name(file: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9]", "_", Path(file).name).upper()
    name = base
    if name in taken:
        name = re.sub(r"[^A-Za-z0-9]", "_", file).upper()
    return name


def _decorator(port: Port, node: ast.FunctionDef, const: str, line: int | None) -> str:
    keep = []
    for dec in node.decorator_list:
        if isinstance(dec, ast.Call) and getattr(dec.func, "id", None) == "kfunc":
            for kw in dec.keywords:
                if kw.arg in ("name", "show"):
                    keep.append(f"{kw.arg}={ast.unparse(kw.value)}")
    if line is not None:
        keep.append(f"line={line}")
    return f"@kfunc({const}, V{''.join(', ' + k for k in keep)})"


def _post_line(port: Port, mail: PatchMail) -> int | None:
    if port.line is None:
        return None
    delta = sum(
        h.new_len - h.old_len for fd in mail.files if fd.path == port.file for h in fd.hunks if h.old_start < port.line
    )
    return port.line + delta


def _doc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def _q(value: Any) -> str:
    """A Python literal of ``value`` in double quotes (strings as JSON writes them, which Python reads)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, tuple):
        return "(" + ", ".join(_q(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def _para(text: str, width: int = 96) -> list[str]:
    return textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False) or [""]


def _hunk_line(h: Hunk, fd: FileDiff, ported: set[str]) -> str:
    what = []
    for f in h.functions:
        what.append(f"{f}() ({'overridden below' if f in ported else 'no port'})")
    if h.file_scope:
        what.append("lines outside any function")
    return f"* hunk {h.index}, {fd.path} {h.header}: {', '.join(what) or 'nothing the model reads'}"


def render_module(imp: Imported, base: str, reach: dict[str, list[str]] | None, kernel_tree: bool) -> str:
    mail = imp.mail
    cls = module_stem(imp.name)
    ported = {t.function for t in imp.ported}
    series = mail.series
    where = f"{Path(mail.source).name}" + (f", patch {series[0]}/{series[1]} of a series" if series else "")
    by = ", ".join(x for x in (mail.author, mail.date) if x)
    doc = [
        f"{imp.name}: {mail.title or '(a diff without a subject)'}",
        "",
        *_para(f"Imported by ``kport patch import`` from {where}" + (f"; {by}" if by else "") + "."),
    ]
    if mail.message_id:
        doc.append(f"Message-Id: <{mail.message_id}>.")
    doc += [
        "",
        "Hunks, and the functions they touch (from "
        + ("tree-sitter-c on the kernel tree" if kernel_tree else "the hunk headers")
        + "):",
        "",
    ]
    for fd in mail.files:
        for h in fd.hunks:
            doc.append(_hunk_line(h, fd, ported))
    doc.append("")
    doc += _para(
        "Touched without a port (the model cannot judge these hunks): "
        + (", ".join(f"{t.function}() in {t.file}" for t in imp.unported) or "none")
        + "."
    )
    if imp.unmodelled:
        doc += _para("Files no port models: " + ", ".join(imp.unmodelled) + ".")
    if reach is None:
        doc += _para("Scenarios that run the touched functions: not looked for (--no-scenarios).")
    else:
        reached = [s for s, fs in reach.items() if set(fs) & ported]
        doc += _para(f"Scenarios that run the touched functions on {base}: {', '.join(reached) or 'none'}.")
    doc.append("")
    doc += _para(
        f"Each override below starts as the Python that {imp.applies_to} runs today, under a marker "
        "comment: make it do what its hunk does (``kport source FUNCTION --variant "
        f"{imp.applies_to}+{imp.name} --patch FILE`` shows the C before and after beside the Python), "
        f"then delete the marker.  ``kport review {imp.name}`` names the overrides still unchanged."
    )
    # The overrides
    imports: dict[str, set[str]] = {"kernel_port.engine": {"kfunc"}, "kernel_port.variants": {"Patch"}}
    consts: dict[str, str] = {}
    literals: dict[str, str] = {}
    problems: list[str] = []
    methods: list[str] = []
    taken: set[str] = {"V", "PATCH", cls}
    for t in imp.ported:
        assert t.port is not None
        node, lines = function_node(t.port.fn)
        raw = inspect.unwrap(t.port.fn)
        g = getattr(raw, "__globals__", {})
        for n in _free_names(node):
            if n not in g:
                continue
            src = _import_for(n, g[n], raw.__module__)
            if src is not None:
                imports.setdefault(src[0], set()).add(n)
            elif isinstance(g[n], int | str | float | bool | type(None)):
                literals[n] = _q(g[n])
            else:
                problems.append(f"{n} (from {raw.__module__})")
            taken.add(n)
    for t in imp.ported:
        if t.file not in consts:
            consts[t.file] = _const_name(t.file, taken | set(consts.values()))
    for t in imp.ported:
        assert t.port is not None
        node, lines = function_node(t.port.fn)
        start = node.lineno - 1  # the def line, after the decorators
        body = "\n".join(lines[start:])
        hunks = ", ".join(str(i) for i in t.hunks)
        marker = [
            f"# kport patch import: hunk {hunks} ({t.file}) changes {t.function}(). This is still the",
            f"# Python {imp.applies_to} runs: make it do what the hunk does, then delete these lines.",
        ]
        dec = _decorator(t.port, node, consts[t.file], _post_line(t.port, mail))
        methods.append(textwrap.indent("\n".join([*marker, dec, body]), "    "))
    out = [
        "# SPDX-License-Identifier: GPL-2.0-only",
        f'"""{_doc(chr(10).join(doc))}\n"""',
        "",
        "from __future__ import annotations",
        "",
    ]
    for mod in sorted(imports, key=lambda m: (m != "typing", m)):
        out.append(f"from {mod} import {', '.join(sorted(imports[mod]))}")
    out.append("")
    for file, const in consts.items():
        out.append(f"{const} = {_q(file)}")
    for n, val in sorted(literals.items()):
        out.append(f"{n} = {val}")
    out.append(f"V = {_q(imp.name)}")
    if problems:
        out.append("# Names the copied Python uses that could not be imported here; import them by hand:")
        out += [f"#   {p}" for p in problems]
    out += ["", "", f"class {cls}:", f'    """The functions {imp.name} changes ({len(methods)} override(s))."""', ""]
    out.append("\n\n".join(methods) if methods else "    pass")
    kind = "RFC" if mail.rfc else "patch"
    fields = [
        f"name={_q(imp.name)}",
        f"cls={cls}",
        f"title={_q(mail.title or imp.name)}",
        f"author={_q(mail.author)}",
        f"date={_q(mail.date)}",
        f"kind={_q(kind)}",
        f"applies_to={_q((imp.applies_to,))}",
    ]
    if mail.commit:
        fields.append(f"upstream={_q(mail.commit)}")
    link = mail.links[0] if mail.links else mail.message_id
    if link:
        fields.append(f"link={_q(link)}")
    if mail.fixes:
        fields.append(f"fixes={_q('; '.join(mail.fixes))}")
    fields.append(f"notes={_q('imported by kport patch import from ' + Path(mail.source).name)}")
    out += ["", "", "PATCH = Patch(", *[f"    {f}," for f in fields], ")", ""]
    return "\n".join(out)


def scenarios_reaching(base: str, functions: list[str], names: list[str]) -> dict[str, list[str]]:
    """Kernel scenarios meant for ``base``'s tree that run any of ``functions`` on it."""
    from .review import candidates, run_scenario

    out: dict[str, list[str]] = {}
    if not functions:
        return out
    for sc in candidates(base, [], names):
        c = run_scenario(sc, base, functions)
        if c.reached:
            out[sc.name] = c.reached
    return out


def import_patch(args: argparse.Namespace) -> tuple[list[Imported], dict[str, list[str]]]:
    plans = plan(args.file, args.name, args.base, args.kernel_tree, args.output)
    funcs = sorted({t.function for imp in plans for t in imp.ported})
    reach = {} if args.no_scenarios else scenarios_reaching(args.base, funcs, args.scenario)
    for imp in plans:
        imp.text = render_module(imp, args.base, None if args.no_scenarios else reach, args.kernel_tree is not None)
    if not args.dry_run:
        _write_checked(plans)
    return plans, reach


def _write_checked(plans: list[Imported]) -> None:
    """Load each module from a scratch folder first (it must define PATCH), then write them all."""
    with tempfile.TemporaryDirectory() as tmp:
        for imp in plans:
            scratch = Path(tmp) / imp.module.name
            scratch.write_text(imp.text, encoding="utf-8")
            mod = load_by_path(scratch, "kernel_port_import_check")
            if not isinstance(getattr(mod, "PATCH", None), Patch):
                raise UsageError(f"internal: the module written for {imp.name} defines no PATCH")
            sys.modules.pop(mod.__name__, None)
    for imp in plans:
        tmpfile = imp.module.with_name(imp.module.name + ".tmp")
        tmpfile.write_text(imp.text, encoding="utf-8")
        os.replace(tmpfile, imp.module)
    import kernel_port.variants as variants_mod

    variants_mod._PATCHES = None  # the new patches are known from now on
    variants_mod._VARIANTS.clear()


def _rel(p: Path) -> str:
    """``p`` relative to the working directory when it is under it, else as it is."""
    try:
        rel = os.path.relpath(p)
    except ValueError:
        return str(p)
    return str(p) if rel.startswith("..") else rel


def render_report(plans: list[Imported], reach: dict[str, list[str]], args: argparse.Namespace) -> str:
    n = len(plans)
    out = [f"kport patch import {Path(args.file).name}: {n} patch{'es' if n != 1 else ''}"]
    for imp in plans:
        m = imp.mail
        out.append("")
        out.append(f"{imp.name}: {m.title or '(no subject)'}")
        meta = [x for x in (m.author and f"From: {m.author}", m.date and f"Date: {m.date}") if x]
        if m.message_id:
            meta.append(f"Message-Id: <{m.message_id}>")
        if meta:
            out.append("  " + "; ".join(meta))
        for f in m.fixes:
            out.append(f"  Fixes: {f}")
        for link in m.links:
            out.append(f"  Link: {link}")
        out.append(f"  applies to {imp.applies_to}")
        ported = {t.function for t in imp.ported}
        for fd in m.files:
            for h in fd.hunks:
                out.append("  " + _hunk_line(h, fd, ported)[2:])
        out.append(
            "  touched functions without a port (the model cannot judge these hunks): "
            + (", ".join(f"{t.function}() in {t.file}" for t in imp.unported) or "none")
        )
        for file, hunk in imp.file_scope:
            out.append(f"  hunk {hunk} of {file} also changes lines outside any function: not modelled")
        if imp.unmodelled:
            out.append("  files no port models: " + ", ".join(imp.unmodelled))
        for note in imp.notes:
            out.append(f"  note: {note}")
    out.append("")
    if args.no_scenarios:
        out.append("scenarios that run the touched functions: not looked for (--no-scenarios)")
    else:
        out.append(f"scenarios that run the touched functions on {args.base}:")
        for s, fs in reach.items():
            out.append(f"  {s}: {', '.join(f + '()' for f in fs)}")
        if not reach:
            out.append("  none: no scenario can say anything about this patch yet")
    out.append("")
    for imp in plans:
        verb = "would write" if args.dry_run else "wrote"
        out.append(
            f"{verb} {_rel(imp.module)}: {len(imp.ported)} override(s), each still {imp.applies_to}'s Python "
            "under a marker comment"
        )
    first = plans[0]
    if first.ported:
        f = first.ported[0].function
        out.append(
            f"next: kport source {f} --variant {first.applies_to}+{first.name} --patch {args.file}; "
            f"edit the overrides; kport review {first.name}; kport ablate {first.name}"
        )
    return "\n".join(out) + "\n"


def to_json(plans: list[Imported], reach: dict[str, list[str]], args: argparse.Namespace) -> dict[str, Any]:
    return {
        "written": not args.dry_run,
        "base": args.base,
        "scenarios_reaching": reach,
        "patches": [
            {
                "name": imp.name,
                "module": _rel(imp.module),
                "applies_to": imp.applies_to,
                "metadata": imp.mail.metadata(),
                "hunks": [
                    {
                        "index": h.index,
                        "file": fd.path,
                        "header": h.header,
                        "functions": h.functions,
                        "file_scope": h.file_scope,
                    }
                    for fd in imp.mail.files
                    for h in fd.hunks
                ],
                "overrides": [t.function for t in imp.ported],
                "no_port": [{"function": t.function, "file": t.file} for t in imp.unported],
                "files_not_modelled": imp.unmodelled,
                "notes": imp.notes,
            }
            for imp in plans
        ],
    }


def cmd_patch(args: argparse.Namespace) -> int:
    if args.patch_cmd != "import":
        raise UsageError("kport patch: the subcommand is 'import'")
    plans, reach = import_patch(args)
    if args.json:
        print(json.dumps(to_json(plans, reach, args), indent=2, sort_keys=True))
    else:
        print(render_report(plans, reach, args), end="")
    return 0
