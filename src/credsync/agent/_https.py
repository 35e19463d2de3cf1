"""The server address of a process that talks to the vault's server from elsewhere (the
capture forwarder on a DC, the remote agent near its directories): HTTPS, or plain HTTP to this
host only, with the server's certificate checked against the system's CAs or a CA file."""

from __future__ import annotations

import ssl
from pathlib import Path
from urllib.parse import urlsplit

from credsync.errors import ConfigError

__all__ = ["server_verify"]

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def server_verify(server: str, ca_file: Path | None) -> ssl.SSLContext | bool:
    """What httpx checks the server's certificate with (``True``: the system's CAs; a
    context holding ``ca_file`` otherwise); ConfigError for a plain-http server that is
    not this host, or a CA file that cannot be read."""
    host = (urlsplit(server).hostname or "").lower()
    if not server.startswith("https://") and not (
        server.startswith("http://") and host in _LOOPBACK
    ):
        raise ConfigError(
            f"the server URL must be https:// (plain http only to this host): {server!r}"
        )
    if ca_file is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as err:
        raise ConfigError(f"cannot use the CA file {ca_file}: {err}") from err
