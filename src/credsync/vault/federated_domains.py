"""A client's Office 365 domains federated to the vault (README: identity provider).

A :class:`FederatedDomain` is what the vault knows of one domain whose sign-ins it answers:
the client and its Office 365 directory, the vault's public URL (its identity-provider
endpoints derive from it, :func:`idp_endpoints`: the issuer URI is unique per domain, as
Entra requires), where responses are posted (``login_url``), the protocol, the MFA behaviour
given to Graph, a state (``enabling`` -> ``federated`` -> ``defederating`` -> ``managed``)
and Graph's federationConfiguration id. Talking to Graph is the federation commands' job;
this service keeps the record. Its identities (:class:`FederatedIdentity`) are who may sign
in through the domain: a person and their Entra user's ``onPremisesImmutableId`` and UPN.

Who may do what: reading needs ``vault.read``; every write (record, state, identities,
forget) ``directory.setup``, each audited (``federation.domain_recorded``,
``federation.state``, ``federation.identities``, ``federation.domain_forgotten``). A domain
belongs to one client. :meth:`FederatedDomains.resolve` and :meth:`FederatedDomains.identity`
take no actor: they serve the identity provider's public endpoints.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.engine import Connection

from credsync.errors import AlreadyExists, InvalidInput, NotFound
from credsync.storage import Database
from credsync.storage import federation as rows
from credsync.storage import people as people_rows
from credsync.storage.clients import ClientRow
from credsync.vault._time import as_utc, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import SYSTEM, Actor, Permission
from credsync.vault.clients import find_client_row
from credsync.vault.directories import find_directory_row

__all__ = [
    "MFA_BEHAVIORS",
    "PROTOCOLS",
    "STATES",
    "FederatedDomain",
    "FederatedDomains",
    "FederatedIdentity",
    "IdpEndpoints",
    "check_domain",
    "idp_endpoints",
]

PROTOCOLS = ("saml", "wsFed")
# Graph's federatedIdpMfaBehavior values (internalDomainFederation).
MFA_BEHAVIORS = (
    "acceptIfMfaDoneByFederatedIdp",
    "enforceMfaByFederatedIdp",
    "rejectMfaByFederatedIdp",
)
STATES = ("enabling", "federated", "defederating", "managed")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# Microsoft: the immutable id is "up to 64" characters; it is what NameID carries.
MAX_IMMUTABLE_ID = 64


@dataclass(frozen=True)
class IdpEndpoints:
    issuer: str
    sign_in: str
    sign_out: str
    metadata: str


def idp_endpoints(base_url: str, domain: str) -> IdpEndpoints:
    """The identity provider's URIs for one domain: the issuer is ``{base_url}/idp/{domain}``
    (Entra refuses one issuer URI for two domains), the rest hang under it."""
    issuer = f"{base_url.rstrip('/')}/idp/{domain.lower()}"
    return IdpEndpoints(issuer, f"{issuer}/sign-in", f"{issuer}/sign-out", f"{issuer}/metadata")


@dataclass(frozen=True)
class FederatedDomain:
    client_id: str
    client_name: str
    domain: str
    directory_id: str
    base_url: str
    login_url: str
    protocol: str
    mfa_behavior: str
    state: str
    config_id: str | None
    updated_at: dt.datetime
    updated_by: str

    @property
    def endpoints(self) -> IdpEndpoints:
        return idp_endpoints(self.base_url, self.domain)

    @property
    def issuer_uri(self) -> str:
        return self.endpoints.issuer

    @property
    def sign_in_uri(self) -> str:
        return self.endpoints.sign_in

    @property
    def sign_out_uri(self) -> str:
        return self.endpoints.sign_out

    @property
    def metadata_uri(self) -> str:
        return self.endpoints.metadata


@dataclass(frozen=True)
class FederatedIdentity:
    person_id: str
    immutable_id: str
    """The Entra user's ``onPremisesImmutableId``: the SAML NameID."""
    upn: str
    """The Entra user's ``userPrincipalName``: ``IDPEmail``."""


def check_domain(domain: str) -> str:
    """The domain name, lower case; InvalidInput (field ``domain``) when it is no DNS name."""
    name = domain.strip().lower().rstrip(".")
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(x) for x in labels):
        raise InvalidInput(f"{domain!r} is not a domain name (like contoso.com)", field="domain")
    return name


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(value: str, field: str, what: str) -> str:
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host or parts.query or parts.fragment:
        raise InvalidInput(f"{what} must be an absolute https URL, got {value!r}", field=field)
    if parts.scheme == "http" and not _is_loopback(host):
        raise InvalidInput(
            f"{what} must use https (plain http only on this machine's loopback address), "
            f"got {value!r}",
            field=field,
        )
    return url


