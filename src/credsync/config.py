"""Typed settings, read from ``CREDSYNC_*`` environment variables.

=============================  ===============================================================
``CREDSYNC_HOME``              data directory (default ``~/.local/share/credsync``)
``CREDSYNC_DATABASE_URL``      SQLAlchemy URL; default SQLite ``$CREDSYNC_HOME/vault.db``
``CREDSYNC_PASSPHRASE``        master passphrase (scripts; otherwise prompted)
``CREDSYNC_SESSION``           a session from ``credsync unlock`` (key + operator, no KDF)
``CREDSYNC_OPERATOR``          operator name, with ``CREDSYNC_OPERATOR_PASSWORD``
``CREDSYNC_OPERATOR_OTP``      the one-time code (or a recovery code) of that operator's MFA
``CREDSYNC_TOKEN``             an API token instead of operator name and password
``CREDSYNC_ADMIN_PASSWORD``    first admin's password for ``credsync init --admin NAME``
``CREDSYNC_NEW_PASSPHRASE``    the new master passphrase for ``credsync key rotate``
``CREDSYNC_LOG_LEVEL``         ``DEBUG``/``INFO``/``WARNING`` (default ``INFO``)
``CREDSYNC_LOG_FORMAT``        ``text`` (default: ``$CREDSYNC_HOME/logs/credsync.log``) or
                               ``json`` (JSON lines on stderr: the journal, a container's log)
``CREDSYNC_RUN_ITEMS_DAYS``    days a run's per-object report is kept (default 90; 1-3650)
``CREDSYNC_RUNS_DAYS``         days a run's row (its summary) is kept (default 400; at least
                               the items' days, at most 3650); see :class:`Retention`
=============================  ===============================================================

``CREDSYNC_METRICS_TOKEN_FILE`` names a file holding the bearer token that ``/metrics`` asks
for (``credsync serve --metrics-token-file``; without one, ``/metrics`` is off).

``CREDSYNC_PASSPHRASE``, ``CREDSYNC_OPERATOR_PASSWORD`` and ``CREDSYNC_TOKEN`` may instead be
given as a file holding the value: ``CREDSYNC_PASSPHRASE_FILE``, ... (one trailing newline is
dropped), so a service manager can hand them over without an environment variable
(systemd's ``LoadCredential=``, a container's secrets). Setting both a variable and its
``_FILE`` is refused.

Secrets read here are wrapped in :class:`~credsync.types.Secret` at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from credsync.errors import ConfigError
from credsync.types import Secret

__all__ = ["LOG_FORMATS", "Retention", "Settings", "read_secret_file"]

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")  # as credsync.logcontext.LOG_FORMATS
_FROM_FILE = ("CREDSYNC_PASSPHRASE", "CREDSYNC_OPERATOR_PASSWORD", "CREDSYNC_TOKEN")


def _secret(env: Mapping[str, str], name: str) -> Secret | None:
    path = env.get(f"{name}_FILE") if name in _FROM_FILE else None
    if path:
        if env.get(name):
            raise ConfigError(f"set {name} or {name}_FILE, not both")
        return Secret(read_secret_file(Path(path), f"{name}_FILE"))
    value = env.get(name)
    return Secret(value) if value else None


def read_secret_file(path: Path, name: str) -> str:
    """The value held by the file ``path`` (one trailing newline dropped); ``name``: the
    setting that named it, for the error."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or "not UTF-8 text"
        raise ConfigError(f"{name}: cannot read {path}: {reason}") from None
    value = text[:-1] if text.endswith("\n") else text
    if not value:
        raise ConfigError(f"{name}: {path} is empty")
    return value


_MAX_DAYS = 3650


