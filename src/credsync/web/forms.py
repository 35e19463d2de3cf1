"""What the dashboard's forms share: the values typed (kept to show a refused form again,
never a password) with what was wrong with them, the field a service's message is about, and
the record version a form was read at."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from credsync.errors import InvalidInput

__all__ = ["Form", "field_of", "form_version"]


@dataclass
class Form:
    values: dict[str, str]
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field or "", message)

    def error(self, name: str, message: str) -> None:
        """``message`` about field ``name`` ("": the form as a whole), as a sentence."""
        self.errors.append((name, message[:1].upper() + message[1:]))

    def error_of(self, name: str) -> str:
        return next((m for f, m in self.errors if f == name), "")

    def ticked(self, name: str) -> bool:
        return self.values.get(name) == "on"


def field_of(message: str, fields: Sequence[tuple[str, str]]) -> str:
    """The field a service's message is about: the first of ``fields`` (words -> field)
    whose words it holds ("" when none)."""
    lowered = message.lower()
    return next((name for words, name in fields if words in lowered), "")


def form_version(value: str | None) -> int | None:
    """The record version a form was read at (None when the form has none)."""
    try:
        return int(value) if value else None
    except ValueError:
        raise InvalidInput("the form's version is not a number") from None
