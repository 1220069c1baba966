# SPDX-License-Identifier: GPL-2.0-only
"""Reading a patch as a reviewer receives it: a mail from lore (mbox), ``git format-patch``
output, or a plain unified diff; several patches of a series in one mbox.

:func:`read` returns one :class:`PatchMail` per patch that carries a diff (a cover letter,
``[PATCH 0/N]``, carries none and is left out), in the order of the file.  Each has the mail's
metadata (Subject without its ``[PATCH ...]`` prefix, From, Date, Message-Id, the ``Fixes:`` and
``Link:`` tags of the commit message, the commit id of a format-patch ``From <sha>`` line) and
its files and hunks.  Nothing of the mail's text is kept beyond that metadata: the diff lines
are held in memory to be shown beside the port at run time, never written into the project.

:func:`map_hunks` says which C functions each hunk touches.  From the diff alone it reads the
hunk header's function context (git's ``@@ ... @@ FUNCTION``) and the definitions that start
inside the hunk; with the user's kernel tree it parses the file before and after the patch with
tree-sitter-c and maps every removed and added line to the function that holds it.  With a tree
it also checks that each hunk applies (its context and removed lines are in the file, at its
line or nearby, as patch(1) allows), and :func:`apply` gives the patched file's text.

Bad input is a :class:`PatchInputError` (exit 2, one line): a file that is no patch, a hunk
whose line counts do not match its header, a hunk that does not apply to the tree.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine.errors import UsageError


class PatchInputError(UsageError):
    """The patch file cannot be used as given (exit 2)."""


# An mbox "From_" line: "From <sender or sha> <asctime date>".
_FROM_LINE = re.compile(r"^From \S+ +\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}\s*$")
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")
_HEADER = re.compile(r"^[A-Za-z][A-Za-z0-9-]*: ")
_SHA = re.compile(r"^[0-9a-f]{40}$")
# A C function definition's first line, as git's default funcname heuristic finds one (a line
# starting at column 0 with an identifier) and narrowed to what opens a function: a name and '('.
_DEF = re.compile(
    r"^(?!(?:typedef|struct|union|enum|return|if|for|while|switch|do|else)\b)[A-Za-z_][^;=#]*?\b([A-Za-z_]\w*)\s*\("
)
_C_KEYWORDS = frozenset(
    ["if", "for", "while", "switch", "return", "sizeof", "typeof", "do", "else", "case", "goto", "defined", "asm"]
)


@dataclass
class Hunk:
    file: str  # the path in the tree (the post-image's, without a/ b/)
    old_start: int
    old_len: int
    new_start: int
    new_len: int
    context: str  # the text after the second @@: git's function context
    lines: list[tuple[str, str]]  # (tag, text): tag ' ' context, '-' removed, '+' added
    where: int  # line of the patch file where the hunk starts
    index: int = 0  # 1-based, over the whole patch
    functions: list[str] = field(default_factory=list)  # the C functions it changes, in order
    file_scope: bool = False  # it also changes lines outside any function
    offset: int = 0  # where it applied in the user's tree, relative to old_start

    @property
    def header(self) -> str:
        return f"@@ -{self.old_start},{self.old_len} +{self.new_start},{self.new_len} @@"

    def old_text(self) -> list[str]:
        return [t for tag, t in self.lines if tag != "+"]

    def new_text(self) -> list[str]:
        return [t for tag, t in self.lines if tag != "-"]

    def numbered(self) -> list[tuple[str, int, int, str]]:
        """(tag, old line, new line, text) for every line; an added line's old line is the line
        it goes before, a removed line's new line the line it was before."""
        out = []
        o, n = self.old_start, self.new_start
        for tag, text in self.lines:
            out.append((tag, o, n, text))
            if tag != "+":
                o += 1
            if tag != "-":
                n += 1
        return out


@dataclass
class FileDiff:
    old_path: str
    new_path: str
    hunks: list[Hunk] = field(default_factory=list)
    binary: bool = False

    @property
    def path(self) -> str:
        return self.new_path if self.new_path != "/dev/null" else self.old_path

    @property
    def created(self) -> bool:
        return self.old_path == "/dev/null"

    @property
    def deleted(self) -> bool:
        return self.new_path == "/dev/null"


