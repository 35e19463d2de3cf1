"""Resolving a flag by hand: push the vault's password, or accept the directory's.

- ``push``: the vault's current password is set in the directory now (a run of one item,
  stored like any run), whatever the credential's mode. Through a link not confirmed for
  pushes (see :mod:`credsync.sync.confirm`) it needs directory.setup, and confirms the link.
- ``accept`` with the password the operator now knows: it is checked with one bind (unless a
  bind already failed for this pwdLastSet: then it is taken on the operator's word, and the
  report says so) and becomes the credential's new secret version. Nothing is pushed. A
  directory that can't check passwords (Entra) takes it on the operator's word, and says so.
- ``accept`` without a password (report mode only): the directory's password stays unknown to
  the vault; the flag closes and stays closed until the directory's password changes again,
  and the credential's status there is ``password_unknown`` (when the two sides differ) until
  a password is set, accepted with the password, or pushed.

Several flags at once (:meth:`Resolver.push_many`, :meth:`Resolver.accept_many`: the
dashboard's "push selected" and "accept selected", ``POST /flags/resolve``) go through the
same checks, flag by flag; pushes to one directory are one run. Each flag has its own
:class:`BulkItem`: a flag that can't be resolved is ``refused`` with the reason and the others
go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.connectors.base import Capability, VerifyOutcome
from credsync.errors import (
    ConnectorError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RunInProgress,
    SyncError,
)
from credsync.storage import accounts as account_rows
from credsync.storage import flags as flag_rows
from credsync.storage import link_reads
from credsync.storage import links as link_rows
from credsync.sync.enforce import record_confirmations
from credsync.sync.engine import Engine
from credsync.sync.model import UNKNOWN_TO_THE_VAULT, Action, PlanItem, Status
from credsync.sync.reports import RunReport, RunReportJson
from credsync.sync.store import sync_credentials
from credsync.types import Secret, SyncMode
from credsync.vault._time import utcnow
from credsync.vault.auth import Actor, Permission
from credsync.vault.flags import Flag, FlagJson, close_flag, find_flag_row
from credsync.vault.secrets import write_secret_version
from credsync.vault.service import Vault

__all__ = [
    "LINKING",
    "BulkItem",
    "BulkItemJson",
    "BulkOutcome",
    "Outcome",
    "Resolution",
    "ResolutionFieldsJson",
    "ResolutionJson",
    "Resolver",
]

Outcome = Literal["pushed", "accepted", "accepted_password", "failed"]
# ``refused``: not acted on (no such flag, already resolved, about linking, a credential in
# the trash, enforce mode for an acceptance); ``failed``: tried, and the directory said no.
BulkOutcome = Literal["pushed", "accepted", "failed", "refused"]


# Flags about linking: not resolved here (the username, or the directory, is what to correct).
LINKING = frozenset({Status.UNMATCHED.value, Status.AMBIGUOUS.value, Status.CONFLICT.value})


class ResolutionFieldsJson(TypedDict):
    """A resolution, but for the run that pushed or checked (each boundary shows its own)."""

    flag: FlagJson
    outcome: Outcome
    detail: str


class ResolutionJson(ResolutionFieldsJson):
    run: RunReportJson | None
    """The run that pushed or checked, with its report."""


@dataclass(frozen=True)
class Resolution:
    flag: Flag
    outcome: Outcome
    detail: str
    run: RunReport | None = None

    def to_json(self) -> ResolutionJson:
        return ResolutionJson(
            flag=self.flag.to_json(),
            outcome=self.outcome,
            detail=self.detail,
            run=self.run.to_json() if self.run else None,
        )


class BulkItemJson(TypedDict):
    """What became of one flag of several resolved at once."""

    flag_id: str
    """The flag's id (as it was given when there is no such flag)."""
    outcome: BulkOutcome
    """pushed, accepted; failed (tried: the directory said no); refused (not tried)."""
    detail: str
    flag: FlagJson | None
    """The flag after (null when there is no such flag)."""
    run_id: str | None
    """The run that pushed."""


