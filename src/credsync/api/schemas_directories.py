"""The JSON bodies of directories, made from the kind descriptors
(:mod:`credsync.connectors.registry`): every kind's settings and ways to sign in are fields
(a directory shows its own kind's, the others null); the directory's kind checks what is its
own. A directory is answered with its record's shape (``DirectoryJson``, with every kind's
settings), as the CLI's ``--json`` prints it."""

from __future__ import annotations

import typing
from typing import TYPE_CHECKING, Annotated, Any, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field, create_model
from typing_extensions import TypedDict

from credsync.api.shapes import field_docs
from credsync.connectors import registry
from credsync.connectors.kinds import BIND_FIELD
from credsync.vault.directories import DirectoryJson

__all__ = ["DirectoryIn", "DirectoryOut", "DirectoryPatch", "input_of"]

MAX_CA_PEM = 256 * 1024  # the directory service's own limit
KIND_NAMES = tuple(k.name for k in registry.KINDS)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


_KIND = (Literal[KIND_NAMES], Field(description="The directory's kind."))


def _directory_out() -> Any:
    """``DirectoryJson`` (its fields described by their docstrings), its ``kind`` one of the
    kinds, and every kind's settings after its own fields (not required, as the kinds have
    them: a directory shows them all)."""
    docs = field_docs(DirectoryJson)
    common: dict[str, Any] = {
        name: Annotated[hint, Field(description=docs[name])] if name in docs else hint
        for name, hint in typing.get_type_hints(DirectoryJson).items()
    }
    common["kind"] = Annotated[_KIND[0], _KIND[1]]
    # In the order Directory.to_json writes them: the kinds' settings after the kind, the
    # endpoint (``url``) first among them, so that the JSON reads the same from the API as
    # from the CLI.
    head = list(common)[: list(common).index("kind") + 1]
    fields = {name: common[name] for name in head}
    fields["url"] = common["url"]
    for name, (hint, field) in _kind_fields(out=True).items():
        fields[name] = NotRequired[Annotated[hint, field]]
    fields.update({name: hint for name, hint in common.items() if name not in fields})
    return TypedDict("DirectoryOut", fields)  # type: ignore[operator]


if TYPE_CHECKING:
    DirectoryOut = DirectoryJson
    DirectoryIn = _DirectoryIn
    DirectoryPatch = _DirectoryPatch
else:
    DirectoryOut = _directory_out()
    DirectoryIn = create_model(
        "DirectoryIn", __base__=_DirectoryIn, kind=_KIND, **_kind_fields(out=False)
    )
    DirectoryPatch = create_model(
        "DirectoryPatch", __base__=_DirectoryPatch, **_kind_fields(out=False)
    )


def input_of(body: BaseModel) -> dict[str, Any]:
    """A body's directory inputs by name (what ``DirectoryInput.of`` takes): what was given."""
    return body.model_dump(exclude={"client", "name", "kind", "version"}, exclude_none=True)
