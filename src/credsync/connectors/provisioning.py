"""What provisioning people writes to a directory (a connector's ``provision`` capability,
:attr:`~credsync.connectors.base.Capability.PROVISION`).

A connector with it answers, in the vault's words (no directory's attribute names):

* ``target_facts()``: the directory's domains (verified, federated) and licences (seats
  bought and used);
* ``iter_target_users()``: every user, with what provisioning compares (names, usage
  location, enabled, immutable id, licences) and whether a password may be written there;
* ``remove_user(object_id)``: delete a user (the directory's own deletion: Entra keeps it
  30 days, restorable);
* ``write_user(write)``: one person's writes, in order - create (or update), then the
  licence - sent so that a licence never goes ahead of the usage location it needs. Writes
  honour throttling as the kind's other writes do; a refusal of one step is in the result
  (the steps done before it stay done), not an exception, so that one person's refusal does
  not stop the others.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from credsync.types import Secret

__all__ = [
    "PROVISION_FIELDS",
    "Licence",
    "PeopleTarget",
    "TargetDomain",
    "TargetFacts",
    "TargetUser",
    "UserWrite",
    "WriteResult",
]

# The person fields provisioning writes (and compares on an existing user).
PROVISION_FIELDS = ("display_name", "given_name", "surname", "usage_location", "enabled")


@dataclass(frozen=True)
class TargetDomain:
    name: str
    verified: bool
    federated: bool


@dataclass(frozen=True)
class Licence:
    """A subscription: ``sku_id``, its ``part_number``, seats ``enabled`` and ``consumed``."""

    sku_id: str
    part_number: str
    enabled: int
    consumed: int

    @property
    def free(self) -> int:
        return max(0, self.enabled - self.consumed)


@dataclass(frozen=True)
class TargetFacts:
    domains: tuple[TargetDomain, ...]
    licences: tuple[Licence, ...]

    def domain(self, name: str) -> TargetDomain | None:
        key = name.lower()
        return next((d for d in self.domains if d.name.lower() == key), None)

    def licence(self, ref: str) -> Licence | None:
        """A licence by SKU id or part number (case-insensitive)."""
        key = ref.lower()
        return next(
            (x for x in self.licences if key in (x.sku_id.lower(), x.part_number.lower())), None
        )


@dataclass(frozen=True)
class TargetUser:
    """``managed_elsewhere``: the directory refuses writes to this user (synchronised from
    an on-premises directory)."""

    object_id: str
    username: str
    display_name: str = ""
    given_name: str = ""
    surname: str = ""
    usage_location: str = ""
    enabled: bool = True
    immutable_id: str = ""
    licences: frozenset[str] = frozenset()
    managed_elsewhere: bool = False

    def value(self, name: str) -> str | bool:
        found: str | bool = getattr(self, name)
        return found


@dataclass(frozen=True)
class UserWrite:
    """One person's writes: create when ``object_id`` is None (``username``: the new user's
    sign-in name; ``fields``: every PROVISION_FIELDS value), else update ``fields`` (only
    those that differ); ``password``: set it (no password on create: a random one, the user
    is disabled); ``immutable_id``: on create; ``licence``: a SKU id to assign."""

    username: str
    object_id: str | None = None
    fields: Mapping[str, str | bool] = field(default_factory=dict)
    password: Secret | None = field(default=None, repr=False)
    immutable_id: str | None = None
    licence: str | None = None


@dataclass
class WriteResult:
    """What was done (``created``, ``updated``, ``password``, ``licensed``, ``removed``),
    the user's id
    (a created one's too) and, when a step was refused, the directory's words."""

    object_id: str | None
    done: list[str] = field(default_factory=list)
    error: str | None = None
    writes: int = 0
    # the refused step stayed throttled (or busy) past the connector's retries: worth another try
    throttled: bool = False


@runtime_checkable
class PeopleTarget(Protocol):
    async def target_facts(self) -> TargetFacts: ...

    def iter_target_users(self) -> AsyncIterator[TargetUser]: ...

    async def write_user(self, write: UserWrite) -> WriteResult: ...

    async def remove_user(self, object_id: str) -> WriteResult: ...

    async def close(self) -> None: ...
