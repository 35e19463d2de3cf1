"""Run the real ``credsync`` command as a process of its own against a throwaway CREDSYNC_HOME
(forked from a server that has done the imports: ``credsync.testing.prefork``)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from credsync.testing import prefork

__all__ = ["Cli", "Result"]


@dataclass(frozen=True, repr=False)
class Result:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def describe(self) -> str:
        """For messages: the command and its exit status, never its output or arguments that
        may hold secrets (only the subcommand words are shown)."""
        words = [a for a in self.args if a.replace("-", "").isalpha() and len(a) <= 20]
        return f"credsync {' '.join(words)} -> exit {self.returncode}"

    def __repr__(self) -> str:
        return f"Result({self.describe()})"


@dataclass(repr=False)
class Cli:
    home: Path
    env: dict[str, str] = field(default_factory=dict)
    results: list[Result] = field(default_factory=list)
    #: values blanked out of assertion messages, so a failing test never prints a secret
    redact: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Cli(home={str(self.home)!r})"

    def scrub(self, text: str) -> str:
        for secret in sorted(self.redact, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "[SECRET]")
        return text

    def _environ(self, extra: Mapping[str, str | None]) -> dict[str, str]:
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("CREDSYNC_") and k not in ("PYTHONWARNINGS",)
        }
        base.update(
            {
                "CREDSYNC_HOME": str(self.home),
                "HOME": str(self.home.parent),
                "LC_ALL": "C.UTF-8",
                "PYTHONIOENCODING": "utf-8",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        base.update(self.env)
        for key, value in extra.items():
            if value is None:
                base.pop(key, None)
            else:
                base[key] = value
        return base

    def run(
        self,
        *args: str,
        stdin: str | bytes | None = None,
        env: Mapping[str, str | None] | None = None,
        expect: int | None = 0,
    ) -> Result:
        data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
        try:
            done = prefork.run(args, self._environ(env or {}), data=data or b"", timeout=180)
        except subprocess.SubprocessError as err:
            # not raised on: its traceback would show this call's arguments (stdin, env)
            pytest.fail(f"credsync {args[:2]} did not finish: {type(err).__name__}", pytrace=False)
        result = Result(
            tuple(args),
            done.returncode,
            done.stdout.decode("utf-8", "replace"),
            done.stderr.decode("utf-8", "replace"),
        )
        self.results.append(result)
        if expect is not None and result.returncode != expect:
            pytest.fail(
                f"{result.describe()} (expected {expect}); "
                f"stderr: {self.scrub(result.stderr)[-2000:]}",
                pytrace=False,
            )
        return result