def _model(row: rows.DomainRow, client_name: str) -> FederatedDomain:
    return FederatedDomain(
        client_id=row.client_id,
        client_name=client_name,
        domain=row.domain,
        directory_id=row.directory_id,
        base_url=row.base_url,
        login_url=row.login_url,
        protocol=row.protocol,
        mfa_behavior=row.mfa_behavior,
        state=row.state,
        config_id=row.config_id,
        updated_at=as_utc(row.updated_at),
        updated_by=row.updated_by,
    )


class FederatedDomains:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def record(
        self,
        actor: Actor,
        client_ref: str,
        domain: str,
        *,
        directory_id: str,
        base_url: str,
        login_url: str,
        protocol: str,
        mfa_behavior: str,
    ) -> FederatedDomain:
        """Record (or re-record: enabling again) the domain for the client, state
        ``enabling`` (directory.setup). A domain recorded for another client is refused."""
        actor.require(Permission.DIRECTORY_SETUP)
        name = check_domain(domain)
        if name.endswith(".onmicrosoft.com") or name == "onmicrosoft.com":
            raise InvalidInput(
                f"{name} is Microsoft's initial domain: it can't be federated", field="domain"
            )
        base = _check_url(base_url, "base_url", "the vault's public URL")
        login = _check_url(login_url, "login_url", "the sign-in URL responses are posted to")
        if protocol not in PROTOCOLS:
            raise InvalidInput(
                f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}",
                field="protocol",
            )
        if mfa_behavior not in MFA_BEHAVIORS:
            raise InvalidInput(
                f"MFA behaviour must be one of {', '.join(MFA_BEHAVIORS)}, got {mfa_behavior!r}",
                field="mfa_behavior",
            )
        with self._db.write() as conn:
            client = find_client_row(conn, client_ref, actor)
            directory = find_directory_row(conn, directory_id, actor)
            if directory.client_id != client.id:
                raise InvalidInput(
                    f"directory {directory.name!r} is not one of client {client.name!r}'s",
                    field="directory_id",
                )
            existing = rows.domain(conn, name, lock=True)
            if existing is not None and existing.client_id != client.id:
                raise AlreadyExists(f"domain {name} is federated for another client")
            row = rows.DomainRow(
                domain=name,
                client_id=client.id,
                directory_id=directory.id,
                base_url=base,
                login_url=login,
                protocol=protocol,
                mfa_behavior=mfa_behavior,
                state="enabling",
                config_id=None if existing is None else existing.config_id,
                updated_at=utcnow(),
                updated_by=actor.name,
            )
            if existing is None:
                rows.insert_domain(conn, row)
            else:
                rows.update_domain(conn, row)
            self._audit.append(
                conn,
                actor,
                "federation.domain_recorded",
                target_type="domain",
                target_id=name,
                client_id=client.id,
                details={
                    "directory": directory.name,
                    "issuer": idp_endpoints(base, name).issuer,
                    "login_url": login,
                    "protocol": protocol,
                    "mfa_behavior": mfa_behavior,
                    "again": existing is not None,
                },
            )
            return _model(row, client.name)

    def set_state(
        self,
        actor: Actor,
        client_ref: str,
        domain: str,
        state: str,
        *,
        config_id: str | None = None,
    ) -> FederatedDomain:
        """The domain's new state (and Graph's configuration id when given) (directory.setup)."""
        actor.require(Permission.DIRECTORY_SETUP)
        if state not in STATES:
            raise InvalidInput(
                f"state must be one of {', '.join(STATES)}, got {state!r}", field="state"
            )
        with self._db.write() as conn:
            client, row = self._find(conn, actor, client_ref, domain, lock=True)
            changed = row._replace(
                state=state,
                config_id=row.config_id if config_id is None else config_id,
                updated_at=utcnow(),
                updated_by=actor.name,
            )
            rows.update_domain(conn, changed)
            self._audit.append(
                conn,
                actor,
                "federation.state",
                target_type="domain",
                target_id=row.domain,
                client_id=client.id,
                details={"from": row.state, "to": state, "config_id": changed.config_id},
            )
            return _model(changed, client.name)

    def get(self, actor: Actor, client_ref: str, domain: str) -> FederatedDomain:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            client, row = self._find(conn, actor, client_ref, domain)
            return _model(row, client.name)

    def of_client(self, actor: Actor, client_ref: str) -> list[FederatedDomain]:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            client = find_client_row(conn, client_ref, actor)
            return [_model(r, client.name) for r in rows.domains_of(conn, client.id)]

    def forget(self, actor: Actor, client_ref: str, domain: str) -> None:
        """Drop the domain's record and identities (directory.setup): after defederation."""
        actor.require(Permission.DIRECTORY_SETUP)
        with self._db.write() as conn:
            client, row = self._find(conn, actor, client_ref, domain, lock=True)
            count = rows.identity_count(conn, row.domain)
            rows.delete_domain(conn, row.domain)
            self._audit.append(
                conn,
                actor,
                "federation.domain_forgotten",
                target_type="domain",
                target_id=row.domain,
                client_id=client.id,
                details={"state": row.state, "identities": count},
            )

    def resolve(self, domain: str) -> FederatedDomain | None:
        """The domain's record for the identity provider's public endpoints (no actor)."""
        try:
            name = check_domain(domain)
        except InvalidInput:
            return None
        with self._db.read() as conn:
            row = rows.domain(conn, name)
            if row is None:
                return None
            client = find_client_row(conn, row.client_id, SYSTEM)
            return _model(row, client.name)

    def set_identities(
        self,
        actor: Actor,
        client_ref: str,
        domain: str,
        identities: Sequence[FederatedIdentity],
    ) -> int:
        """Replace the domain's identities with ``identities`` (directory.setup): each a
        person of the domain's client, one immutable id per person (at most 64 characters).
        Returns how many there are now."""
        actor.require(Permission.DIRECTORY_SETUP)
        seen_people: set[str] = set()
        seen_ids: set[str] = set()
        for i, ident in enumerate(identities):
            where = f"identities[{i}]"
            if not ident.immutable_id or len(ident.immutable_id) > MAX_IMMUTABLE_ID:
                raise InvalidInput(
                    f"{where}: the immutable id must be 1 to {MAX_IMMUTABLE_ID} characters",
                    field=f"{where}.immutable_id",
                )
            if "@" not in ident.upn:
                raise InvalidInput(
                    f"{where}: {ident.upn!r} is not a user principal name",
                    field=f"{where}.upn",
                )
            if ident.person_id in seen_people or ident.immutable_id in seen_ids:
                raise InvalidInput(f"{where}: a person or an immutable id given twice", field=where)
            seen_people.add(ident.person_id)
            seen_ids.add(ident.immutable_id)
        with self._db.write() as conn:
            client, row = self._find(conn, actor, client_ref, domain, lock=True)
            for i, ident in enumerate(identities):
                person = people_rows.get(conn, ident.person_id)
                if person is None or person.client_id != client.id:
                    raise InvalidInput(
                        f"identities[{i}]: no person {ident.person_id} in client {client.name!r}",
                        field=f"identities[{i}].person_id",
                    )
            before = rows.identity_count(conn, row.domain)
            rows.replace_identities(
                conn,
                row.domain,
                [
                    rows.IdentityRow(row.domain, x.person_id, x.immutable_id, x.upn.lower())
                    for x in identities
                ],
            )
            self._audit.append(
                conn,
                actor,
                "federation.identities",
                target_type="domain",
                target_id=row.domain,
                client_id=client.id,
                details={"before": before, "after": len(identities)},
            )
        return len(identities)

    def identity(self, domain: str, person_id: str) -> FederatedIdentity | None:
        """The person's identity in the domain (no actor: the identity provider's)."""
        with self._db.read() as conn:
            row = rows.identity(conn, domain.lower(), person_id)
        return None if row is None else FederatedIdentity(row.person_id, row.immutable_id, row.upn)

    def _find(
        self, conn: Connection, actor: Actor, client_ref: str, domain: str, *, lock: bool = False
    ) -> tuple[ClientRow, rows.DomainRow]:
        client = find_client_row(conn, client_ref, actor)
        name = domain.strip().lower().rstrip(".")
        row = rows.domain(conn, name, lock=lock)
        if row is None or row.client_id != client.id:
            raise NotFound(f"domain {name} is not federated for client {client.name!r}")
        return client, row
