"""The REST API (``/api/v1``): FastAPI routes over the vault and sync services. Its app is made
by :func:`credsync.api.app.create_api`; the server (:mod:`credsync.server`) serves it with the
dashboard."""

API_PREFIX = "/api/v1"

__all__ = ["API_PREFIX"]
