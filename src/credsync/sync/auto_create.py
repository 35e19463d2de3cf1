"""Auto-create where it meets a directory: the dry run, a run's ``first_seen`` creations, and
the capture pipeline's ``capture`` creations (the rules: :mod:`credsync.vault.auto_create`).

Which accounts the OUs and groups select is the connector's (``scoped_accounts``: AD asks the
DC with LDAP_MATCHING_RULE_IN_CHAIN for nested groups); which of those become credentials is
decided here once, the same way for the three callers: in the vault's scope
(:func:`~credsync.vault.auto_create.selects`), not linked in this directory or another, not
taken by auto-create before, and no credential of the client answering to the account's
names (a run links that one instead).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar, cast

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.connectors.base import Account, AccountScope, Capability, Connector
from credsync.connectors.registry import ConnectorFactory, open_connector
from credsync.errors import InvalidInput
from credsync.storage import Database
from credsync.sync import store
from credsync.sync.connect import connect, directory_config
from credsync.sync.model import Action, CredentialState, LinkState, PlanItem, Status
from credsync.types import Secret
from credsync.vault.auth import Actor, Permission
from credsync.vault.auto_create import (
    AutoCreateSettings,
    Candidate,
    CandidateJson,
    Trigger,
    candidates,
    selects,
    taken_and_known,
)
from credsync.vault.directories import Directory, directory_model, find_directory_row
from credsync.vault.keyring import KeyRing
from credsync.vault.service import Vault

__all__ = [
    "AutoCreatePreview",
    "AutoCreatePreviewJson",
    "FirstSeen",
    "auto_create_items",
    "create_for_capture",
    "fill_shell",
    "first_seen",
    "install_scope_check",
    "preview",
    "with_created",
]

T = TypeVar("T")
IDS_PER_SEARCH = 50  # account ids in one scoped search's filter
NOT_SUPPORTED = "auto-create is not supported for this directory kind yet"
_CREATED = (
    "made by auto-create: the account was first seen by this run; the vault has no password "
    "for it yet (its first captured change brings it): no bind, never pushed"
)


class AutoCreatePreviewJson(TypedDict):
    """What auto-create would make now (``credsync directory auto-create NAME --dry-run``)."""

    directory: str
    enabled: bool
    trigger: Trigger
    max_per_run: int
    count: int
    over_limit: bool
    """More than max_per_run: a run would make none of them (and say so)."""
    would_create: list[CandidateJson]


@dataclass(frozen=True)
class AutoCreatePreview:
    directory: str
    settings: AutoCreateSettings
    candidates: list[Candidate]

    @property
    def over_limit(self) -> bool:
        return len(self.candidates) > self.settings.max_per_run

    def to_json(self) -> AutoCreatePreviewJson:
        return AutoCreatePreviewJson(
            directory=self.directory,
            enabled=self.settings.enabled,
            trigger=self.settings.trigger,
            max_per_run=self.settings.max_per_run,
            count=len(self.candidates),
            over_limit=self.over_limit,
            would_create=[c.to_json() for c in self.candidates],
        )


@dataclass(frozen=True)
class FirstSeen:
    """What a run's auto-create did: ``created`` (credential id -> its candidate), or
    ``held`` back (over the threshold: none made) with ``note`` for the run's message."""

    created: dict[str, Candidate] = field(default_factory=dict)
    held: list[Candidate] = field(default_factory=list)
    note: str | None = None


class _Scoped:
    """A connector with the ``scoped_accounts`` capability."""

    def __init__(self, connector: Connector) -> None:
        if Capability.SCOPED_ACCOUNTS not in connector.capabilities:
            raise InvalidInput(NOT_SUPPORTED, field="enabled")
        self._connector: Any = connector

    def accounts(self, scope: AccountScope, ids: Sequence[str] | None) -> AsyncIterator[Account]:
        return cast("AsyncIterator[Account]", self._connector.iter_scoped_accounts(scope, ids))


async def scoped_accounts(
    connector: Connector, settings: AutoCreateSettings, ids: Sequence[str] | None = None
) -> list[Account]:
    """The accounts the directory selects for ``settings`` (``ids``: only these, asked
    :data:`IDS_PER_SEARCH` at a time)."""
    scoped = _Scoped(connector)
    if ids is None:
        return [a async for a in scoped.accounts(settings.scope, None)]
    found: list[Account] = []
    for start in range(0, len(ids), IDS_PER_SEARCH):
        chunk = ids[start : start + IDS_PER_SEARCH]
        found.extend([a async for a in scoped.accounts(settings.scope, chunk)])
    return found


