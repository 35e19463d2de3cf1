"""The sync mode as the command line spells it: ``off``, ``report``, ``enforce``, ``two-way``
(``two_way``, the JSON's spelling, is taken too), and ``inherit`` where a credential may follow
its client's default. The value handed on is the mode's JSON value (``two_way``)."""

from __future__ import annotations

from typing import Any

import click

from credsync.types import SyncMode

__all__ = ["INHERIT", "SyncModeChoice"]

INHERIT = "inherit"


class SyncModeChoice(click.Choice):  # type: ignore[type-arg]
    """A sync mode, any case, ``two-way`` or ``two_way``; ``inherit`` when ``inherit``."""

    name = "sync mode"

    def __init__(self, *, inherit: bool = False) -> None:
        super().__init__([m.spelled for m in SyncMode] + ([INHERIT] if inherit else []))

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value).strip().lower().replace("_", "-")
        spelled = super().convert(text, param, ctx)
        return spelled if spelled == INHERIT else SyncMode.parse(spelled).value
