"""The relay form (add and change a relay): its fields are the settings' JSON names, so the
vault's refusal lands on its own field (the routes are :mod:`credsync.web.routes.relays`).

Lists are one item a line (``scope_ous``, ``scope_groups``, ``filters`` as
``attribute=value``, ``suffix_map`` as ``source=target``, ``allow_admins``); ``match`` is the
rules in order, comma separated; the flags are check boxes. The form carries no secret.
"""

from __future__ import annotations

from typing import Any

from credsync.errors import AlreadyExists, CredsyncError, InvalidInput
from credsync.vault.relay_settings import RelaySettings
from credsync.vault.relays import Relay
from credsync.web.forms import Form

__all__ = ["FLAGS", "LISTS", "NAMES", "RelayForm", "form_of", "read_form"]

# The settings typed one item a line, and the check boxes.
LISTS = ("scope_ous", "scope_groups", "filters", "suffix_map", "allow_admins")
FLAGS = ("enabled_only", "never_expires", "mirror_disable")
NAMES = ("name", "source", "target", "match", "version", *LISTS, *FLAGS)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class RelayForm(Form):
    """A relay's name, directories and settings as typed."""

    def refused(self, exc: CredsyncError) -> None:
        """The vault's refusal on its field (a name taken: the name's)."""
        if isinstance(exc, InvalidInput) and exc.field:
            self.error(exc.field, str(exc))
        elif isinstance(exc, AlreadyExists):
            self.error("name", str(exc))
        else:
            self.error("", str(exc))

    def settings(self) -> dict[str, Any]:
        """Every setting, under its JSON name, for the vault to check."""
        values = self.values
        given: dict[str, Any] = {name: _lines(values[name]) for name in LISTS}
        given.update({name: self.ticked(name) for name in FLAGS})
        given["match"] = values["match"]
        return given


def read_form(fields: dict[str, str]) -> RelayForm:
    values = {name: fields.get(name, "").replace("\r\n", "\n").strip() for name in NAMES}
    for name in FLAGS:
        values[name] = "on" if fields.get(name) == "on" else ""
    return RelayForm(values)


def form_of(relay: Relay | None = None, settings: RelaySettings | None = None) -> RelayForm:
    """The form's fields as the relay is (a new relay: the default settings)."""
    current = (relay.settings if relay else settings) or RelaySettings()
    data = current.to_json()
    values = {
        "name": relay.name if relay else "",
        "source": relay.source.id if relay else "",
        "target": relay.target.id if relay else "",
        "version": str(relay.version) if relay else "",
        "scope_ous": "\n".join(data["scope_ous"]),
        "scope_groups": "\n".join(data["scope_groups"]),
        "filters": "\n".join(data["filters"]),
        "suffix_map": "\n".join(f"{a}={b}" for a, b in data["suffix_map"].items()),
        "allow_admins": "\n".join(data["allow_admins"]),
        "match": ", ".join(data["match"]),
    }
    values.update({name: "on" if data[name] else "" for name in FLAGS})  # type: ignore[literal-required]
    return RelayForm(values)
