"""The one-time import into a group with a provisioning policy (issue 16, Passly's import):
every person a synchronisation imports becomes a member of a vault group and gets a primary
login credential with **no password yet**, marked as awaiting onboarding.

:class:`Provisioning` is the option of :meth:`PeopleImport.sync` (and of a saved selection):

- ``into_group``: a group of the client the vault keeps (not one a directory is the source of
  truth of: the import would take its members away again), by id or name; a name no group of
  the client has makes a new (security) group of that name.
- ``folder``: the folder of the people's credentials (made when missing; empty: none).
- ``sync_mode``: the sync mode their credentials are to have (None: the client's default).
  While a credential is awaiting onboarding its secret is a random placeholder nobody knows,
  which must never be pushed to a directory nor bound with (a bind would count as a bad
  logon): such a credential is made ``off`` unless the wanted mode is ``off``, and the wanted
  mode is kept on the person's onboarding record, for onboarding to set with the first
  password.
- ``invite``: the person is to be sent an onboarding invitation. Only recorded now (the
  invitation itself is a later feature).

Per person imported (created, updated, unchanged or linked): a person with no primary
credential gets one (title their display name, username theirs, in the folder) and an
onboarding record (``awaiting``: no password yet); a person with a credential already keeps
it, and is not marked. Every such person is made a member of the group unless they are one.
A second run makes nothing twice (no second credential, record or membership). Everything
goes through the vault's services (credential.add, person.update, group.add_member: each
audited) plus ``person.onboarding`` for the record; in a dry run it is all rolled back with
the rest of the import.

Who may: whoever may import (``directory.setup`` and ``vault.write`` on the client).
"""

from __future__ import annotations

import secrets as random_source
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from typing_extensions import TypedDict

from credsync.errors import CredsyncError, InvalidInput, NotFound
from credsync.storage import onboarding as onboarding_rows
from credsync.storage import people as people_rows
from credsync.sync.people_import_report import ObjectReport, OnboardingReportJson
from credsync.types import Secret, SyncMode
from credsync.vault._time import utcnow
from credsync.vault.auth import Actor
from credsync.vault.drafts import make_draft
from credsync.vault.folders import clean_path
from credsync.vault.group_records import find_group_row
from credsync.vault.keyring import KeyRing
from credsync.vault.service import Vault
from credsync.vault.validate import clean_name, parse_sync_mode

__all__ = ["IntoGroupPolicyJson", "Provisioning", "provision"]

PLACEHOLDER_REASON = (
    "a placeholder made by the import into a group: no password yet (awaiting onboarding; "
    "never pushed)"
)


class IntoGroupPolicyJson(TypedDict):
    into_group: str
    folder: str
    sync_mode: str | None
    invite: bool


@dataclass(frozen=True)
class Provisioning:
    into_group: str
    folder: str = ""
    sync_mode: SyncMode | None = None
    invite: bool = False

    @classmethod
    def make(
        cls, into_group: str, *, folder: str = "", sync_mode: str | None = None, invite: bool
    ) -> Provisioning:
        """From what an operator typed: each bad value names its field."""
        group = clean_name(into_group, "group", 256, field="into_group")
        path = clean_path(folder) if folder.strip() else ""
        mode = parse_sync_mode(sync_mode, allow_inherit=True) if sync_mode else None
        return cls(group, path, mode, invite)

    def to_json(self) -> IntoGroupPolicyJson:
        return IntoGroupPolicyJson(
            into_group=self.into_group,
            folder=self.folder,
            sync_mode=self.sync_mode.value if self.sync_mode else None,
            invite=self.invite,
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Provisioning:
        return cls.make(
            data["into_group"],
            folder=data.get("folder") or "",
            sync_mode=data.get("sync_mode"),
            invite=bool(data.get("invite")),
        )


@dataclass
class _Done:
    group: str
    group_id: str | None = None
    group_created: bool = False
    credentials_created: int = 0
    members_added: int = 0
    refused: list[str] = field(default_factory=list)

    def to_json(self) -> OnboardingReportJson:
        return OnboardingReportJson(
            group=self.group,
            group_id=self.group_id,
            group_created=self.group_created,
            credentials_created=self.credentials_created,
            members_added=self.members_added,
            refused=sorted(self.refused),
        )


def _group(vault: Vault, actor: Actor, client_id: str, ref: str, done: _Done) -> str:
    """The target group's id: the client's group by id or name, else a new one."""
    with vault.db.read() as conn:
        try:
            row = find_group_row(conn, actor, ref, client_id=client_id)
        except NotFound:
            row = None
    if row is None:
        made = vault.groups.add(actor, client_id, {"name": ref})
        done.group_created = True
        return made.id
    if row.deleted_at is not None:
        raise InvalidInput(f"group {row.name!r} is in the trash", field="into_group")
    if row.source_directory_id is not None:
        raise InvalidInput(
            f"group {row.name!r} is kept by a directory (its members are the directory's): "
            "choose a group the vault keeps, or a new name",
            field="into_group",
        )
    done.group = row.name
    return row.id


def _credential(
    vault: Vault,
    keys: KeyRing,
    actor: Actor,
    person: people_rows.PersonRow,
    policy: Provisioning,
    group_id: str,
) -> None:
    """A placeholder primary credential for the person, and their onboarding record."""
    mode = policy.sync_mode
    held = SyncMode.OFF  # see the module docstring: a placeholder is never pushed nor bound
    draft = make_draft(
        title=person.display_name or person.username,
        password=Secret(random_source.token_urlsafe(32)),
        username=person.username,
        sync_mode=held,
        folder_path=policy.folder or None,
    )
    cred = vault.credentials.add(
        actor, keys, person.client_id, draft, source="onboarding", reason=PLACEHOLDER_REASON
    )
    vault.people.update(actor, person.id, {"credential": cred.id})
    with vault.db.write() as conn:
        onboarding_rows.put(
            conn,
            onboarding_rows.OnboardingRow(
                person.id, person.client_id, group_id, policy.folder,
                (mode.value if mode else "inherit"), policy.invite, True, utcnow(), actor.name,
            ),
        )  # fmt: skip
        vault.audit.append(
            conn,
            actor,
            "person.onboarding",
            target_type="person",
            target_id=person.id,
            client_id=person.client_id,
            details={"credential_id": cred.id, "folder": policy.folder, "invite": policy.invite,
                     "sync_mode": mode.value if mode else "inherit", "awaiting": True},
        )  # fmt: skip


def provision(
    vault: Vault,
    keys: KeyRing,
    actor: Actor,
    client_id: str,
    lines: Sequence[ObjectReport],
    policy: Provisioning,
) -> OnboardingReportJson:
    """Apply ``policy`` to the people of an import's report lines (see the module
    docstring); a person the vault refuses is listed with why, the others go on."""
    done = _Done(policy.into_group)
    group_id = _group(vault, actor, client_id, policy.into_group, done)
    done.group_id = group_id
    members = {m["id"] for m in vault.groups.members(actor, group_id) if m["type"] == "person"}
    for line in lines:
        if line.kind != "person" or line.vault_id is None or line.outcome == "refused":
            continue
        with vault.db.read() as conn:
            person = people_rows.get(conn, line.vault_id)
        if person is None or person.deleted_at is not None:
            continue
        try:
            if person.credential_id is None:
                _credential(vault, keys, actor, person, policy, group_id)
                done.credentials_created += 1
            if person.id not in members:
                vault.groups.add_member(actor, group_id, person.id, kind="person")
                members.add(person.id)
                done.members_added += 1
        except CredsyncError as exc:
            done.refused.append(f"{line.name}: {exc}")
    return done.to_json()
