"""The REST API (``/api/v1``): FastAPI routes over the vault and sync services."""

from credsync.api.app import API_PREFIX, create_app
from credsync.api.state import LoginLimiter, ServerState

__all__ = ["API_PREFIX", "LoginLimiter", "ServerState", "create_app"]
