# SPDX-License-Identifier: GPL-2.0-only
"""Counterexamples a maintainer can paste into a mail (issue 20).

Tokens: a kp3 token re-wrapped by a mail client and quoted in a reply replays byte for byte;
a token whose patch the receiver lacks names the patch, its title and link and how to get it.
(Diagrams and their replay tests are further down.)
"""

from __future__ import annotations

import io

import pytest

from kernel_port.cli import main
from kernel_port.engine.explorer import check
from kernel_port.engine.token import Schedule, parse
from kernel_port.scenario import program


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def quoted(token: str, width: int = 60) -> str:
    """The token as a mail reply shows it: cut into lines of ``width`` columns, quoted."""
    w = width - 2
    return "\n".join("> " + token[i : i + w] for i in range(0, len(token), w))


@pytest.fixture(scope="module")
def tokens() -> dict[str, str]:
    out = {}
    for name, variant in (
        ("irq_work.lost-self-ipi", "v6.17"),
        ("smp.lost-ipi-waiter", "v6.17"),
        ("irq_work.tick-kick-lockup", "pre-76a33061+76a33061+herton-rfc"),
    ):
        r = check(program(name, variant))
        assert r.verdict == "bug" and r.token
        out[name] = r.token
    return out


def test_a_rewrapped_quoted_token_replays_byte_identically(
    tokens: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for tok in tokens.values():
        rc, want, err = run(capsys, "replay", tok)
        assert rc == 1 and err == ""
        mail = quoted(tok, 60)
        assert ("\n> " in mail) == (len(tok) > 58) and all(len(line) <= 60 for line in mail.splitlines())
        rc2, got, err2 = run(capsys, "replay", mail)
        assert (rc2, got, err2) == (rc, want, "")
        monkeypatch.setattr("sys.stdin", io.StringIO("> \n" + quoted(tok, 23).replace("\n", "\n> ") + "\n"))
        rc3, got3, _ = run(capsys, "replay", "-")  # pasted on stdin, quoted twice
        assert (rc3, got3) == (rc, want)


def test_tokens_are_short(tokens: dict[str, str]) -> None:
    for tok in tokens.values():
        assert tok.startswith("kp3:") and len(tok) < 400


def test_missing_patch_is_named_with_title_link_and_how_to_get_it(capsys: pytest.CaptureFixture[str]) -> None:
    info = [("frob-fix", "irq_work: frobnicate the raised list", "https://lore.kernel.org/r/20260101.1-1-x@y.org")]
    tok = Schedule("irq_work.lost-self-ipi", "v6.17+frob-fix", 1, [0, 0], patches=info).token()
    rc, out, err = run(capsys, "replay", tok)
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1
    for words in ("frob-fix", "irq_work: frobnicate the raised list", "https://lore.kernel.org/r/", "git pull"):
        assert words in err
    # A token with no patch information (kp2, or a patch the writer lacked) still names it.
    rc, _, err = run(capsys, "replay", Schedule("irq_work.lost-self-ipi", "v6.17+frob-fix", 1, [0]).token_kp2())
    assert rc == 2 and "frob-fix" in err and "git pull" in err


def test_tokens_name_their_patches() -> None:
    r = check(program("irq_work.tick-kick-lockup", "pre-76a33061+76a33061+herton-rfc"))
    s = parse(r.token or "")
    assert [p[0] for p in s.patches or []] == ["76a33061", "herton-rfc"]
    assert s.patches and s.patches[0][2] == "https://git.kernel.org/torvalds/c/76a33061b932"


def test_changed_code_is_noted(capsys: pytest.CaptureFixture[str], tokens: dict[str, str]) -> None:
    s = parse(tokens["smp.lost-ipi-waiter"])
    s.label_crc = (s.label_crc or 0) ^ 1  # as if recorded from other code
    rc, out, _ = run(capsys, "replay", s.token())
    assert rc == 1 and "Note: the steps this replay ran differ from those the token was recorded with" in out
