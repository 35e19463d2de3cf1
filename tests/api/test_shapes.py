"""One shape per record: the API answers with the record's JSON shape (the ``TypedDict`` next
to the record, made by its ``to_json``), byte for byte what the CLI's ``--json`` prints; the
OpenAPI document describes each field with the docstring under it; and no model of the API
lists a record's fields again."""

from __future__ import annotations

import typing
from typing import Any, NotRequired

import pydantic
import pytest
from fastapi.routing import APIRoute
from typing_extensions import TypedDict, is_typeddict

import credsync.api.schemas
import credsync.api.schemas_directories
import credsync.api.schemas_people
import credsync.api.schemas_policies
import credsync.api.schemas_sync
from credsync.api.routes import (
    audit,
    auth,
    clients,
    credentials,
    directories,
    flags,
    folders,
    people,
    policies,
    sync,
    transfer,
)
from credsync.api.shapes import documented, field_docs
from credsync.server.app import create_app
from credsync.vault.directories import DirectoryJson
from credsync.vault.models import CredentialJson, RevealedCredentialJson

from .conftest import ApiWorld

V1 = "/api/v1"
ROUTERS = (auth, clients, folders, credentials, transfer, audit, directories, sync, flags)
ROUTERS += (people, policies)
API_MODULES = (
    credsync.api.schemas,
    credsync.api.schemas_directories,
    credsync.api.schemas_people,
    credsync.api.schemas_policies,
    credsync.api.schemas_sync,
)


class _Base(TypedDict):
    plain: int
    told: str
    """Said here first."""


class _Shape(_Base):
    told: str  # type: ignore[misc]  # told again below
    """Said again, nearer."""
    own: NotRequired[list[_Base] | None]
    """A docstring of
    two lines.

    And a second paragraph."""


def _shapes() -> dict[str, type]:
    """Every record shape a route answers with (by name), as create_app documents them."""
    found: dict[str, type] = {}

    def walk(hint: Any) -> None:
        if hint is None or (isinstance(hint, type) and hint.__name__ in found):
            return
        if is_typeddict(hint):
            found[hint.__name__] = hint
            inner: Any = typing.get_type_hints(hint).values()
        elif isinstance(hint, type) and issubclass(hint, pydantic.BaseModel):
            inner = [f.annotation for f in hint.model_fields.values()]
        else:
            inner = typing.get_args(hint)
        for each in inner:
            walk(each)

    for module in ROUTERS:
        for route in module.router.routes:
            if isinstance(route, APIRoute):
                walk(route.response_model)
                for answer in route.responses.values():
                    walk(answer.get("model"))
    return found


def test_field_docs_are_the_docstrings_under_the_fields_of_the_shape_and_its_bases() -> None:
    assert field_docs(_Shape) == {
        "told": "Said again, nearer.",
        "own": "A docstring of two lines.\n\nAnd a second paragraph.",
    }
    assert (
        field_docs(RevealedCredentialJson)["sync_mode"] == field_docs(CredentialJson)["sync_mode"]
    )


def test_documented_shapes_carry_their_field_docs_into_the_json_schema() -> None:
    documented(list[_Shape])
    schema = pydantic.TypeAdapter(_Shape).json_schema(mode="serialization")
    defs = schema["$defs"]["_Base"]["properties"]
    assert defs["told"]["description"] == "Said here first."
    assert "description" not in defs["plain"]
    properties = schema["properties"]
    assert properties["told"]["description"] == "Said again, nearer."
    assert properties["own"]["description"].startswith("A docstring of two lines.")
    assert schema["required"] == ["plain", "told"]


def test_the_openapi_document_describes_every_field_of_a_record_with_its_docstring() -> None:
    schemas = create_app(None).openapi()["components"]["schemas"]  # type: ignore[arg-type]
    shapes = _shapes()
    assert {"ClientJson", "CredentialJson", "RunOut", "FlagJson", "PolicyJson"} <= set(shapes)
    described = 0
    for name, shape in shapes.items():
        properties = schemas[name]["properties"]
        for field, doc in field_docs(shape).items():
            assert properties[field].get("description") == doc, (name, field)
            described += 1
    assert described > 40
    # The directory's: its own fields from DirectoryJson, the kinds' settings from the kinds.
    directory = schemas["DirectoryOut"]["properties"]
    for field, doc in field_docs(DirectoryJson).items():
        assert directory[field]["description"] == doc
    assert directory["base_dn"]["description"]


