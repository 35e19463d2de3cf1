"""What ``serve`` and ``agent`` share for operations: ``--log-format``, the event counters
shared under the home (:mod:`credsync.telemetry`) and the agent's heartbeat file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from credsync.agent.heartbeat import FILE as HEARTBEAT_FILE
from credsync.config import LOG_FORMATS, Settings

__all__ = ["HEARTBEAT_FILE", "log_format_option", "share_events"]

F = TypeVar("F", bound=Callable[..., Any])


def log_format_option(command: F) -> F:
    return click.option(
        "--log-format",
        type=click.Choice(LOG_FORMATS),
        default=None,
        help="text: the log file under the home; json: JSON lines on stderr (the journal). "
        "Default: CREDSYNC_LOG_FORMAT, else text.",
    )(command)


def share_events(settings: Settings) -> None:
    """Count this process's events with the other processes of the server on this home
    (``$CREDSYNC_HOME/metrics``): what ``/metrics`` sums."""
    from credsync import telemetry  # prometheus_client: only for the commands that count

    telemetry.share(settings.home / telemetry.DIRECTORY)
