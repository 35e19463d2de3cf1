"""The import of people and groups from a client's directory (issue 16): search (a preview
of what a query finds, and whether each object is already a person / group of the client)
and synchronise a selection. The rules are :mod:`credsync.sync.people_import`'s; both need
directory.setup and vault.write on the client."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from credsync.api.deps import Caller, State
from credsync.api.routes.sync import run_coroutine
from credsync.api.routing import api_router
from credsync.sync.people_import import MAX_PREVIEW, PeopleImport, Selection
from credsync.sync.people_import_report import (
    ImportReport,
    PeopleImportPreviewJson,
    PeopleImportReportJson,
    Preview,
)
from credsync.sync.people_onboarding import Provisioning

router = api_router(prefix="/people/import", tags=["people"])


class ImportSearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client: str = Field(max_length=200, description="The client (name or id).")
    directory: str = Field(max_length=200, description="One of the client's directories.")
    query: str = Field(
        default="",
        max_length=2000,
        description="Words, or the query language of the directory's kind: its own search "
        "text or filter: and a filter, or an RFC 4515 filter such as (department=Sales) (empty: "
        "everything).",
    )
    groups: bool = Field(default=False, description="Search groups too.")
    limit: int = Field(default=200, ge=1, le=MAX_PREVIEW)


class IntoGroupPolicyIn(BaseModel):
    """The import into a group with a provisioning policy (see the README's people and
    groups): every imported person becomes a member of the group and gets a primary
    credential with no password yet (awaiting onboarding)."""

    model_config = ConfigDict(extra="forbid")

    into_group: str = Field(
        max_length=256, description="A group of the client the vault keeps, or a new name."
    )
    folder: str = Field(default="", max_length=500, description="Their credentials' folder.")
    sync_mode: str | None = Field(
        default=None,
        max_length=16,
        description="off, report, enforce or two_way (null: the client's default); taken "
        "with the first password.",
    )
    invite: bool = Field(default=False, description="To be sent an onboarding invitation.")

    def policy(self) -> Provisioning:
        return Provisioning.make(
            self.into_group, folder=self.folder, sync_mode=self.sync_mode, invite=self.invite
        )


class ImportSyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client: str = Field(max_length=200)
    directory: str = Field(max_length=200)
    ids: list[str] = Field(
        default_factory=list, max_length=5000, description="Object ids of users and groups."
    )
    query: str | None = Field(
        default=None, max_length=2000, description="Import every result of this query instead."
    )
    groups: bool = Field(default=False, description="With query: its groups too.")
    members: bool = Field(
        default=False, description="Import the members of imported groups too (nested)."
    )
    dry_run: bool = Field(
        default=False, description="Report what the import would do; keep nothing."
    )
    provisioning: IntoGroupPolicyIn | None = Field(
        default=None, description="Import into a group with a provisioning policy."
    )


@router.post("/search", response_model=PeopleImportPreviewJson)
def search_import(body: ImportSearchIn, actor: Caller, state: State) -> PeopleImportPreviewJson:
    """What the query finds in the directory; writes nothing."""

    async def found() -> Preview:
        return await PeopleImport(state.vault, state.keys, actor).search(
            body.client, body.directory, body.query, groups=body.groups, limit=body.limit
        )

    return run_coroutine(found).to_json()


@router.post("/sync", response_model=PeopleImportReportJson)
def sync_import(body: ImportSyncIn, actor: Caller, state: State) -> PeopleImportReportJson:
    """Import the selection: one line per object (created, updated, unchanged, linked,
    refused and why) with each group's members added, removed and left outside; with
    ``dry_run``, what it would do, and nothing is kept."""
    selection = Selection(
        ids=tuple(body.ids), query=body.query, groups=body.groups, members=body.members
    )

    policy = body.provisioning.policy() if body.provisioning else None

    async def done() -> ImportReport:
        return await PeopleImport(state.vault, state.keys, actor).sync(
            body.client, body.directory, selection, dry_run=body.dry_run, provisioning=policy
        )

    return run_coroutine(done).to_json()
