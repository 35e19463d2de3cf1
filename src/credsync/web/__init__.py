"""The web dashboard: server-rendered pages on the server's app (see
:func:`credsync.web.mount.mount_web`)."""
