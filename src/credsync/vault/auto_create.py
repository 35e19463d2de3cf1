"""Auto-create: a directory's in-scope users become credentials.

Per directory, off by default. The settings (:class:`AutoCreateSettings`) say which accounts
are taken (OUs, groups with nested membership, enabled accounts only unless told, a name
filter; the directory's own system accounts and ``krbtgt``, ``Guest``, ``DefaultAccount`` and
names ending ``$`` never) and what their credentials look like (folder, title template, tags,
sync mode). Which accounts the OUs and groups select is the connector's business (its
``scoped_accounts`` capability); the rest is decided here, the same for every kind.

When (``trigger``):

- ``capture`` (the default): when a captured password arrives for an in-scope account with
  no credential (:func:`credsync.sync.auto_create.create_for_capture`). The credential holds
  that password from its first version (source ``directory``), in the settings' sync mode
  (none: the client's default), linked to its account and the link confirmed (it came from the
  directory itself) and in step at the captured ``pwdLastSet``.
- ``first_seen``: when a run first sees an in-scope account. The vault knows no password then:
  the credential is a **shell** (its first version is a random placeholder, never shown as the
  account's password), its link says ``password_unknown``, its mode is ``report`` (an unknown
  secret must never be pushed) and the planner neither binds nor pushes for it until its
  first capture (:meth:`AutoCreate.fill_shell`: the captured password becomes its next version
  and it takes the settings' sync mode) or an operator sets its password.

Idempotent: each account taken is recorded by its stable id (objectGUID) in
``auto_created``, in the transaction that adds its credential; a second event, a second run or
a rename finds it and makes nothing (a purged credential's account is not made again). An
account an existing credential of the client answers to by name is left to that credential
(the run links it). At most ``max_per_run`` are made by one run: more, and the run makes none
and says so (the mass-create threshold, like the push cap).
"""

from __future__ import annotations

import fnmatch
import json
import secrets as random_source
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.connectors import registry
from credsync.connectors.base import Account
from credsync.errors import Conflict, InvalidInput
from credsync.storage import Database, link_reads
from credsync.storage import accounts as account_rows
from credsync.storage import auto_create as rows
from credsync.storage import credentials as credential_rows
from credsync.storage import directories as directory_rows
from credsync.storage import links as link_rows
from credsync.storage import sync_credentials as sync_rows
from credsync.types import Secret, SyncMode
from credsync.vault._time import utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.auto_create_settings import (
    DEFAULT_TITLE,
    EXCLUDED_NAMES,
    PLACEHOLDERS,
    AutoCreateJson,
    AutoCreateSettings,
    Trigger,
    load_settings,
    parse_settings,
)
from credsync.vault.clients import find_client_row
from credsync.vault.directories import (
    Directory,
    check_settings_version,
    directory_model,
    find_directory_row,
)
from credsync.vault.drafts import insert_drafts, make_draft
from credsync.vault.folders import ensure_folder
from credsync.vault.keyring import KeyRing
from credsync.vault.secrets import write_secret_version

__all__ = [
    "DEFAULT_TITLE",
    "PLACEHOLDERS",
    "AutoCreate",
    "AutoCreateJson",
    "AutoCreateSettings",
    "Candidate",
    "CandidateJson",
    "ScopeCheck",
    "Trigger",
    "candidates",
    "parse_settings",
    "selects",
    "taken_and_known",
    "title_for",
]

# Whether an account is in a directory's auto-create scope, asked of the directory itself
# (its OUs and nested groups): the account as read, or None. The sync layer installs one
# (:func:`credsync.sync.auto_create.install_scope_check`); without it, captures make nothing.
ScopeCheck = Callable[["Directory", AutoCreateSettings, str], Account | None]

_PLACEHOLDER_VERSION = 1
_SHELL_DETAIL = (
    "made by auto-create when the account was first seen: the vault has no password for it "
    "yet (the account's first captured change brings it); never pushed until then"
)


