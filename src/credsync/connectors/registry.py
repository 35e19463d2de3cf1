"""Which class serves which directory kind; imported only when a directory of that kind is used
(the CLI stays fast, and ldap3 or msal load only where they are needed)."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from credsync.connectors.base import Connector, DirectoryConfig
from credsync.errors import ConfigError

__all__ = ["ConnectorFactory", "open_connector"]

ConnectorFactory = Callable[[DirectoryConfig], Connector]

_KINDS = {
    "active_directory": ("credsync.connectors.ad.connector", "ActiveDirectoryConnector"),
    "entra": ("credsync.connectors.graph.connector", "GraphConnector"),
}


def open_connector(config: DirectoryConfig) -> Connector:
    """A connector for ``config.kind`` (not yet connected: connectors connect on first use)."""
    try:
        module_name, class_name = _KINDS[config.kind]
    except KeyError:
        raise ConfigError(f"no connector for directory kind {config.kind!r}") from None
    cls = getattr(importlib.import_module(module_name), class_name)
    connector: Connector = cls(config)
    return connector
