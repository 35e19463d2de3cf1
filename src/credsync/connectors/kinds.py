"""Directory kinds: what a connector package tells the rest of credsync about its kind.

Each connector package exports one :class:`Kind` from a light module of its own (``kind.py``:
no ldap3, no msal, so the command line stays fast), and :mod:`credsync.connectors.registry`
lists them. Nothing outside ``connectors/`` names a kind: the CLI's options, the API's fields
and the dashboard's form are made from the descriptors, and the engine builds a connector
through them. A kind says:

- its ``name`` (stored with each directory), the ``aliases`` people may type, a
  ``display_name`` and a one-line ``description``;
- its settings: a frozen dataclass (the kind's *settings model*, e.g. URL, base DN, tenant id)
  and, for each of its fields, a :class:`Setting` saying how it is named, explained, defaulted
  and checked. :meth:`Kind.parse` turns what a user gave into the model, or raises
  :class:`~credsync.errors.InvalidInput` with ``field`` set to the setting's name;
- how it binds: one or more :class:`BindMethod` (a directory_admin credential holding a bind
  password, an app's certificate, an app's client secret);
- the options of its own beyond the ones every directory has (:class:`OptionSpec`);
- whether its connector checks a password by binding (``verifies_passwords``): directories
  that can't are checked by timestamp only;
- which of the client's credentials are its business (``claims``: a username naming it, one
  naming another directory, or no opinion), so that a client with several machines does not
  get every machine's credentials flagged ``unmatched`` on the others;
- whether its connector selects accounts by an auto-create scope (``scoped_accounts``: OUs,
  nested groups; the connector's ``scoped_accounts`` capability), so that auto-create can be
  turned on for its directories;
- how to build the connector's :class:`~credsync.connectors.base.DirectoryConfig` from its
  settings and the decrypted bind credential (``config``), and to open the connector (``open``).

The input names are shared by every boundary: a setting ``tenant_id`` is the API's JSON field
``tenant_id``, the CLI's ``--tenant-id`` (unless :attr:`Setting.flag` says otherwise) and the
dashboard's field of that kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from credsync.connectors.base import Connector, DirectoryConfig
from credsync.errors import InvalidInput
from credsync.types import Secret

__all__ = [
    "BIND_FIELD",
    "BindMethod",
    "BoundCredential",
    "Kind",
    "OptionSpec",
    "Setting",
]

S = TypeVar("S")

# The input naming the credential a directory binds with, by the method it already has (or
# the kind's only one). Kinds with several methods add one input per method.
BIND_FIELD = "bind_credential"


def _strip(value: str) -> str:
    return value.strip()


@dataclass(frozen=True)
class Setting:
    """One setting of a kind.

    ``clean`` checks and normalises a given value (raising InvalidInput with its own words);
    ``default`` is used when the value is not given (shown as the default in help texts);
    ``rescan``: changing it points the directory at other accounts, so the next run is a full
    pass; ``flag``: the CLI's option when it is not ``--`` + the name with dashes; ``label``
    names it in messages ("needs its tenant id"), ``title`` on a directory's page ("Tenant").
    """

    name: str
    label: str
    help: str
    required: bool = False
    default: str | None = None
    clean: Callable[[str], str] = _strip
    flag: str = ""
    placeholder: str = ""
    rescan: bool = False
    title: str = ""

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def heading(self) -> str:
        """How a directory's page or ``directory show`` labels it."""
        return self.title or self.label[:1].upper() + self.label[1:]


@dataclass(frozen=True)
class BindMethod:
    """One way a kind signs in: ``field`` is the input that names the credential for it
    (``bind_credential``, ``certificate_credential``...); ``name`` is what the directory
    stores as its bind method (None for a kind's only way)."""

    name: str | None
    field: str
    label: str
    help: str

    @property
    def cli_flag(self) -> str:
        return "--" + self.field.replace("_", "-")


@dataclass(frozen=True)
class OptionSpec:
    """A whole-number option of a directory: its default and bounds."""

    name: str
    default: int
    low: int
    high: int
    help: str


@dataclass(frozen=True)
class BoundCredential:
    """The credential a directory binds with, decrypted for the config builder."""

    username: str
    secret: Secret = field(repr=False)
    method: str | None