@dataclass
class PatchMail:
    source: str  # the file it was read from
    subject: str = ""
    title: str = ""  # the subject without its [PATCH ...] prefix
    tags: list[str] = field(default_factory=list)  # what the prefix said: PATCH, RFC, v2, 3/5
    author: str = ""
    email: str = ""
    date: str = ""  # YYYY-MM-DD
    message_id: str = ""
    commit: str = ""  # a format-patch "From <sha>" line's commit id
    fixes: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    files: list[FileDiff] = field(default_factory=list)

    @property
    def hunks(self) -> list[Hunk]:
        return [h for f in self.files for h in f.hunks]

    @property
    def rfc(self) -> bool:
        return any(t.upper() == "RFC" for t in self.tags)

    @property
    def series(self) -> tuple[int, int] | None:
        for t in self.tags:
            m = re.fullmatch(r"(\d+)/(\d+)", t)
            if m:
                return int(m.group(1)), int(m.group(2))
        return None

    def metadata(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "title": self.title,
            "author": self.author,
            "email": self.email,
            "date": self.date,
            "message_id": self.message_id,
            "commit": self.commit,
            "fixes": list(self.fixes),
            "links": list(self.links),
            "rfc": self.rfc,
            "series": list(self.series) if self.series else None,
        }


# -- reading ---------------------------------------------------------------------------------------


