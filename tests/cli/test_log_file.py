"""The log file's handler: records formatted once, files created 0600, and the same files
and rollovers as the standard library's RotatingFileHandler for the same records."""

from __future__ import annotations

import logging
import logging.handlers
import stat
from pathlib import Path

from credsync.cli.runtime import _PrivateRotatingFileHandler

_FORMAT = "%(levelname)s %(name)s: %(message)s"


def _write(handler: logging.Handler, count: int) -> None:
    handler.setFormatter(logging.Formatter(_FORMAT))
    logger = logging.getLogger("credsync.test-log-file")
    for i in range(count):
        record = logger.makeRecord(
            logger.name, logging.INFO, __file__, 1, "GET /idp/%s/sign-in %d", ("x" * (i % 7), i),
            None,
        )  # fmt: skip
        handler.handle(record)
    handler.close()


def _files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text("utf-8") for p in sorted(folder.iterdir())}


def test_rolls_over_as_the_standard_handler_does_and_formats_once(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ours.mkdir()
    theirs.mkdir()
    formats = 0

    class Counting(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            nonlocal formats
            formats += 1
            return super().format(record)

    handler = _PrivateRotatingFileHandler(
        ours / "credsync.log", maxBytes=400, backupCount=3, encoding="utf-8"
    )
    _write(handler, 60)
    handler.setFormatter(Counting(_FORMAT))
    handler.handle(logging.makeLogRecord({"msg": "one more", "levelname": "INFO"}))
    handler.close()
    assert formats == 1  # the standard handler formats each record twice
    standard = logging.handlers.RotatingFileHandler(
        theirs / "credsync.log", maxBytes=400, backupCount=3, encoding="utf-8"
    )
    _write(standard, 60)
    standard.handle(logging.makeLogRecord({"msg": "one more", "levelname": "INFO"}))
    standard.close()
    got, want = _files(ours), _files(theirs)
    assert got == want
    assert sorted(got) == ["credsync.log", "credsync.log.1", "credsync.log.2", "credsync.log.3"]
    assert all(len(text.encode()) <= 400 for text in got.values())
    assert got["credsync.log"].endswith("one more\n")
    assert "sign-in 59\n" in got["credsync.log"] + got["credsync.log.1"]
    for path in ours.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_path_that_is_not_a_regular_file_is_never_rolled_over() -> None:
    handler = _PrivateRotatingFileHandler("/dev/null", maxBytes=10, backupCount=2)
    _write(handler, 5)  # would roll over at every record were it a file
    assert Path("/dev/null").is_char_device()
    assert not Path("/dev/null.1").exists()
