"""Identifiers, enumerations and the :class:`Secret` wrapper shared by every layer."""

from __future__ import annotations

import enum
import uuid
from typing import Literal, NewType

__all__ = [
    "ClientId",
    "CredentialId",
    "CredentialType",
    "FolderId",
    "OperatorId",
    "Secret",
    "SyncMode",
    "SyncModeName",
    "TokenId",
    "new_id",
]

ClientId = NewType("ClientId", str)
CredentialId = NewType("CredentialId", str)
FolderId = NewType("FolderId", str)
OperatorId = NewType("OperatorId", str)
TokenId = NewType("TokenId", str)


def new_id() -> str:
    """A new random identifier (a UUID4 in its canonical text form)."""
    return str(uuid.uuid4())


class SyncMode(enum.StrEnum):
    """How a credential is kept in step with its directory account."""

    OFF = "off"
    REPORT = "report"
    ENFORCE = "enforce"
    # Capture + push: directory changes captured at the DC become vault versions, vault changes
    # are pushed as in enforce (issue 14; the CLI spells it "two-way").
    TWO_WAY = "two_way"

    @property
    def pushes(self) -> bool:
        """The vault's changes are pushed to the directory (enforce and two-way): a switch to
        such a mode overwrites directory passwords, so it is confirmed and needs
        directory.setup."""
        return self in (SyncMode.ENFORCE, SyncMode.TWO_WAY)

    @property
    def spelled(self) -> str:
        """The mode as the command line and the dashboard spell it (``two-way``)."""
        return self.value.replace("_", "-")

    @classmethod
    def parse(cls, text: str) -> SyncMode:
        """A mode from its value or its spelling (``two-way`` and ``two_way`` alike, any
        case); ValueError for anything else."""
        return cls(text.strip().lower().replace("-", "_"))


SyncModeName = Literal[
    "off", "report", "enforce", "two_way"
]  # a SyncMode's value, in a record's JSON


class CredentialType(enum.StrEnum):
    LOGIN = "login"
    DIRECTORY_ADMIN = "directory_admin"
    SERVICE_ACCOUNT = "service_account"
    API_KEY = "api_key"
    OTHER = "other"


class Secret:
    """A secret string whose ``repr``/``str`` never show the value.

    The value is only reachable through :meth:`reveal`, so an accidental ``print``, f-string,
    log call or traceback shows ``Secret('********')``.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret holds text")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        import hmac

        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        raise TypeError("Secret is not hashable")

    def __len__(self) -> int:
        return len(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Secret cannot be pickled")