def _candidates(
    conn: Connection, directory: Directory, settings: AutoCreateSettings, found: list[Account]
) -> list[Candidate]:
    taken, known = taken_and_known(conn, directory, [a.id for a in found])
    return candidates(settings, found, taken=taken, known_names=known)


def install_scope_check(
    vault: Vault, keys: KeyRing, *, factory: ConnectorFactory = open_connector
) -> None:
    """Let the capture pipeline (which runs in the vault, synchronously, in its batch's
    transaction) ask a directory whether an account is in its auto-create scope: one search
    by objectGUID with a connector of its own."""

    def check(
        directory: Directory, settings: AutoCreateSettings, account_id: str
    ) -> Account | None:
        async def ask() -> list[Account]:
            connector = factory(directory_config(vault.db, keys, directory))
            try:
                if Capability.SCOPED_ACCOUNTS not in connector.capabilities:
                    return []
                return await scoped_accounts(connector, settings, [account_id])
            finally:
                await connector.close()

        found = _run_async(ask)
        return found[0] if found else None

    vault.auto_create.use_scope_check(check)


def _run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """A coroutine run to its end from synchronous code: in this thread's own event loop, or
    in a thread of its own when this thread runs one already."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


async def preview(
    vault: Vault,
    keys: KeyRing,
    actor: Actor,
    directory_ref: str,
    *,
    factory: ConnectorFactory = open_connector,
) -> AutoCreatePreview:
    """What auto-create would make now with the directory's settings (on or off), nothing
    stored. Needs directory.setup and directory_admin.use (it reads the directory)."""
    actor.require(Permission.VAULT_READ, Permission.DIRECTORY_SETUP, Permission.DIRECTORY_ADMIN_USE)
    directory, settings = vault.auto_create.get(actor, directory_ref)
    connector = connect(vault.db, keys, actor, directory, factory=factory)
    try:
        found = await scoped_accounts(connector, settings)
    finally:
        await connector.close()
    with vault.db.read() as conn:
        return AutoCreatePreview(
            directory.name, settings, _candidates(conn, directory, settings, found)
        )


def _held_note(count: int, settings: AutoCreateSettings, directory: Directory) -> str:
    return (
        f"auto-create: {count} new in-scope accounts, over this directory's limit of "
        f"{settings.max_per_run} per run: none was created (check the scope with `credsync "
        f"directory auto-create {directory.name} --dry-run`, then raise --max-per-run)"
    )


async def first_seen(
    vault: Vault,
    keys: KeyRing,
    actor: Actor,
    directory: Directory,
    connector: Connector,
    *,
    dry_run: bool,
    changed: Sequence[str] | None = None,
) -> FirstSeen:
    """A run's auto-create (trigger ``first_seen``): a shell credential for each new in-scope
    account, all in one transaction, or none when there are more than ``max_per_run``. A dry
    run makes none and says what it would make (``held``, no note). ``changed``: an
    incremental run asks about its changed accounts only (a new account is one of them; a
    change of the settings makes the next run a full pass, which asks about the whole scope);
    None: the whole scope."""

    def settings_of() -> AutoCreateSettings:  # in a worker thread: the agent's loop goes on
        with vault.db.read() as conn:
            return vault.auto_create.settings_of(conn, directory.id)

    settings = await asyncio.to_thread(settings_of)
    if not settings.enabled or settings.trigger != "first_seen":
        return FirstSeen()
    if Capability.SCOPED_ACCOUNTS not in connector.capabilities:
        return FirstSeen(note=f"{NOT_SUPPORTED}: nothing created")
    if changed is not None and not changed:
        return FirstSeen()
    found = await scoped_accounts(connector, settings, changed)
    with vault.db.read() as conn:
        chosen = _candidates(conn, directory, settings, found)
    if dry_run or not chosen:
        return FirstSeen(held=chosen)
    if len(chosen) > settings.max_per_run:
        return FirstSeen(held=chosen, note=_held_note(len(chosen), settings, directory))
    created: dict[str, Candidate] = {}
    with vault.db.write() as conn:
        for candidate in chosen:
            made = vault.auto_create.create(
                conn,
                actor,
                keys,
                directory,
                settings,
                candidate.account,
                password=None,
                trigger="first_seen",
            )
            if made is not None:
                created[made] = candidate
    return FirstSeen(created=created)


def with_created(
    db: Database,
    directory: Directory,
    made: FirstSeen,
    creds: list[CredentialState],
    links: dict[str, LinkState],
) -> tuple[list[CredentialState], dict[str, LinkState], dict[str, Account]]:
    """What a run plans over once auto-create made its credentials: the credentials and
    links read again, and the made ones' accounts (an incremental run may not have them)."""
    if not made.created:
        return creds, links, {}
    with db.read() as conn:
        creds = store.sync_credentials(conn, directory.client_id)
        links = store.load_links(conn, directory.id)
    return creds, links, {c.account.id: c.account for c in made.created.values()}


