"""A refused input names the command's flag: the service says which field (``InvalidInput.field``),
the CLI which of its flags that is (``credsync.cli.fields``); an error without a field prints
its message alone, as before."""

from __future__ import annotations

import click
import pytest

from credsync.cli.fields import describe, flag_names, flag_of, flags_of
from credsync.errors import InvalidInput, NotFound

PW = "Fields-test-pw-2222!"


@click.command("demo")
@click.argument("query", nargs=-1)
@click.option("--tenant-id")
@click.option("--client-id")
@click.option("--push-cap", type=int)
@click.option("--tag", "tags", multiple=True)
@click.option("--label", multiple=True)
@click.option("--type", "type_")
@click.option("--password-stdin", is_flag=True)
@click.option("--password-file")
@flag_names(app_id="--client-id")
def _demo(**_: object) -> None:
    """A command with flags of every kind the lookup knows."""


def _ctx(*args: str) -> click.Context:
    return _demo.make_context("demo", list(args))


@pytest.mark.parametrize(
    ("field", "flag"),
    [
        ("tenant_id", "--tenant-id"),  # the parameter of the same name
        ("options.push_cap", "--push-cap"),  # the last dotted part
        ("tags", "--tag"),  # a parameter named like the field
        ("labels", "--label"),  # a list: the repeatable flag, in the singular
        ("type", "--type"),  # ``type_``
        ("app_id", "--client-id"),  # declared by the command
        ("query", "QUERY"),  # an argument: its metavar
        ("password", "--password-stdin"),  # a secret: the flag that reads it
        ("base_dn", None),  # a field the command has no flag for
        ("tenant_ids", None),  # a list is not a single value's flag
    ],
)
def test_a_field_is_the_commands_flag(field: str, flag: str | None) -> None:
    assert flag_of(_ctx(), field) == flag


def test_a_secret_is_the_flag_it_was_given_with() -> None:
    assert flag_of(_ctx("--password-file", "app.pem"), "password") == "--password-file"
    assert flag_of(_ctx("--password-stdin"), "password") == "--password-stdin"


def test_flag_names_goes_above_or_below_the_command() -> None:
    @flag_names(push="--push-now")
    @click.command("above")
    @click.option("--push-now", "now", is_flag=True)
    @flag_names(app_id="--client-id")
    def above(now: bool) -> None: ...

    ctx = above.make_context("above", [])
    assert flags_of(ctx, ["push", "app_id", "push", "unknown"]) == ["--push-now", "--client-id"]
    with pytest.raises(ValueError, match="no flag given for 'push'"):
        flag_names(push="")


def test_the_line_names_the_flags_of_the_fields() -> None:
    ctx = _ctx()
    both = InvalidInput("give one of them", field=("tenant_id", "app_id", "base_dn"))
    assert describe(both, ctx) == "give one of them (--tenant-id, --client-id)"
    assert describe(InvalidInput("not a GUID", field="tenant_id"), ctx) == (
        "not a GUID (--tenant-id)"
    )
    # a flag the message names already is not named twice
    named = InvalidInput("not a GUID (--tenant-id)", field=("tenant_id", "app_id"))
    assert describe(named, ctx) == "not a GUID (--tenant-id) (--client-id)"
    assert describe(InvalidInput("see --tenant-idx", field="tenant_id"), ctx) == (
        "see --tenant-idx (--tenant-id)"
    )
    # no field, no flag for it, no command, or not an input: the message alone
    assert describe(InvalidInput("bad"), ctx) == "bad"
    assert describe(InvalidInput("bad", field="base_dn"), ctx) == "bad"
    assert describe(InvalidInput("bad", field="tenant_id"), None) == "bad"
    assert describe(NotFound("no client named 'X'"), ctx) == "no client named 'X'"


def test_an_invalid_input_carries_its_fields() -> None:
    assert InvalidInput("x").fields == ()
    assert InvalidInput("x").field is None
    one = InvalidInput("x", field="title")
    assert (one.field, one.fields, str(one)) == ("title", ("title",), "x")
    several = InvalidInput("x", field=["directory_sync", "default_sync_mode"])
    assert (several.field, several.fields) == (
        "directory_sync",
        ("directory_sync", "default_sync_mode"),
    )
    with pytest.raises(TypeError, match="non-empty name"):
        InvalidInput("x", field="")


# -- the whole command ------------------------------------------------------------------------
@pytest.fixture
def contoso(cli):
    cli.use_session()
    cli.add_client("Contoso")
    return cli


def test_the_error_line_names_the_flag(contoso) -> None:
    cli = contoso
    assert cli.fails(2, "client", "set", "Contoso") == (
        "credsync: error: nothing to change: give directory sync, a default sync mode or a "
        "rotation interval (--directory-sync, --default-sync-mode, --rotate-every)"
    )
    assert cli.fails(
        2, "cred", "add", "Contoso", "--title", "  ", "--password-stdin", stdin=PW
    ) == ("credsync: error: title must not be empty (--title)")
    bad_tag = cli.fails(
        2, "cred", "add", "Contoso", "--title", "T", "--tag", "not ok!", "--password-stdin",
        stdin=PW,
    )  # fmt: skip
    assert bad_tag.startswith("credsync: error: tag 'not ok!' is not valid: ")
    assert bad_tag.endswith(" (--tag)")
    too_long = cli.fails(
        2, "cred", "add", "Contoso", "--title", "T", "--password-stdin", stdin="p" * 1025
    )
    assert too_long == (
        "credsync: error: password is too long (at most 1024 characters) (--password-stdin)"
    )
    assert "p" * 20 not in too_long
    cred = cli.add_cred("Contoso", "Folders", PW)
    assert cli.fails(2, "cred", "edit", cred["id"], "--folder", "a/../b") == (
        "credsync: error: folder path must not contain '.' or '..' (--folder)"
    )
    # No field: the line is the message alone, as it was.
    assert cli.fails(4, "client", "show", "Fabrikam") == (
        "credsync: error: no client named 'Fabrikam'"
    )
    # A command that names a field otherwise declares it (flag_names): a folder's PATH.
    assert cli.fails(2, "folder", "add", "Contoso", "..") == (
        "credsync: error: folder path must not contain '.' or '..' (PATH)"
    )
