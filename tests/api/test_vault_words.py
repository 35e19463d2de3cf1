"""Requests refused in the vault's own words: a field outside the limits of its request model
is refused (422) with the message the service gives for the same value (what a local command
says), the field still named in ``details``; a switch to enforce to confirm names what it
would overwrite."""

from __future__ import annotations

import pytest

from credsync.errors import InvalidInput
from credsync.types import Secret
from credsync.vault.drafts import make_draft
from credsync.vault.validate import clean_name

from .conftest import ApiWorld, assert_error

V1 = "/api/v1"
PASSWORD = "Pa55-word-1!"


@pytest.fixture
def contoso(api: ApiWorld) -> ApiWorld:
    assert api.admin.post(f"{V1}/clients", json={"name": "Contoso"}).status_code == 201
    return api


@pytest.mark.parametrize(
    ("path", "body", "field", "message"),
    [
        ("/clients", {"name": ""}, "body.name", "client name must not be empty"),
        (
            "/clients",
            {"name": "c" * 201},
            "body.name",
            "client name is too long (201 characters, at most 200)",
        ),
        (
            "/clients/Contoso/credentials",
            {"title": "", "password": PASSWORD},
            "title",
            "title must not be empty",
        ),
        (
            "/clients/Contoso/credentials",
            {"title": "t" * 300, "generate": True},
            "title",
            "title is too long (300 characters, at most 255)",
        ),
        (
            "/clients/Contoso/credentials",
            {"title": "x", "password": ""},
            "password",
            "password must not be empty",
        ),
        (
            "/clients/Contoso/credentials",
            {"title": "x", "generate": True, "notes": "n" * 70_000},
            "notes",
            "notes is too long (70000 characters, at most 20000)",
        ),
        (
            "/clients/Contoso/credentials",
            {"title": "x", "generate": True, "tags": [f"t{n}" for n in range(51)]},
            "tags",
            "too many tags (51, at most 32)",
        ),
        ("/clients/Contoso/folders", {"path": ""}, "path", "folder path must not be empty"),
        ("/tokens", {"name": ""}, "body.name", "token name must not be empty"),
        ("/policies", {"name": ""}, "body.name", "policy name must not be empty"),
        (
            "/roles",
            {"name": "", "permissions": ["vault.read"]},
            "body.name",
            "role name must not be empty",
        ),
    ],
)
def test_a_field_out_of_its_limits_is_refused_in_the_vaults_words(
    contoso: ApiWorld, path: str, body: dict, field: str, message: str
) -> None:
    response = contoso.admin.post(f"{V1}{path}", json=body)
    error = assert_error(response, 422, "invalid_request")
    assert error["message"] == message
    # The field named as the service's refusal names it (as the route calls it), or where it is
    # in the request when the service names none.
    assert error["details"] == [{"field": field, "problem": message}]


def test_the_limits_stay_in_the_document(api: ApiWorld) -> None:
    schemas = api.http.get(f"{V1}/openapi.json").json()["components"]["schemas"]
    title = schemas["CredentialIn"]["properties"]["title"]
    assert (title["type"], title["minLength"], title["maxLength"]) == ("string", 1, 255)
    tags = schemas["CredentialIn"]["properties"]["tags"]
    assert (tags["type"], tags["maxItems"]) == ("array", 50)
    assert schemas["ClientIn"]["properties"]["name"]["maxLength"] == 200


def test_the_words_are_the_services(contoso: ApiWorld) -> None:
    """The same value through the service: the same message."""
    for value in ("", "c" * 201):
        with pytest.raises(InvalidInput) as refused:
            clean_name(value, "client name", 200)
        answer = contoso.admin.post(f"{V1}/clients", json={"name": value}).json()
        assert answer["error"]["message"] == str(refused.value)


def test_a_switch_to_enforce_to_confirm_names_what_it_would_overwrite(contoso: ApiWorld) -> None:
    world = contoso.world
    cred = world.vault.credentials.add(
        world.admin,
        world.keys,
        "Contoso",
        make_draft(title="Backup", username="svc-backup", password=Secret(PASSWORD)),
    )
    where = f"{V1}/credentials/{cred.id}/sync-mode"
    refused = contoso.admin.put(where, json={"sync_mode": "enforce"})
    error = assert_error(refused, 409, "confirm_enforce")
    assert error["message"].startswith("In enforce mode the vault's password wins for 'Backup'")
    assert error["message"].endswith('Send the request again with "confirm": true to go ahead.')
    assert error["enforce"] == {
        "what": "'Backup' (svc-backup)",
        "mode": "enforce",
        "impact": [],
    }  # no directory
    client = contoso.admin.patch(f"{V1}/clients/Contoso", json={"default_sync_mode": "enforce"})
    enforce = assert_error(client, 409, "confirm_enforce")["enforce"]
    assert enforce["what"] == "every credential of 'Contoso' that follows the client default"
    stale = contoso.admin.patch(f"{V1}/clients/Contoso", json={"name": "C2", "version": 9})
    assert "enforce" not in assert_error(stale, 409, "stale_version")
