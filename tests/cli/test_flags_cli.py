"""``credsync flags`` over more than 1,000 flags, locally and through a server: every flag
(no silent cut), --limit with a note naming the --cursor of the rest, the filters, errors
naming their flag; and finding 8 on the command line (a directory_admin credential's id is
"not found" for an operator without directory_admin.use, a directory hides its bind
credential), both ways."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from credsync.storage import Database
from credsync.types import Secret
from credsync.vault import KeyRing, Vault
from credsync.vault.keyring import derive_and_check
from vault.flag_seed import Seeded, seed_flags
from vault.helpers import VaultWorld

COUNT = 1_020
TECH_PASSWORD = "tech-cli-password-4417"


@dataclass
class _Template:
    """The vault of the first test that asks for ``seeded``, copied for the others."""

    home: Path | None = None
    seeded: Seeded | None = None
    tokens: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> _Template:
    return _Template(tmp_path_factory.mktemp("flags-template") / "home")


@pytest.fixture
def seeded(cli: Any, template: _Template) -> Iterator[tuple[Any, Any, Any]]:
    """The CLI's vault with client Contoso holding 1,020 flags in directory contoso-ad, an
    operator ``tech`` (technician), and a server over it: (cli, seeded, remote env of admin,
    remote env of tech). Made once per module and copied (with its API tokens) for each test;
    each test signs in with a session of its own."""
    if template.seeded is None:
        template.seeded, template.tokens = _seed(cli)
        assert template.home is not None
        shutil.copytree(cli.home, template.home)
    else:
        assert template.home is not None
        shutil.rmtree(cli.home)
        shutil.copytree(template.home, cli.home)
        cli.use_session()
    server = cli.serve()
    try:
        yield cli, template.seeded, {who: server.remote(t) for who, t in template.tokens.items()}
    finally:
        server.stop()


def _seed(cli: Any) -> tuple[Seeded, dict[str, str]]:
    cli.use_session()
    cli.ok("client", "add", "Contoso")
    cli.ok("operator", "add", "tech", "--role", "technician", "--password-stdin",
           stdin=TECH_PASSWORD)  # fmt: skip
    db = Database(f"sqlite:///{cli.home / 'vault.db'}")
    try:
        vault = Vault.open(db)
        admin = vault.access.login_password(cli.admin, Secret(cli.admin_password))
        keys = KeyRing(lambda: derive_and_check(db, Secret(cli.passphrase)))
        seeded = seed_flags(VaultWorld(db, vault, admin, keys, db.url), "Contoso", COUNT)
    finally:
        db.dispose()
    tokens = {
        "admin": cli.json("token", "create", "cli-flags")["token"],
        "tech": cli.json("token", "create", "tech", "--operator", "tech")["token"],
    }
    return seeded, tokens


def test_every_flag_is_listed_locally_and_through_a_server(seeded: Any) -> None:
    cli, flags, remote = seeded
    local = cli.json("flags")
    assert len(local) == COUNT > 1000
    assert {f["credential_id"] for f in local} == set(flags.credential_ids)
    assert cli.json("flags", env=remote["admin"]) == local
    table = cli.ok("flags", "Contoso").out.splitlines()
    assert len(table) == COUNT + 1
    assert cli.ok("flags", "Contoso", env=remote["admin"]).out.splitlines() == table


def test_a_limit_says_that_more_follow_and_where(seeded: Any) -> None:
    cli, _, remote = seeded
    for env in (None, remote["admin"]):
        first = cli.run("flags", "--limit", "700", "--json", env=env)
        assert first.code == 0, first
        assert len(first.json()) == 700
        assert "More flags follow: --cursor " in first.err
        cursor = first.err.split("--cursor ")[1].split()[0]
        rest = cli.run("flags", "--cursor", cursor, "--json", env=env)
        assert rest.err == ""
        ids = [f["id"] for f in first.json() + rest.json()]
        assert len(ids) == len(set(ids)) == COUNT
        exact = cli.run("flags", "--limit", str(COUNT), "--json", env=env)
        assert (len(exact.json()), exact.err) == (COUNT, "")


def test_filters_and_their_errors(seeded: Any) -> None:
    cli, flags, remote = seeded
    for env in (None, remote["admin"]):
        mismatch = cli.json("flags", "--status", "mismatch", "--directory", "contoso-ad", env=env)
        assert {f["status"] for f in mismatch} == {"mismatch"}
        assert len(mismatch) == len(range(0, COUNT, 3))
        recent = cli.json("flags", "--since", "1d", env=env)
        assert {f["credential_id"] for f in recent} == set(flags.credential_ids[:100])
        old = cli.json("flags", "--older-than", "10d", env=env)
        assert {f["credential_id"] for f in old} == set(flags.credential_ids[1000:])
        assert cli.fails(2, "flags", "--older-than", "soon", env=env).endswith("(--older-than)")
        assert cli.fails(2, "flags", "--since", "someday", env=env).endswith("(--since)")
        assert cli.fails(2, "flags", "--cursor", "bogus", env=env).endswith(
            "cursor is not a cursor of this list (--cursor)"
        )
        assert "no directory named 'nowhere'" in cli.fails(
            4, "flags", "--directory", "nowhere", env=env
        )


def test_resolving_several_flags_refuses_each_that_cant_be(seeded: Any) -> None:
    """Without an account read from the directory, the vault knows no state to accept: each
    flag is refused with the reason (exit 9); a technician may not try at all (exit 3)."""
    cli, _, remote = seeded
    ids = [f["id"] for f in cli.json("flags", "--limit", "2")]
    for env in (None, remote["admin"]):
        result = cli.run("flags", "resolve", *ids, "--accept-directory", "--json", env=env)
        assert result.code == 9, result
        assert [(r["flag_id"], r["outcome"]) for r in result.json()] == [
            (ids[0], "refused"),
            (ids[1], "refused"),
        ]
        assert "2 of 2 flags are still open" in result.err
    cli.sign_in_as("tech", TECH_PASSWORD)
    for env in (None, remote["tech"]):
        refused = cli.fails(3, "flags", "resolve", *ids, "--push", env=env)
        assert "directory_admin.use" in refused
    assert len(cli.json("flags", env=remote["admin"])) == COUNT  # all still open


def test_a_directory_admin_credential_is_not_there_for_a_technician(seeded: Any) -> None:
    """Finding 8 on the command line, local and remote alike (exit 4, "no credential with
    id", as for an id of nothing; before the fix: exit 3, "is a directory_admin
    credential")."""
    cli, flags, remote = seeded
    shown = cli.run("directory", "show", "contoso-ad", "--json", env=remote["admin"]).json()
    assert shown["bind_credential_id"] == flags.bind_id
    cli.sign_in_as("tech", TECH_PASSWORD)
    nothing = "0" * 8 + flags.bind_id[8:]
    for env in (None, remote["tech"]):
        for ref in (flags.bind_id, flags.bind_id[:8]):
            line = cli.fails(4, "cred", "show", ref, env=env)
            assert line == f"credsync: error: no credential with id {ref}"
        assert cli.fails(4, "cred", "show", nothing, env=env).endswith(f"id {nothing}")
        assert cli.fails(4, "cred", "history", flags.bind_id, env=env).startswith(
            "credsync: error: no credential with id"
        )
        data = cli.run("directory", "show", "contoso-ad", "--json", env=env).json()
        assert data["bind_credential_id"] is None
        text = cli.run("directory", "show", "contoso-ad", env=env).out
        assert "Bind credential:" in text
        assert "set (not shown: it needs directory_admin.use)" in text
        assert flags.bind_id[:8] not in cli.run("directory", "list", "--json", env=env).out
