"""A vault with a client whose directory is a fresh OU of the real Samba DC."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from credsync.errors import NotFound, PermissionDenied
from credsync.sync.engine import Engine
from credsync.sync.reports import RunReport
from credsync.testing.samba import OuWorld, TestUser
from credsync.testing.slapd import LdapOu
from credsync.types import CredentialType, Secret, SyncMode
from credsync.vault import Actor, Vault
from credsync.vault.directories import Directory, DirectoryInput
from credsync.vault.drafts import make_draft
from credsync.vault.models import Credential
from vault.helpers import VaultWorld


@dataclass
class SyncWorld:
    vault_world: VaultWorld
    ad: OuWorld
    client: str
    directory: str
    bind_credential_id: str

    @property
    def vault(self) -> Any:
        return self.vault_world.vault

    @property
    def admin(self) -> Any:
        return self.vault_world.admin

    @property
    def keys(self) -> Any:
        return self.vault_world.keys

    def engine(self, actor: Any = None, **kw: Any) -> Engine:
        return Engine(self.vault, self.keys, actor or self.admin, **kw)

    def run(self, *, actor: Any = None, **kw: Any) -> RunReport:
        return asyncio.run(self.engine(actor).run(self.directory, **kw))

    def add(
        self,
        user: TestUser | None,
        password: str | None = None,
        *,
        username: str | None = None,
        mode: SyncMode | None = None,
        title: str | None = None,
    ) -> Credential:
        draft = make_draft(
            title=title or f"cred {uuid.uuid4().hex[:6]}",
            username=username if username is not None else (user.name if user else "nobody"),
            password=Secret(password or (user.password if user else "Nobody-Pa55!")),
            sync_mode=mode,
        )
        return self.vault.credentials.add(self.admin, self.keys, self.client, draft)

    def set_password(self, cred: Credential, password: str) -> Credential:
        return self.vault.credentials.set_password(self.admin, self.keys, cred.id, Secret(password))

    def reveal(self, cred: Credential) -> str:
        return self.vault.credentials.reveal(self.admin, self.keys, cred.id).password.reveal()

    def confirm(self) -> list[Any]:
        """Confirm for pushes every link of the client awaiting confirmation, as the admin
        (who has directory.setup): what a first run in enforce mode leaves to an operator."""
        from credsync.sync.confirm import LinkConfirmations

        confirmations = LinkConfirmations(self.vault)
        waiting = confirmations.waiting(self.admin, self.client)
        if not waiting:
            return []
        return confirmations.confirm(self.admin, [f.id for f in waiting], confirmed=True)

    def link_confirmed(self, cred: Credential, account_id: str) -> None:
        """The credential linked to ``account_id`` and that link confirmed for pushes, as an
        operator with directory.setup left it, before any run checked it."""
        import datetime as dt

        from credsync.storage.tables import links

        directory = self.vault.directories.get(self.admin, self.directory)
        now = dt.datetime.now(dt.UTC)
        with self.vault.db.write() as conn:
            conn.execute(
                links.insert().values(
                    credential_id=cred.id,
                    directory_id=directory.id,
                    account_id=account_id,
                    linked_at=now,
                    linked_by=self.admin.name,
                    link_confirmed_at=now,
                    link_confirmed_by=self.admin.name,
                )
            )

    def flags(self) -> dict[str, str]:
        """Open flags: credential id -> status."""
        return {f.credential_id: f.status for f in self.vault.flags.list(self.admin, self.client)}

    def links(self) -> dict[str, str | None]:
        """The directory's links: credential id -> the status of its last check."""
        from credsync.storage import links

        directory = self.vault.directories.get(self.admin, self.directory)
        with self.vault.db.read() as conn:
            return {r.credential_id: r.status for r in links.of_directory(conn, directory.id)}

    def items(self, report: RunReport) -> dict[str | None, tuple[str, str]]:
        return {i.credential_id: (i.status, i.action) for i in report.items}

    def status_in(self, report: RunReport, cid: str) -> str | None:
        """The status the run found for ``cid``: its item's, or ``in_sync`` when the run
        counted it in step as before without listing it (see :meth:`in_step`); None: neither."""
        item = self.items(report).get(cid)
        if item is not None:
            return item[0]
        return "in_sync" if self.in_step(report, cid) else None

    def still_flagged(self, report: RunReport, cid: str, status: str) -> bool:
        """``cid`` was checked and found with the problem ``status`` exactly as its open flag
        already said, nothing done: not listed (issue 20's compaction), counted
        (``flagged_unchanged``, and ``status`` in the summary's statuses), its flag open."""
        return (
            cid not in self.items(report)
            and int(report.summary.get("flagged_unchanged", 0)) >= 1
            and report.count(status) >= 1
            and self.flags().get(cid) == status
        )

    def in_step(self, report: RunReport, *cids: str) -> bool:
        """Each of ``cids`` was checked and found in step as its link said, nothing done: not
        listed in the report (issue 20's compaction) but counted (``in_sync_unchanged``, which
        with the listed ``in_sync`` items makes the summary's ``in_sync``), its link in_sync."""
        items = self.items(report)
        listed = sum(1 for status, _ in items.values() if status == "in_sync")
        counted = int(report.summary.get("in_sync_unchanged", 0))
        links = self.links()
        return (
            all(c not in items and links.get(c) == "in_sync" for c in cids)
            and counted >= len(cids)
            and listed + counted == report.count("in_sync")
        )

    def refused_operator(self, role: str) -> tuple[Actor, type[Exception]]:
        """An operator ``op-<role>`` signed in, and what refuses them a directory's people:
        a directory manager (directory.setup and vault.write) who reaches only another client
        ("Elsewhere") gets NotFound; a viewer or a technician PermissionDenied."""
        who = self.vault_world.operator(f"op-{role}", role)
        if role != "directory_manager":
            return who, PermissionDenied
        self.vault.clients.add(self.admin, self.keys, "Elsewhere")
        self.vault.operators.set_clients(self.admin, f"op-{role}", ["Elsewhere"])
        who = self.vault.access.login_password(f"op-{role}", Secret(f"op-{role}-password-1234"))
        return who, NotFound


