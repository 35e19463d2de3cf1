"""A helper process driven through its standard streams (the Graph simulator in a process of
its own, for the benchmarks and the chaos tests): it prints one JSON line of facts when it is
ready, then answers each command line on its standard input with one JSON line, until its
standard input closes. A command's data goes in a JSON file of ``home`` the command names.
One command at a time (a watcher thread may ask while the test does)."""

from __future__ import annotations

import json
import subprocess
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["LineChild"]


class LineChild:
    """The process started with ``argv``; :attr:`info` the facts it printed first."""

    def __init__(self, argv: Sequence[str], home: Path, *, close_timeout: float = 30.0) -> None:
        self.home = home
        self._close_timeout = close_timeout
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(  # noqa: S603 - the caller's own helper program
            list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.info: dict[str, Any] = self._line()

    def _line(self) -> Any:
        stdout = self.proc.stdout
        if stdout is None:  # pragma: no cover - Popen was given stdout=PIPE
            raise RuntimeError("no pipe from the process")
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the process {self.proc.args!r} stopped")
        return json.loads(line)

    def ask(self, command: str, data: Any = None) -> Any:
        """A command's answer; ``data`` goes in a JSON file the command names."""
        with self._lock:
            stdin = self.proc.stdin
            if stdin is None:  # pragma: no cover - Popen was given stdin=PIPE
                raise RuntimeError("no pipe to the process")
            path = None
            if data is not None:
                path = self.home / f"sim-{uuid.uuid4().hex[:8]}.json"
                path.write_text(json.dumps(data))
                command = f"{command} {path}"
            stdin.write(command + "\n")
            stdin.flush()
            try:
                return self._line()
            finally:
                if path is not None:
                    path.unlink()

    def close(self) -> None:
        """Close its standard input (it ends), wait, kill it if it doesn't."""
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=self._close_timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
