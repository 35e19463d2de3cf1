"""``credsync federation show``: a client's federated domains as the vault records them and as
the directory reports them (and where the two disagree), its signing certificates (current and,
during a rotation, next: thumbprints and expiry, never key material), and the people of each
domain who have no identity there (they can't sign in through the vault).

**Who may**: ``vault.read`` on the client. The directory is read with the client's directory
credential, as every read of the directory is; when it can't be reached the view says so and
shows the vault's side alone.
"""

from __future__ import annotations

from typing import cast

from credsync.connectors.base import Capability
from credsync.connectors.federation import DomainFederation, FederationDomain, FederationSettings
from credsync.errors import CredsyncError
from credsync.storage import people as people_rows
from credsync.sync.connect import DirectoryService, directory_config
from credsync.sync.federation_report import DomainView, FederationView, certificate_view
from credsync.vault.auth import Permission
from credsync.vault.clients import find_client_row
from credsync.vault.directories import Directory
from credsync.vault.federated_domains import FederatedDomain

__all__ = ["FederationShow"]

_PAGE = 1000


class FederationShow(DirectoryService):
    async def show(self, client_ref: str, domain: str | None = None) -> FederationView:
        self._actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            client = find_client_row(conn, client_ref, self._actor)
        records = self._vault.federated_domains.of_client(self._actor, client.id)
        if domain is not None:
            records = [r for r in records if r.domain == domain.strip().lower()]
            if not records:
                # get() raises NotFound naming the domain and the client
                records = [self._vault.federated_domains.get(self._actor, client.id, domain)]
        # the live keys only (history: no key is made by looking)
        live = [c for c in self._vault.idp_keys.history(self._actor, client.id)
                if c.state in ("current", "next")]  # fmt: skip
        current = next((c.b64 for c in live if c.state == "current"), "")
        following = next((c for c in live if c.state == "next"), None)
        view = FederationView(client.name, [], [certificate_view(c) for c in live])
        directories = {r.directory_id for r in records}
        for directory_id in sorted(directories):
            directory = self._vault.directories.get(self._actor, directory_id)
            view.directory = directory.name
            mine = [r for r in records if r.directory_id == directory_id]
            try:
                await self._compare(view, directory, mine, (current, following))
            except CredsyncError as exc:
                view.directory_error = str(exc)
                view.domains.extend(
                    DomainView(
                        r.domain,
                        r.state,
                        None,
                        issuer_uri=r.issuer_uri,
                        config_id=r.config_id or "",
                    )
                    for r in mine
                )
        return view

    async def _compare(
        self,
        view: FederationView,
        directory: Directory,
        records: list[FederatedDomain],
        certs: tuple[str, object],
    ) -> None:
        connector = self._factory(directory_config(self._db, self._keys, directory))
        if Capability.FEDERATION not in connector.capabilities:
            await connector.close()
            return
        federation = cast(DomainFederation, connector)
        try:
            reported = {d.name: d for d in await federation.federation_domains()}
            for record in records:
                found = reported.get(record.domain)
                settings = await federation.federation_settings(record.domain) if found else None
                line = _line(record, found, settings, certs)
                if found is not None and record.state == "federated":
                    line.without_identity = await self._without_identity(
                        federation, directory, record.domain
                    )
                view.domains.append(line)
        finally:
            await federation.close()

    async def _without_identity(
        self, federation: DomainFederation, directory: Directory, domain: str
    ) -> list[str]:
        """The users of the domain linked to a person who has no identity there, and those
        linked to nobody."""
        users = await federation.domain_users(domain)
        ids = [u.object_id for u in users]
        linked: dict[str, str] = {}
        with self._db.read() as conn:
            for start in range(0, len(ids), _PAGE):
                found = people_rows.by_accounts(conn, directory.id, ids[start : start + _PAGE])
                linked.update((k, v.id) for k, v in found.items() if v.deleted_at is None)
        out = []
        for user in users:
            person = linked.get(user.object_id)
            if person is None:
                out.append(f"{user.username} (no person)")
            elif self._vault.federated_domains.identity(domain, person) is None:
                out.append(user.username)
        return sorted(out)


def _line(
    record: FederatedDomain,
    found: FederationDomain | None,
    settings: FederationSettings | None,
    certs: tuple[str, object],
) -> DomainView:
    line = DomainView(
        record.domain,
        record.state,
        None if found is None else ("federated" if found.federated else "managed"),
        issuer_uri=record.issuer_uri,
        directory_issuer=settings.issuer_uri if settings else "",
        config_id=record.config_id or "",
    )
    said = line.disagreements
    if found is None:
        said.append("the directory has no such domain")
        return line
    line.default, line.initial, line.verified = found.default, found.initial, found.verified
    if record.state == "federated":
        if settings is None:
            said.append("the vault federates it but the directory has no federation settings")
        else:
            if settings.issuer_uri != record.issuer_uri:
                said.append(f"the directory's issuer is {settings.issuer_uri}")
            if settings.config_id and settings.config_id != record.config_id:
                said.append("the directory's settings are not the ones the vault created")
            current, following = certs
            if settings.signing_certificate != current:
                said.append("the directory's signing certificate is not the vault's current one")
            nxt = getattr(following, "b64", None)
            if (settings.next_signing_certificate or None) != nxt:
                said.append("the directory's next signing certificate is not the vault's next one")
        if not found.federated:
            said.append("the directory still reports the domain managed (Microsoft may take up "
                        "to 2 hours)")  # fmt: skip
    elif record.state == "managed" and (settings is not None or found.federated):
        said.append("the vault has it managed but the directory still federates it")
    return line
