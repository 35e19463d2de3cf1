"""Resolving a flag by hand: push the vault's password, or accept the directory's.

- ``push``: the vault's current password is set in the directory now (a run of one item,
  stored like any run), whatever the credential's mode. Through a link not confirmed for
  pushes (see :mod:`credsync.sync.confirm`) it needs directory.setup, and confirms the link.
- ``accept`` with the password the operator now knows: it is checked with one bind (unless a
  bind already failed for this pwdLastSet: then it is taken on the operator's word, and the
  report says so) and becomes the credential's new secret version. Nothing is pushed. A
  directory that can't check passwords (Entra) takes it on the operator's word, and says so.
- ``accept`` without a password (report mode only): the directory's password stays unknown to
  the vault; the flag closes and stays closed until the directory's password changes again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.connectors.base import Capability, VerifyOutcome
from credsync.errors import InvalidInput, NotFound
from credsync.storage import accounts as account_rows
from credsync.storage import flags as flag_rows
from credsync.storage import links as link_rows
from credsync.sync.enforce import record_confirmations
from credsync.sync.engine import Engine
from credsync.sync.model import Action, PlanItem, Status
from credsync.sync.reports import RunReport, RunReportJson
from credsync.sync.store import sync_credentials
from credsync.types import Secret, SyncMode
from credsync.vault._time import utcnow
from credsync.vault.auth import Actor, Permission
from credsync.vault.flags import Flag, FlagJson, close_flag, find_flag_row
from credsync.vault.secrets import write_secret_version
from credsync.vault.service import Vault

__all__ = ["Outcome", "Resolution", "ResolutionFieldsJson", "ResolutionJson", "Resolver"]

Outcome = Literal["pushed", "accepted", "accepted_password", "failed"]


_LINKING = {Status.UNMATCHED.value, Status.AMBIGUOUS.value, Status.CONFLICT.value}


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
        if flag.status in _LINKING:
            raise InvalidInput(
                f"flag {flag.id} is about linking ({flag.status}): correct the credential's "
                "username (or the directory) and run `credsync sync run` again"
            )
        # A credential in the trash is neither synced nor changed: restore it first. (get
        # refuses one in the trash, naming the restore.)
        self._vault.credentials.get(self._actor, flag.credential_id)
        return flag

    async def push(self, ref: str) -> Resolution:
        flag = self._open_flag(ref)
        self._confirm_link(flag)
        item = PlanItem(
            flag.credential_id,
            flag.title,
            flag.account_id,
            flag.username,
            Action.PUSH,
            Status.PENDING,
            f"pushed by {self._actor.name} to resolve flag {flag.id[:8]}",
        )
        report = await self._engine.apply(flag.directory_id, [item], trigger="resolve")
        if report.ok and report.count(Status.IN_SYNC.value) == 1:
            with self._vault.db.write() as conn:
                flag_rows.mark_pushed(conn, flag.id, by=self._actor.name)
                self._audit(conn, flag, "pushed")
            return Resolution(self._vault.flags.get(self._actor, flag.id), "pushed", "", report)
        detail = report.items[0].detail if report.items else report.message
        return Resolution(self._vault.flags.get(self._actor, flag.id), "failed", detail, report)

    def _confirm_link(self, flag: Flag) -> None:
        """Pushing by hand through a link not confirmed for pushes confirms it: only an
        operator with directory.setup may."""
        pair = [(flag.credential_id, flag.directory_id)]
        with self._vault.db.read() as conn:
            rows = [r for r in link_rows.pair_impact(conn, pair) if r.link_confirmed_at is None]
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
            creds = {c.id: c for c in sync_credentials(conn, row.client_id, include_off=True)}
            cred = creds.get(flag.credential_id)
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
            link_rows.accept_stamp(conn, flag.credential_id, flag.directory_id, stamp)
            close_flag(conn, flag.id, self._actor, "accepted", utcnow())
            self._audit(conn, flag, "accepted")
        return Resolution(
            self._vault.flags.get(self._actor, flag.id),
            "accepted",
            "the directory's password stays unknown to the vault until it changes again",
        )

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
