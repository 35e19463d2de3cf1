"""A client's Office 365 domain federated to the vault (issue 17): enable, rotate the signing
certificate, disable (defederation), through the client's directory's ``federation``
capability (:mod:`credsync.connectors.federation`) and the vault's records
(``vault.federated_domains``, ``vault.idp_keys``). ``show`` is in
:mod:`credsync.sync.federation_view`.

**enable** (``client``, ``domain``, the vault's public ``base_url``, ``protocol`` saml|wsFed,
``mfa`` enforce|accept|reject):

1. the app's setup check: without the permission and a role that may federate, refused naming
   what is missing (app-only create and delete answer 403 otherwise);
2. the domain must be one of the tenant's, verified, neither its default nor its initial
   (``onmicrosoft.com``) domain; a domain already federated to another identity provider (an
   issuer that isn't the vault's) is refused;
3. every user of the domain linked to a person of the client gets an immutable id: the one it
   has is kept (e.g. Entra Connect's base64 objectGUID), else the vault's
   (:func:`credsync.vault.provisioning.immutable_id`) is written; each is recorded as the
   person's identity (what the identity provider's NameID says);
4. the domain is recorded (state ``enabling``), the federation settings are created (issuer
   ``{base_url}/idp/{domain}``, sign-in and sign-out URIs, the client's current signing
   certificate and, during a rotation, the next one), then the state is ``federated``. A
   refusal by the directory puts the record back to ``managed`` and is raised. Enabling a
   domain the vault already federates updates its settings instead.

**rotate**: ``begin`` makes the next key and publishes it as ``nextSigningCertificate`` on
every federated domain of the client; ``finish`` makes it current (the vault signs with it at
once: Microsoft accepts the next certificate) and then sets it as ``signingCertificate`` with
no next one; ``cancel`` drops the next key and clears ``nextSigningCertificate``. Sign-ins work
throughout.

**disable**: state ``defederating``, the federation settings deleted (the domain is managed
again), every person's vault password pushed to their user
(:mod:`credsync.sync.federation_passwords`), state ``managed``; the report says who was left
without a password.

**Who may**: ``vault.read``, ``vault.write`` and ``directory.setup`` on the client (as
provisioning's apply: it writes the customer's directory and the vault's records). Every
step is audited (``federation.*``), and so is every refusal of an operator who may
(``federation.refused``: a domain that can't be federated, an app that may not, the
directory's no); a missing permission is audited where it is answered (``permission.denied``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from credsync.connectors.base import Capability, Connector
from credsync.connectors.federation import (
    MFA_BEHAVIOURS,
    PROTOCOLS,
    DomainFederation,
    DomainUser,
    FederationChange,
    FederationSettings,
)
from credsync.errors import (
    ConnectorError,
    CredsyncError,
    InvalidInput,
    NotSupported,
)
from credsync.storage import people as people_rows
from credsync.storage.clients import ClientRow
from credsync.sync.connect import DirectoryService, directory_config
from credsync.sync.federation_passwords import DomainPasswordPush
from credsync.sync.federation_report import (
    DisableReport,
    EnableReport,
    RotationReport,
    certificate_view,
)
from credsync.vault.auth import Permission
from credsync.vault.clients import find_client_row
from credsync.vault.directories import Directory
from credsync.vault.federated_domains import FederatedIdentity, check_domain, idp_endpoints
from credsync.vault.provisioning import immutable_id

__all__ = ["MFA_GRAPH", "DomainFederationService", "mfa_words"]

# the vault's words -> Graph's federatedIdpMfaBehavior (what the vault's records keep)
MFA_GRAPH = {
    "enforce": "enforceMfaByFederatedIdp",
    "accept": "acceptIfMfaDoneByFederatedIdp",
    "reject": "rejectMfaByFederatedIdp",
}
_MFA_WORDS = {v: k for k, v in MFA_GRAPH.items()}
_PAGE = 1000
_WRITE = (Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_SETUP)


class DomainFederationService(DirectoryService):
    # -- the directory --------------------------------------------------------------------
    def _connector(self, directory: Directory) -> DomainFederation:
        connector = self._factory(directory_config(self._db, self._keys, directory))
        if Capability.FEDERATION not in connector.capabilities:
            raise NotSupported(f"directory {directory.name!r} can't federate a domain")
        return cast(DomainFederation, connector)

    async def _directory(
        self, client_ref: str, directory_ref: str | None
    ) -> tuple[ClientRow, Directory]:
        """The client's directory that federates: the one named, else the only one whose
        kind can."""
        if directory_ref:
            return self._client_directory(client_ref, directory_ref)
        found = []
        for directory in self._vault.directories.list(self._actor, client_ref):
            connector = self._factory(directory_config(self._db, self._keys, directory))
            if Capability.FEDERATION in connector.capabilities:
                found.append(directory)
            await connector.close()
        if len(found) != 1:
            names = ", ".join(d.name for d in found)
            raise InvalidInput(
                f"the client has {len(found)} directories that can federate a domain"
                + (f" ({names}): name one" if found else ""),
                field="directory",
            )
        return self._client_directory(client_ref, found[0].id)

    def _refused(self, client_id: str | None, what: str, domain: str, reason: str) -> None:
        with self._db.write() as conn:
            self._vault.audit.append(
                conn,
                self._actor,
                "federation.refused",
                target_type="domain",
                target_id=domain,
                client_id=client_id,
                details={"action": what, "reason": reason},
            )

    def _require(self) -> None:
        """The permissions of every write. A refusal is audited where it is answered (the
        API, the dashboard, the CLI: ``permission.denied``, rate-limited), not here."""
        self._actor.require(*_WRITE)

    # -- enable ---------------------------------------------------------------------------
    async def enable(
        self,
        client_ref: str,
        domain: str,
        *,
        base_url: str,
        protocol: str = "saml",
        mfa: str = "enforce",
        directory_ref: str | None = None,
    ) -> EnableReport:
        name = check_domain(domain)
        self._require()
        if protocol not in PROTOCOLS:
            raise InvalidInput(f"protocol must be one of {', '.join(PROTOCOLS)}", field="protocol")
        if mfa not in MFA_BEHAVIOURS:
            raise InvalidInput(f"mfa must be one of {', '.join(MFA_BEHAVIOURS)}", field="mfa")
        client, directory = await self._directory(client_ref, directory_ref)
        connector = self._connector(directory)
        try:
            try:
                await self._check_domain(connector, name)
            except InvalidInput as exc:
                self._refused(client.id, "enable", name, str(exc))
                raise
            existing = await connector.federation_settings(name)
            issuer = idp_endpoints(base_url, name).issuer
            if existing is not None and existing.issuer_uri.rstrip("/") != issuer:
                reason = (
                    f"{name} is already federated to another identity provider (issuer "
                    f"{existing.issuer_uri}): return it to managed sign-in there first"
                )
                self._refused(client.id, "enable", name, reason)
                raise InvalidInput(reason, field="domain")
            identities, written, strangers = await self._identities(connector, directory, name)
            record = self._vault.federated_domains.record(
                self._actor,
                client.id,
                name,
                directory_id=directory.id,
                base_url=base_url,
                login_url=connector.federation_login_url(),
                protocol=protocol,
                mfa_behavior=MFA_GRAPH[mfa],
            )
            self._vault.federated_domains.set_identities(self._actor, client.id, name, identities)
            current, following = self._vault.idp_keys.certificates(client.id, keys=self._keys)
            settings = FederationSettings(
                issuer_uri=record.issuer_uri,
                sign_in_uri=record.sign_in_uri,
                sign_out_uri=record.sign_out_uri,
                signing_certificate=current.b64,
                next_signing_certificate=following.b64 if following else None,
                protocol=protocol,
                mfa=mfa,
                display_name=f"{name} (credsync: {client.name})",
                metadata_uri=record.metadata_uri,
            )
            try:
                if existing is None:
                    config_id = (await connector.create_federation(name, settings)).config_id
                else:
                    config_id = existing.config_id
                    await connector.update_federation(name, config_id, _change_of(settings))
            except ConnectorError as exc:
                self._vault.federated_domains.set_state(self._actor, client.id, name, "managed")
                self._refused(client.id, "enable", name, str(exc))
                raise
            self._vault.federated_domains.set_state(
                self._actor, client.id, name, "federated", config_id=config_id
            )
        finally:
            await connector.close()
        return EnableReport(
            client=client.name,
            domain=name,
            directory=directory.name,
            issuer_uri=record.issuer_uri,
            sign_in_uri=record.sign_in_uri,
            sign_out_uri=record.sign_out_uri,
            login_url=record.login_url,
            protocol=protocol,
            mfa=mfa,
            config_id=config_id,
            certificate=certificate_view(current),
            identities=len(identities),
            immutable_ids_written=written,
            users_without_person=strangers,
            again=existing is not None,
        )

    async def refresh_identities(
        self, client_ref: str, domain: str, *, opened: object | None = None
    ) -> int:
        """Record again the identities of a domain the vault federates (users created or
        linked since): immutable ids kept or written as at enable (``opened``: a connector
        the caller holds and closes). vault.write and directory.setup."""
        self._require()
        record = self._vault.federated_domains.get(self._actor, client_ref, domain)
        directory = self._vault.directories.get(self._actor, record.directory_id)
        connector = cast(DomainFederation, opened) if opened else self._connector(directory)
        try:
            identities, _written, _strangers = await self._identities(
                connector, directory, record.domain
            )
        finally:
            if opened is None:
                await connector.close()
        return self._vault.federated_domains.set_identities(
            self._actor, record.client_id, record.domain, identities
        )

    async def _check_domain(self, connector: DomainFederation, name: str) -> None:
        setup = await connector.federation_setup()
        if not setup.may_federate:
            raise InvalidInput(setup.missing, field="directory")
        domains = {d.name: d for d in await connector.federation_domains()}
        found = domains.get(name)
        if found is None:
            known = ", ".join(sorted(domains)) or "none"
            raise InvalidInput(f"{name} is not a domain of the tenant (it has: {known})",
                               field="domain")  # fmt: skip
        if found.initial:
            raise InvalidInput(
                f"{name} is the tenant's initial (onmicrosoft.com) domain: Microsoft's own "
                "domain can't be federated",
                field="domain",
            )
        if found.default:
            raise InvalidInput(
                f"{name} is the tenant's default domain: it can't be federated (make another "
                "domain the default first)",
                field="domain",
            )
        if not found.verified:
            raise InvalidInput(f"{name} is not verified in the tenant: verify it first",
                               field="domain")  # fmt: skip

    async def _identities(
        self, connector: DomainFederation, directory: Directory, name: str
    ) -> tuple[list[FederatedIdentity], int, list[str]]:
        """Each linked person's identity (immutable ids written where missing), how many
        were written, and the users of the domain linked to nobody."""
        users = await connector.domain_users(name)
        people = self._linked(directory, users)
        identities: list[FederatedIdentity] = []
        written, strangers = 0, []
        for user in users:
            person_id = people.get(user.object_id)
            if person_id is None:
                strangers.append(user.username)
                continue
            anchor = user.immutable_id
            if not anchor:
                anchor = immutable_id(person_id)
                await connector.set_immutable_id(user.object_id, anchor)
                written += 1
            identities.append(FederatedIdentity(person_id, anchor, user.username))
        return identities, written, sorted(strangers)

    def _linked(self, directory: Directory, users: Sequence[DomainUser]) -> dict[str, str]:
        """Object id -> the id of the (live) person of the client linked to it."""
        ids = [u.object_id for u in users]
        out: dict[str, str] = {}
        with self._db.read() as conn:
            for start in range(0, len(ids), _PAGE):
                found = people_rows.by_accounts(conn, directory.id, ids[start : start + _PAGE])
                out.update(
                    (object_id, row.id)
                    for object_id, row in found.items()
                    if row.deleted_at is None and row.client_id == directory.client_id
                )
        return out

    # -- rotate ---------------------------------------------------------------------------
    async def rotate(self, client_ref: str, step: str = "begin") -> RotationReport:
        if step not in ("begin", "finish", "cancel"):
            raise InvalidInput("step must be begin, finish or cancel", field="step")
        self._require()
        keys = self._vault.idp_keys
        client = self._client(client_ref)
        if step == "begin":
            cert = keys.begin_rotation(self._actor, client.id, keys=self._keys)
            change = FederationChange(next_signing_certificate=cert.b64)
        elif step == "finish":
            cert = keys.finish_rotation(self._actor, client.id)
            change = FederationChange(signing_certificate=cert.b64, clear_next=True)
        else:
            keys.cancel_rotation(self._actor, client.id)
            cert, change = None, FederationChange(clear_next=True)
        report = RotationReport(client.name, step, certificate_view(cert) if cert else None)
        for record in self._vault.federated_domains.of_client(self._actor, client.id):
            if record.state != "federated" or not record.config_id:
                continue
            directory = self._vault.directories.get(self._actor, record.directory_id)
            connector = self._connector(directory)
            try:
                await connector.update_federation(record.domain, record.config_id, change)
                report.domains[record.domain] = "updated"
            except CredsyncError as exc:
                report.domains[record.domain] = str(exc)
                self._refused(client.id, f"rotate {step}", record.domain, str(exc))
            finally:
                await connector.close()
        with self._db.write() as conn:
            self._vault.audit.append(
                conn,
                self._actor,
                f"federation.rotation_{step}",
                target_type="client",
                target_id=client.id,
                client_id=client.id,
                details={
                    "thumbprint": cert.thumbprint if cert else None,
                    "domains": report.domains,
                },
            )
        return report

    def _client(self, client_ref: str) -> ClientRow:
        with self._db.read() as conn:
            return find_client_row(conn, client_ref, self._actor)

    # -- disable --------------------------------------------------------------------------
    async def disable(self, client_ref: str, domain: str) -> DisableReport:
        name = check_domain(domain)
        self._require()
        domains = self._vault.federated_domains
        record = domains.get(self._actor, client_ref, name)
        directory = self._vault.directories.get(self._actor, record.directory_id)
        connector = self._connector(directory)
        deleted = False
        try:
            domains.set_state(self._actor, record.client_id, name, "defederating")
            settings = await connector.federation_settings(name)
            if settings is not None:
                try:
                    await connector.delete_federation(name, settings.config_id)
                except ConnectorError as exc:
                    domains.set_state(self._actor, record.client_id, name, record.state)
                    self._refused(record.client_id, "disable", name, str(exc))
                    raise
                deleted = True
            push = await DomainPasswordPush(
                self._vault, self._keys, self._actor, factory=self._factory
            ).push(
                record.client_id,
                directory.id,
                name,
                opened=(connector, cast(Connector, connector)),
            )
            domains.set_state(self._actor, record.client_id, name, "managed")
        finally:
            await connector.close()
        return DisableReport(record.client_name, name, deleted, push)


def _change_of(settings: FederationSettings) -> FederationChange:
    return FederationChange(
        signing_certificate=settings.signing_certificate,
        next_signing_certificate=settings.next_signing_certificate,
        clear_next=settings.next_signing_certificate is None,
        issuer_uri=settings.issuer_uri,
        sign_in_uri=settings.sign_in_uri,
        sign_out_uri=settings.sign_out_uri,
        protocol=settings.protocol,
        mfa=settings.mfa,
    )


def mfa_words(graph_value: str) -> str:
    return _MFA_WORDS.get(graph_value, graph_value)
