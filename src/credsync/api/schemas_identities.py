"""The JSON bodies people and groups are sent in (issue 16); the API answers with their
records' shapes (``PersonJson``, ``GroupJson``, ``MemberJson``), as the CLI's ``--json``
prints them. The fields' rules are :mod:`credsync.vault.identities`'s (a bad value is a 400
naming the field)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["GroupIn", "GroupPatch", "MemberIn", "PersonIn", "PersonPatch"]


class _PersonFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    given_name: str | None = Field(default=None, max_length=1000)
    surname: str | None = Field(default=None, max_length=1000)
    display_name: str | None = Field(
        default=None, max_length=1000, description="Default: given name and surname."
    )
    email: str | None = Field(default=None, max_length=1000)
    usage_location: str | None = Field(
        default=None, max_length=100, description="An ISO 3166-1 alpha-2 country code."
    )
    department: str | None = Field(default=None, max_length=1000)
    job_title: str | None = Field(default=None, max_length=1000)
    enabled: bool | None = None
    credential: str | None = Field(
        default=None,
        max_length=200,
        description="The primary login credential's id (of the same client); empty: none.",
    )


class PersonIn(_PersonFields):
    username: str = Field(max_length=1000, description="Unique in the client (any case).")


class PersonPatch(_PersonFields):
    username: str | None = Field(default=None, max_length=1000)
    version: int | None = Field(
        default=None, description="Refuse (409) if the person changed since it was read."
    )


class _GroupFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["security", "microsoft365"] | None = None
    email: str | None = Field(default=None, max_length=1000)
    description: str | None = Field(default=None, max_length=5000)


class GroupIn(_GroupFields):
    name: str = Field(max_length=1000)


class GroupPatch(_GroupFields):
    name: str | None = Field(default=None, max_length=1000)
    version: int | None = Field(
        default=None, description="Refuse (409) if the group changed since it was read."
    )


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["person", "group"] = "person"
    member: str = Field(
        max_length=400, description="A person's username or id, a group's name or id."
    )
