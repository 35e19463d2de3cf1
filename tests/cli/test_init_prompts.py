"""``credsync init`` at a terminal checks each answer as it is given, before the next question
(issue 13): a passphrase too short is said before the admin's name is asked for, a name that
can't be before the password; so is one given in the environment. Run in a real pseudo
terminal (the hidden prompts read /dev/tty)."""

from __future__ import annotations

import fcntl
import os
import select
import subprocess
import sys
import termios
import time

import pytest

from conftest import clean_environ

DEADLINE = 60  # seconds to wait for a prompt or for the end (never a timing assertion)


class Terminal:
    """``credsync ARGS`` with a pseudo terminal as its controlling terminal and standard
    streams."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self._master, slave = os.openpty()

        def own_the_terminal() -> None:  # in the child, after setsid
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "credsync", *args],
            env={**clean_environ(), **env},
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=own_the_terminal,
        )
        os.close(slave)
        self.seen = ""
        self._answered = 0  # what was seen when the last answer was typed

    def expect(self, text: str) -> None:
        """Read until ``text`` has been shown since the last answer typed (or the program
        ended: then fail)."""
        deadline = time.monotonic() + DEADLINE
        while text not in self.seen[self._answered :]:
            assert time.monotonic() < deadline, f"no {text!r} in {self.seen!r}"
            ready, _, _ = select.select([self._master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(self._master, 4096)
                except OSError:  # the program ended and closed the terminal
                    data = b""
                if not data:
                    pytest.fail(f"ended before {text!r}: {self.seen!r}")
                self.seen += data.decode("utf-8", "replace")

    def type(self, line: str) -> None:
        self._answered = len(self.seen)
        os.write(self._master, line.encode() + b"\r")

    def finish(self) -> int:
        """Read to the end; the exit status."""
        deadline = time.monotonic() + DEADLINE
        while True:
            assert time.monotonic() < deadline, f"still running: {self.seen!r}"
            ready, _, _ = select.select([self._master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(self._master, 4096)
                except OSError:
                    data = b""
                if not data:
                    break
                self.seen += data.decode("utf-8", "replace")
        status = self.proc.wait(timeout=DEADLINE)
        os.close(self._master)
        return status


@pytest.fixture
def init_at_a_terminal(empty_cli):
    started: list[Terminal] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Terminal:
        terminal = Terminal(
            ["init", *args, *empty_cli.kdf_args],
            {"CREDSYNC_HOME": str(empty_cli.home), **(env or {})},
        )
        started.append(terminal)
        return terminal

    yield start
    for terminal in started:
        if terminal.proc.poll() is None:
            terminal.proc.kill()
            terminal.proc.wait()


def test_a_short_passphrase_is_refused_before_the_next_question(init_at_a_terminal) -> None:
    init = init_at_a_terminal()
    init.expect("New master passphrase")
    init.type("short")
    init.expect("Repeat for confirmation")
    init.type("short")
    assert init.finish() == 2
    assert "the master passphrase must have at least 8 characters" in init.seen
    assert "First admin operator name" not in init.seen


def test_a_short_passphrase_in_the_environment_is_refused_before_any_question(
    init_at_a_terminal,
) -> None:
    init = init_at_a_terminal(env={"CREDSYNC_PASSPHRASE": "short"})
    assert init.finish() == 2
    assert "the master passphrase must have at least 8 characters" in init.seen
    assert "First admin operator name" not in init.seen


def test_a_bad_admin_name_is_refused_before_the_password_is_asked_for(
    init_at_a_terminal,
) -> None:
    init = init_at_a_terminal(env={"CREDSYNC_PASSPHRASE": "a long enough passphrase"})
    init.expect("First admin operator name")
    init.type("x" * 65)
    assert init.finish() == 2
    assert "operator name is too long" in init.seen
    assert "Password for" not in init.seen


def test_a_short_admin_password_is_refused_and_nothing_is_made(
    init_at_a_terminal, empty_cli
) -> None:
    env = {"CREDSYNC_PASSPHRASE": "a long enough passphrase", "CREDSYNC_ADMIN_PASSWORD": "short"}
    init = init_at_a_terminal("--admin", "root", env=env)
    assert init.finish() == 2
    assert "operator passwords need at least 12 characters" in init.seen
    assert not (empty_cli.home / "vault.db").exists()


def test_good_answers_make_the_vault(init_at_a_terminal, empty_cli) -> None:
    init = init_at_a_terminal()
    init.expect("New master passphrase")
    init.type("a long enough passphrase")
    init.expect("Repeat for confirmation")
    init.type("a long enough passphrase")
    init.expect("First admin operator name")
    init.type("root")
    init.expect("Password for root")
    init.type("root-password-1234")
    init.expect("Repeat for confirmation")
    init.type("root-password-1234")
    assert init.finish() == 0, init.seen
    assert "First admin: root" in init.seen
