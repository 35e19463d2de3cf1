"""The directory kinds credsync knows: one line per kind in :data:`KINDS`.

Each entry is the :class:`~credsync.connectors.kinds.Kind` a connector package exports from its
light ``kind.py``; the connector class itself (and ldap3 or msal) is imported only when a
directory of that kind is used, so the command line stays fast. Adding a kind is a new package
under ``connectors/`` and one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from credsync.connectors.ad.kind import KIND as _AD
from credsync.connectors.base import Connector, DirectoryConfig
from credsync.connectors.graph.kind import KIND as _ENTRA
from credsync.connectors.kinds import BindMethod, Kind, Setting
from credsync.connectors.ldap.kind import KIND as _LDAP
from credsync.connectors.local_accounts.kind import KIND as _LOCAL
from credsync.connectors.operator_sign_in import OperatorSignIn, ProviderConfig
from credsync.connectors.people_source import PeopleSource
from credsync.errors import ConfigError, InvalidInput

__all__ = [
    "KINDS",
    "ConnectorFactory",
    "bind_methods",
    "help_text",
    "kind_of",
    "open_connector",
    "operator_directory",
    "operator_sign_in",
    "settings",
    "verifying_kinds",
]

KINDS: tuple[Kind[Any], ...] = (
    _AD,
    _ENTRA,
    _LDAP,
    _LOCAL,
)

ConnectorFactory = Callable[[DirectoryConfig], Connector]

_BY_NAME: dict[str, Kind[Any]] = {}
for _kind in KINDS:
    for _name in (_kind.name, *_kind.aliases):
        _BY_NAME[_name] = _kind


def kind_of(name: str) -> Kind[Any]:
    """A kind by its name or one of its aliases (any case); InvalidInput naming the choices."""
    found = _BY_NAME.get(name.strip().lower())
    if found is None:
        choices = ", ".join(k.name.replace("_", "-") for k in KINDS)
        raise InvalidInput(
            f"directory kind {name!r} is not supported (one of: {choices})", field="kind"
        )
    return found


def open_connector(config: DirectoryConfig) -> Connector:
    """A connector for ``config.kind`` (not yet connected: connectors connect on first use)."""
    try:
        kind = _BY_NAME[config.kind]
    except KeyError:
        raise ConfigError(f"no connector for directory kind {config.kind!r}") from None
    return kind.open(config)


def settings() -> dict[str, tuple[tuple[Kind[Any], Setting], ...]]:
    """Every kind's settings by name, with the kinds that have one of that name (in the order
    of :data:`KINDS`): what a change of any directory may carry."""
    out: dict[str, tuple[tuple[Kind[Any], Setting], ...]] = {}
    for kind in KINDS:
        for setting in kind.settings:
            out[setting.name] = (*out.get(setting.name, ()), (kind, setting))
    return out


def bind_methods() -> dict[str, tuple[tuple[Kind[Any], BindMethod], ...]]:
    """Every kind's ways to sign in by their input's name, with the kinds that have it."""
    out: dict[str, tuple[tuple[Kind[Any], BindMethod], ...]] = {}
    for kind in KINDS:
        for method in kind.binds:
            out[method.field] = (*out.get(method.field, ()), (kind, method))
    return out


def help_text(name: str) -> str:
    """The help of a setting or sign-in input that several kinds may have: each kind's part
    named (just the text when every kind has it alike)."""
    texts = [(k, s.help) for k, s in settings().get(name, ())]
    texts += [(k, m.help) for k, m in bind_methods().get(name, ())]
    if len(texts) == len(KINDS) and len({t for _, t in texts}) == 1:
        return texts[0][1]
    return "; ".join(f"{k.display_name}: {t[:1].lower()}{t[1:].rstrip('.')}" for k, t in texts)


def verifying_kinds() -> tuple[str, ...]:
    """The kinds whose connectors check a password by binding."""
    return tuple(k.name for k in KINDS if k.verifies_passwords)


def operator_sign_in(config: ProviderConfig) -> OperatorSignIn:
    """The identity provider operators sign in with (the MSP's own tenant), for ``config``:
    see :mod:`credsync.connectors.operator_sign_in` (msal is imported only now)."""
    from credsync.connectors.graph.signin import MicrosoftSignIn

    return MicrosoftSignIn(config)


def operator_directory(config: ProviderConfig) -> PeopleSource:
    """The MSP's tenant as a people source (search, read, members), for the import of
    operators; the connector's ``close()`` ends it."""
    from credsync.connectors.graph.signin import tenant_reader

    reader: PeopleSource = tenant_reader(config)
    return reader
