"""Code that runs in *other processes* (multiprocessing, "forkserver") against the same vault.

Each worker opens its own :class:`Database` and :class:`Vault`, signs in as an operator with its
password and derives the master key from the passphrase, exactly as a second credsync process
would. Results go back through a queue as plain data; an exception goes back as its type, exit
code and message (never a traceback with frame arguments).
"""

from __future__ import annotations

import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from credsync.cli.exits import exit_code_of
from credsync.errors import CredsyncError
from credsync.storage import Database
from credsync.types import Secret
from credsync.vault import Actor, KeyRing, Vault
from credsync.vault.drafts import make_draft

__all__ = ["Login", "add_clients", "hammer", "stale_reader", "updater"]

WAIT_S = 120
SYNC_EVERY = 10


@dataclass(frozen=True)
class Login:
    url: str
    operator: str
    password: str
    passphrase: str

    def __repr__(self) -> str:
        return f"Login({self.operator!r})"


def _run(
    queue: Any,
    login: Login,
    body: Callable[[Vault, Actor, KeyRing], dict[str, Any]],
    on_error: Callable[[], object] = lambda: None,
) -> None:
    """Sign in, run ``body``, put its result (or the error) on ``queue``; on an error also call
    ``on_error`` so that the other process is not left waiting for this one."""
    db = Database(login.url)
    try:
        vault = Vault(db)
        actor = vault.access.login_password(login.operator, Secret(login.password))
        keys = KeyRing.of(vault.unlock(Secret(login.passphrase)))
        queue.put({"ok": True, **body(vault, actor, keys)})
    except CredsyncError as err:
        on_error()
        queue.put({"ok": False, "error": type(err).__name__, "message": str(err)})
    except Exception as err:  # report, so the parent fails with the cause
        on_error()
        queue.put(
            {
                "ok": False,
                "error": type(err).__name__,
                "message": "".join(traceback.format_exception_only(err)),
            }
        )
    finally:
        db.dispose()


def _value(tag: str, what: str, n: int) -> str:
    return f"{tag}-{what}-{n}-{uuid.uuid4().hex[:8]}"


def hammer(
    login: Login,
    tag: str,
    client: str,
    shared_id: str,
    own_id: str,
    counts: tuple[int, int, int],
    barrier: Any,
    queue: Any,
) -> None:
    """Interleave ``counts`` = (sets on the shared credential, sets on this worker's own
    credential, new credentials); record what each write returned.

    Both workers meet at ``barrier`` before every ``SYNC_EVERY`` rounds, so that their writes
    provably overlap (each round block runs in both processes at once) whatever the scheduler
    does."""
    n_shared, n_own, n_add = counts

    def body(vault: Vault, actor: Actor, keys: KeyRing) -> dict[str, Any]:
        shared: list[tuple[int, str]] = []
        own: list[tuple[int, str]] = []
        added: list[tuple[str, str]] = []
        for i in range(max(counts)):
            if i % SYNC_EVERY == 0:
                barrier.wait(WAIT_S)
            if i < n_shared:
                value = _value(tag, "shared", i)
                cred = vault.credentials.set_password(actor, keys, shared_id, Secret(value))
                shared.append((cred.secret_version, value))
            if i < n_own:
                value = _value(tag, "own", i)
                cred = vault.credentials.set_password(actor, keys, own_id, Secret(value))
                own.append((cred.secret_version, value))
            if i < n_add:
                value = _value(tag, "new", i)
                draft = make_draft(title=f"{tag} new {i}", password=Secret(value), username=tag)
                added.append((vault.credentials.add(actor, keys, client, draft).id, value))
        return {"tag": tag, "shared": shared, "own": own, "added": added}

    _run(queue, login, body, barrier.abort)


def add_clients(login: Login, names: list[str], barrier: Any, queue: Any) -> None:
    """Race the other worker to add clients of the same names, one at a time."""

    def body(vault: Vault, actor: Actor, keys: KeyRing) -> dict[str, Any]:
        outcome: dict[str, str] = {}
        keys.kek()
        for name in names:
            barrier.wait(WAIT_S)
            try:
                vault.clients.add(actor, keys, name)
                outcome[name] = "added"
            except CredsyncError as err:
                outcome[name] = f"{type(err).__name__}|{exit_code_of(err)}|{err}"
        return {"operator": login.operator, "outcome": outcome}

    _run(queue, login, body, barrier.abort)


def stale_reader(
    login: Login, cred_id: str, attempt: str, read_done: Any, updated: Any, queue: Any
) -> None:
    """Read the credential, wait until another process changed it, then write based on what
    was read: every such write must be refused."""

    def body(vault: Vault, actor: Actor, keys: KeyRing) -> dict[str, Any]:
        seen = vault.credentials.get(actor, cred_id)
        read_done.set()
        if not updated.wait(WAIT_S):
            raise TimeoutError("the other process did not update in time")
        refused: dict[str, list[Any]] = {}
        writes: dict[str, Callable[[], object]] = {
            "set_password": lambda: vault.credentials.set_password(
                actor, keys, cred_id, Secret(attempt), expected_version=seen.version
            ),
            "edit": lambda: vault.credentials.edit(
                actor, keys, cred_id, notes=attempt, expected_version=seen.version
            ),
            "delete": lambda: vault.credentials.delete(
                actor, cred_id, expected_version=seen.version
            ),
        }
        for name, write in writes.items():
            try:
                write()
                refused[name] = ["accepted", 0, ""]
            except CredsyncError as err:
                refused[name] = [type(err).__name__, exit_code_of(err), str(err)]
        return {"role": "reader", "seen_version": seen.version, "refused": refused}

    _run(queue, login, body, read_done.set)


def updater(
    login: Login, cred_id: str, value: str, read_done: Any, updated: Any, queue: Any
) -> None:
    def body(vault: Vault, actor: Actor, keys: KeyRing) -> dict[str, Any]:
        if not read_done.wait(WAIT_S):
            raise TimeoutError("the other process did not read in time")
        try:
            cred = vault.credentials.set_password(actor, keys, cred_id, Secret(value))
        finally:
            updated.set()
        return {"role": "updater", "version": cred.version, "secret_version": cred.secret_version}

    _run(queue, login, body, updated.set)