@dataclass(frozen=True)
class Kind(Generic[S]):
    """A directory kind (see the module docstring)."""

    name: str
    display_name: str
    description: str
    model: type[S]
    settings: tuple[Setting, ...]
    binds: tuple[BindMethod, ...]
    config: Callable[[S, str, BoundCredential], DirectoryConfig]
    open: Callable[[DirectoryConfig], Connector]
    aliases: tuple[str, ...] = ()
    bind_heading: str = "Signs in with"  # how the way to sign in is shown, when there are several
    options: tuple[OptionSpec, ...] = ()
    verifies_passwords: bool = True
    scoped_accounts: bool = False
    # A relay may carry passwords from a directory of this kind (relay_source: its users are
    # selected by an IdentityScope) or to one (relay_target): credsync.vault.relays.
    relay_source: bool = False
    relay_target: bool = False
    # Its connector has the PEOPLE capability (people and groups can be imported from it:
    # credsync.sync.people_import); the dashboard lists only these (tests/connectors check
    # it agrees with the connector class).
    people_source: bool = False
    # Its connector has the DELETED_OBJECTS capability (the check of deleted objects:
    # credsync.sync.deleted_check); the dashboard offers only these (tests/connectors check
    # it agrees with the connector class).
    deleted_objects: bool = False
    # What the import's query takes for this kind, in a few words (the dashboard's hint on
    # the query field; each kind's connector documents its query language in full).
    people_query_hint: str = ""
    # Its connector has the GROUP_EXPORT capability (the client's groups can be exported to
    # it: credsync.sync.provision_groups); the dashboard lists only these.
    group_export: bool = False
    # Its connector has the PROVISION capability (people can be provisioned to it:
    # credsync.sync.provision_people); tests/connectors check it agrees with the class.
    people_target: bool = False
    # The directory's own password rule where it is known before a write (code, reason) or
    # None: a relay checks a password with it before carrying it there.
    password_refusal: Callable[[str], tuple[str, str] | None] | None = None
    # The directory's rule for a password of a given account (its names: account name, display
    # name): (code, reason) or None. Self-service checks a person's new password with it (and
    # with ``password_refusal``) before anything is stored.
    account_password_refusal: Callable[[str, Sequence[str]], tuple[str, str] | None] | None = None
    check: Callable[[S], None] | None = None
    endpoint: Callable[[S], str] = field(default=lambda s: str(getattr(s, "url", "")))
    scope: Callable[[S], str] = field(default=lambda s: str(getattr(s, "base_dn", "") or ""))
    # Whether a credential's username is this directory's business: True (it names this
    # directory: ``FS01\\user`` for machine FS01), False (it names another one: not planned
    # here, never flagged ``unmatched`` here), None (no opinion: planned here unless another
    # directory of the client answers True). None for the whole kind: no opinion on any
    # username (AD, Entra, LDAP: every credential of the client is planned, as before).
    claims: Callable[[S, str], bool | None] | None = None

    def setting(self, name: str) -> Setting | None:
        return next((s for s in self.settings if s.name == name), None)

    def parse(self, given: Mapping[str, str | None], current: S | None = None) -> S:
        """The settings model from what was given (``None``: not given). With ``current``
        (a change), what is not given stays as it is; without, it takes its default, and a
        required setting without one is refused."""
        known = {s.name for s in self.settings}
        for name, value in given.items():
            if name not in known and value is not None:
                raise InvalidInput(
                    f"{name} is not a setting of {self.display_name} directories (they have: "
                    f"{', '.join(sorted(known))})",
                    field=name,
                )
        values: dict[str, str | None] = {}
        for setting in self.settings:
            raw = given.get(setting.name)
            if raw is not None and raw.strip() == "" and not setting.required:
                values[setting.name] = setting.default  # an empty optional: back to default
                continue
            if raw is None:
                values[setting.name] = (
                    getattr(current, setting.name) if current is not None else setting.default
                )
                if values[setting.name] is None and setting.required:
                    raise InvalidInput(
                        f"a directory of kind {self.display_name} needs its {setting.label}",
                        field=setting.name,
                    )
                continue
            try:
                values[setting.name] = setting.clean(raw)
            except InvalidInput as exc:
                raise InvalidInput(str(exc), field=setting.name) from None
            if setting.required and not values[setting.name]:
                raise InvalidInput(
                    f"a directory of kind {self.display_name} needs its {setting.label}",
                    field=setting.name,
                )
        model = self.model(**values)
        if self.check is not None:
            self.check(model)
        return model

    def load(self, stored: Mapping[str, Any]) -> S:
        """The settings model from a directory's stored settings (checked when stored;
        settings a later version dropped are left out, new ones take their default)."""
        values = {s.name: stored.get(s.name, s.default) for s in self.settings}
        return self.model(**values)

    def dump(self, settings: S) -> dict[str, str]:
        """The settings to store: every setting with a value."""
        return {
            s.name: value
            for s in self.settings
            if (value := getattr(settings, s.name)) is not None and value != ""
        }

    def rescans(self, before: S, after: S) -> bool:
        """Whether a change points the directory at other accounts (a full pass next)."""
        return any(
            getattr(before, s.name) != getattr(after, s.name) for s in self.settings if s.rescan
        )

    def choose_bind(
        self, given: Mapping[str, str | None], current: str | None, *, adding: bool
    ) -> tuple[str | None, str | None]:
        """(credential reference, bind method) from the bind inputs given: at most one of
        them. ``bind_credential`` keeps the method there is (``current``), or the kind's only
        one; a kind with several methods must be told which when a directory is added."""
        fields = [BIND_FIELD] + [b.field for b in self.binds if b.field != BIND_FIELD]
        chosen = [(name, given[name]) for name in fields if given.get(name)]
        others = [name for name, value in given.items() if value and name not in fields]
        if others:
            raise InvalidInput(
                f"{others[0]} is not how {self.display_name} directories sign in (give "
                f"{self._bind_choices()})",
                field=others[0],
            )
        if len(chosen) > 1:
            raise InvalidInput(
                f"give one of {chosen[0][0]} and {chosen[1][0]} (one credential to sign in "
                "with), not both",
                field=chosen[1][0],
            )
        if not chosen:
            if adding:
                raise InvalidInput(
                    f"give the credential {self.display_name} directories sign in with: "
                    f"{self._bind_choices()}",
                    field=self.binds[0].field,
                )
            return None, None
        name, ref = chosen[0]
        method = next((b.name for b in self.binds if b.field == name), None)
        if name == BIND_FIELD:
            if len(self.binds) == 1:
                method = self.binds[0].name
            elif adding or current is None:
                raise InvalidInput(
                    f"a directory of kind {self.display_name} signs in with "
                    f"{self._bind_choices()}: say which",
                    field=name,
                )
            else:
                method = current
        return ref, method

    def _bind_choices(self) -> str:
        return " or ".join(f"{b.field} ({b.label})" for b in self.binds)

    def option(self, name: str) -> OptionSpec | None:
        return next((o for o in self.options if o.name == name), None)

    def settings_of(self, settings: S) -> dict[str, str | None]:
        """Each setting's value, by name (None when unset)."""
        return {s.name: getattr(settings, s.name) for s in self.settings}