def read(path: str | Path) -> list[PatchMail]:
    """Every patch with a diff in the file at ``path``, in order (see the module docstring)."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise PatchInputError(f"{path}: is a folder (name a patch file)")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise PatchInputError(f"{path}: cannot be read: {e.strerror or e}") from None
    if b"\0" in data:
        raise PatchInputError(f"{path}: not a patch (a binary file)")
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
    return parse(text, str(path))


def parse(text: str, source: str = "<patch>") -> list[PatchMail]:
    lines = text.split("\n")
    chunks = _split_mbox(lines)
    out: list[PatchMail] = []
    for start, chunk in chunks:
        mail = _parse_one(chunk, start, source)
        if mail.files:
            out.append(mail)
    if not out:
        raise PatchInputError(f"{source}: not a patch (no unified diff in it: no '@@ -N,N +N,N @@' hunk)")
    return out


def _split_mbox(lines: list[str]) -> list[tuple[int, list[str]]]:
    """(first line number, lines) of each message; a file without mbox From_ lines is one."""
    starts = [i for i, ln in enumerate(lines) if _FROM_LINE.match(ln) and (i == 0 or not lines[i - 1].strip())]
    if not starts:
        return [(1, lines)]
    bounds = [*starts, len(lines)]
    out = []
    if starts[0] > 0 and any(ln.strip() for ln in lines[: starts[0]]):
        out.append((1, lines[: starts[0]]))
    for a, b in itertools.pairwise(bounds):
        out.append((a + 1, lines[a:b]))
    return out


def _parse_one(lines: list[str], first: int, source: str) -> PatchMail:
    mail = PatchMail(source=source)
    body_start = 0
    if lines and _FROM_LINE.match(lines[0]):
        sha = lines[0].split()[1]
        if _SHA.match(sha) and set(sha) != {"0"}:
            mail.commit = sha
        lines = lines[1:]
        first += 1
    if lines and _HEADER.match(lines[0]):
        # Mail headers up to the first blank line.
        end = next((i for i, ln in enumerate(lines) if not ln.strip()), len(lines))
        raw = "\n".join(lines[:end]) + "\n\n"
        msg = email.message_from_string(raw, policy=email.policy.default)
        _headers(mail, msg)
        body_start = end + 1
        body = lines[body_start:]
        if _transfer_encoded(msg) or msg.is_multipart():
            # Decode the whole message and read its text/plain part.
            full = email.message_from_string("\n".join(lines) + "\n", policy=email.policy.default)
            part = full.get_body(preferencelist=("plain",)) if hasattr(full, "get_body") else None
            if part is not None:
                try:
                    body = str(part.get_content()).replace("\r\n", "\n").split("\n")
                except (LookupError, ValueError):
                    pass
    else:
        body = lines
    body = _in_body_headers(mail, body)
    _tags(mail, body)
    mail.files = _diff(body, first + body_start, source)
    return mail


def _transfer_encoded(msg: Any) -> bool:
    cte = str(msg.get("Content-Transfer-Encoding", "")).lower()
    return cte in ("quoted-printable", "base64")


def _headers(mail: PatchMail, msg: Any) -> None:
    subject = " ".join(str(msg.get("Subject", "")).split())
    mail.subject = subject
    mail.title, mail.tags = _clean_subject(subject)
    name, addr = email.utils.parseaddr(str(msg.get("From", "")))
    mail.author, mail.email = name or addr, addr
    mail.date = _date(str(msg.get("Date", "")))
    mail.message_id = str(msg.get("Message-Id", "") or msg.get("Message-ID", "")).strip().strip("<>")


def _in_body_headers(mail: PatchMail, body: list[str]) -> list[str]:
    """git send-email puts the real author in the body ("From: ...", then a blank line)."""
    i = 0
    while i < len(body) and not body[i].strip():
        i += 1
    j = i
    seen = {}
    while j < len(body) and re.match(r"^(From|Date|Subject): ", body[j]):
        key, _, value = body[j].partition(": ")
        seen[key] = value.strip()
        j += 1
    if not seen or (j < len(body) and body[j].strip()):
        return body
    if "From" in seen:
        name, addr = email.utils.parseaddr(seen["From"])
        mail.author, mail.email = name or addr, addr
    if "Date" in seen:
        mail.date = _date(seen["Date"]) or mail.date
    if "Subject" in seen:
        mail.subject = " ".join(seen["Subject"].split())
        mail.title, mail.tags = _clean_subject(mail.subject)
    return body[j:]


def _clean_subject(subject: str) -> tuple[str, list[str]]:
    tags: list[str] = []
    rest = subject
    while True:
        m = re.match(r"^\s*(?:(?:Re|RE|Fwd):\s*)?\[([^\]]*)\]\s*", rest)
        if not m:
            break
        tags += m.group(1).split()
        rest = rest[m.end() :]
    return rest.strip(), tags


def _date(text: str) -> str:
    if not text.strip():
        return ""
    try:
        return email.utils.parsedate_to_datetime(text).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return ""


def _tags(mail: PatchMail, body: list[str]) -> None:
    """Fixes: and Link: tags of the commit message (above the '---' line or the diff)."""
    for ln in body:
        if ln.rstrip() == "---" or ln.startswith(("diff --git ", "--- ", "Index: ")):
            break
        m = re.match(r"^\s*Fixes:\s*(.+?)\s*$", ln)
        if m:
            mail.fixes.append(m.group(1))
        m = re.match(r"^\s*(?:Link|Closes):\s*(\S+)", ln)
        if m:
            mail.links.append(m.group(1))


def _strip_prefix(path: str) -> str:
    path = path.split("\t")[0].strip()
    if path != "/dev/null" and re.match(r"^[ab]/", path):
        return path[2:]
    return path


def _diff(body: list[str], first: int, source: str) -> list[FileDiff]:
    files: list[FileDiff] = []
    cur: FileDiff | None = None
    git_header = False  # a "diff --git" line was read, its "---"/"+++" lines not yet
    i = 0
    n = len(body)
    while i < n:
        ln = body[i]
        if ln.startswith("diff --git "):
            m = re.match(r"^diff --git (\S+) (\S+)", ln)
            a, b = (m.group(1), m.group(2)) if m else ("", "")
            cur = FileDiff(_strip_prefix(a), _strip_prefix(b))
            files.append(cur)
            git_header = True
            i += 1
            continue
        if ln.startswith("Binary files ") and cur is not None:
            cur.binary = True
        if ln.startswith("--- ") and i + 1 < n and body[i + 1].startswith("+++ "):
            old, new = _strip_prefix(ln[4:]), _strip_prefix(body[i + 1][4:])
            if cur is not None and git_header:
                cur.old_path, cur.new_path = old, new  # the names after "diff --git" are the same
            else:
                cur = FileDiff(old, new)  # a plain diff -u: each pair starts a file
                files.append(cur)
            git_header = False
            i += 2
            continue
        m = _HUNK.match(ln)
        if m and cur is not None:
            git_header = False
            hunk, i = _hunk(body, i, m, cur.path, first, source)
            cur.hunks.append(hunk)
            continue
        if m and cur is None:
            raise PatchInputError(f"{source}:{first + i}: a hunk with no '--- a/FILE' / '+++ b/FILE' lines before it")
        i += 1
    k = 0
    for f in files:
        for h in f.hunks:
            k += 1
            h.index = k
    return [f for f in files if f.hunks or f.binary]


def _hunk(body: list[str], i: int, m: re.Match[str], path: str, first: int, source: str) -> tuple[Hunk, int]:
    old_start, new_start = int(m.group(1)), int(m.group(3))
    old_len = int(m.group(2)) if m.group(2) is not None else 1
    new_len = int(m.group(4)) if m.group(4) is not None else 1
    hunk = Hunk(path, old_start, old_len, new_start, new_len, m.group(5).strip(), [], first + i)
    o = nw = 0
    j = i + 1
    while o < old_len or nw < new_len:
        if j >= len(body):
            raise PatchInputError(
                f"{source}:{first + i}: hunk {hunk.header} of {path} ends early "
                f"({o} of {old_len} old and {nw} of {new_len} new lines)"
            )
        ln = body[j]
        tag, text = (ln[:1], ln[1:]) if ln else (" ", "")
        if tag == "\\":
            j += 1
            continue
        if tag not in " -+":
            raise PatchInputError(
                f"{source}:{first + j}: hunk {hunk.header} of {path}: line {j - i} is not a context, '-' or '+' "
                f"line ({o} of {old_len} old and {nw} of {new_len} new lines read)"
            )
        hunk.lines.append((tag, text))
        if tag != "+":
            o += 1
        if tag != "-":
            nw += 1
        if o > old_len or nw > new_len:
            raise PatchInputError(
                f"{source}:{first + j}: hunk {hunk.header} of {path} has more lines than its header says"
            )
        j += 1
    while j < len(body) and body[j].startswith("\\"):
        j += 1
    return hunk, j


# -- which functions a hunk touches -----------------------------------------------------------------


def definition_name(line: str) -> str | None:
    """The function a line of C opens, if it is a definition's first line (git's heuristic:
    starts at column 0 with an identifier), else None."""
    if not line or line[0].isspace() or line.rstrip().endswith(";"):
        return None
    m = _DEF.match(line)
    if m is None or m.group(1) in _C_KEYWORDS:
        return None
    return m.group(1)


def map_from_headers(h: Hunk) -> None:
    """Fill ``h.functions`` from the hunk itself: the function named by its header, and any
    definition that starts inside it; a line at column 0 that closes a brace leaves the function."""
    cur = definition_name(h.context) if h.context else None
    found: list[str] = []
    scope = False
    for tag, text in h.lines:
        name = definition_name(text)
        if name is not None:
            cur = name
        if tag != " ":
            if cur is None:
                if text.strip():
                    scope = True
            elif cur not in found:
                found.append(cur)
        if text.startswith("}"):
            cur = None
    h.functions, h.file_scope = found, scope


@dataclass
class CFunc:
    name: str
    first: int  # 1-based lines, inclusive
    last: int


def c_functions(text: str) -> list[CFunc]:
    """Every function definition of a C file (tree-sitter-c), by line range."""
    from .source import _declared_name, _parser

    src = text.encode()
    tree = _parser().parse(src)
    out = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "function_definition":
            name = _declared_name(node)
            if name:
                out.append(CFunc(name, node.start_point[0] + 1, node.end_point[0] + 1))
            continue
        stack.extend(reversed(node.children))
    return sorted(out, key=lambda f: f.first)


def _norm(s: str) -> str:
    return " ".join(s.split())


def locate(h: Hunk, lines: list[str], after: int = 0, fuzz: int = 300) -> int | None:
    """Where the hunk's old lines are in ``lines`` (0-based index of its first line), searching
    outward from its header's line as patch(1) does; whitespace is compared loosely (mail
    clients change it).  None when they are nowhere near."""
    old = [_norm(t) for t in h.old_text()]
    want = max(h.old_start - 1, 0) if h.old_len else h.old_start
    norm = [_norm(t) for t in lines]

    def at(k: int) -> bool:
        return k >= after and k + len(old) <= len(norm) and norm[k : k + len(old)] == old

    for d in range(fuzz + 1):
        for k in (want + d, want - d) if d else (want,):
            if at(k):
                return k
    return None


def apply(text: str, hunks: list[Hunk], where: str) -> str:
    """``text`` (one file) with ``hunks`` applied; sets each hunk's ``offset``.  A hunk whose
    old lines are not found is a :class:`PatchInputError` naming ``where``."""
    lines = text.split("\n")
    out: list[str] = []
    pos = 0
    for h in hunks:
        k = locate(h, lines, after=pos)
        if k is None:
            raise PatchInputError(
                f"hunk {h.index} ({h.header}) does not apply to {where}: its context and removed lines "
                f"are not at line {h.old_start} or nearby"
            )
        h.offset = k - (h.old_start - 1 if h.old_len else h.old_start)
        out += lines[pos:k]
        out += h.new_text()
        pos = k + len(h.old_text())
    out += lines[pos:]
    return "\n".join(out)


def map_with_tree(fd: FileDiff, old_text: str, where: str) -> str:
    """Fill each hunk's ``functions`` from the C file before and after the patch (tree-sitter-c);
    returns the patched text.  The hunks must apply (:func:`apply`)."""
    new_text = apply(old_text, fd.hunks, where)
    before, after = c_functions(old_text), c_functions(new_text)

    def holder(funcs: list[CFunc], line: int) -> str | None:
        for f in funcs:
            if f.first <= line <= f.last:
                return f.name
        return None

    for h in fd.hunks:
        found: list[str] = []
        scope = False
        for tag, o, nw, text in h.numbered():
            if tag == " ":
                continue
            name = holder(before, o + h.offset) if tag == "-" else holder(after, nw + h.offset)
            if name is None:
                if text.strip():
                    scope = True
            elif name not in found:
                found.append(name)
        h.functions, h.file_scope = found, scope
    return new_text
