"""The remote agent's wire format (v1), shared by the agent and the server's relay: the
connector calls the server's runs make and the agent answers, as JSON. Nothing here is
secret: passwords travel sealed (:mod:`credsync.crypto.agent_keys`), bound by :func:`aad` to
the agent and the call.

A call is ``{"id", "op", "directory_id", "args"}``; ``op`` is one of :data:`OPS`. An answer
is ``{"id", "ok": true, "value"}`` or ``{"id", "ok": false, "error": {"type", "message"}}``
(``type``: a :class:`~credsync.errors.ConnectorError` class name; anything else is a
``PermanentConnectorError``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from credsync import errors
from credsync.connectors.base import (
    Account,
    Capability,
    ChangeSet,
    DirectoryConfig,
    PasswordOptions,
    VerifyOutcome,
    VerifyResult,
)
from credsync.types import Secret

__all__ = [
    "OPS",
    "RELAYED_CAPABILITIES",
    "aad",
    "account_from_json",
    "account_to_json",
    "changes_from_json",
    "changes_to_json",
    "config_from_json",
    "config_to_json",
    "error_from_json",
    "error_to_json",
    "options_from_json",
    "options_to_json",
    "verify_from_json",
    "verify_to_json",
]

OPS = frozenset(
    {"open", "close", "get_account", "set_password", "verify_password", "changes_since", "list"}
)
# What a relayed connector may offer (the agent says which of them its connector has).
RELAYED_CAPABILITIES = frozenset(
    {
        Capability.VERIFY_BIND,
        Capability.SET_PASSWORD,
        Capability.CHANGES,
        Capability.PASSWORD_TIMESTAMP,
    }
)

_ERRORS: dict[str, type[errors.ConnectorError]] = {
    cls.__name__: cls
    for cls in (
        errors.DirectoryUnreachable,
        errors.TransientConnectorError,
        errors.DirectoryAuthFailed,
        errors.DirectoryTlsError,
        errors.DirectoryDenied,
        errors.AccountNotFound,
        errors.PolicyRejected,
        errors.NotSupported,
        errors.PermanentConnectorError,
    )
}


def aad(agent_id: str, call_id: str, purpose: str) -> bytes:
    """What a sealed value is bound to: this agent, this call, this use."""
    return f"credsync-agent-v1\n{agent_id}\n{call_id}\n{purpose}".encode()


def account_to_json(account: Account) -> dict[str, Any]:
    out = {f.name: getattr(account, f.name) for f in dataclasses.fields(account)}
    when = out["password_changed_at"]
    out["password_changed_at"] = when.isoformat() if when is not None else None
    return out


def account_from_json(data: dict[str, Any]) -> Account:
    names = {f.name for f in dataclasses.fields(Account)}
    values = {k: v for k, v in data.items() if k in names}
    when = values.get("password_changed_at")
    values["password_changed_at"] = dt.datetime.fromisoformat(when) if when else None
    return Account(**values)


def changes_to_json(changes: ChangeSet) -> dict[str, Any]:
    return {
        "changed": [account_to_json(a) for a in changes.changed],
        "removed": list(changes.removed),
        "cursor": changes.cursor,
        "full": changes.full,
        "notes": list(changes.notes),
    }


def changes_from_json(data: dict[str, Any]) -> ChangeSet:
    return ChangeSet(
        tuple(account_from_json(a) for a in data["changed"]),
        tuple(str(r) for r in data["removed"]),
        str(data["cursor"]),
        bool(data["full"]),
        tuple(str(n) for n in data["notes"]),
    )


def verify_to_json(result: VerifyResult) -> dict[str, str]:
    return {"outcome": result.outcome.value, "detail": result.detail}


def verify_from_json(data: dict[str, Any]) -> VerifyResult:
    return VerifyResult(VerifyOutcome(data["outcome"]), str(data.get("detail", "")))


def options_to_json(options: PasswordOptions) -> dict[str, bool]:
    return {"must_change": options.must_change, "never_expires": options.never_expires}


def options_from_json(data: dict[str, Any]) -> PasswordOptions:
    return PasswordOptions(bool(data["must_change"]), bool(data["never_expires"]))


def config_to_json(config: DirectoryConfig) -> dict[str, Any]:
    """The connector's settings without the bind password (sealed apart)."""
    ca_pem = config.ca_pem
    if ca_pem is None and config.ca_file is not None:
        ca_pem = Path(config.ca_file).read_text(encoding="utf-8")
    return {
        "kind": config.kind,
        "name": config.name,
        "url": config.url,
        "bind_username": config.bind_username,
        "base_dn": config.base_dn,
        "ca_pem": ca_pem,
        "tls_server_name": config.tls_server_name,
        "insecure_skip_verify": config.insecure_skip_verify,
        "timeout": config.timeout,
        "options": dict(config.options),
    }


def config_from_json(data: dict[str, Any], bind_password: Secret) -> DirectoryConfig:
    return DirectoryConfig(
        kind=str(data["kind"]),
        name=str(data["name"]),
        url=str(data["url"]),
        bind_username=str(data["bind_username"]),
        bind_password=bind_password,
        base_dn=str(data.get("base_dn") or ""),
        ca_pem=data.get("ca_pem"),
        tls_server_name=data.get("tls_server_name"),
        insecure_skip_verify=bool(data.get("insecure_skip_verify")),
        timeout=float(data.get("timeout") or 10.0),
        options={str(k): str(v) for k, v in (data.get("options") or {}).items()},
    )


def error_to_json(exc: BaseException) -> dict[str, Any]:
    """A failure as the server re-raises it; a non-connector failure says only its type."""
    if isinstance(exc, errors.ConnectorError):
        out: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)[:2000]}
        retry = getattr(exc, "retry_after", None)
        if retry is not None:
            out["retry_after"] = retry
        return out
    return {"type": "PermanentConnectorError", "message": f"the agent failed: {type(exc).__name__}"}


def error_from_json(data: dict[str, Any]) -> errors.ConnectorError:
    cls = _ERRORS.get(str(data.get("type")), errors.PermanentConnectorError)
    message = f"{data.get('message', '')} (via the remote agent)"
    if issubclass(cls, errors.TransientConnectorError):
        retry = data.get("retry_after")
        return cls(message, retry_after=float(retry) if retry is not None else None)
    return cls(message)
