"""A person's new password, stored and pushed at once to every directory they have an
account in (Active Directory and Office 365, in parallel): the one way self-service changes a
password (onboarding, change, reset), used by the person's pages and the benchmark.

:func:`set_person_password` checks the password against every rule and stores it
(:meth:`credsync.vault.self_service.SelfService.store_password`: nothing is stored when a rule
refuses it), then pushes it to each of the person's accounts (``person_accounts``) and returns
one :class:`PushOutcome` per account:

- ``done``: the directory took it (the credential's link there, if it has one, is confirmed
  at the new version and its flags of an earlier failed push close: the push and its record
  are :mod:`credsync.sync.person_push`'s, which defederation's push shares);
- ``refused``: the directory refused it, in its own words (a policy: history, minimum age...);
- ``skipped``: nothing to push, and why: the client's directory sync is off (nothing of the
  client touches a directory); the account is synced from the on-premises directory (its
  password is that directory's);
  the user is in a federated domain, decided before the push: one the vault federates (its
  record says ``enabling`` or ``federated``: they sign in through the vault, its password is
  theirs already), or one the tenant's domain list shows federated outside the vault (their
  password is that identity provider's); Graph's refusal naming federation stays the last
  resort, for a tenant whose domains the app may not read;
- ``failed``: the directory is away or refused us (our bind credential, TLS...).

A refused or failed push leaves the vault's new password stored and flags the person's
credential in that directory (as the dashboard shows every failed push: ``policy_rejected``,
``unreachable``, ``denied``, ``error``...), for an operator to push again. Pushes ignore the
credential's sync mode: the person asked for this password everywhere, now. Audited once,
``person.password_pushed``, with each outcome.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import cast

from typing_extensions import TypedDict

from credsync.connectors.base import Capability, Connector
from credsync.connectors.federation import DomainFederation
from credsync.connectors.registry import ConnectorFactory, open_connector
from credsync.errors import ConnectorError, PolicyRejected, TransientConnectorError
from credsync.storage import clients as client_rows
from credsync.storage import people as people_rows
from credsync.sync.connect import directory_config, load_directory
from credsync.sync.person_push import PushTarget, flag_failed, push_to_account
from credsync.types import Secret
from credsync.vault import Vault
from credsync.vault.directories import Directory
from credsync.vault.keyring import KeyRing
from credsync.vault.self_service import LinkPerson, StoredPassword, self_service_actor

__all__ = ["PushOutcome", "PushOutcomeJson", "SelfServiceResult", "set_person_password"]

_FEDERATED = ("federated",)
_VAULT_FEDERATES = ("enabling", "federated")


class PushOutcomeJson(TypedDict):
    directory: str
    account: str
    status: str
    detail: str


@dataclass(frozen=True)
class PushOutcome:
    directory: str
    account: str
    status: str  # done | refused | skipped | failed
    detail: str

    def to_json(self) -> PushOutcomeJson:
        return PushOutcomeJson(
            directory=self.directory, account=self.account, status=self.status, detail=self.detail
        )


@dataclass(frozen=True)
class SelfServiceResult:
    stored: StoredPassword
    pushes: tuple[PushOutcome, ...]

    @property
    def all_done(self) -> bool:
        return all(p.status in ("done", "skipped") for p in self.pushes)


async def _federated(vault: Vault, connector: Connector, upn: str) -> str | None:
    """Why the user of ``upn`` takes no pushed password, its domain being federated (None:
    not known to be), decided before the push, for a directory that federates domains (the
    federation capability: Office 365; an AD account with the same UPN suffix is pushed as
    ever, its domain controllers know nothing of federation). From the vault's record of the
    domains it federates (``enabling`` or ``federated``: the vault signs them in, its
    password is theirs), else from the tenant's own domain list (one read: a domain
    federated outside the vault, to another identity provider, whose password is that
    provider's)."""
    domain = upn.rpartition("@")[2].strip().lower()
    if not domain or Capability.FEDERATION not in connector.capabilities:
        return None  # federation is a cloud directory's sign-in: an AD account takes the push
    record = vault.federated_domains.resolve(domain)
    if record is not None and record.state in _VAULT_FEDERATES:
        return (
            f"the user is in a federated domain ({domain}, {record.state} to the vault): they "
            "sign in through the vault, so its password is theirs already: nothing to push"
        )
    try:
        domains = await cast(DomainFederation, connector).federation_domains()
    except ConnectorError:  # not allowed to read domains, say: the push will tell
        return None
    if not any(d.name == domain and d.federated for d in domains):
        return None
    whose = "outside the vault" if record is None else f"the vault's record says {record.state}"
    return (
        f"the user is in a federated domain ({domain}, {whose}): they sign in through its "
        "identity provider, which holds their password: nothing to push"
    )


