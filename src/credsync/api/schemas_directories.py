"""The JSON bodies of directories, made from the kind descriptors
(:mod:`credsync.connectors.registry`): every kind's settings and ways to sign in are fields
(a directory shows its own kind's, the others null); the directory's kind checks what is its
own. The same fields as the CLI's ``--json`` (``Directory.to_json``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from credsync.connectors import registry
from credsync.connectors.kinds import BIND_FIELD

__all__ = ["DirectoryIn", "DirectoryOut", "DirectoryPatch", "input_of"]

Timestamp = str  # ISO 8601, UTC
MAX_CA_PEM = 256 * 1024  # the directory service's own limit
KIND_NAMES = tuple(k.name for k in registry.KINDS)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _DirectoryOut(BaseModel):
    id: str
    client_id: str
    client: str
    name: str
    kind: str
    url: str = Field(description="Where the directory is reached (its kind's endpoint).")
    bind_credential_id: str
    bind_kind: str | None = Field(
        description="Which of its kind's ways to sign in the credential is for (null: the "
        "kind's only one)."
    )
    ca: Literal["configured"] | None = Field(description='"configured" when a CA is stored.')
    insecure_skip_verify: bool
    options: dict[str, int]
    incremental: bool = Field(description="An incremental cursor is stored.")
    full_pass_at: Timestamp | None
    account_count: int | None
    next_run_at: Timestamp | None
    failures: int
    version: int
    created_at: Timestamp
    updated_at: Timestamp


class _Connection(_In):
    """What add and change share. The credential to sign in with: ``bind_credential`` (a
    kind's only way, or the way a directory has), or the input of one of its kind's ways."""

    ca_pem: str | None = Field(
        default=None,
        max_length=MAX_CA_PEM,
        description='PEM CA certificate(s) to trust; in a change, "" removes the CA (the '
        "system's CAs are trusted again).",
    )
    options: dict[str, int] = Field(
        default_factory=dict,
        max_length=20,
        description="interval, jitter, full_pass_hours, push_cap, min_account_ratio, "
        "force_change, and the kind's own (see each kind).",
    )


class _DirectoryIn(_Connection):
    client: str = Field(min_length=1, max_length=200, description="The client, by name or id.")
    name: str = Field(min_length=1, max_length=100)
    kind: str
    insecure_skip_verify: bool = Field(
        default=False, description="Do not check the certificate (unsafe; audited)."
    )


class _DirectoryPatch(_Connection):
    """Only the fields given change; ``version``: refuse if the directory changed since."""

    insecure_skip_verify: bool | None = None
    version: int | None = Field(default=None, ge=1)


def _kind_fields(*, out: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in registry.settings():
        if out and name == "url":
            continue  # every directory's endpoint: in the base
        fields[name] = (str | None, Field(default=None, max_length=2048,
                                          description=registry.help_text(name)))  # fmt: skip
    if out:
        return fields
    for field in [BIND_FIELD, *registry.bind_methods()]:
        if field not in fields:
            fields[field] = (
                str | None,
                Field(
                    default=None,
                    min_length=8,
                    max_length=36,
                    description=registry.help_text(field) if field != BIND_FIELD else
                    "A credential id (or 8+ characters): the directory_admin credential to "
                    "sign in with.",
                ),
            )  # fmt: skip
    return fields


def _out_fields() -> dict[str, Any]:
    """The answer's fields in the order ``Directory.to_json`` writes them (the kinds' settings
    after the kind, the endpoint first among them), so that the JSON reads the same from the
    API as from the CLI."""
    common = {name: (info.annotation, info) for name, info in _DirectoryOut.model_fields.items()}
    head = ["id", "client_id", "client", "name", "kind", "url"]
    fields: dict[str, Any] = {name: common[name] for name in head}
    fields["kind"] = _KIND
    fields.update(_kind_fields(out=True))
    fields.update({name: value for name, value in common.items() if name not in fields})
    return fields


_KIND = (Literal[KIND_NAMES], Field(description="The directory's kind."))

if TYPE_CHECKING:
    DirectoryOut = _DirectoryOut
    DirectoryIn = _DirectoryIn
    DirectoryPatch = _DirectoryPatch
else:
    DirectoryOut = create_model("DirectoryOut", **_out_fields())
    DirectoryIn = create_model(
        "DirectoryIn", __base__=_DirectoryIn, kind=_KIND, **_kind_fields(out=False)
    )
    DirectoryPatch = create_model(
        "DirectoryPatch", __base__=_DirectoryPatch, **_kind_fields(out=False)
    )


def input_of(body: BaseModel) -> dict[str, Any]:
    """A body's directory inputs by name (what ``DirectoryInput.of`` takes): what was given."""
    return body.model_dump(exclude={"client", "name", "kind", "version"}, exclude_none=True)
