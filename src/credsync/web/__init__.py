"""The web dashboard: server-rendered pages on the API's app (see :func:`mount_web`)."""

from credsync.web.app import mount_web

__all__ = ["mount_web"]