async def _push_one(
    vault: Vault,
    keys: KeyRing,
    stored: StoredPassword,
    directory: Directory,
    object_id: str,
    password: Secret,
    factory: ConnectorFactory,
) -> PushOutcome:
    name = object_id
    connector = None
    target = PushTarget(directory.client_id, stored.credential_id, stored.version,
                        directory.id, object_id, "self-service")  # fmt: skip
    try:
        connector = factory(await asyncio.to_thread(directory_config, vault.db, keys, directory))
        account = await connector.get_account(object_id)
        name = account.upn or account.username
        if account.synced_from_on_premises:
            return PushOutcome(directory.name, name, "skipped",
                               "the account is synced from the on-premises directory: its "
                               "password comes from there")  # fmt: skip
        federated = await _federated(vault, connector, account.upn or "")
        if federated:
            return PushOutcome(directory.name, name, "skipped", federated)
        await push_to_account(vault.db, connector, account, password, target)
    except ConnectorError as exc:
        text = str(exc)
        # The last resort: a domain federated outside the vault that the tenant's domain list
        # did not show (the app may not read domains): the directory's refusal names it.
        if not isinstance(exc, TransientConnectorError) and any(
            w in text.lower() for w in _FEDERATED
        ):
            why = ("the user is in a federated domain: they sign in through its identity "
                   f"provider, so there is nothing to push ({text})")  # fmt: skip
            return PushOutcome(directory.name, name, "skipped", why)
        flag_failed(vault.db, target, exc, what="self-service password change")
        kind = "refused" if isinstance(exc, PolicyRejected) else "failed"
        return PushOutcome(directory.name, name, kind, text)
    finally:
        if connector is not None:
            await connector.close()
    return PushOutcome(directory.name, name, "done", "the new password is set")


async def push_person_password(
    vault: Vault,
    keys: KeyRing,
    stored: StoredPassword,
    password: Secret,
    *,
    factory: ConnectorFactory = open_connector,
) -> tuple[PushOutcome, ...]:
    """Push the stored password to every account of the person, in parallel (see the module
    docstring); audited ``person.password_pushed``."""
    with vault.db.read() as conn:
        person = people_rows.get(conn, stored.person_id)
        accounts = people_rows.accounts_of(conn, [stored.person_id])[stored.person_id]
        client = client_rows.find(conn, person.client_id, "") if person else None
    if person is None or client is None:
        return ()
    directories = [load_directory(vault.db, a.directory_id) for a in accounts]
    if not client.directory_sync:
        outcomes: tuple[PushOutcome, ...] = tuple(
            PushOutcome(d.name, a.object_id, "skipped", "the client's directory sync is off")
            for d, a in zip(directories, accounts, strict=True)
        )
    else:
        outcomes = tuple(
            await asyncio.gather(
                *(
                    _push_one(vault, keys, stored, d, a.object_id, password, factory)
                    for d, a in zip(directories, accounts, strict=True)
                )
            )
        )
    with vault.db.write() as conn:
        vault.audit.append(
            conn, self_service_actor(person), "person.password_pushed", target_type="person",
            target_id=person.id, client_id=person.client_id,
            details={"secret_version": stored.version,
                     "pushes": [o.to_json() for o in outcomes]},
        )  # fmt: skip
    return outcomes


async def set_person_password(
    vault: Vault,
    keys: KeyRing,
    person_id: str,
    password: Secret,
    *,
    why: str,
    link: LinkPerson | None = None,
    factory: ConnectorFactory = open_connector,
) -> SelfServiceResult:
    """Check and store the person's new password, then push it everywhere (see the module
    docstring). PasswordRefused (nothing stored) when a rule refuses it."""
    stored = await asyncio.to_thread(
        vault.self_service.store_password, keys, person_id, password, why=why, link=link
    )
    pushes = await push_person_password(vault, keys, stored, password, factory=factory)
    return SelfServiceResult(stored, pushes)
