"""Directories: list (per client), add (of any kind), show, change, remove, and test each step
of reaching one. The kinds' settings and ways to sign in are fields of the bodies (see
:mod:`credsync.api.schemas_directories`)."""

from __future__ import annotations

import logging

from fastapi import Query

from credsync.api.deps import Caller, State
from credsync.api.routes.sync import run_coroutine
from credsync.api.routing import api_router
from credsync.api.schemas_directories import DirectoryIn, DirectoryOut, DirectoryPatch, input_of
from credsync.connectors.base import TestStep
from credsync.sync.connect import DirectoryTestJson, directory_test_steps, directory_tested
from credsync.vault import Actor
from credsync.vault.directories import DirectoryInput

router = api_router(prefix="/directories", tags=["directories"])
log = logging.getLogger("credsync.api")


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
    return [d.to_json() for d in state.vault.directories.list(actor, client)]


@router.post("", response_model=DirectoryOut, status_code=201)
def add_directory(body: DirectoryIn, actor: Caller, state: State) -> DirectoryOut:
    """Add a directory to a client (needs directory.setup and directory_admin.use): its
    kind's settings and the credential to sign in with (``bind_credential``, or the input of
    one of the kind's ways to sign in, such as an Entra app's ``certificate_credential``)."""
    directory = state.vault.directories.add(
        actor, body.client, body.name, body.kind, DirectoryInput.of(input_of(body))
    )
    _warn_insecure(actor, directory.name, body.insecure_skip_verify)
    return directory.to_json()


@router.get("/{ref}", response_model=DirectoryOut)
def get_directory(ref: str, actor: Caller, state: State) -> DirectoryOut:
    """A directory by name (any case) or id (needs vault.read)."""
    return state.vault.directories.get(actor, ref).to_json()


@router.patch("/{ref}", response_model=DirectoryOut)
def change_directory(ref: str, body: DirectoryPatch, actor: Caller, state: State) -> DirectoryOut:
    """Change a directory's connection or options; only the fields given change, options
    merge with the stored ones, and a setting its kind has not is refused (needs
    directory.setup and directory_admin.use)."""
    directory = state.vault.directories.update(
        actor, ref, DirectoryInput.of(input_of(body)), expected_version=body.version
    )
    _warn_insecure(actor, directory.name, body.insecure_skip_verify)
    return directory.to_json()


@router.delete("/{ref}", response_model=DirectoryOut)
def remove_directory(ref: str, actor: Caller, state: State) -> DirectoryOut:
    """Remove a directory with its links, runs and flags; the credentials stay (needs
    directory.setup). Answers with the directory as it was."""
    return state.vault.directories.remove(actor, ref).to_json()


@router.post("/{ref}/test", response_model=DirectoryTestJson)
def test_directory(ref: str, actor: Caller, state: State) -> DirectoryTestJson:
    """Check each step of reaching the directory (needs directory_admin.use): tcp, tls and
    its certificate, signing in (a bind, or the app's token), the rights credsync needs,
    reading users. A failed step is an answer, not an error: 200 with ``ok`` false, the
    step's detail in the directory's words."""
    directory = state.vault.directories.get(actor, ref)

    async def steps() -> list[TestStep]:
        return await directory_test_steps(state.vault.db, state.keys, actor, directory)

    return directory_tested(directory.name, run_coroutine(steps))
