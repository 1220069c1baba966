# SPDX-License-Identifier: GPL-2.0-only
"""An argv-level fuzz of the whole ``kport`` command line: 10,000 Hypothesis-drawn command lines.

Every subcommand (list, check, replay, matrix, explain, source, cover, simulate), every option,
good and hostile values (tests/clifuzz.py has the grammar, the harness and what counts as a
problem: an exception escaping ``main()``, a traceback on stderr, an undocumented exit status,
a usage error that is not exactly one line, a raw escape character echoed).  Nothing stops the
run: every case is counted, and the first 20 problems are kept with their command lines.

Run:  python bench/cli_fuzz.py [--cases N] [--seed S]
Writes bench/results/cli_fuzz.{json,md}.  Exits 1 if any case had a problem.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.clifuzz import environment, fuzz  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=10_000, help="command lines to run (default 10,000)")
    ap.add_argument("--seed", type=int, default=21, help="Hypothesis seed (default 21, the issue's number)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kport-cli-fuzz-") as tmp:
        stats = fuzz(args.cases, Path(tmp), seed=args.seed)
    doc: dict[str, Any] = {
        "bench": "cli_fuzz",
        "command": f"python bench/cli_fuzz.py --cases {args.cases} --seed {args.seed}",
        "environment": environment(),
        "cases": stats.cases,
        "seconds": round(stats.seconds, 1),
        "tracebacks": stats.tracebacks,
        "cases_with_problems": stats.problems,
        "exit_statuses": {str(k): v for k, v in sorted(stats.codes.items(), key=lambda kv: str(kv[0]))},
        "commands": dict(stats.commands.most_common()),
        "examples": stats.examples,
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "cli_fuzz.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    env = doc["environment"]
    cmds = stats.commands
    known = ["list", "check", "replay", "matrix", "explain", "source", "cover", "simulate"]
    other = sum(v for k, v in cmds.items() if k not in known)
    lines = [
        "# kport command line: argv-level fuzz (Hypothesis)",
        "",
        f"Python {env['python']}, {env['platform']}; `{doc['command']}`; "
        f"{stats.cases:,} command lines in {stats.seconds:.0f} s (in-process, one Python process).",
        "",
        f"**Tracebacks: {stats.tracebacks}.  Cases with any problem: {stats.problems}.**  "
        "(A problem: an exception escaping `main()`, a traceback on stderr, an exit status outside "
        "0-4, a usage error that is not exactly one line starting with `kport`, a raw escape "
        "character echoed.)",
        "",
        "| exit status | cases |",
        "|---|---|",
        *(f"| {k} | {v:,} |" for k, v in doc["exit_statuses"].items()),
        "",
        "| command | cases |",
        "|---|---|",
        *(f"| {k} | {cmds.get(k, 0):,} |" for k in known),
        f"| (no command, unknown, --help) | {other:,} |",
        "",
        "Grammar and harness: tests/clifuzz.py (every option with good and hostile values: empty",
        "strings, control characters, 3,000-5,000-character names, NaN/inf/1e400, paths that do not",
        "exist or are folders, tokens cut to no choice or carrying escape sequences, stray words).",
        "For speed the explorer is one cached 5-execution search per program, the timed simulation",
        "a canned result (one that raises on v3.10, as the real v3.10 port did in issue 21), and",
        "coverage one canned report; parsing, names, replay, printing, the results store and the",
        "HTML/PNG writers are real.  tests/test_reliability_fuzz.py runs 300 of these in the test",
        "suite (each problem shrunk by Hypothesis).",
    ]
    if stats.examples:
        lines += ["", "## Problems (first 20)", ""]
        for ex in stats.examples:
            lines.append(f"* `{ex['argv']!r}` -> {ex['rc']}: {'; '.join(ex['problems'])}")
    (out / "cli_fuzz.md").write_text("\n".join(lines) + "\n")
    print(
        f"{stats.cases} cases in {stats.seconds:.1f} s: {stats.tracebacks} tracebacks, {stats.problems} with problems"
    )
    return 1 if stats.problems else 0


if __name__ == "__main__":
    sys.exit(main())
