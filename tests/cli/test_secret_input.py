"""Secrets come in through standard input, a file or a prompt, never silently cut (issue 13):
``--password-stdin`` takes one line and refuses anything after it; notes (stored encrypted)
come with ``--notes-stdin`` or ``--notes-file``, and ``--notes TEXT`` on the command line
warns; the two readers of standard input can't be combined."""

from __future__ import annotations

import pytest

PW = "Stdin-test-pw-1111!"
NOTES = "break glass only\nsafe 2, shelf 3\n  keyed by the CFO"


@pytest.fixture
def contoso(cli):
    cli.use_session()
    cli.add_client("Contoso")
    return cli


def _add(cli, *args: str, stdin: str | bytes | None = None):
    return cli.run("cred", "add", "Contoso", "--title", "T", *args, "--json", stdin=stdin)


@pytest.mark.parametrize("given", [PW, PW + "\n", PW + "\r\n"])
def test_password_stdin_takes_one_line_with_or_without_its_line_break(contoso, given) -> None:
    cred = _add(contoso, "--password-stdin", stdin=given)
    assert cred.code == 0, cred
    assert contoso.json("cred", "show", cred.json()["id"], "--reveal")["password"] == PW


@pytest.mark.parametrize(
    "given", [PW + "\nsecond line", PW + "\n\n", PW + "\r\n\r\n", "\n" + PW, PW + "\rmore"]
)
def test_password_stdin_refuses_more_than_one_line(contoso, given) -> None:
    """Before: everything after the first line was dropped without a word."""
    refused = _add(contoso, "--password-stdin", stdin=given)
    assert refused.code == 2, refused
    assert refused.error == (
        "credsync: error: standard input holds more than one line: the password is one line, "
        "with nothing after it (--password-stdin)"
    )
    assert contoso.json("cred", "list", "Contoso") == []
    assert PW not in refused.err


def test_every_password_stdin_refuses_more_than_one_line(contoso) -> None:
    cred = contoso.add_cred("Contoso", "Server", PW)
    for args in (
        ("cred", "set-password", cred["id"], "--password-stdin"),
        ("operator", "add", "bob", "--role", "viewer", "--password-stdin"),
    ):
        refused = contoso.run(*args, stdin="bob-password-12345\nextra\n")
        assert refused.code == 2, (args, refused)
        assert "more than one line" in refused.error
        assert refused.error.endswith("(--password-stdin)")
    refused = contoso.run(
        "key", "rotate", "--new-passphrase-stdin", stdin="a new passphrase\nand more\n"
    )
    assert refused.code == 2, refused
    assert refused.error.endswith("the passphrase is one line, with nothing after it "
                                  "(--new-passphrase-stdin)")  # fmt: skip


def test_notes_from_standard_input_keep_their_lines(contoso) -> None:
    cred = _add(contoso, "--generate", "--notes-stdin", stdin=NOTES + "\n")
    assert cred.code == 0, cred
    assert cred.err == ""
    cid = cred.json()["id"]
    assert contoso.json("cred", "show", cid, "--reveal")["notes"] == NOTES
    edited = contoso.run("cred", "edit", cid, "--notes-stdin", stdin="replaced\r\nnotes\r\n")
    assert edited.code == 0, edited
    assert contoso.json("cred", "show", cid, "--reveal")["notes"] == "replaced\nnotes"
    cleared = contoso.run("cred", "edit", cid, "--notes-stdin", "--json", stdin="")
    assert cleared.json()["has_notes"] is False


def test_notes_from_a_file(contoso, tmp_path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text(NOTES + "\n", encoding="utf-8")
    cred = _add(contoso, "--password-stdin", "--notes-file", str(path), stdin=PW)
    assert cred.code == 0, cred
    cid = cred.json()["id"]
    shown = contoso.json("cred", "show", cid, "--reveal")
    assert (shown["password"], shown["notes"]) == (PW, NOTES)
    path.write_text("new", encoding="utf-8")
    assert contoso.run("cred", "edit", cid, "--notes-file", str(path)).code == 0
    assert contoso.json("cred", "show", cid, "--reveal")["notes"] == "new"
    missing = contoso.run("cred", "edit", cid, "--notes-file", str(tmp_path / "nope"))
    assert missing.code == 2
    assert missing.error.endswith("(--notes-file)")
    assert "cannot read the notes file" in missing.error


def test_notes_on_the_command_line_still_work_with_a_warning(contoso) -> None:
    cred = _add(contoso, "--generate", "--notes", "inline notes")
    assert cred.code == 0, cred
    assert cred.err.startswith("warning: --notes puts the notes on the command line")
    assert "--notes-stdin" in cred.err
    assert "inline notes" not in cred.err
    cid = cred.json()["id"]
    edited = contoso.run("cred", "edit", cid, "--notes", "other notes")
    assert edited.code == 0
    assert "warning: --notes" in edited.err
    cleared = contoso.run("cred", "edit", cid, "--notes", "")  # nothing secret: no warning
    assert cleared.code == 0
    assert cleared.err == ""


def test_two_readers_of_standard_input_are_refused(contoso, tmp_path) -> None:
    both = _add(contoso, "--password-stdin", "--notes-stdin", stdin=PW + "\n" + NOTES)
    assert both.code == 2, both
    assert "--notes-stdin and --password-stdin can't both read standard input" in both.error
    path = tmp_path / "notes.txt"
    path.write_text("x", encoding="utf-8")
    for args in (
        ("--notes", "x", "--notes-stdin"),
        ("--notes-stdin", "--notes-file", str(path)),
    ):
        twice = _add(contoso, "--generate", *args, stdin="x")
        assert twice.code == 2, twice
        assert "choose one of --notes, --notes-stdin and --notes-file" in twice.error
    assert contoso.json("cred", "list", "Contoso") == []


def test_a_refused_note_names_the_flag_it_came_by(contoso) -> None:
    too_long = _add(contoso, "--generate", "--notes-stdin", stdin="n" * 20_001)
    assert too_long.code == 2, too_long
    assert too_long.error.endswith("(--notes-stdin)")
    not_utf8 = _add(contoso, "--generate", "--notes-stdin", stdin=b"\xc3\x28")
    assert not_utf8.code == 2
    assert not_utf8.error.endswith("not valid UTF-8 (--notes-stdin)")