@dataclass(frozen=True)
class BulkItem:
    flag_id: str
    outcome: BulkOutcome
    detail: str
    flag: Flag | None = None
    run_id: str | None = None

    def to_json(self) -> BulkItemJson:
        return BulkItemJson(
            flag_id=self.flag_id,
            outcome=self.outcome,
            detail=self.detail,
            flag=self.flag.to_json() if self.flag else None,
            run_id=self.run_id,
        )


class Resolver:
    def __init__(self, vault: Vault, engine: Engine, actor: Actor) -> None:
        self._vault = vault
        self._engine = engine
        self._actor = actor

    def _open_flag(self, ref: str) -> Flag:
        self._actor.require(
            Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_ADMIN_USE
        )
        flag = self._vault.flags.get(self._actor, ref)
        if flag.resolved_at is not None:
            raise InvalidInput(f"flag {flag.id} is already resolved ({flag.resolution})")
        if flag.status in LINKING:
            raise InvalidInput(
                f"flag {flag.id} is about linking ({flag.status}): correct the credential's "
                "username (or the directory) and run `credsync sync run` again"
            )
        # A credential in the trash is neither synced nor changed: restore it first. (get
        # refuses one in the trash, naming the restore.)
        self._vault.credentials.get(self._actor, flag.credential_id)
        return flag

    def _push_item(self, flag: Flag) -> PlanItem:
        return PlanItem(
            flag.credential_id,
            flag.title,
            flag.account_id,
            flag.username,
            Action.PUSH,
            Status.PENDING,
            f"pushed by {self._actor.name} to resolve flag {flag.id[:8]}",
        )

    def _after_push(self, flag: Flag, report: RunReport) -> tuple[Literal["pushed", "failed"], str]:
        """Whether the run pushed the flag's credential: the flag is then resolved as pushed
        (and audited); else the run's words for why not."""
        item = next((i for i in report.items if i.credential_id == flag.credential_id), None)
        if report.ok and item is not None and item.status == Status.IN_SYNC.value:
            with self._vault.db.write() as conn:
                flag_rows.mark_pushed(conn, flag.id, by=self._actor.name)
                self._audit(conn, flag, "pushed")
            return "pushed", ""
        if item is not None and item.status != Status.SKIPPED.value:
            return "failed", item.detail
        return "failed", report.message or (item.detail if item else "not pushed")

    async def push(self, ref: str) -> Resolution:
        flag = self._open_flag(ref)
        self._confirm_link(flag)
        report = await self._engine.apply(
            flag.directory_id, [self._push_item(flag)], trigger="resolve"
        )
        outcome, detail = self._after_push(flag, report)
        return Resolution(self._vault.flags.get(self._actor, flag.id), outcome, detail, report)

    # -- several at once -----------------------------------------------------------------------
    def _open_flags(self, refs: Sequence[str]) -> tuple[list[Flag], list[BulkItem]]:
        """The flags of ``refs`` that may be resolved (each once), and the others refused."""
        self._actor.require(
            Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_ADMIN_USE
        )
        found: dict[str, Flag] = {}
        refused: list[BulkItem] = []
        for ref in dict.fromkeys(refs):
            try:
                flag = self._open_flag(ref)
            except (NotFound, InvalidInput) as exc:
                shown = self._flag_or_none(ref)
                refused.append(BulkItem(shown.id if shown else ref, "refused", str(exc), shown))
                continue
            found.setdefault(flag.id, flag)
        return list(found.values()), refused

    def _flag_or_none(self, ref: str) -> Flag | None:
        try:
            return self._vault.flags.get(self._actor, ref)
        except (NotFound, InvalidInput):
            return None

    async def push_many(self, refs: Sequence[str]) -> list[BulkItem]:
        """Push the vault's password for each flag of ``refs``: one run per directory (an
        account gone from its directory makes that directory's flags go one run each, so
        that the others are pushed). In the order of ``refs``; needs what :meth:`push` needs,
        asked before anything is done."""
        flags, done = self._open_flags(refs)
        groups: dict[str, list[Flag]] = {}
        for flag in flags:
            groups.setdefault(flag.directory_id, []).append(flag)
        for directory_id, group in groups.items():
            ready = []
            for flag in group:  # a link not confirmed yet: confirmed by this push, if allowed
                try:
                    self._confirm_link(flag)
                except PermissionDenied as exc:
                    done.append(BulkItem(flag.id, "refused", str(exc), flag))
                    continue
                ready.append(flag)
            if ready:
                done += await self._push_group(directory_id, ready)
        return _in_order(refs, done)

    async def _push_group(self, directory_id: str, group: list[Flag]) -> list[BulkItem]:
        items = [self._push_item(f) for f in group]
        try:
            report = await self._engine.apply(directory_id, items, trigger="resolve")
        except InvalidInput as exc:  # an account is gone: each on its own
            if len(group) > 1:
                return [i for f in group for i in await self._push_group(directory_id, [f])]
            return [BulkItem(group[0].id, "failed", str(exc), group[0])]
        except (SyncError, ConnectorError, RunInProgress) as exc:  # the others still go
            return [BulkItem(f.id, "failed", str(exc), f) for f in group]
        out = []
        for flag in group:
            outcome, detail = self._after_push(flag, report)
            after = self._vault.flags.get(self._actor, flag.id)
            out.append(BulkItem(flag.id, outcome, detail, after, report.id))
        return out

    async def accept_many(self, refs: Sequence[str]) -> list[BulkItem]:
        """Accept the directory's state (no password) for each flag of ``refs``, as
        :meth:`accept` without a password does: report mode only. In the order of ``refs``."""
        flags, done = self._open_flags(refs)
        for flag in flags:
            try:
                result = self._accept_state(flag)
            except (NotFound, InvalidInput) as exc:
                done.append(BulkItem(flag.id, "refused", str(exc), flag))
                continue
            done.append(BulkItem(flag.id, "accepted", result.detail, result.flag))
        return _in_order(refs, done)

    def _confirm_link(self, flag: Flag) -> None:
        """Pushing by hand through a link not confirmed for pushes confirms it: only an
        operator with directory.setup may."""
        pair = [(flag.credential_id, flag.directory_id)]
        with self._vault.db.read() as conn:
            rows = [r for r in link_reads.pair_impact(conn, pair) if r.link_confirmed_at is None]
        if not rows:
            return
        self._actor.require(Permission.DIRECTORY_SETUP)
        with self._vault.db.write() as conn:
            how = f"pushed by hand to resolve flag {flag.id[:8]}"
            record_confirmations(conn, self._vault.audit, self._actor, rows, how=how, now=utcnow())

    async def accept(self, ref: str, password: Secret | None) -> Resolution:
        flag = self._open_flag(ref)
        if password is None:
            return self._accept_state(flag)
        connector = self._engine.connect(flag.directory_id)
        try:
            account = await connector.get_account(flag.account_id or "")
            with self._vault.db.read() as conn:
                link = link_rows.get(conn, flag.credential_id, flag.directory_id)
            if link is None:
                raise NotFound(f"credential {flag.credential_id} is not linked in {flag.directory}")
            can_bind = Capability.VERIFY_BIND in connector.capabilities
            verified = can_bind and (
                link.failed_stamp is None or link.failed_stamp != account.password_stamp
            )
            if verified:
                result = await connector.verify_password(account, password)
                if result.outcome is not VerifyOutcome.OK:
                    with self._vault.db.write() as conn:
                        link_rows.fail_bind(
                            conn, flag.credential_id, flag.directory_id, account.password_stamp
                        )
                    raise InvalidInput(
                        f"the directory did not accept that password for {account.username!r} "
                        f"({result.outcome.value}: {result.detail}); nothing was stored"
                    )
        finally:
            await connector.close()
        now = utcnow()
        how = (
            "checked with one bind"
            if verified
            else "not checked: a bind already failed since the password last changed (lockout "
            "safety)"
            if can_bind
            else "taken on the operator's word: the directory can't check a password without "
            "a sign-in"
        )
        with self._vault.db.write() as conn:
            version = write_secret_version(
                conn,
                self._vault.audit,
                self._actor,
                self._engine.keys,
                flag.credential_id,
                password,
                source="directory",
                reason=f"accepted from directory {flag.directory} (flag {flag.id[:8]}; {how})",
            )
            link_rows.confirm(
                conn,
                flag.credential_id,
                flag.directory_id,
                stamp=account.password_stamp,
                secret_version=version,
                status=Status.IN_SYNC.value,
                detail=f"password accepted from the directory by {self._actor.name}",
                now=now,
            )
            close_flag(conn, flag.id, self._actor, "accepted_password", now)
            self._audit(conn, flag, "accepted_password")
        return Resolution(self._vault.flags.get(self._actor, flag.id), "accepted_password", how)

    def _accept_state(self, flag: Flag) -> Resolution:
        with self._vault.db.write() as conn:
            row = find_flag_row(conn, self._actor, flag.id)
            if row.resolved_at is not None:
                raise InvalidInput(f"flag {row.id} is already resolved ({row.resolution})")
            creds = sync_credentials(conn, row.client_id, include_off=True, ids=[row.credential_id])
            cred = creds[0] if creds else None
            if cred is not None and cred.mode is SyncMode.ENFORCE:
                raise InvalidInput(
                    "the credential is in enforce mode, where the vault's password wins: give "
                    "the directory's password to accept it, or push the vault's instead",
                    field="password",
                )
            stamp = account_rows.password_stamp(conn, flag.directory_id, flag.account_id or "")
            if stamp is None:
                raise InvalidInput(
                    f"the directory's state of {flag.username!r} is not known: run "
                    "`credsync sync run` first"
                )
            link = link_rows.get(conn, flag.credential_id, flag.directory_id)
            in_step = (
                link is not None
                and cred is not None
                and link.confirmed_stamp == stamp
                and link.confirmed_secret_version == cred.secret_version
            )
            # Two sides that differ, the directory's accepted: its password is the one the
            # vault does not know, and the credential says so until a password is set.
            link_rows.accept_stamp(
                conn,
                flag.credential_id,
                flag.directory_id,
                stamp,
                status=None if in_step else Status.PASSWORD_UNKNOWN.value,
                detail=UNKNOWN_TO_THE_VAULT,
            )
            close_flag(conn, flag.id, self._actor, "accepted", utcnow())
            self._audit(conn, flag, "accepted")
        detail = "the directory's password stays unknown to the vault until it changes again"
        if not in_step:
            detail += " (the credential shows password_unknown there until a password is set)"
        return Resolution(self._vault.flags.get(self._actor, flag.id), "accepted", detail)

    def _audit(self, conn: Connection, flag: Flag, how: str) -> None:
        self._vault.audit.append(
            conn,
            self._actor,
            "flag.resolve",
            target_type="credential",
            target_id=flag.credential_id,
            client_id=flag.client_id,
            details={"flag_id": flag.id, "status": flag.status, "resolution": how},
        )


def _in_order(refs: Sequence[str], items: list[BulkItem]) -> list[BulkItem]:
    """``items`` in the order their flags were given (by id, or by a prefix of it)."""

    def where(item: BulkItem) -> int:
        return next(
            (
                n
                for n, ref in enumerate(refs)
                if item.flag_id.lower().startswith(ref.strip().lower())
            ),
            len(refs),
        )

    return sorted(items, key=where)
