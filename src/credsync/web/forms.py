"""What the dashboard's forms share: the values typed (kept to show a refused form again,
never a password) with what was wrong with them, the field a service's refusal is about, and
the record version a form was read at."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar

from credsync.errors import CredsyncError, InvalidInput

__all__ = ["Form", "form_version"]


@dataclass
class Form:
    values: dict[str, str]
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field or "", message)

    # The form's field for each service field named otherwise (InvalidInput.field); a field
    # not here is the form's field of the same name.
    field_names: ClassVar[Mapping[str, str]] = MappingProxyType({})
    # Where a refusal that names no field goes ("": the form as a whole).
    default_field: ClassVar[str] = ""

    def error(self, name: str, message: str) -> None:
        """``message`` about field ``name`` ("": the form as a whole), as a sentence."""
        self.errors.append((name, message[:1].upper() + message[1:]))

    def refused(self, exc: CredsyncError) -> None:
        """A service's refusal, on the form's field the input it concerns maps to (the first,
        when it concerns several), else on :attr:`default_field`."""
        name = self.default_field
        if isinstance(exc, InvalidInput) and exc.field:
            name = self.field_names.get(exc.field, exc.field)
        self.error(name, str(exc))

    def error_of(self, name: str) -> str:
        return next((m for f, m in self.errors if f == name), "")

    def ticked(self, name: str) -> bool:
        return self.values.get(name) == "on"


def form_version(value: str | None) -> int | None:
    """The record version a form was read at (None when the form has none)."""
    try:
        return int(value) if value else None
    except ValueError:
        raise InvalidInput("the form's version is not a number") from None
