from pathlib import Path

import pytest

from credsync.config import Settings
from credsync.errors import ConfigError


def test_defaults_follow_xdg(tmp_path: Path) -> None:
    settings = Settings.from_env({"XDG_DATA_HOME": str(tmp_path)})
    assert settings.home == tmp_path / "credsync"
    assert settings.database_url == f"sqlite:///{tmp_path / 'credsync' / 'vault.db'}"
    assert settings.is_default_sqlite
    assert settings.log_dir == tmp_path / "credsync" / "logs"
    assert settings.passphrase is None
    assert settings.token is None


def test_environment_is_read_and_secrets_are_wrapped(tmp_path: Path) -> None:
    env = {
        "CREDSYNC_HOME": str(tmp_path),
        "CREDSYNC_DATABASE_URL": "postgresql://u@127.0.0.1/x",
        "CREDSYNC_PASSPHRASE": "pass-phrase-value",
        "CREDSYNC_OPERATOR": "bob",
        "CREDSYNC_OPERATOR_PASSWORD": "operator-secret",
        "CREDSYNC_TOKEN": "cst_tokenvalue",
        "CREDSYNC_LOG_LEVEL": "debug",
    }
    settings = Settings.from_env(env)
    assert settings.home == tmp_path
    assert settings.database_url == "postgresql://u@127.0.0.1/x"
    assert settings.operator == "bob"
    assert settings.log_level == "DEBUG"
    assert settings.passphrase is not None
    assert settings.passphrase.reveal() == "pass-phrase-value"
    text = repr(settings)
    for secret in ("pass-phrase-value", "operator-secret", "cst_tokenvalue"):
        assert secret not in text


def test_bad_log_level_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CREDSYNC_LOG_LEVEL"):
        Settings.from_env({"CREDSYNC_LOG_LEVEL": "chatty", "CREDSYNC_HOME": str(tmp_path)})