def _days(env: Mapping[str, str], name: str, default: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= _MAX_DAYS:
        raise ConfigError(f"{name} must be a whole number of days, 1 to {_MAX_DAYS}, not {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class Retention:
    """How long runs are kept (see :mod:`credsync.sync.retention`): a run's per-object report
    (its items) ``items_days``, the run itself (its summary) ``runs_days``."""

    items_days: int = 90
    runs_days: int = 400

    def __post_init__(self) -> None:
        for name, value in (("items_days", self.items_days), ("runs_days", self.runs_days)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"retention {name} must be a whole number, not {value!r}")
            if not 1 <= value <= _MAX_DAYS:
                raise ConfigError(f"retention {name} must be 1 to {_MAX_DAYS} days, not {value}")
        if self.runs_days < self.items_days:
            raise ConfigError(
                f"CREDSYNC_RUNS_DAYS ({self.runs_days}) must be at least "
                f"CREDSYNC_RUN_ITEMS_DAYS ({self.items_days}): a run outlives its items"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Retention:
        return cls(
            _days(env, "CREDSYNC_RUN_ITEMS_DAYS", cls.items_days),
            _days(env, "CREDSYNC_RUNS_DAYS", cls.runs_days),
        )


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    passphrase: Secret | None = None
    session: Secret | None = None
    operator: str | None = None
    operator_password: Secret | None = None
    token: Secret | None = None
    admin_password: Secret | None = None
    new_passphrase: Secret | None = None
    log_level: str = "INFO"
    server: str | None = None  # a credsync server's URL: commands go through its API
    server_ca: Path | None = None  # CAs to trust for it (default: the system's)
    operator_otp: Secret | None = None  # the second factor's code for a password sign-in
    log_format: str = "text"  # text: the log file; json: JSON lines on stderr
    metrics_token_file: Path | None = None  # the token /metrics asks for (None: /metrics off)
    retention: Retention = Retention()  # how long runs and their items are kept

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def is_default_sqlite(self) -> bool:
        return self.database_url == _default_db_url(self.home)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, home: str | None = None) -> Settings:
        env = os.environ if env is None else env
        raw_home = home or env.get("CREDSYNC_HOME")
        if raw_home:
            home_path = Path(raw_home).expanduser()
        else:
            xdg = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
            home_path = Path(xdg) / "credsync"
        if not home_path.is_absolute():
            home_path = home_path.resolve()
        database_url = env.get("CREDSYNC_DATABASE_URL") or _default_db_url(home_path)
        level = (env.get("CREDSYNC_LOG_LEVEL") or "INFO").upper()
        if level not in _LOG_LEVELS:
            raise ConfigError(
                f"CREDSYNC_LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}, not {level!r}"
            )
        log_format = (env.get("CREDSYNC_LOG_FORMAT") or "text").lower()
        if log_format not in LOG_FORMATS:
            raise ConfigError(
                f"CREDSYNC_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}"
            )
        token_file = env.get("CREDSYNC_METRICS_TOKEN_FILE")
        return cls(
            home=home_path,
            database_url=database_url,
            passphrase=_secret(env, "CREDSYNC_PASSPHRASE"),
            session=_secret(env, "CREDSYNC_SESSION"),
            operator=env.get("CREDSYNC_OPERATOR") or None,
            operator_password=_secret(env, "CREDSYNC_OPERATOR_PASSWORD"),
            token=_secret(env, "CREDSYNC_TOKEN"),
            admin_password=_secret(env, "CREDSYNC_ADMIN_PASSWORD"),
            new_passphrase=_secret(env, "CREDSYNC_NEW_PASSPHRASE"),
            log_level=level,
            server=env.get("CREDSYNC_SERVER") or None,
            server_ca=Path(env["CREDSYNC_SERVER_CA"]) if env.get("CREDSYNC_SERVER_CA") else None,
            operator_otp=_secret(env, "CREDSYNC_OPERATOR_OTP"),
            log_format=log_format,
            metrics_token_file=Path(token_file) if token_file else None,
            retention=Retention.from_env(env),
        )


def _default_db_url(home: Path) -> str:
    return f"sqlite:///{home / 'vault.db'}"