# -- which accounts, and their credentials ---------------------------------------------------------
def selects(settings: AutoCreateSettings, account: Account) -> bool:
    """What the vault decides of the scope, the same for every kind: the default exclusions
    by name, enabled accounts (unless disabled ones are included) and the name filter (a
    case-insensitive glob on the account's name or UPN)."""
    name = account.username.casefold()
    if name in EXCLUDED_NAMES or name.endswith("$"):
        return False
    if not account.enabled and not settings.include_disabled:
        return False
    if settings.name_filter:
        pattern = settings.name_filter.casefold()
        names = [name, (account.upn or "").casefold()]
        if not any(n and fnmatch.fnmatchcase(n, pattern) for n in names):
            return False
    return True


def title_for(settings: AutoCreateSettings, account: Account) -> str:
    values = {
        "displayName": account.display_name or account.username,
        "sAMAccountName": account.username,
        "username": account.username,
        "userPrincipalName": account.upn or "",
        "domain": account.domain or "",
    }
    title = settings.title.format_map(values).strip()
    return title[:255] or account.username


class CandidateJson(TypedDict):
    """An account auto-create would make a credential of (the dry run's rows)."""

    account_id: str
    account: str
    upn: str | None
    enabled: bool
    title: str
    username: str
    folder: str | None


@dataclass(frozen=True)
class Candidate:
    account: Account
    title: str
    username: str
    folder: str | None

    def to_json(self) -> CandidateJson:
        return CandidateJson(
            account_id=self.account.id,
            account=self.account.username,
            upn=self.account.upn,
            enabled=self.account.enabled,
            title=self.title,
            username=self.username,
            folder=self.folder,
        )


def candidates(
    settings: AutoCreateSettings,
    accounts: Iterable[Account],
    *,
    taken: set[str],
    known_names: set[str],
) -> list[Candidate]:
    """The accounts (as the connector's scope selected them) that would become credentials,
    by name: those :func:`selects` takes, not already ``taken`` (linked, or made by
    auto-create before: account ids) and that no credential of the client answers to by name
    (``known_names``: case-folded usernames; the run links those instead)."""
    out = [
        Candidate(a, title_for(settings, a), a.username, settings.folder)
        for a in accounts
        if a.id not in taken and selects(settings, a) and not (a.names() & known_names)
    ]
    return sorted(out, key=lambda c: c.account.username.casefold())


def _rescans(before: AutoCreateSettings, after: AutoCreateSettings) -> bool:
    """Whether the next run must ask about the whole scope: any change (other accounts in
    scope, or a higher limit for the accounts a run held back)."""
    return before.stored() != after.stored()


def _name_keys(username: str) -> set[str]:
    """The names a credential's username matches accounts by (the planner's rules)."""
    wanted = username.strip().casefold()
    keys = {wanted} if wanted else set()
    if "\\" in wanted:
        keys.add(wanted.split("\\", 1)[1])
    return keys


def taken_and_known(
    conn: Connection, directory: Directory, account_ids: Collection[str]
) -> tuple[set[str], set[str]]:
    """What :func:`candidates` leaves out: the account ids linked in this directory or
    another, or taken by auto-create before; and the case-folded names the client's live
    credentials answer to."""
    ids = list(account_ids)
    taken = {link.account_id for link in link_rows.of_directory(conn, directory.id)}
    taken |= set(link_reads.claimed_elsewhere(conn, directory.id, ids))
    taken |= rows.handled(conn, directory.id, ids)
    known: set[str] = set()
    every_mode = tuple(m.value for m in SyncMode)
    for cred in sync_rows.synced(conn, directory.client_id, every_mode, switch_on_only=False):
        known |= _name_keys(cred.username)
    return taken, known


