"""Pushing a relayed password to its target user: the one way a relay writes, used by a
relay run (:mod:`credsync.sync.relay`) and by the agent for queued relays.

Per target credential (its link in the target directory names the user):

1. In step already (the link confirmed at the credential's current version): nothing.
2. A version the target refused before: not sent again (the flag says why).
3. The target directory's own password rule, where its kind knows one before the write
   (Entra's: 8-256 ASCII characters, 3 of 4 classes): a password it would refuse is not sent;
   the credential is flagged ``policy_rejected`` ("the user's new AD password does not work in
   Office 365: ...") and never retried with the same value.
4. A push recorded as under way for this version (an agent stopped mid-push) whose target
   shows a password change since (its stamp moved from the one stored with the intent; with
   none stored, a change since the intent's time): it landed; confirmed without sending it
   again. No change since: it never reached the target, and is sent.
5. Else the intent is stored (the link's push attempt), the password set (never expires as
   the relay says; never "must change"), and the link confirmed at the user's new stamp, the
   relay's flags closed. The directory refusing it: a policy refusal in its words is
   ``policy_rejected``, a refusal for a user synced by Entra Connect or in a federated domain
   ``conflict``; both flagged, not retried. The directory away: raised (the caller retries).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from credsync import telemetry
from credsync.connectors import registry
from credsync.connectors.base import Account, Connector, PasswordOptions
from credsync.errors import (
    AccountNotFound,
    PermanentConnectorError,
    PolicyRejected,
    TransientConnectorError,
)
from credsync.storage import Database, sync_credentials
from credsync.storage import credentials as credential_rows
from credsync.storage import flags as flag_rows
from credsync.storage import links as link_rows
from credsync.storage import relays as relay_rows
from credsync.storage import runs as run_rows
from credsync.sync.model import AGENT_TRIGGER, Status
from credsync.sync.relay_quarantine import screen_relays
from credsync.types import new_id
from credsync.vault._time import as_utc, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor
from credsync.vault.directories import Directory
from credsync.vault.keyring import KeyRing
from credsync.vault.relay_push import relayed
from credsync.vault.relay_settings import load_settings
from credsync.vault.secrets import read_secrets

__all__ = ["PushJob", "PushResult", "RelayPusher", "push_queued", "queued_jobs"]

_LANDED_SLACK = dt.timedelta(seconds=2)  # Graph's timestamps have whole seconds
_REFUSED_WORDS = ("on-premises", "federated", "directory sync")


@dataclass(frozen=True)
class PushJob:
    credential_id: str  # the target credential (linked to ``account`` in the directory)
    account: Account | None  # the target user as read (None: read it here)
    relay: str
    never_expires: bool


@dataclass(frozen=True)
class PushResult:
    job: PushJob
    status: str  # in_sync | policy_rejected | conflict | account_missing | error
    action: str  # none | push | flag
    detail: str
    version: int | None = None


def _landed(link: link_rows.LinkRow, account: Account) -> bool:
    """Whether the push recorded as under way through ``link`` shows in the target: its
    password stamp moved since the one stored with the intent; without one stored, its password
    changed after the intent (less ``_LANDED_SLACK``). Not by time alone when the stamp is
    known: a change a second before the intent (the pair's previous push) would pass for it.
    Graph's stamps have whole seconds: a push landing in the second of the change before it
    leaves the stamp as it was and is sent again (the same password twice, never one lost)."""
    if link.push_attempt_stamp is not None:
        return account.password_stamp not in (None, link.push_attempt_stamp)
    started = link.push_attempt_at
    return (
        started is not None
        and account.password_changed_at is not None
        and account.password_changed_at >= as_utc(started) - _LANDED_SLACK
    )


def _flag_detail(relay: str, name: str, why: str) -> str:
    return f"relay {relay}: the new AD password of {name} does not work in Office 365: {why}"


class RelayPusher:
    """Pushes to one target directory through an open connector."""

    def __init__(
        self,
        db: Database,
        keys: KeyRing,
        actor: Actor,
        directory: Directory,
        connector: Connector,
        *,
        run_id: str,
        in_flight: int = 20,
    ) -> None:
        self._db = db
        self._keys = keys
        self._actor = actor
        self._directory = directory
        self._connector = connector
        self._run_id = run_id
        self._rule = registry.kind_of(directory.kind).password_refusal
        self._gate = asyncio.Semaphore(max(1, in_flight))
        self.pushes = 0

    def settled(self, conn: Connection, jobs: Sequence[PushJob]) -> dict[str, PushResult]:
        """Of ``jobs``, those in step already (rule 1), found with a few reads for all of
        them: credential id -> its result (nothing to send, nothing to read per job). The
        others go through :meth:`push`, which reads each again just before."""
        ids = [j.credential_id for j in jobs]
        links = {link.credential_id: link
                 for link in link_rows.of_directory(conn, self._directory.id, ids)}  # fmt: skip
        creds = {c.id: c for c in credential_rows.in_title_order(conn, ids)}
        targets = sync_credentials.push_targets(conn, ids)
        out: dict[str, PushResult] = {}
        for job in jobs:
            link, cred = links.get(job.credential_id), creds.get(job.credential_id)
            if link is None or cred is None or cred.deleted_at is not None:
                continue
            version = int(cred.secret_version)
            if link.confirmed_secret_version == version and relayed(targets.get(cred.id)):
                detail = f"in step (version {version})"
                out[cred.id] = PushResult(job, Status.IN_SYNC, "none", detail, version)
        return out

    async def push_gated(self, job: PushJob) -> PushResult:
        """:meth:`push`, at most ``in_flight`` of them under way at once (the connector
        shares its requests among them: Graph's $batch)."""
        async with self._gate:
            return await self.push(job)

    async def push_all(self, jobs: Sequence[PushJob]) -> list[PushResult]:
        return list(await asyncio.gather(*(self.push_gated(j) for j in jobs)))

    def _flag(
        self, job: PushJob, account_id: str, status: str, detail: str, version: int | None = None
    ) -> None:
        """Flag the credential; ``version``: the password refused (never sent again)."""
        now = utcnow()
        with self._db.write() as conn:
            if version is None:
                link_rows.end_attempt(conn, job.credential_id, self._directory.id)
            else:
                link_rows.refuse_version(conn, job.credential_id, self._directory.id, version)
            flag_rows.raise_flag(
                conn,
                client_id=self._directory.client_id,
                credential_id=job.credential_id,
                directory_id=self._directory.id,
                account_id=account_id,
                status=status,
                detail=detail,
                now=now,
            )

    async def push(self, job: PushJob) -> PushResult:
        directory = self._directory
        secrets = {}  # the password, read in the same transaction when it may be sent
        with self._db.read() as conn:
            link = link_rows.get(conn, job.credential_id, directory.id)
            cred = credential_rows.get(conn, job.credential_id)
            target = sync_credentials.push_target(conn, job.credential_id)
            version = int(cred.secret_version)
            if (
                link is not None
                and version not in (link.confirmed_secret_version, link.failed_secret_version)
                and relayed(target)
                and cred.deleted_at is None
            ):
                secrets = read_secrets(conn, self._keys, directory.client_id, {cred.id: version})
        if link is None or cred.deleted_at is not None:
            return PushResult(job, Status.SKIPPED, "none", "no longer linked in the target")
        if not relayed(target):
            why = "directory sync is off" if target is None else "its sync mode is off"
            return PushResult(job, Status.SKIPPED, "none", f"not pushed: {why}")
        if link.confirmed_secret_version == version:
            return PushResult(job, Status.IN_SYNC, "none", f"in step (version {version})", version)
        if link.failed_secret_version == version:
            return PushResult(
                job,
                Status.SKIPPED,
                "none",
                f"version {version} was refused before: not sent again",
                version,
            )
        account = job.account
        name = account.username if account else link.account_id
        secret = secrets[cred.id]
        if self._rule is not None:
            refused = self._rule(secret.reveal())
            if refused is not None:
                detail = _flag_detail(job.relay, name, refused[1])
                self._flag(job, link.account_id, Status.POLICY_REJECTED, detail, version)
                return PushResult(
                    job, Status.POLICY_REJECTED, "flag", f"{refused[0]}: {detail}", version
                )
        try:
            if account is None or link.push_attempt_version == version:
                account = await self._connector.get_account(link.account_id)
            if link.push_attempt_version == version and _landed(link, account):
                self._confirm(job, account, version, "the interrupted push had landed")
                return PushResult(
                    job,
                    Status.IN_SYNC,
                    "none",
                    f"version {version} had landed before a restart",
                    version,
                )
            with self._db.write() as conn:
                if not link_rows.start_attempt(
                    conn,
                    directory.id,
                    job.credential_id,
                    run_id=self._run_id,
                    secret_version=version,
                    stamp=account.password_stamp,
                    now=utcnow(),
                    state={},
                ):
                    return PushResult(
                        job,
                        Status.AWAITING_CONFIRMATION,
                        "none",
                        "the link is not confirmed for pushes",
                    )
            options = PasswordOptions(must_change=False, never_expires=job.never_expires)
            with telemetry.events().push():
                after = await self._connector.set_password(account, secret, options)
            self.pushes += 1
        except PolicyRejected as exc:
            detail = _flag_detail(job.relay, name, str(exc))
            self._flag(job, link.account_id, Status.POLICY_REJECTED, detail, version)
            return PushResult(job, Status.POLICY_REJECTED, "flag", detail, version)
        except AccountNotFound as exc:
            self._flag(job, link.account_id, Status.ACCOUNT_MISSING, f"relay {job.relay}: {exc}")
            return PushResult(job, Status.ACCOUNT_MISSING, "flag", str(exc), version)
        except TransientConnectorError:
            raise
        except PermanentConnectorError as exc:
            text = str(exc)
            status = (
                Status.CONFLICT if any(w in text.lower() for w in _REFUSED_WORDS) else Status.ERROR
            )
            self._flag(job, link.account_id, status, _flag_detail(job.relay, name, text), version)
            return PushResult(job, status, "flag", text, version)
        self._confirm(job, after, version, f"pushed by relay {job.relay}")
        return PushResult(job, Status.IN_SYNC, "push", f"version {version} pushed", version)

    def _confirm(self, job: PushJob, account: Account, version: int, detail: str) -> None:
        now = utcnow()
        with self._db.write() as conn:
            link_rows.confirm(
                conn,
                job.credential_id,
                self._directory.id,
                stamp=account.password_stamp,
                secret_version=version,
                status=Status.IN_SYNC,
                detail=detail,
                now=now,
            )
            link_rows.end_attempt(conn, job.credential_id, self._directory.id)
            flag_rows.close_of(
                conn,
                job.credential_id,
                self._directory.id,
                status=(Status.POLICY_REJECTED, Status.CONFLICT, Status.ERROR),
                by=self._actor.name,
                resolution="pushed",
                now=now,
            )


def queued_jobs(
    db: Database, directory_id: str, credential_ids: Sequence[str]
) -> dict[str, PushJob]:
    """Of the credentials queued for a push to ``directory_id``, those a relay carries there
    (the target side of a pair of a relay whose target it is): credential id -> its job."""
    wanted = set(credential_ids)
    out: dict[str, PushJob] = {}
    with db.read() as conn:
        for pair, relay in relay_rows.of_target_directory(conn, directory_id, sorted(wanted)):
            if pair.target_credential_id in wanted:
                settings = load_settings(relay.settings)
                out[pair.target_credential_id] = PushJob(
                    pair.target_credential_id, None, relay.name, settings.never_expires
                )
    return out


async def push_queued(
    db: Database,
    keys: KeyRing,
    actor: Actor,
    directory: Directory,
    connector: Connector,
    jobs: Sequence[PushJob],
    *,
    trigger: str = AGENT_TRIGGER,
    screen: bool = True,
    run_id: str | None = None,
) -> list[PushResult]:
    """Queued relays to one directory, as a stored run (kind ``relay``, trigger ``agent``)
    with an item per credential. Raises what the directory raises when it is away (the agent
    retries the rows later; a push already made is found in step or landed then). With
    ``screen`` the outbound threshold applies first (:mod:`credsync.sync.relay_quarantine`:
    over it nothing is sent and the run ends ``aborted``); an approval from quarantine
    (trigger ``quarantine``, with the run's id given) pushes without it."""
    run_id = run_id or new_id()
    with db.write() as conn:
        run_rows.insert(
            conn,
            run_id,
            directory_id=directory.id,
            client_id=directory.client_id,
            kind="relay",
            trigger=trigger,
            dry_run=False,
            actor=actor.name,
            owner="relay",
            now=utcnow(),
        )
    in_flight = int(getattr(connector, "max_in_flight", 20))
    pusher = RelayPusher(db, keys, actor, directory, connector, run_id=run_id, in_flight=in_flight)
    state, message, results = "failed", "", []
    held: str | None = None
    try:
        if screen:
            jobs, skipped, held = screen_relays(db, AuditLog(db), actor, directory, run_id, jobs,
                                                linked=0, at=utcnow())  # fmt: skip
            results = [PushResult(j, Status.SKIPPED, "none", why, v) for j, why, v in skipped]
        results = [*results, *await pusher.push_all(jobs)]
        state, message = ("aborted", held) if held else ("done", f"{pusher.pushes} pushed")
    except BaseException as exc:
        message = f"the relay stopped: {type(exc).__name__}: {exc}"
        raise
    finally:
        with db.write() as conn:
            items = [
                (
                    seq,
                    run_rows.NewItem(
                        r.job.credential_id, None, r.job.relay, r.status, r.action, r.detail[:2000]
                    ),
                )
                for seq, r in enumerate(results, start=1)
            ]
            if items:
                run_rows.add_items(conn, run_id, items)
            summary = {
                "statuses": dict(Counter(r.status for r in results)),
                "actions": dict(Counter(r.action for r in results)),
                "pushes": pusher.pushes,
            }
            run_rows.end(
                conn,
                run_id,
                kind="relay",
                state=state,
                message=message[:2000],
                summary=json.dumps(summary, sort_keys=True),
                accounts_read=len(results),
                accounts_total=None,
                now=utcnow(),
            )
    return results
