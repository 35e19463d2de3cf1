"""Request fields the vault checks too, refused in the vault's words.

A field such as a credential's title keeps its limits in the request model: they are in the
OpenAPI document (``minLength``, ``maxLength``, ``maxItems``) and they keep absurd values from
reaching the vault (422, before any work). But a value outside them is refused with the
message the vault gives for it (``title must not be empty``, ``title is too long (300
characters, at most 255)``): the service's own check is asked why. So a request through the
API and the same command on a local vault say the same thing; the error's ``details`` name
the field as the service's refusal would (``title``; the request's location, ``body.title``,
where the service names none).

Why not drop the limits from the models and let the services refuse? The document would lose
them, and the status of those answers would change (422 to 400) for clients that rely on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sized
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from credsync.errors import InvalidInput

__all__ = ["VAULT_CHECK", "Checked"]

# The type of a validation error in the vault's words: its message is the whole answer.
VAULT_CHECK = "vault_check"


@dataclass(frozen=True)
class Checked:
    """``Annotated[str, Checked(...)]`` (or a list): at least ``min_length`` and at most
    ``max_length`` characters (items), so documented; outside them, refused with the message
    of ``check``, the vault's check of the value (``what``: the words for a value it lets
    pass)."""

    what: str
    check: Callable[[Any], object]
    max_length: int
    min_length: int = 0

    def _validate(self, value: Sized) -> Any:
        if self.min_length <= len(value) <= self.max_length:
            return value
        fields: tuple[str, ...] = ()
        try:
            self.check(value)
        except InvalidInput as err:
            message, fields = str(err), err.fields
        else:
            short = len(value) < self.min_length
            message = f"{self.what} is too {'short' if short else 'long'}"
        escaped = message.replace("{", "{{").replace("}", "}}")
        raise PydanticCustomError(VAULT_CHECK, escaped, {"fields": list(fields)})

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._validate, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        if json_schema.get("type") == "array":
            json_schema["maxItems"] = self.max_length
        else:
            json_schema["maxLength"] = self.max_length
            if self.min_length:
                json_schema["minLength"] = self.min_length
        return json_schema
