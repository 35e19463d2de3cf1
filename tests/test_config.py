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


def test_log_format_is_text_or_json_and_a_bad_one_names_the_variable(tmp_path: Path) -> None:
    home = {"CREDSYNC_HOME": str(tmp_path)}
    assert Settings.from_env(home).log_format == "text"
    assert Settings.from_env({**home, "CREDSYNC_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ConfigError, match="CREDSYNC_LOG_FORMAT must be one of text, json"):
        Settings.from_env({**home, "CREDSYNC_LOG_FORMAT": "xml"})


def test_secrets_may_come_from_files(tmp_path: Path) -> None:
    """systemd's LoadCredential= and a container's secrets hand a secret over as a file."""
    for name, value in (("passphrase", "from-a-file\n"), ("token", "cst_filetoken"),
                        ("password", "pw-in-file\n")):  # fmt: skip
        (tmp_path / name).write_text(value)
    settings = Settings.from_env(
        {
            "CREDSYNC_HOME": str(tmp_path),
            "CREDSYNC_PASSPHRASE_FILE": str(tmp_path / "passphrase"),
            "CREDSYNC_TOKEN_FILE": str(tmp_path / "token"),
            "CREDSYNC_OPERATOR_PASSWORD_FILE": str(tmp_path / "password"),
            "CREDSYNC_METRICS_TOKEN_FILE": str(tmp_path / "metrics"),
        }
    )
    assert settings.passphrase is not None
    assert settings.passphrase.reveal() == "from-a-file"  # one trailing newline dropped
    assert settings.token is not None
    assert settings.token.reveal() == "cst_filetoken"
    assert settings.operator_password is not None
    assert settings.operator_password.reveal() == "pw-in-file"
    assert settings.metrics_token_file == tmp_path / "metrics"  # read by serve, not here
    assert "from-a-file" not in repr(settings)


def test_a_secret_file_that_is_missing_empty_or_doubled_is_refused(tmp_path: Path) -> None:
    home = {"CREDSYNC_HOME": str(tmp_path)}
    missing = {**home, "CREDSYNC_PASSPHRASE_FILE": str(tmp_path / "nope")}
    with pytest.raises(ConfigError, match=r"CREDSYNC_PASSPHRASE_FILE: cannot read .*nope"):
        Settings.from_env(missing)
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match=r"CREDSYNC_TOKEN_FILE: .*empty is empty"):
        Settings.from_env({**home, "CREDSYNC_TOKEN_FILE": str(tmp_path / "empty")})
    (tmp_path / "pw").write_text("x")
    both = {**home, "CREDSYNC_PASSPHRASE": "y", "CREDSYNC_PASSPHRASE_FILE": str(tmp_path / "pw")}
    with pytest.raises(ConfigError, match="CREDSYNC_PASSPHRASE or CREDSYNC_PASSPHRASE_FILE"):
        Settings.from_env(both)
