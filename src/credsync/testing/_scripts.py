"""The project's test-world scripts (``scripts/samba-dc``, ``scripts/slapd``,
``scripts/samba-standalone``): where one is, and running it with its failure turned into the
caller's "unavailable" error, which tests show as the reason a server could not be had."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def project_script(name: str, override_env: str) -> Path:
    """``scripts/NAME`` of this checkout, or the path in ``$OVERRIDE_ENV`` when set."""
    override = os.environ.get(override_env)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "scripts" / name


def run_script(
    script: Path,
    *args: str,
    unavailable: type[Exception],
    timeout: float,
    stdin: str | None = None,
) -> str:
    """The script's standard output; ``unavailable`` (naming the script, its arguments and the
    end of its standard error) when it is missing, fails, or runs past ``timeout`` seconds."""
    what = f"{script.name} {' '.join(args)}"
    if not script.exists():
        raise unavailable(f"{script} not found")
    try:
        result = subprocess.run(  # noqa: S603 - our own script, fixed arguments
            [str(script), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise unavailable(f"{what}: {exc}") from exc
    if result.returncode != 0:
        raise unavailable(
            f"{what} failed ({result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-3000:]}"
        )
    return result.stdout
