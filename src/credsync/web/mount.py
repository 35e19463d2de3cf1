"""The dashboard on an app: its pages (server-rendered, see :mod:`credsync.web.pages`), one
stylesheet and one small script under /static, no build step."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from credsync.web.pages import WebState, environment
from credsync.web.routes import (
    apidocs,
    audit,
    auth,
    credential_forms,
    directories,
    flags,
    search,
    sync,
    vault,
)
from credsync.web.session import Notices

__all__ = ["mount_web"]


def mount_web(app: FastAPI) -> None:
    """Add the dashboard's pages and static files to ``app`` (see :mod:`credsync.server`)."""
    app.state.credsync_web = WebState(environment(), Notices())
    static = resources.files("credsync.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    routes = (auth, vault, credential_forms, search, flags, sync, directories, audit, apidocs)
    for module in routes:
        app.include_router(module.router)
