"""The directory form of the dashboard: its fields, made from the kind descriptors
(:mod:`credsync.connectors.registry`; a kind's settings are ``<kind>-<setting>``), what it can
check at once, and where a refusal of the vault's goes on it. The routes are
:mod:`credsync.web.routes.directories`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from credsync.connectors import registry
from credsync.connectors.kinds import BIND_FIELD, Kind
from credsync.errors import AlreadyExists, CredsyncError, InvalidInput, NotFound
from credsync.web.forms import Form

__all__ = [
    "OPTIONS",
    "BindChoice",
    "DirectoryForm",
    "FieldView",
    "KindView",
    "binds",
    "check",
    "form_name",
    "kind_of_form",
    "kind_views",
    "read_form",
]

# The options on the form (the thresholds among them: docs/quarantine.md).
OPTIONS = ("interval", "push_cap", "push_cap_percent", "change_cap", "change_cap_percent",
           "inbound_cap", "inbound_cap_percent")  # fmt: skip
# The form's fields every kind has; a kind's own are "<kind>-<setting>" (and
# "<kind>-bind_method" for a kind with several ways to sign in), read only for that kind.
_SHARED = ("name", "kind", "bind_credential", "ca_pem", *OPTIONS, "version")
# Where an input the vault refused is on the form (a kind's settings: that kind's field).
_FIELDS = {f"options.{name}": name for name in OPTIONS}


@dataclass(frozen=True)
class BindChoice:
    id: str
    title: str
    username: str


@dataclass(frozen=True)
class FieldView:
    name: str  # the form field
    label: str
    hint: str
    placeholder: str


@dataclass(frozen=True)
class KindView:
    """A kind as the form shows it: its settings' fields and its ways to sign in (a choice
    only for a kind with several)."""

    name: str
    display_name: str
    description: str
    fields: tuple[FieldView, ...]
    methods: tuple[tuple[str, str], ...]  # (value, label)

    @property
    def method_field(self) -> str:
        return f"{self.name}-bind_method"


def form_name(kind: str, setting: str) -> str:
    return f"{kind}-{setting}"


def kind_views() -> list[KindView]:
    views = []
    for kind in registry.KINDS:
        fields = tuple(
            FieldView(
                form_name(kind.name, s.name),
                s.heading,
                ("(" + s.help.rstrip(".") + ")") if s.help else "",
                s.placeholder,
            )
            for s in kind.settings
        )
        methods = (
            tuple((m.name or "", m.label[:1].upper() + m.label[1:]) for m in kind.binds)
            if len(kind.binds) > 1
            else ()
        )
        views.append(KindView(kind.name, kind.display_name, kind.description, fields, methods))
    return views


class DirectoryForm(Form):
    """A directory's connection and options as typed."""

    @property
    def kind(self) -> str:
        return self.values.get("kind", "")

    def skip_verify(self) -> bool:
        return self.ticked("insecure_skip_verify")

    def refused(self, exc: CredsyncError, default: str = "") -> None:
        """The vault's refusal, on the field it is about: a kind's setting is that kind's
        field, any way to sign in the credential's choice."""
        if isinstance(exc, InvalidInput) and exc.field:
            name = exc.field
            if name in registry.settings():
                name = form_name(self.kind, name)
            elif name in registry.bind_methods():
                name = "bind_credential"
            self.error(_FIELDS.get(name, name), str(exc))
        elif isinstance(exc, AlreadyExists):
            self.error("name", str(exc))
        elif isinstance(exc, NotFound):
            self.error("bind_credential", str(exc))
        else:
            self.error(default, str(exc))


def read_form(fields: dict[str, str]) -> DirectoryForm:
    names = list(_SHARED)
    for kind in registry.KINDS:
        names += [form_name(kind.name, s.name) for s in kind.settings]
        names.append(form_name(kind.name, "bind_method"))
    values = {k: fields.get(k, "").strip() for k in names}
    values["ca_pem"] = fields.get("ca_pem", "").replace("\r\n", "\n").strip()
    if values["ca_pem"]:
        values["ca_pem"] += "\n"
    values["insecure_skip_verify"] = "on" if fields.get("insecure_skip_verify") == "on" else ""
    values["remove_ca"] = "on" if fields.get("remove_ca") == "on" else ""
    return DirectoryForm(values)


def kind_of_form(form: DirectoryForm) -> Kind[Any] | None:
    try:
        return registry.kind_of(form.kind) if form.kind else None
    except InvalidInput:
        return None


def check(form: DirectoryForm, kind: Kind[Any] | None, *, adding: bool) -> dict[str, int]:
    """What the form can tell at once (every missing field, not only the first); the
    options as numbers. The vault checks the rest (the formats)."""
    if adding and not form.values["name"]:
        form.error("name", "Give the directory a name.")
    if kind is None:
        form.error("kind", "Choose the kind of directory.")
    else:
        for setting in kind.settings:
            if setting.required and not form.values[form_name(kind.name, setting.name)]:
                form.error(form_name(kind.name, setting.name), f"Give the {setting.label}.")
        if len(kind.binds) > 1 and not form.values[form_name(kind.name, "bind_method")]:
            form.error(
                form_name(kind.name, "bind_method"),
                "Choose how the directory signs in: "
                + " or ".join(m.label for m in kind.binds)
                + ".",
            )
    if adding and not form.values["bind_credential"]:
        form.error("bind_credential", "Choose the credential to bind or sign in with.")
    options: dict[str, int] = {}
    for name in OPTIONS:
        raw = form.values[name]
        if raw:
            try:
                options[name] = int(raw)
            except ValueError:
                form.error(name, f"The {name.replace('_', ' ')} must be a whole number.")
    return options


def binds(form: DirectoryForm, kind: Kind[Any]) -> dict[str, str]:
    """The credential chosen, under the input of the way to sign in chosen."""
    credential = form.values["bind_credential"]
    if len(kind.binds) == 1:
        return {BIND_FIELD: credential}
    chosen = form.values[form_name(kind.name, "bind_method")]
    method = next((m for m in kind.binds if m.name == chosen), None)
    return {method.field if method else BIND_FIELD: credential}