def test_no_model_of_the_api_lists_a_records_fields_again() -> None:
    """What repeats a record is its shape (or extends it); an answer of the API's own has its
    own fields besides (a page, an error, RunOut's stored item count). Request bodies (they
    forbid other fields) are not answers: theirs are optional, with limits."""
    shapes = [s for s in _shapes().values() if s.__module__.split(".")[1] != "api"]
    assert len(shapes) >= 15
    for module in API_MODULES:
        for name, obj in vars(module).items():
            if isinstance(obj, type) and issubclass(obj, pydantic.BaseModel):
                if obj.model_config.get("extra") == "forbid":
                    continue
                fields = set(obj.model_fields)
            elif is_typeddict(obj) and obj.__module__ == module.__name__:
                fields = set(obj.__annotations__) - _inherited(obj)
            else:
                continue
            for shape in shapes:
                mine = set(typing.get_type_hints(shape))
                assert not (len(mine) > 2 and mine <= fields), (
                    f"{module.__name__}.{name} repeats the fields of {shape.__name__}"
                )


def _inherited(shape: type) -> set[str]:
    out: set[str] = set()
    for base in getattr(shape, "__orig_bases__", ()):
        if is_typeddict(base):
            out |= set(typing.get_type_hints(base))
    return out


def _get(api: ApiWorld, path: str) -> Any:
    response = api.admin.get(f"{V1}{path}")
    assert response.status_code == 200, response.text
    return response.json()


def _same(answer: Any, record: Any) -> None:
    """The API's answer is the record's JSON, keys in the same order."""
    assert answer == record
    assert list(answer) == list(record)


@pytest.mark.parametrize("reveal", [False, True])
def test_the_api_answers_with_what_the_records_to_json_makes(api: ApiWorld, reveal: bool) -> None:
    vault, admin, keys = api.world.vault, api.world.admin, api.world.keys
    vault.clients.add(admin, keys, "Contoso")
    folder = vault.clients.add_folder(admin, "Contoso", "Servers/DCs")
    cred = vault.credentials.create(
        admin, keys, "Contoso", title="DC admin", password=None, generate=True,
        folder="Servers/DCs", tags=["dc"],
    )  # fmt: skip
    vault.credentials.change_password(admin, keys, cred.id, None, generate=True, reason="rot")

    client = vault.clients.get(admin, "Contoso")
    _same(_get(api, "/clients/Contoso"), client.to_json(open_flags=0))
    _same(_get(api, "/clients")[0], client.to_json(open_flags=0))
    _same(_get(api, "/clients/Contoso/folders")[0], folder.to_json())
    shown = vault.credentials.get(admin, cred.id)
    _same(_get(api, f"/credentials/{cred.id}"), shown.to_json())
    _same(_get(api, "/clients/Contoso/credentials")["items"][0], shown.to_json())
    if reveal:
        answer = api.admin.post(f"{V1}/credentials/{cred.id}/reveal").json()
        _same(answer, vault.credentials.reveal(admin, keys, cred.id).to_json())
        history = api.admin.post(f"{V1}/credentials/{cred.id}/history/reveal").json()
        entries = vault.credentials.history(admin, keys, cred.id, reveal=True)
    else:
        history = _get(api, f"/credentials/{cred.id}/history")
        entries = vault.credentials.history(admin, None, cred.id)
    for answer, entry in zip(history, entries, strict=True):
        _same(answer, entry.to_json())
    _same(_get(api, "/operators")[0], vault.operators.list(admin)[0].to_json())
    _same(_get(api, "/roles")[0], vault.operators.roles(admin)[0].to_json())
    _same(_get(api, "/tokens")[0], vault.access.list_tokens(admin, everyone=False)[0].to_json())
    _same(_get(api, "/policies")[0], vault.policies.get("default").named_json("default"))
    _same(_get(api, "/audit")["items"][0], vault.audit.list(admin, limit=1)[0].to_json())
    _same(_get(api, "/audit/verify"), vault.audit.verify(admin).to_json())


def test_every_schema_of_the_openapi_document_has_a_name_of_its_own() -> None:
    """Two models with one name make FastAPI name both by their module path
    (``credsync__api__...__Name``): unreadable in the docs and the clients made from them."""
    schemas = create_app(None).openapi()["components"]["schemas"]  # type: ignore[arg-type]
    assert not [name for name in schemas if "__" in name]