def build_sync_world(vault_world: VaultWorld, ad: OuWorld, **directory: Any) -> SyncWorld:
    vault, admin, keys = vault_world.vault, vault_world.admin, vault_world.keys
    client = f"Client {uuid.uuid4().hex[:8]}"
    vault.clients.add(admin, keys, client, directory_sync=True)
    facts = ad.facts
    bind = vault.credentials.add(
        admin,
        keys,
        client,
        make_draft(
            title="Domain admin",
            username=facts.admin_upn,
            password=Secret(facts.admin_password),
            type_=CredentialType.DIRECTORY_ADMIN,
            sync_mode=SyncMode.OFF,
        ),
    )
    options = {
        "kind": "active-directory",
        "url": facts.ldaps_url,
        "base_dn": ad.dn,
        "bind_credential": bind.id,
        "ca_pem": facts.ca_file.read_text(),
        "tls_server_name": facts.tls_server_name,
    }
    options.update(directory)
    name = f"ad-{uuid.uuid4().hex[:8]}"
    add_directory(vault, admin, client, name, **options)
    return SyncWorld(vault_world, ad, client, name, bind.id)


def build_ldap_sync_world(vault_world: VaultWorld, ou: LdapOu, **directory: Any) -> SyncWorld:
    """The same over plain LDAP: a client whose directory (kind ldap) is this test's own OU
    of the session's slapd, bound as credsync's own identity (not the rootdn)."""
    vault, admin, keys = vault_world.vault, vault_world.admin, vault_world.keys
    client = f"Client {uuid.uuid4().hex[:8]}"
    vault.clients.add(admin, keys, client, directory_sync=True)
    facts = ou.facts
    bind = vault.credentials.add(
        admin,
        keys,
        client,
        make_draft(
            title="LDAP bind",
            username=facts.bind_dn,
            password=Secret(facts.bind_password),
            type_=CredentialType.DIRECTORY_ADMIN,
            sync_mode=SyncMode.OFF,
        ),
    )
    options: dict[str, Any] = {
        "kind": "ldap",
        "url": facts.ldaps_url,
        "base_dn": ou.dn,
        "bind_credential": bind.id,
        "ca_pem": facts.ca_file.read_text(),
        "password_policy_dn": facts.policy_dn,
    }
    options.update(directory)
    name = f"ldap-{uuid.uuid4().hex[:8]}"
    add_directory(vault, admin, client, name, **options)
    return SyncWorld(vault_world, ou, client, name, bind.id)  # type: ignore[arg-type]


def _inputs(flat: dict[str, Any]) -> DirectoryInput:
    """The flat input names every boundary uses; ``bind_kind`` names the way to sign in of
    ``bind_credential`` (as the service took it before kinds were descriptors)."""
    flat = {k: v for k, v in flat.items() if v is not None}
    method = flat.pop("bind_kind", None)
    if method is not None and "bind_credential" in flat:
        flat[f"{method}_credential"] = flat.pop("bind_credential")
    return DirectoryInput.of(flat)


def add_directory(
    vault: Vault, actor: Actor, client: str, name: str, *, kind: str, **flat: Any
) -> Directory:
    """Add a directory from flat inputs (url=..., base_dn=..., bind_credential=...)."""
    return vault.directories.add(actor, client, name, kind, _inputs(flat))


def update_directory(
    vault: Vault, actor: Actor, ref: str, *, expected_version: int | None = None, **flat: Any
) -> Directory:
    """Change a directory from flat inputs."""
    return vault.directories.update(actor, ref, _inputs(flat), expected_version=expected_version)