# -- the service ---------------------------------------------------------------------------------
class AutoCreate:
    """Auto-create's settings per directory, and the creating itself (called by the sync
    engine for ``first_seen`` and by the capture pipeline for ``capture``)."""

    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit
        self.scope_check: ScopeCheck | None = None

    def use_scope_check(self, check: ScopeCheck) -> None:
        """How captures learn whether their account is in scope (see :data:`ScopeCheck`)."""
        self.scope_check = check

    def takes_captures(self, conn: Connection, directory_id: str) -> bool:
        """Whether a capture of an account with no credential may make one (auto-create on,
        and a way to ask the directory about scope): the capture pipeline decrypts only then."""
        return self.scope_check is not None and self.settings_of(conn, directory_id).enabled

    def scope_of(
        self,
        conn: Connection,
        actor: Actor,
        directory_id: str,
        account_id: str,
        *,
        hint: Account | None = None,
    ) -> Account | None:
        """For a captured password of an account with no credential, before the capture's
        write transaction (it asks the directory): the account as the directory describes it
        when auto-create would take it, else None (auto-create off, the account out of its
        scope, taken before, or a credential of the client answering to its name: a run links
        that one). ``hint``: what the capture itself says of the account (its names, enabled):
        an account it already rules out is not asked about."""
        settings = self.settings_of(conn, directory_id)
        if not settings.enabled or self.scope_check is None:
            return None
        directory = directory_model(find_directory_row(conn, directory_id, actor))
        taken, known = taken_and_known(conn, directory, [account_id])
        if hint is not None and not candidates(settings, [hint], taken=taken, known_names=known):
            return None
        account = self.scope_check(directory, settings, account_id)
        if account is None or not candidates(settings, [account], taken=taken, known_names=known):
            return None
        return account

    def for_capture(
        self,
        conn: Connection,
        actor: Actor,
        keys: KeyRing,
        directory_id: str,
        account: Account,
        password: Secret,
        *,
        stamp: str | None,
        why: str,
    ) -> str | None:
        """In the capture's write transaction, for an account :meth:`scope_of` found: a new
        credential holding the captured password (see :meth:`create`), in step at ``stamp``
        (the capture's pwdLastSet); None when, since, auto-create was turned off or the
        account was taken (checked again)."""
        settings = self.settings_of(conn, directory_id)
        if not settings.enabled:
            return None
        directory = directory_model(find_directory_row(conn, directory_id, actor))
        if stamp is not None:
            account = replace(account, password_stamp=stamp)
        taken, known = taken_and_known(conn, directory, [account.id])
        if not candidates(settings, [account], taken=taken, known_names=known):
            return None
        return self.create(
            conn, actor, keys, directory, settings, account,
            password=password, trigger="capture", why=why,
        )  # fmt: skip

    def get(self, actor: Actor, directory_ref: str) -> tuple[Directory, AutoCreateSettings]:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            directory = directory_model(find_directory_row(conn, directory_ref, actor))
            return directory, load_settings(rows.settings_of(conn, directory.id))

    def settings_of(self, conn: Connection, directory_id: str) -> AutoCreateSettings:
        return load_settings(rows.settings_of(conn, directory_id))

    def update(
        self,
        actor: Actor,
        directory_ref: str,
        given: Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> tuple[Directory, AutoCreateSettings]:
        """Change what is given (see :func:`parse_settings`); needs directory.setup (the new
        credentials may be pushed: enforce or two-way). Turning it on for a directory whose
        kind can't select accounts by scope is refused (InvalidInput on ``enabled``)."""
        actor.require(Permission.VAULT_READ, Permission.DIRECTORY_SETUP)
        if not given:
            raise InvalidInput("nothing to change")
        with self._db.write() as conn:
            directory = directory_model(find_directory_row(conn, directory_ref, actor))
            current = load_settings(rows.settings_of(conn, directory.id))
            check_settings_version(
                "auto-create settings", directory.name, current.version, expected_version
            )
            after = parse_settings(given, current)
            kind = registry.kind_of(directory.kind)
            if after.enabled and not kind.scoped_accounts:
                raise InvalidInput(
                    f"auto-create is not supported for this directory kind yet "
                    f"({kind.display_name})",
                    field="enabled",
                )
            version = current.version + 1
            now = utcnow()
            if not rows.save_settings(
                conn, directory.id, after.stored(), version=version, by=actor.name, now=now
            ):
                raise Conflict(f"the auto-create settings of {directory.name!r} just changed")
            if after.enabled and _rescans(current, after):
                # The next run is a full pass, which asks the directory about the whole scope
                # (an incremental one asks about its changed accounts only).
                directory_rows.update(conn, directory.id, {"cursor": None})
            self._audit.append(
                conn,
                actor,
                "directory.auto_create",
                target_type="directory",
                target_id=directory.id,
                client_id=directory.client_id,
                details={"name": directory.name, **json.loads(after.stored())},
            )
            return directory, replace(after, version=version, updated_at=now)

    # -- creating ------------------------------------------------------------------------------
    def create(
        self,
        conn: Connection,
        actor: Actor,
        keys: KeyRing,
        directory: Directory,
        settings: AutoCreateSettings,
        account: Account,
        *,
        password: Secret | None,
        trigger: Trigger,
        why: str = "",
    ) -> str | None:
        """A credential for ``account`` in the caller's write transaction, or None when auto-create
        took it already (idempotent by account id). ``password``: the captured one (its first
        version, source ``directory``, in step at the account's password stamp); None makes a
        shell (see the module docstring). Audited as ``credential.auto_create``."""
        if rows.created_for(conn, directory.id, account.id) is not None:
            return None
        client = find_client_row(conn, directory.client_id, actor)
        folder_id = ensure_folder(conn, client.id, settings.folder)[0] if settings.folder else None
        shell = password is None
        mode = SyncMode.REPORT if shell else settings.sync_mode
        first = password or Secret(random_source.token_urlsafe(32))
        draft = make_draft(
            title=title_for(settings, account),
            password=first,
            username=account.username,
            tags=settings.tags,
            sync_mode=mode,
        )
        now = utcnow()
        if shell:
            reason = "a placeholder made by auto-create (no password known yet; never pushed)"
        else:
            reason = why or f"captured in directory {directory.name}: made by auto-create"
        [cred_id] = insert_drafts(
            conn,
            client_id=client.id,
            key=keys.data_key(conn, client.id),
            drafts=[(draft, folder_id)],
            actor_name=actor.name,
            source="auto_create" if shell else "directory",
            reason=reason,
            now=now,
        )
        rows.claim(
            conn,
            rows.CreatedRow(
                directory.id,
                account.id,
                cred_id,
                trigger,
                _PLACEHOLDER_VERSION if shell else None,
                now,
                actor.name,
            ),
        )
        if shell:
            state: dict[str, Any] = {"accepted_stamp": account.password_stamp}
            status, detail = link_rows.PASSWORD_UNKNOWN, _SHELL_DETAIL
        else:
            state = {
                "confirmed_stamp": account.password_stamp,
                "confirmed_secret_version": 1,
                "confirmed_at": now,
            }
            status, detail = "in_sync", "made by auto-create from the captured password"
        # The account as read is cached, as a run would (a capture's checks look it up).
        account_rows.replace(conn, directory.id, [account], (), now, full=False)
        link_rows.add_confirmed(
            conn,
            cred_id,
            directory.id,
            account.id,
            by=actor.name,
            now=now,
            status=status,
            detail=detail,
            state=state,
        )
        self._audit.append(
            conn,
            actor,
            "credential.auto_create",
            target_type="credential",
            target_id=cred_id,
            client_id=client.id,
            details={
                "title": draft.title,
                "username": draft.username,
                "directory": directory.name,
                "account_id": account.id,
                "trigger": trigger,
                "password": "none yet" if shell else "captured",
            },
        )
        return cred_id

    def fill_shell(
        self,
        conn: Connection,
        actor: Actor,
        keys: KeyRing,
        directory_id: str,
        account_id: str,
        password: Secret,
        *,
        stamp: str | None,
        why: str,
    ) -> str | None:
        """A captured password for an account whose credential is a shell: it becomes the
        credential's next version (source ``directory``), the credential takes the settings'
        sync mode and its link is in step at ``stamp``. Returns the credential's id; None when
        the account's credential is not a shell (the capture pipeline's usual rules apply)."""
        made = rows.created_for(conn, directory_id, account_id)
        if made is None or made.shell_version is None:
            return None
        cred = credential_rows.get(conn, made.credential_id)
        if cred.deleted_at is not None or cred.secret_version != made.shell_version:
            rows.fill_shell(conn, directory_id, account_id)  # a password was set since
            return None
        version = write_secret_version(
            conn, self._audit, actor, keys, cred.id, password, source="directory", reason=why
        )
        settings = load_settings(rows.settings_of(conn, directory_id))
        mode = settings.sync_mode.value if settings.sync_mode else None
        current = credential_rows.get(conn, cred.id)
        credential_rows.bump(
            conn, cred.id, current.version, by=actor.name, now=utcnow(), changes={"sync_mode": mode}
        )
        rows.fill_shell(conn, directory_id, account_id)
        now = utcnow()
        link_rows.confirm(
            conn,
            cred.id,
            directory_id,
            stamp=stamp,
            secret_version=version,
            status="in_sync",
            detail="the account's first captured password",
            now=now,
        )
        return str(cred.id)
