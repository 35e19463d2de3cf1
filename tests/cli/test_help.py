"""``--help`` on every command and group, examples where a command takes arguments, and the
examples themselves parse against the commands they name."""

from __future__ import annotations

import re
import shlex

import click
import pytest

from credsync.cli.app import cli as root_command


def _walk(
    command: click.Command, path: tuple[str, ...], ctx: click.Context
) -> list[tuple[tuple[str, ...], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        names = command.list_commands(ctx)
        assert names, f"group {' '.join(path)} has no subcommands"
        for name in names:
            sub = command.get_command(ctx, name)  # imports lazily loaded modules
            assert sub is not None, f"{' '.join((*path, name))} does not load"
            found += _walk(sub, (*path, name), click.Context(sub, info_name=name, parent=ctx))
    return found


TREE = _walk(root_command, (), click.Context(root_command, info_name="credsync"))
COMMANDS = {path: command for path, command in TREE}
LEAVES = [path for path, command in TREE if not isinstance(command, click.Group)]
# Commands whose arguments are worth an example at the very least (the issue names them).
MAIN_COMMANDS = [
    ("init",),
    ("unlock",),
    ("client", "add"),
    ("cred", "add"),
    ("cred", "list"),
    ("cred", "search"),
    ("cred", "show"),
    ("cred", "set-password"),
    ("import",),
    ("export",),
    ("token", "create"),
    ("audit",),
    ("directory", "add"),
    ("directory", "test"),
    ("sync", "plan"),
    ("sync", "run"),
    ("sync", "show"),
    ("flags", "resolve"),
]


def _help(cli, path: tuple[str, ...]) -> str:
    result = cli.run(*path, "--help", only=True)
    assert result.code == 0, result
    assert result.err == ""
    return result.out


def test_the_tree_is_complete():
    top = {path[0] for path in COMMANDS if path}
    assert top == {
        "init", "unlock", "login", "lock", "whoami", "key", "db", "client", "folder", "cred",
        "generate", "policy", "import", "export", "operator", "role", "mfa", "token", "audit",
        "directory", "sync", "flags", "agent", "simulate", "serve", "demo", "capture", "relay",
        "person", "group", "federation", "mail", "quarantine", "backup", "restore",
        "remote-agent", "runs",
    }  # fmt: skip
    assert len(LEAVES) > 40
    for path in MAIN_COMMANDS:
        assert path in COMMANDS


@pytest.mark.parametrize("path", [p for p, _ in TREE], ids=lambda p: " ".join(p) or "credsync")
def test_help_works(empty_cli, path):
    text = _help(empty_cli, path)
    assert text.startswith(f"Usage: {' '.join(('credsync', *path))} ")
    assert "-h, --help" in text
    command = COMMANDS[path]
    if isinstance(command, click.Group):
        assert "Commands:" in text
        for name in command.list_commands(click.Context(command)):
            assert f"  {name} " in text or f"  {name}\n" in text
    # -h is the same as --help
    assert empty_cli.run(*path, "-h", only=True).out == text
    assert not empty_cli.home.exists(), "help must not touch the data directory"


def _takes_arguments(command: click.Command) -> bool:
    return any(
        isinstance(p, click.Argument) or (isinstance(p, click.Option) and p.required)
        for p in command.params
    )


@pytest.mark.parametrize(
    "path",
    sorted({*MAIN_COMMANDS, *(p for p in LEAVES if _takes_arguments(COMMANDS[p]))}),
    ids=" ".join,
)
def test_help_has_examples(empty_cli, path):
    text = _help(empty_cli, path)
    assert re.search(r"^\s+Examples?:\s*$", text, re.MULTILINE), f"no example in {path}"
    assert f"credsync {' '.join(path)}" in text


def _example_commands(text: str) -> list[str]:
    """The ``credsync ...`` invocations of a help text's Example(s) sections."""
    found: list[str] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not re.match(r"^\s+Examples?:\s*$", line):
            continue
        indent = len(line) - len(line.lstrip())
        joined = ""
        for follow in lines[i + 1 :]:
            if not follow.strip() or len(follow) - len(follow.lstrip()) <= indent:
                break
            joined += follow.strip()
            if joined.endswith("\\"):
                joined = joined[:-1].rstrip() + " "
                continue
            found += re.findall(r"\$\(credsync ([^)]*)\)", joined)  # "$(credsync unlock)"
            rest = re.sub(r"\$\(credsync [^)]*\)", "", joined)
            match = re.search(r"(?:^|\s)credsync (.*?)(?:\s+\|\s.*)?$", rest)
            if match:
                found.append(match.group(1))
            joined = ""
    return found


def _parse(example: str) -> None:
    """Parse an example against the command tree, as click would, without running it."""
    words = shlex.split(re.split(r"\s{2,}", example)[0])  # drop a trailing description
    command: click.Command = root_command
    ctx = click.Context(root_command, info_name="credsync")
    while isinstance(command, click.Group) and words and words[0] in command.list_commands(ctx):
        name = words.pop(0)
        sub = command.get_command(ctx, name)
        assert sub is not None
        command, ctx = sub, click.Context(sub, info_name=name, parent=ctx)
        default = getattr(command, "default_command", None)  # `credsync flags [CLIENT]`
        if default and (not words or words[0] not in command.list_commands(ctx)):
            words.insert(0, default)
    assert not isinstance(command, click.Group) or command.invoke_without_command, example
    with command.make_context(ctx.info_name, words, parent=ctx.parent):
        pass


def test_every_example_parses(empty_cli):
    """A typo'd option or a missing argument in an example fails here."""
    checked = 0
    for path, _ in TREE:
        for example in _example_commands(_help(empty_cli, path)):
            try:
                _parse(example)
            except click.ClickException as err:
                pytest.fail(f"credsync {' '.join(path)} --help: example {example!r}: {err}")
            checked += 1
    assert checked >= len(MAIN_COMMANDS)


def test_unknown_command_and_option_are_one_line_usage_errors(empty_cli):
    for args, word in [
        (("frobnicate",), "frobnicate"),
        (("cred", "frobnicate"), "frobnicate"),
        (("cred", "list", "Contoso", "--frobnicate"), "--frobnicate"),
        (("cred", "add", "Contoso"), "--title"),
        (("cred", "sync-mode", "abc123", "sometimes"), "sometimes"),
    ]:
        result = empty_cli.run(*args, only=True)
        assert result.code == 2, result
        assert word in result.error
        assert "--help" in result.error
        assert result.out == ""


def test_directory_add_shows_the_options_of_the_kind_asked_for(cli) -> None:
    from credsync.connectors import registry

    def options(*args: str) -> str:
        return cli.ok("directory", "add", *args, "--help").out.split("Options:", 1)[1]

    plain = options()
    assert "--kind KIND" in plain
    for kind in registry.KINDS:
        shown = options("--kind", kind.name)
        for setting in kind.settings:
            assert setting.cli_flag in shown, (kind.name, setting.name)
        others = {
            s.cli_flag
            for k in registry.KINDS
            for s in k.settings
            if k is not kind and s.name not in {t.name for t in kind.settings}
        }
        for flag in others:
            assert f"{flag} " not in shown, (kind.name, flag)
            assert flag not in plain  # without --kind, no kind's own options are shown
    # An option of another kind is refused by name, before anything is read or written.
    refused = cli.run(
        "directory", "add", "C", "x", "--kind", "active-directory", "--tenant-id", "t"
    )
    assert refused.code == 2
    assert "--tenant-id" in refused.err
