"""One app for the in-process tests of a process (tests/api, tests/intake)."""

from __future__ import annotations

from fastapi import FastAPI

from credsync.api.state import ServerState
from credsync.server.app import create_app

_APP: list[FastAPI] = []


def shared_app(state: ServerState) -> FastAPI:
    """The app of this process's in-process API tests, serving ``state`` from now on.

    Building the app (its routes' models and the OpenAPI-documented dependencies) costs about
    half a second, and nothing of a test lives in it: every request finds the vault, the
    keys, the sign-in limiter and the cookie setting in ``app.state.credsync``, which each
    test replaces with a ServerState of its own (as ``create_app`` would make it). Tests that
    need another app (TLS, a live server) still call ``create_app`` themselves."""
    if not _APP:
        _APP.append(create_app(state))
    app = _APP[0]
    app.state.credsync = state
    return app
