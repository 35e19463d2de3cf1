"""Defederation's password push: before (or right after) a domain returns from the vault's
federation to Microsoft's own sign-in, every person whose Office 365 user is in the domain gets
their vault password as their cloud password, so that nobody is left without a working one.

Microsoft's own answer to defederating is "assigning new random passwords for cloud-based
sign-in to each user" (https://learn.microsoft.com/en-us/entra/identity/hybrid/connect/how-to-connect-fed-saml-idp).
The vault knows each person's password, so it sets that one instead.

Per user of the domain (read from the directory), one line:

* ``pushed``: the person's primary credential's current secret was written, by the same path
  as a self-service change (:mod:`credsync.sync.person_push`: the connector's
  ``set_password``, no change forced at next sign-in; the credential's link to the directory
  confirmed at that version, so the next sync run does not take the new password for one
  "changed in the directory"; its flags there closed);
* ``no_password``: the person has no password in the vault yet (awaiting onboarding, say):
  nothing was written, the user has no cloud password anyone knows;
* ``no_person``: the user is linked to no person of the client;
* ``managed_elsewhere``: synchronised from an on-premises directory (its password comes from
  there);
* ``refused``: the directory said no (its words, never the password); flagged on the
  person's credential, as every failed push is, for an operator to push again.

Graph refuses a password while the domain is still federated ("cannot be used for federated
users"): call this after the federation settings are deleted. Passwords are read from the
vault just before they are sent and never kept in the report.

**Who may**: ``directory.setup`` and ``vault.read`` on the client (it writes the customer's
directory with the vault's own passwords, as a relay's push does; nothing is shown to the
operator, so no ``secret.reveal``). Each person's line is audited (``person.password_push``,
with the reason ``defederation``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import cast

from credsync.connectors.base import Account, Capability, Connector
from credsync.connectors.federation import DomainFederation, DomainUser
from credsync.errors import ConnectorError, CredsyncError, NotSupported
from credsync.storage import Database
from credsync.storage import credentials as credential_rows
from credsync.storage import people as people_rows
from credsync.sync.connect import DirectoryService, directory_config
from credsync.sync.person_push import PushTarget, flag_failed, push_to_account
from credsync.types import Secret
from credsync.vault.auth import Permission
from credsync.vault.directories import Directory
from credsync.vault.secrets import read_secrets

__all__ = ["OUTCOMES", "DomainPasswordPush", "PasswordPushLine", "PasswordPushReport"]

OUTCOMES = ("pushed", "no_password", "no_person", "managed_elsewhere", "refused")
_IN_FLIGHT = 20
_PAGE = 1000


@dataclass
class PasswordPushLine:
    username: str
    object_id: str
    outcome: str
    person_id: str | None = None
    person: str = ""
    reason: str = ""


@dataclass
class PasswordPushReport:
    client: str
    directory: str
    domain: str
    lines: list[PasswordPushLine] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for line in self.lines if line.outcome == outcome)

    @property
    def without_password(self) -> list[PasswordPushLine]:
        """Users left without a cloud password anyone knows."""
        return [x for x in self.lines if x.outcome in ("no_password", "no_person", "refused")]


class DomainPasswordPush(DirectoryService):
    def _open(self, directory: Directory) -> tuple[DomainFederation, Connector]:
        connector = self._factory(directory_config(self._db, self._keys, directory))
        if Capability.FEDERATION not in connector.capabilities:
            raise NotSupported(
                f"directory {directory.name!r} can't take people's passwords for a domain"
            )
        return cast(DomainFederation, connector), connector

    async def push(
        self,
        client_ref: str,
        directory_ref: str,
        domain: str,
        *,
        opened: tuple[DomainFederation, Connector] | None = None,
    ) -> PasswordPushReport:
        """Push every linked person's vault password to their user in ``domain`` (see the
        module docstring). ``opened``: a connector the caller already holds (it closes it)."""
        self._actor.require(Permission.VAULT_READ, Permission.DIRECTORY_SETUP)
        client, directory = self._client_directory(client_ref, directory_ref)
        domain = domain.strip().lower()
        report = PasswordPushReport(client.name, directory.name, domain)
        federation, target = opened or self._open(directory)
        try:
            users = await federation.domain_users(domain)
            plans = self._plan(directory, users, report)
            results = await _send(self._db, target, plans)
        finally:
            if opened is None:
                await target.close()
        self._audit(directory, report, results)
        return report

    def _plan(
        self, directory: Directory, users: list[DomainUser], report: PasswordPushReport
    ) -> list[tuple[PasswordPushLine, Secret, PushTarget]]:
        """Each user's line; the (line, secret, where) to send."""
        with self._db.read() as conn:
            ids = [u.object_id for u in users]
            people: dict[str, people_rows.PersonRow] = {}
            for start in range(0, len(ids), _PAGE):
                found = people_rows.by_accounts(conn, directory.id, ids[start : start + _PAGE])
                people.update(
                    (object_id, row)
                    for object_id, row in found.items()
                    if row.deleted_at is None and row.client_id == directory.client_id
                )
            versions: dict[str, int] = {}
            wanted = [p.credential_id for p in people.values() if p.credential_id]
            for start in range(0, len(wanted), _PAGE):
                for cred in credential_rows.in_title_order(conn, wanted[start : start + _PAGE]):
                    if cred.deleted_at is None:
                        versions[cred.id] = cred.secret_version
            secrets = read_secrets(conn, self._keys, directory.client_id, versions)
        sends: list[tuple[PasswordPushLine, Secret, PushTarget]] = []
        for user in sorted(users, key=lambda u: u.username.lower()):
            line = PasswordPushLine(user.username, user.object_id, "no_person")
            report.lines.append(line)
            person = people.get(user.object_id)
            if user.managed_elsewhere:
                line.outcome = "managed_elsewhere"
            if person is None:
                continue
            line.person_id, line.person = person.id, person.display_name
            if user.managed_elsewhere:
                continue
            secret = secrets.get(person.credential_id or "")
            if secret is None:
                line.outcome = "no_password"
                line.reason = "no password in the vault (awaiting onboarding)"
                continue
            where = PushTarget(directory.client_id, person.credential_id or "",
                               versions[person.credential_id or ""], directory.id,
                               user.object_id, "defederation")  # fmt: skip
            sends.append((line, secret, where))
        return sends

    def _audit(
        self, directory: Directory, report: PasswordPushReport, results: dict[str, str]
    ) -> None:
        with self._db.write() as conn, self._vault.audit.batched(conn):
            for line in report.lines:
                if line.person_id is None:
                    continue
                self._vault.audit.append(
                    conn,
                    self._actor,
                    "person.password_push",
                    target_type="person",
                    target_id=line.person_id,
                    client_id=directory.client_id,
                    details={
                        "reason": "defederation",
                        "directory": directory.name,
                        "domain": report.domain,
                        "username": line.username,
                        "outcome": line.outcome,
                        "refused": results.get(line.object_id),
                    },
                )


async def _send(
    db: Database, target: Connector, sends: list[tuple[PasswordPushLine, Secret, PushTarget]]
) -> dict[str, str]:
    """Push each secret (:func:`credsync.sync.person_push.push_to_account`, a refusal flagged);
    fill in the lines; the refusals by object id."""
    refused: dict[str, str] = {}
    queue = list(reversed(sends))

    async def worker() -> None:
        while queue:
            line, secret, where = queue.pop()
            account = Account(id=line.object_id, username=line.username, upn=line.username)
            error = ""
            try:
                await push_to_account(db, target, account, secret, where)
            except ConnectorError as exc:  # one person's failure is their line, and a flag
                flag_failed(db, where, exc, what="defederation's password push")
                error = str(exc)
            except CredsyncError as exc:
                error = str(exc)
            if error:
                line.outcome, line.reason = "refused", error
                refused[line.object_id] = error
            else:
                line.outcome = "pushed"

    await asyncio.gather(*(worker() for _ in range(_IN_FLIGHT)))
    return refused
