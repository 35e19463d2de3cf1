"""GET /flags a page at a time over more than 1,000 flags (SQLite and PostgreSQL), with its
filters; a bad cursor or filter is a 400 naming the field; several flags resolved at once
(POST /flags/resolve) only by those who may, flag by flag; a directory_admin credential's id
is a 404 and a directory hides its bind credential from those without directory_admin.use
(finding 8)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from credsync.storage import Database
from credsync.types import Secret
from credsync.vault import KeyRing, Vault
from credsync.vault.keyring import derive_and_check
from vault.flag_seed import Seeded, flag_bind_credential, seed_flags
from vault.helpers import PASSPHRASE, VaultWorld, make_world

from .conftest import ApiWorld, _tokens, assert_error, build_api_world

V1 = "/api/v1"
COUNT = 1_050


@dataclass
class PagedTemplate:
    backend: str
    where: str  # the SQLite file, or the PostgreSQL database to copy
    tokens: dict[str, str]
    seeded: Seeded


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def paged_template(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    schema_templates: Any,
) -> Iterator[PagedTemplate]:
    """A vault with the role operators and their tokens, and client Paged with COUNT flags
    in directory paged-ad: seeded once per backend (seeding takes seconds), copied per test."""
    server = request.getfixturevalue("pg_server") if request.param == "postgresql" else None
    if server is None:
        where = str(tmp_path_factory.mktemp("paged") / "vault.db")
        url = schema_templates.sqlite(Path(where))
    else:
        where = f"paged_{uuid.uuid4().hex[:12]}"
        url = schema_templates.postgresql(server, where)
    world = make_world(url)
    try:
        tokens = _tokens(world)
        world.vault.clients.add(world.admin, world.keys, "Paged")
        seeded = seed_flags(world, "Paged", COUNT, directory="paged-ad")
    finally:
        world.db.dispose()
    try:
        yield PagedTemplate(request.param, where, tokens, seeded)
    finally:
        if server is not None:
            server.drop_database(where)


@pytest.fixture
def paged(
    request: pytest.FixtureRequest, tmp_path: Path, paged_template: PagedTemplate
) -> Iterator[tuple[ApiWorld, Seeded]]:
    """The seeded vault of ``paged_template``, a copy of this test's own, served in-process."""
    server = None
    if paged_template.backend == "sqlite":
        path = tmp_path / "vault.db"
        shutil.copy(paged_template.where, path)
        url = f"sqlite:///{path}"
    else:
        server = request.getfixturevalue("pg_server")
        name = f"t_{uuid.uuid4().hex[:12]}"
        url = server.create_database(name, template=paged_template.where)
    db = Database(url)
    try:
        vault = Vault.open(db)
        keys = KeyRing(lambda: derive_and_check(db, Secret(PASSPHRASE)))
        admin = vault.access.login_token(Secret(paged_template.tokens["admin"]))
        world = VaultWorld(db, vault, admin, keys, url)
        yield build_api_world(world, paged_template.tokens), paged_template.seeded
    finally:
        db.dispose()
        if server is not None:
            server.drop_database(name)


def _every(http: Any, size: int, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        given = {**params, "limit": size, **({"cursor": cursor} if cursor else {})}
        answer = http.get(f"{V1}/flags", params=given)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= size
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        assert len(items) <= COUNT + 10, "the cursor loops"


def test_every_flag_a_page_at_a_time_with_filters(paged: tuple[ApiWorld, Seeded]) -> None:
    api, seeded = paged
    viewer = api.as_role("viewer")
    every = _every(viewer, 500)
    assert len(every) == COUNT > 1000
    assert len({f["id"] for f in every}) == COUNT
    assert {f["credential_id"] for f in every} == set(seeded.credential_ids)
    assert [f["opened_at"] for f in every] == sorted((f["opened_at"] for f in every), reverse=True)
    first = viewer.get(f"{V1}/flags").json()  # 100 by default
    assert [f["id"] for f in first["items"]] == [f["id"] for f in every[:100]]
    mismatch = _every(viewer, 200, status="mismatch", client="Paged", directory="paged-ad")
    assert {f["status"] for f in mismatch} == {"mismatch"}
    assert len(mismatch) == len([n for n in range(COUNT) if n % 3 == 0])
    recent = _every(viewer, 500, since="1d")
    assert {f["credential_id"] for f in recent} == set(seeded.credential_ids[:100])
    old = _every(viewer, 500, older_than="9d")
    assert {f["credential_id"] for f in old} == set(seeded.credential_ids[900:])
    assert set(every[0]) >= {"account", "account_id", "side", "opened_at"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cursor": "bogus"}, "cursor"),
        ({"cursor": "00000000-0000-0000-0000-000000000000"}, "cursor"),
        ({"older_than": "a while"}, "older_than"),
        ({"since": "yesterday"}, "since"),
        ({"status": "no-such thing"}, "status"),
    ],
)
def test_a_bad_cursor_or_filter_is_a_400_naming_it(
    api: ApiWorld, params: dict[str, str], field: str
) -> None:
    error = assert_error(api.admin.get(f"{V1}/flags", params=params), 400, "invalid_input")
    assert error["details"] == [{"field": field, "problem": error["message"]}]


@pytest.mark.parametrize("path", ["/flags", "/runs", "/audit", "/clients/Contoso/credentials"])
def test_every_paged_list_names_a_bad_cursor(api: ApiWorld, path: str) -> None:
    assert api.admin.post(f"{V1}/clients", json={"name": "Contoso"}).status_code == 201
    refused = api.admin.get(f"{V1}{path}", params={"cursor": "not-one"})
    error = assert_error(refused, 400, "invalid_input")
    assert error["details"] == [{"field": "cursor", "problem": error["message"]}]


