"""Checks on secret values that never print the values, even when they fail.

pytest's assertion messages show both operands, and its tracebacks show every frame's arguments,
so a plain ``assert password == expected`` prints the password when it fails. These helpers fail
with ``pytrace=False`` (no traceback, no arguments) and a message that names, never shows.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping

import pytest

from credsync.types import Secret

__all__ = ["check_absent", "check_present", "check_secret", "check_secrets", "guard"]


def _text(value: object) -> object:
    return value.reveal() if isinstance(value, Secret) else value


def check_secret(actual: object, expected: str, what: str) -> None:
    """``actual`` (a string or a :class:`Secret`) is ``expected``."""
    if _text(actual) != expected:
        pytest.fail(f"{what}: not the expected secret", pytrace=False)


def check_secrets(actual: Iterable[object], expected: Iterable[str], what: str) -> None:
    """The same secrets in the same order."""
    got, want = [_text(v) for v in actual], list(expected)
    if len(got) != len(want):
        pytest.fail(f"{what}: {len(got)} secrets, expected {len(want)}", pytrace=False)
    wrong = [i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b]
    if wrong:
        pytest.fail(f"{what}: wrong secret at positions {wrong}", pytrace=False)


def check_absent(secrets: Mapping[str, str], text: str | bytes, where: str) -> None:
    """No value of ``secrets`` (label -> value) occurs in ``text``."""
    found = [
        label
        for label, value in secrets.items()
        if value and (value.encode() if isinstance(text, bytes) else value) in text
    ]
    if found:
        pytest.fail(f"{where} holds secret(s): {', '.join(sorted(found))}", pytrace=False)


def check_present(secrets: Mapping[str, str], text: str | bytes, where: str) -> None:
    """Every value of ``secrets`` (label -> value) occurs in ``text``."""
    missing = [
        label
        for label, value in secrets.items()
        if (value.encode() if isinstance(text, bytes) else value) not in text
    ]
    if missing:
        pytest.fail(f"{where} lacks secret(s): {', '.join(sorted(missing))}", pytrace=False)


@contextlib.contextmanager
def guard(secrets: Callable[[], Iterable[str]]) -> Iterator[None]:
    """Backstop for a test body: an unexpected failure is reported with its plain traceback
    (no frame arguments) and with every known secret blanked out."""
    try:
        yield
    except pytest.fail.Exception:
        raise
    except Exception as exc:
        text = "".join(traceback.format_exception(exc))
        for value in sorted((v for v in secrets() if v), key=len, reverse=True):
            text = text.replace(value, "[SECRET]")
        pytest.fail(text, pytrace=False)
