"""The README is checked against the code: commands, variables, permissions, exit codes, columns."""

import re
from pathlib import Path

import click
import pytest

import credsync.errors as errors
from credsync.cli.app import _COMMANDS, cli
from credsync.cli.commands.transfer import IMPORT_EXIT_PARTIAL
from credsync.cli.exits import EXIT_CODES, exit_code_of
from credsync.vault.auth import BUILTIN_ROLES, Permission
from credsync.vault.csvio import COLUMNS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _table_rows(text: str, first_header: str) -> list[list[str]]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_readme_opens_with_the_two_commands() -> None:
    block = README.split("```sh", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(block) == 2
    assert block[0].startswith("./scripts/credsync ")
    assert block[1].startswith("./scripts/test ")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/test" in ci


def test_every_environment_variable_is_documented() -> None:
    used = set()
    for path in (ROOT / "src" / "credsync").rglob("*.py"):
        if "testing" in path.parts:
            continue
        used.update(re.findall(r"CREDSYNC_[A-Z_]+", path.read_text(encoding="utf-8")))
    documented = {row[0].strip("`") for row in _table_rows(README, "variable")}
    documented |= set(re.findall(r"`(CREDSYNC_[A-Z_]+)`", README))
    assert used - documented == set()


def test_permission_and_role_tables_match_the_code() -> None:
    documented = {row[0].strip("`") for row in _table_rows(README, "permission")}
    assert documented == {p.value for p in Permission}
    roles = {row[0].strip("`") for row in _table_rows(README, "built-in role")}
    assert roles == set(BUILTIN_ROLES)


def test_exit_code_table_covers_every_error_class() -> None:
    documented = {int(row[0]) for row in _table_rows(README, "exit")}
    codes = {
        exit_code_of(cls)
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.CredsyncError)
    }
    assert codes == set(EXIT_CODES.values())
    assert codes | {0, 2, IMPORT_EXIT_PARTIAL, 130} == documented


def test_csv_column_table_matches_the_importer() -> None:
    documented = [row[0].strip("`") for row in _table_rows(README, "column")]
    assert documented == list(COLUMNS)


def _commands_in_readme() -> set[tuple[str, ...]]:
    found = set()
    for match in re.finditer(r"credsync ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?)", README):
        found.add(tuple(match.group(1).split()))
    return found


@pytest.mark.parametrize("words", sorted(_commands_in_readme()))
def test_commands_named_in_the_readme_exist(words: tuple[str, ...]) -> None:
    if words[0] in ("is", "keeps", "and", "the", "init's"):
        return  # prose, not a command
    assert words[0] in _COMMANDS, f"README names `credsync {words[0]}`, which does not exist"
    command = cli.get_command(click.Context(cli), words[0])
    if isinstance(command, click.Group) and len(words) > 1:
        ctx = click.Context(command)
        sub = command.get_command(ctx, words[1])
        assert sub is not None or words[1] in ("is",), (
            f"README names `credsync {' '.join(words)}`, which does not exist"
        )