def auto_create_items(items: list[PlanItem], made: FirstSeen) -> list[PlanItem]:
    """The run's items with auto-create's: each credential it made is a ``create`` (nothing
    is sent to the directory), and each account it held back (over the threshold) or would
    make (a dry run) an item of its own, without a credential."""
    if not made.created and not made.held:
        return items
    out = [
        replace(i, action=Action.CREATE, detail=_CREATED) if i.credential_id in made.created else i
        for i in items
    ]
    for c in made.held:
        if made.note is not None:
            action, status, detail = Action.SKIP, Status.SKIPPED, made.note
        else:
            action, status = Action.CREATE, Status.PENDING
            detail = f"auto-create would make {c.title!r} (no password until its first capture)"
        out.append(
            PlanItem(None, c.title, c.account.id, c.account.username, action, status, detail)
        )
    return out


async def create_for_capture(
    vault: Vault,
    keys: KeyRing,
    actor: Actor,
    directory_id: str,
    account_id: str,
    password: Secret,
    *,
    stamp: str | None,
    why: str = "",
    connector: Connector | None = None,
    factory: ConnectorFactory = open_connector,
) -> str | None:
    """For the capture pipeline, for a captured password of an account with no credential in
    the directory: the id of a new credential holding ``password`` (its first version, source
    ``directory``; ``why`` its reason), linked and in step at ``stamp`` (the capture's
    pwdLastSet), or None: auto-create is off, the account is out of its scope (asked of the
    directory by objectGUID), was taken before, or a credential of the client answers to its
    name. ``actor`` is the pipeline's (the forwarder it authenticated; it needs vault.write);
    ``connector``: an open one to reuse (otherwise one is opened and closed)."""
    with vault.db.read() as conn:
        directory = directory_model(find_directory_row(conn, directory_id, actor))
        settings = vault.auto_create.settings_of(conn, directory.id)
    if not settings.enabled:
        return None
    own = connector is None
    if connector is None:
        connector = factory(directory_config(vault.db, keys, directory))
    try:
        if Capability.SCOPED_ACCOUNTS not in connector.capabilities:
            return None
        found = await scoped_accounts(connector, settings, [account_id])
    finally:
        if own:
            await connector.close()
    if not found or not selects(settings, found[0]):
        return None
    account = found[0] if stamp is None else replace(found[0], password_stamp=stamp)
    with vault.db.write() as conn:
        if not _candidates(conn, directory, settings, [account]):
            return None
        return vault.auto_create.create(
            conn,
            actor,
            keys,
            directory,
            settings,
            account,
            password=password,
            trigger="capture",
            why=why,
        )


def fill_shell(
    vault: Vault,
    keys: KeyRing,
    actor: Actor,
    directory_id: str,
    account_id: str,
    password: Secret,
    *,
    stamp: str | None,
    why: str,
) -> str | None:
    """For the capture pipeline, for a captured password of an account whose credential is
    an auto-create shell (call it before the credential's mode decides what a capture does):
    the credential's id once the password is its next version and it takes its settings'
    mode; None when the account's credential is not a shell."""
    with vault.db.write() as conn:
        find_directory_row(conn, directory_id, actor)  # within the actor's client access
        return vault.auto_create.fill_shell(
            conn, actor, keys, directory_id, account_id, password, stamp=stamp, why=why
        )
