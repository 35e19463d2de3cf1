"""Directories: list (per client), add (Active Directory or Entra), show, change, remove, and
test each step of reaching one."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Query

from credsync.api.deps import Caller, State
from credsync.api.routes.sync import run_coroutine
from credsync.api.routing import api_router
from credsync.api.schemas_sync import (
    DirectoryIn,
    DirectoryOut,
    DirectoryPatch,
    DirectoryTestOut,
    TestStepOut,
)
from credsync.connectors.base import StepOutcome, TestStep
from credsync.errors import InvalidInput
from credsync.sync.engine import Engine
from credsync.vault import Actor
from credsync.vault.directories import Directory

router = api_router(prefix="/directories", tags=["directories"])
log = logging.getLogger("credsync.api")


def out(directory: Directory) -> DirectoryOut:
    return DirectoryOut(**directory.to_json())


def app_credential(
    body: DirectoryIn | DirectoryPatch, *, required: bool
) -> tuple[str | None, str | None]:
    """(credential id, bind kind): at most one of bind_credential (Active Directory),
    certificate_credential, secret_credential (Entra), as the CLI takes them."""
    given = [
        (value, kind)
        for value, kind in (
            (body.bind_credential, None),
            (body.certificate_credential, "certificate"),
            (body.secret_credential, "secret"),
        )
        if value
    ]
    if len(given) > 1:
        raise InvalidInput(
            "give one of bind_credential, certificate_credential and secret_credential"
        )
    if not given:
        if required:
            raise InvalidInput(
                "give the credential to sign in with: bind_credential (Active Directory), "
                "certificate_credential or secret_credential (Entra)"
            )
        return None, None
    return given[0]


def _warn_insecure(actor: Actor, name: str, skip: bool | None) -> None:
    if skip:
        log.warning("directory %s: TLS certificate verification turned off by %s", name, actor.name)


@router.get("", response_model=list[DirectoryOut])
def list_directories(
    actor: Caller,
    state: State,
    client: str | None = Query(None, max_length=200, description="Only this client's."),
) -> list[DirectoryOut]:
    """Directories by name (of one client, or all; needs vault.read)."""
    return [out(d) for d in state.vault.directories.list(actor, client)]


@router.post("", response_model=DirectoryOut, status_code=201)
def add_directory(body: DirectoryIn, actor: Caller, state: State) -> DirectoryOut:
    """Add a directory to a client (needs directory.setup and directory_admin.use).
    Active Directory: ``url``, ``base_dn``, ``bind_credential``. Entra: ``tenant_id``,
    ``app_id``, and ``certificate_credential`` (preferred) or ``secret_credential``."""
    bind, bind_kind = app_credential(body, required=True)
    directory = state.vault.directories.add(
        actor,
        body.client,
        body.name,
        kind=body.kind,
        bind_credential=bind or "",
        bind_kind=bind_kind,
        insecure_skip_verify=body.insecure_skip_verify,
        **_connection(body),
    )
    _warn_insecure(actor, directory.name, body.insecure_skip_verify)
    return out(directory)


def _connection(body: DirectoryIn | DirectoryPatch) -> dict[str, Any]:
    """What add and change take alike from the body (the credential is app_credential's)."""
    return {
        "url": body.url,
        "base_dn": body.base_dn,
        "tenant_id": body.tenant_id,
        "app_id": body.app_id,
        "authority": body.authority,
        "ca_pem": body.ca_pem,
        "tls_server_name": body.tls_server_name,
        "options": body.options,
    }


@router.get("/{ref}", response_model=DirectoryOut)
def get_directory(ref: str, actor: Caller, state: State) -> DirectoryOut:
    """A directory by name (any case) or id (needs vault.read)."""
    return out(state.vault.directories.get(actor, ref))


@router.patch("/{ref}", response_model=DirectoryOut)
def change_directory(ref: str, body: DirectoryPatch, actor: Caller, state: State) -> DirectoryOut:
    """Change a directory's connection or options; only the fields given change, options
    merge with the stored ones (needs directory.setup and directory_admin.use)."""
    bind, bind_kind = app_credential(body, required=False)
    directory = state.vault.directories.update(
        actor,
        ref,
        bind_credential=bind,
        bind_kind=bind_kind,
        insecure_skip_verify=body.insecure_skip_verify,
        expected_version=body.version,
        **_connection(body),
    )
    _warn_insecure(actor, directory.name, body.insecure_skip_verify)
    return out(directory)


@router.delete("/{ref}", response_model=DirectoryOut)
def remove_directory(ref: str, actor: Caller, state: State) -> DirectoryOut:
    """Remove a directory with its links, runs and flags; the credentials stay (needs
    directory.setup). Answers with the directory as it was."""
    return out(state.vault.directories.remove(actor, ref))


@router.post("/{ref}/test", response_model=DirectoryTestOut)
def test_directory(ref: str, actor: Caller, state: State) -> DirectoryTestOut:
    """Check each step of reaching the directory (needs directory_admin.use). AD: tcp, tls
    and its certificate, bind, search rights, the right to reset passwords. Entra: tcp, tls,
    the app's token, its permissions and directory role, reading users. A failed step is an
    answer, not an error: 200 with ``ok`` false, the step's detail in the directory's words."""
    directory = state.vault.directories.get(actor, ref)
    engine = Engine(state.vault, state.keys, actor)

    async def steps() -> list[TestStep]:
        connector = engine.connect(directory.id)
        try:
            return await connector.test_connection()
        finally:
            await connector.close()

    rows = [
        TestStepOut.model_validate({"step": s.name, "outcome": s.outcome.value, "detail": s.detail})
        for s in run_coroutine(steps)
    ]
    ok = all(r.outcome != StepOutcome.FAILED.value for r in rows)
    return DirectoryTestOut(directory=directory.name, ok=ok, steps=rows)