def test_limits_and_unknown_filters(api: ApiWorld) -> None:
    admin = api.admin
    assert_error(admin.get(f"{V1}/flags", params={"limit": 0}), 422, "invalid_request")
    assert_error(admin.get(f"{V1}/flags", params={"limit": 501}), 422, "invalid_request")
    assert_error(admin.get(f"{V1}/flags", params={"client": "Nobody"}), 404, "not_found")
    assert_error(admin.get(f"{V1}/flags", params={"directory": "nowhere"}), 404, "not_found")
    assert admin.get(f"{V1}/flags").json() == {"items": [], "next_cursor": None}


def test_resolving_several_needs_the_permissions_flag_by_flag(
    paged: tuple[ApiWorld, Seeded],
) -> None:
    """Roles without vault.write and directory_admin.use are refused before anything is done;
    those with them get a result per flag (here: refused, the directory having never been
    read, so the vault knows no state to accept)."""
    api, _ = paged
    ids = [f["id"] for f in api.admin.get(f"{V1}/flags", params={"limit": 3}).json()["items"]]
    for action in ("push", "accept_directory"):
        body = {"action": action, "flags": ids}
        for role in ("viewer", "auditor", "technician"):
            refused = api.as_role(role).post(f"{V1}/flags/resolve", json=body)
            assert "directory_admin.use" in assert_error(refused, 403, "forbidden")["message"]
    assert [f["open"] for f in map(_flag(api), ids)] == [True, True, True]
    done = api.as_role("directory_manager").post(
        f"{V1}/flags/resolve",
        json={"action": "accept_directory", "flags": [*ids, "00000000", ids[0][:8]]},
    )
    assert done.status_code == 200, done.text
    results = done.json()["results"]
    assert [r["flag_id"] for r in results] == [*ids, "00000000"]
    assert {r["outcome"] for r in results} == {"refused"}
    assert "not known" in results[0]["detail"]
    assert results[-1]["flag"] is None
    assert "no flag" in results[-1]["detail"]
    assert_error(api.admin.post(f"{V1}/flags/resolve", json={"action": "push", "flags": []}),
                 422, "invalid_request")  # fmt: skip
    many = {"action": "push", "flags": ["00000000"] * 501}
    assert_error(api.admin.post(f"{V1}/flags/resolve", json=many), 422, "invalid_request")


def _flag(api: ApiWorld) -> Any:
    return lambda ref: api.admin.get(f"{V1}/flags/{ref}").json()


def test_directory_admin_ids_and_bind_credentials_are_hidden(
    paged: tuple[ApiWorld, Seeded],
) -> None:
    """Finding 8 over the API: a directory_admin credential's id is a 404 like an id of
    nothing, with the same message; a directory shows no bind credential id; its flag is not
    listed."""
    api, seeded = paged
    hidden_flag = flag_bind_credential(api.world, seeded)
    nothing = "0" * 8 + seeded.bind_id[8:]
    for role in ("viewer", "technician", "auditor"):
        http = api.as_role(role)
        for ref in (seeded.bind_id, seeded.bind_id[:8]):
            missing = assert_error(http.get(f"{V1}/credentials/{ref}"), 404, "not_found")
            assert missing["message"] == f"no credential with id {ref}"
            history = http.get(f"{V1}/credentials/{ref}/history")
            assert assert_error(history, 404, "not_found")["message"] == missing["message"]
        other = assert_error(http.get(f"{V1}/credentials/{nothing}"), 404, "not_found")
        assert other["message"] == f"no credential with id {nothing}"
        shown = http.get(f"{V1}/directories/{seeded.directory}").json()
        assert shown["bind_credential_id"] is None
        listed = http.get(f"{V1}/directories").json()
        assert [d["bind_credential_id"] for d in listed] == [None]
        assert seeded.bind_id not in http.get(f"{V1}/directories").text
        assert_error(http.get(f"{V1}/flags/{hidden_flag}"), 404, "not_found")
        assert seeded.bind_id not in http.get(f"{V1}/flags", params={"limit": 500}).text
    manager = api.as_role("directory_manager")
    assert manager.get(f"{V1}/credentials/{seeded.bind_id}").status_code == 200
    shown = manager.get(f"{V1}/directories/{seeded.directory}").json()
    assert shown["bind_credential_id"] == seeded.bind_id
    assert manager.get(f"{V1}/flags/{hidden_flag}").status_code == 200


def test_an_import_dry_run_does_not_tell_of_a_directory_admin_credential(api: ApiWorld) -> None:
    admin = api.admin
    assert admin.post(f"{V1}/clients", json={"name": "Contoso"}).status_code == 201
    bind = {"title": "AD bind", "username": "svc-ad", "password": "Bind-Pa55!",
            "type": "directory_admin", "sync_mode": "off"}  # fmt: skip
    assert admin.post(f"{V1}/clients/Contoso/credentials", json=bind).status_code == 201
    csv = "title,username,password\r\nAD bind,svc-ad,Other-Pa55word-1!\r\n"

    def dry_run(role: str) -> dict[str, Any]:
        answer = api.as_role(role).post(
            f"{V1}/clients/Contoso/import",
            params={"dry_run": True, "source": "x.csv"},
            content=csv,
            headers={"Content-Type": "text/csv"},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    told = dry_run("technician")
    assert (told["imported"], told["rejected_count"], told["rejected"]) == (1, 0, [])
    manager = dry_run("directory_manager")
    assert manager["rejected_count"] == 1
    assert "duplicate" in manager["rejected"][0]["reason"]
