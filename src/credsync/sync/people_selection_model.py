"""The records of saved import selections (:mod:`credsync.sync.people_selections`): what a
selection holds (its ``spec``, one JSON text), its JSON shape and its runs' shape."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from typing_extensions import TypedDict

from credsync.errors import InvalidInput
from credsync.storage import import_selections as rows
from credsync.sync.people_import import Selection
from credsync.sync.people_onboarding import IntoGroupPolicyJson, Provisioning
from credsync.vault._time import Timestamp, as_utc, as_utc_opt, iso

__all__ = [
    "MAX_INTERVAL",
    "MIN_INTERVAL",
    "RefusedLineJson",
    "SavedSelection",
    "SelectionJson",
    "SelectionRunJson",
    "check_interval",
    "dump_spec",
    "load_spec",
    "run_json",
]

MIN_INTERVAL = 300  # seconds: the agent re-synchronises a selection at most every 5 minutes
MAX_INTERVAL = 30 * 86400


class RefusedLineJson(TypedDict):
    kind: str
    object_id: str
    name: str
    reason: str | None


class SelectionRunJson(TypedDict):
    """One run of a saved selection: its counts (``totals``: created, updated, unchanged,
    linked, refused; members added / removed; onboarding's) and the refused lines."""

    id: str
    trigger: str
    actor: str
    state: str
    started_at: Timestamp
    finished_at: Timestamp | None
    totals: dict[str, int]
    refused: list[RefusedLineJson]
    message: str


class SelectionJson(TypedDict):
    """A saved selection (``credsync person import selections --json``)."""

    id: str
    client: str
    directory: str
    name: str
    ids: list[str]
    query: str | None
    groups: bool
    members: bool
    provisioning: IntoGroupPolicyJson | None
    interval_seconds: int | None
    """Seconds between the agent's runs; null: run by hand only."""
    enabled: bool
    next_run_at: Timestamp | None
    last_run_at: Timestamp | None
    last_state: str | None
    last_totals: dict[str, int] | None
    created_at: Timestamp
    created_by: str
    updated_at: Timestamp
    updated_by: str


def dump_spec(selection: Selection, provisioning: Provisioning | None) -> str:
    spec: dict[str, Any] = {
        "ids": list(selection.ids),
        "query": selection.query,
        "groups": selection.groups,
        "members": selection.members,
        "provisioning": provisioning.to_json() if provisioning else None,
    }
    return json.dumps(spec, sort_keys=True)


def load_spec(text: str) -> tuple[Selection, Provisioning | None]:
    data: Mapping[str, Any] = json.loads(text)
    selection = Selection(
        ids=tuple(data.get("ids") or ()),
        query=data.get("query"),
        groups=bool(data.get("groups")),
        members=bool(data.get("members")),
    )
    wanted = data.get("provisioning")
    return selection, Provisioning.from_json(wanted) if wanted else None


def check_interval(seconds: int | None) -> int | None:
    if seconds is None or seconds == 0:
        return None
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        raise InvalidInput(
            f"an interval is {MIN_INTERVAL} seconds to {MAX_INTERVAL // 86400} days "
            f"(or none: run by hand), not {seconds} seconds",
            field="interval",
        )
    return seconds


@dataclass(frozen=True)
class SavedSelection:
    row: rows.SelectionRow
    client: str
    directory: str

    @property
    def id(self) -> str:
        return self.row.id

    @property
    def name(self) -> str:
        return self.row.name

    def to_json(self) -> SelectionJson:
        r = self.row
        selection, provisioning = load_spec(r.spec)
        return SelectionJson(
            id=r.id,
            client=self.client,
            directory=self.directory,
            name=r.name,
            ids=list(selection.ids),
            query=selection.query,
            groups=selection.groups,
            members=selection.members,
            provisioning=provisioning.to_json() if provisioning else None,
            interval_seconds=r.interval_seconds,
            enabled=bool(r.enabled),
            next_run_at=iso(as_utc_opt(r.next_run_at)),
            last_run_at=iso(as_utc_opt(r.last_run_at)),
            last_state=r.last_state,
            last_totals=json.loads(r.last_totals) if r.last_totals else None,
            created_at=iso(as_utc(r.created_at)),
            created_by=r.created_by,
            updated_at=iso(as_utc(r.updated_at)),
            updated_by=r.updated_by,
        )


def run_json(row: rows.RunRow) -> SelectionRunJson:
    return SelectionRunJson(
        id=row.id,
        trigger=row.trigger,
        actor=row.actor,
        state=row.state,
        started_at=iso(as_utc(row.started_at)),
        finished_at=iso(as_utc_opt(row.finished_at)),
        totals=json.loads(row.totals),
        refused=json.loads(row.refused),
        message=row.message,
    )
