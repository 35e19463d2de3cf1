"""Human tables and ``--json`` output; every list and show command goes through here."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click

__all__ = ["emit", "json_option", "table", "when"]

Column = tuple[str, str]  # (key in the JSON object, header)


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(func)


def when(value: str | None) -> str:
    if not value:
        return "-"
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return parsed.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    text = str(value)
    if text.endswith("Z") and "T" in text[:20]:
        return when(text)
    return text.replace("\n", " ")


def table(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], *, max_width: int = 60
) -> str:
    cells = [[_cell(row.get(key)) for key, _ in columns] for row in rows]
    cells = [[c if len(c) <= max_width else c[: max_width - 1] + "…" for c in r] for r in cells]
    headers = [h for _, h in columns]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def details(obj: Mapping[str, Any], fields: Sequence[Column]) -> str:
    width = max(len(h) for _, h in fields)
    return "\n".join(f"{h + ':':<{width + 1}} {_cell(obj.get(k))}" for k, h in fields)


def emit(data: Any, as_json: bool, human: Callable[[], str] | str) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False))
        return
    text = human() if callable(human) else human
    if text:
        click.echo(text)


def note(message: str) -> None:
    click.echo(message, err=True)
